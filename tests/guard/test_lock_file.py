"""The single-writer lock with the file backend: real processes contend for real OS locks."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from armguard.errors import ArmguardError
from armguard.guard.lock_cli import lock
from armguard.guard.lock_file import FileBackend
from armguard.guard.locks import (
    HELD_ENV,
    HolderInfo,
    LockError,
    LockTimeout,
    acquire,
    ci_run_url,
    format_duration,
    key_file_name,
    normalize_key,
    parse_duration,
    redact_command,
    scope_key,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="these tests use POSIX signals")

LOCK_RUN = [sys.executable, "-m", "armguard.guard.lock_cli", "run"]

# The command run under the lock: notes its start and end (wall clock) in a shared log, drops a
# marker file with its pid once started, then holds for a while.
CHILD = textwrap.dedent("""
    import os, sys, time
    name, log, marker, hold = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    def note(what):
        with open(log, "a") as f:
            f.write(f"{name} {what} {time.time():.6f}\\n")
    note("start")
    with open(marker + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(marker + ".tmp", marker)
    time.sleep(hold)
    note("end")
""")


@pytest.fixture
def child(tmp_path: Path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    log = tmp_path / "runs.log"

    def command(name: str, hold: float) -> list[str]:
        return [sys.executable, str(script), name, str(log), str(tmp_path / f"{name}.started"), str(hold)]

    command.log = log  # type: ignore[attr-defined]
    command.marker = lambda name: tmp_path / f"{name}.started"  # type: ignore[attr-defined]
    return command


def wait_for(path: Path, proc: subprocess.Popen | None = None, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_text()
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} before {path.name} appeared: "
                                 f"{proc.communicate()}")
        time.sleep(0.02)
    raise AssertionError(f"{path} did not appear within {timeout}s")


def intervals(log: Path) -> dict[str, tuple[float, float]]:
    spans: dict[str, dict[str, float]] = {}
    for line in log.read_text().splitlines():
        name, what, t = line.split()
        spans.setdefault(name, {})[what] = float(t)
    return {name: (s["start"], s["end"]) for name, s in spans.items()}


def assert_disjoint(spans: dict[str, tuple[float, float]]) -> None:
    ordered = sorted(spans.items(), key=lambda kv: kv[1][0])
    for (a, (_, a_end)), (b, (b_start, _)) in itertools.pairwise(ordered):
        assert b_start >= a_end, f"{b} started at {b_start} before {a} ended at {a_end}"


def start(args: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


# ------------------------------------------------------------------------------------------
# Two or more processes


def test_contending_runs_serialize_and_the_waiters_name_the_holder(tmp_path: Path, child) -> None:
    backend = f"file://{tmp_path / 'locks'}"
    key = "/subscriptions/0000/resourceGroups/rg-prod"
    a = start([*LOCK_RUN, "--key", key, "--backend", backend, "--", *child("A", 1.0)])
    wait_for(child.marker("A"), a)
    # Different spelling, same scope: resource ids compare case-insensitively.
    b = start([*LOCK_RUN, "--key", key.upper(), "--backend", backend, "--", *child("B", 0.3)])
    c = start([*LOCK_RUN, "--key", key, "--backend", backend, "--", *child("C", 0.3)])
    outs = {name: p.communicate(timeout=30) for name, p in (("A", a), ("B", b), ("C", c))}
    assert (a.returncode, b.returncode, c.returncode) == (0, 0, 0), outs
    spans = intervals(child.log)
    assert set(spans) == {"A", "B", "C"}
    assert_disjoint(spans)
    first_waiter = "B" if spans["B"][0] < spans["C"][0] else "C"
    err = outs[first_waiter][1]
    waiting = [ln for ln in err.splitlines() if "waiting for lock" in ln]
    # Not a terminal: one line per holder, not one per poll.
    assert len(waiting) == 1, err
    line = waiting[0]
    assert line.startswith("armguard: waiting for lock '")
    assert f"held by {HolderInfo.current().user}@" in line
    assert f"pid {a.pid} running" in line and "child.py A" in line
    assert " since 20" in line and line.endswith(")")


COUNT_UNDER_LOCK = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from armguard.guard.locks import acquire
    directory, counter, rounds = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    for _ in range(rounds):
        with acquire("k", backend="file://" + directory, timeout=30):
            value = int(counter.read_text())
            time.sleep(0.002)  # widen the window a lost update would need
            counter.write_text(str(value + 1))
""")


def test_library_acquire_excludes_other_processes(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    counter.write_text("0")
    procs = [subprocess.Popen([sys.executable, "-c", COUNT_UNDER_LOCK, str(tmp_path / "locks"), str(counter), "25"])
             for _ in range(4)]
    assert [p.wait(60) for p in procs] == [0, 0, 0, 0]
    assert counter.read_text() == "100"


def test_acquire_is_not_reentrant_within_a_process_and_timeout_names_the_holder(tmp_path: Path) -> None:
    backend = f"file://{tmp_path}"
    waits = []
    with acquire("scope-x", backend=backend, holder="deploy main.bicep") as held:
        assert held.holder.command == "deploy main.bicep" and held.holder.pid == os.getpid()
        assert not held.lost.is_set() and not held.nested
        with pytest.raises(LockTimeout) as info, acquire("SCOPE-X", backend=backend, timeout=0.3,
                                                         on_wait=waits.append):
            pass
    err = info.value
    assert isinstance(err, ArmguardError)
    assert err.holder is not None and err.holder.token == held.holder.token
    assert "timed out after 0.3s waiting for lock 'SCOPE-X' held by" in str(err)
    assert f"pid {os.getpid()} running 'deploy main.bicep'" in str(err)
    assert waits and waits[0].holder == held.holder and waits[-1].waited < 1
    # Released: free again, and the sidecar is gone while the lock file stays.
    with acquire("scope-x", backend=backend, timeout=0):
        pass
    lock_path, sidecar = FileBackend(str(tmp_path)).paths("scope-x")
    assert Path(lock_path).exists() and not Path(sidecar).exists()


def test_sidecar_holds_the_holder_metadata_with_the_ci_run_url(tmp_path: Path, child) -> None:
    env = dict(os.environ, GITHUB_RUN_ID="4242", GITHUB_SERVER_URL="https://github.example",
               GITHUB_REPOSITORY="contoso/infra")
    a = start([*LOCK_RUN, "--key", "k", "--backend", f"file://{tmp_path}", "--", *child("A", 0.5),
               "--password", "hunter2"], env=env)
    wait_for(child.marker("A"), a)
    sidecar = Path(FileBackend(str(tmp_path)).paths("k")[1])
    data = json.loads(sidecar.read_text())
    assert a.communicate(timeout=10)[0] == "" and a.returncode == 0
    assert data["pid"] == a.pid and data["host"] and data["user"]
    assert data["ci_run_url"] == "https://github.example/contoso/infra/actions/runs/4242"
    assert "child.py A" in data["command"] and "hunter2" not in data["command"]
    assert data["started_at"].endswith("Z")
    assert not sidecar.exists()


# ------------------------------------------------------------------------------------------
# Crashes, timeouts, signals, exit codes


def test_killed_holder_releases_at_once(tmp_path: Path, child) -> None:
    backend = f"file://{tmp_path / 'locks'}"
    a = start([*LOCK_RUN, "--key", "k", "--backend", backend, "--", *child("A", 60)])
    grandchild = int(wait_for(child.marker("A"), a))
    try:
        os.kill(a.pid, signal.SIGKILL)
        a.wait(10)
        # The dead holder's sidecar is not shown as the holder.
        assert FileBackend(str(tmp_path / "locks")).read_holder("k") is None
        t0 = time.monotonic()
        b = subprocess.run([*LOCK_RUN, "--key", "k", "--backend", backend, "--timeout", "5s", "--",
                            sys.executable, "-c", "print('B ran')"], capture_output=True, text=True, timeout=30)
        assert b.returncode == 0, b.stderr
        assert b.stdout == "B ran\n"
        assert time.monotonic() - t0 < 4
    finally:
        # The command of a SIGKILLed `lock run` is orphaned in its own process group.
        os.killpg(grandchild, signal.SIGKILL)


def test_timeout_exits_3_with_one_line_naming_the_holder(tmp_path: Path, child) -> None:
    backend = f"file://{tmp_path}"
    a = start([*LOCK_RUN, "--key", "rg", "--backend", backend, "--", *child("A", 60)])
    wait_for(child.marker("A"), a)
    b = subprocess.run([*LOCK_RUN, "--key", "rg", "--backend", backend, "--timeout", "0.5s", "--",
                        sys.executable, "-c", "print('must not run')"], capture_output=True, text=True,
                       timeout=30)
    a.send_signal(signal.SIGTERM)
    a.communicate(timeout=30)
    assert b.returncode == 3
    assert b.stdout == ""
    last = b.stderr.strip().splitlines()[-1]
    assert last.startswith("armguard: error: timed out after 0.5s waiting for lock 'rg' held by ")
    assert f"pid {a.pid} running" in last and " since " in last


def test_exit_codes_pass_through(tmp_path: Path) -> None:
    backend = f"file://{tmp_path}"
    run = [*LOCK_RUN, "--key", "k", "--backend", backend, "--"]
    assert subprocess.run([*run, sys.executable, "-c", "raise SystemExit(7)"]).returncode == 7
    killed = subprocess.run([*run, sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"])
    assert killed.returncode == 128 + signal.SIGTERM
    missing = subprocess.run([*run, "armguard-no-such-command"], capture_output=True, text=True)
    assert missing.returncode == 127
    assert missing.stderr.strip() == "armguard: error: command not found: armguard-no-such-command"


def test_sigterm_is_forwarded_to_the_command_and_the_lock_released(tmp_path: Path, child) -> None:
    backend = f"file://{tmp_path}"
    a = start([*LOCK_RUN, "--key", "k", "--backend", backend, "--", *child("A", 60)])
    pid = int(wait_for(child.marker("A"), a))
    a.send_signal(signal.SIGTERM)
    a.communicate(timeout=10)
    assert a.returncode == 128 + signal.SIGTERM  # the command's own death by SIGTERM
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with acquire("k", backend=backend, timeout=0):
        pass


def test_interrupted_while_waiting_exits_cleanly(tmp_path: Path, child) -> None:
    backend = f"file://{tmp_path}"
    a = start([*LOCK_RUN, "--key", "k", "--backend", backend, "--", *child("A", 60)])
    wait_for(child.marker("A"), a)
    err_file = tmp_path / "b.err"
    with open(err_file, "w") as err_out:
        b = subprocess.Popen([*LOCK_RUN, "--key", "k", "--backend", backend, "--", sys.executable, "-c",
                              "print('no')"], stdout=subprocess.PIPE, stderr=err_out, text=True)
    deadline = time.monotonic() + 10
    while "waiting for lock" not in err_file.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    b.send_signal(signal.SIGINT)
    out, _ = b.communicate(timeout=10)
    err = err_file.read_text()
    a.send_signal(signal.SIGTERM)
    a.communicate(timeout=10)
    assert b.returncode == 130
    assert out == ""
    assert "armguard: interrupted while waiting for lock 'k'" in err


def test_nested_run_of_the_same_key_does_not_wait_on_itself(tmp_path: Path) -> None:
    backend = f"file://{tmp_path}"
    inner = [*LOCK_RUN, "--key", "K", "--backend", backend, "--timeout", "2s", "--", sys.executable, "-c",
             f"import os; print('inner', os.environ['ARMGUARD_LOCK_KEY'], '{HELD_ENV}' in os.environ)"]
    outer = subprocess.run([*LOCK_RUN, "--key", "k", "--backend", backend, "--", *inner],
                           capture_output=True, text=True, timeout=30)
    assert outer.returncode == 0, outer.stderr
    assert outer.stdout == "inner K True\n"
    # Another backend (directory) is another lock namespace: not nested, but free.
    other = subprocess.run([*LOCK_RUN, "--key", "k", "--backend", backend, "--", *LOCK_RUN, "--key", "k",
                            "--backend", f"file://{tmp_path / 'other'}", "--timeout", "0", "--", "true"],
                           capture_output=True, text=True, timeout=30)
    assert other.returncode == 0, other.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--backend", "ftp://host/x"], "unsupported lock backend 'ftp://host/x'"),
    (["--backend", "/tmp/locks"], "unsupported lock backend '/tmp/locks'"),
    (["--backend", "blob://"], "bad blob lock backend 'blob://'"),
    (["--backend", "blob://acct"], "bad blob lock backend 'blob://acct'"),
    (["--backend", "blob://Acct/locks"], "storage account names are 3-24 lower-case letters and digits"),
    (["--backend", "blob://acct/Locks_1"], "container names are 3-63 lower-case letters"),
    (["--backend", "blob://acct/locks", "--blob-endpoint", "127.0.0.1:1"], "bad blob endpoint"),
])
def test_bad_backend_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(lock, ["run", "--key", "k", *args, "--", "true"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("armguard: error: ") and message in lines[0]


@pytest.mark.parametrize("args", [
    ["--key", "k"],                                   # no command
    ["--", "true"],                                   # no key
    ["--key", "k", "--subscription", "s", "--", "true"],
    ["--resource-group", "rg", "--", "true"],
    ["--key", "k", "--timeout", "soon", "--", "true"],
    ["--key", "k", "--lease-seconds", "10", "--", "true"],
    ["--key", "k", "--lease-seconds", "61", "--", "true"],
])
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert CliRunner().invoke(lock, ["run", *args]).exit_code == 2


def test_subscription_and_resource_group_make_the_scope_key(tmp_path: Path) -> None:
    result = CliRunner().invoke(lock, ["run", "--subscription", "SUB-1", "-g", "RG-A", "--backend",
                                       f"file://{tmp_path}", "--", sys.executable, "-c",
                                       "import os; print(os.environ['ARMGUARD_LOCK_KEY'])"])
    assert result.exit_code == 0, result.output
    assert scope_key("SUB-1", "RG-A") == "/subscriptions/sub-1/resourcegroups/rg-a"
    assert Path(FileBackend(str(tmp_path)).paths(scope_key("sub-1", "rg-a"))[0]).exists()


# ------------------------------------------------------------------------------------------
# Pieces


def test_key_names_are_safe_distinct_and_case_insensitive() -> None:
    assert key_file_name("a/b") != key_file_name("a-b")
    assert key_file_name("/Subscriptions/X/resourceGroups/RG") == key_file_name("/subscriptions/x/resourcegroups/rg")
    name = key_file_name("../../etc/passwd\x00 :*?" + "x" * 300)
    assert "/" not in name and "\x00" not in name and ".." not in name and len(name) < 100
    assert normalize_key("  K ") == "k"
    with pytest.raises(LockError):
        normalize_key("  ")
    assert scope_key("/subscriptions/S/") == "/subscriptions/s"


def test_ci_run_urls() -> None:
    assert ci_run_url({}) is None
    assert ci_run_url({"GITHUB_RUN_ID": "9", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ATTEMPT": "2"}) == \
        "https://github.com/o/r/actions/runs/9/attempts/2"
    assert ci_run_url({"BUILD_BUILDID": "77", "SYSTEM_COLLECTIONURI": "https://dev.azure.com/contoso/",
                       "SYSTEM_TEAMPROJECT": "Infra Team"}) == \
        "https://dev.azure.com/contoso/Infra%20Team/_build/results?buildId=77"
    assert ci_run_url({"CI_JOB_URL": "https://gitlab.example/j/1"}) == "https://gitlab.example/j/1"
    holder = HolderInfo.current("x", env={"BUILD_BUILDID": "1", "SYSTEM_COLLECTIONURI": "https://c/"})
    assert holder.ci_run_url == "https://c/_build/results?buildId=1"
    assert HolderInfo.from_dict(holder.to_dict()) == holder


def test_redact_command() -> None:
    text = redact_command(["az", "deployment", "group", "create", "--parameters", "adminPassword=s3cret",
                           "--sas-token", "sv=abc", "clientSecret=zz", "name=web"])
    assert "s3cret" not in text and "sv=abc" not in text and "zz" not in text
    assert "adminPassword=***" in text and "--sas-token '***'" in text and "name=web" in text
    assert len(redact_command(["x" * 1000])) <= 300


def test_durations() -> None:
    assert parse_duration("30m") == 1800
    assert parse_duration("1h30m") == 5400
    assert parse_duration("90") == 90
    assert parse_duration("1.5s") == 1.5
    assert parse_duration("500ms") == 0.5
    assert parse_duration("none") is None
    for bad in ("", "m", "5x", "-1s"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert [format_duration(s) for s in (0, 59.4, 61, 3600 + 120)] == ["0s", "59s", "1m01s", "1h02m"]
    assert format_duration(0.54) == "0.5s"
