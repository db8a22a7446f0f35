"""The single-writer lock with the blob backend, against Azurite (see conftest.py): real leases,
real renewals, real expiry. Lease times are the Azure minimum (15 s); the scenarios that must
outlive a lease run side by side in one test to keep the suite fast."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from armguard.guard.lock_blob import decode_metadata, encode_metadata
from armguard.guard.lock_cli import lock
from armguard.guard.locks import HolderInfo, LockTimeout, acquire, key_file_name, open_backend

pytestmark = pytest.mark.skipif(os.name != "posix", reason="these tests use POSIX signals")

LOCK_RUN = [sys.executable, "-m", "armguard.guard.lock_cli", "run"]

# The command run under the lock: notes start/end in a shared log, writes its pid (and, when
# stubborn, its grandchild's) to a marker file, then holds until `hold` seconds pass or a release
# file appears. A stubborn one survives SIGTERM (noting it) and has a grandchild.
CHILD = textwrap.dedent("""
    import os, signal, subprocess, sys, time
    name, log, marker, hold, release, mode = sys.argv[1:7]
    def note(what):
        with open(log, "a") as f:
            f.write(f"{name} {what} {time.time():.6f}\\n")
    pids = [os.getpid()]
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, lambda *a: note("TERM"))
        pids.append(subprocess.Popen(["sleep", "60"]).pid)
    note("start")
    with open(marker + ".tmp", "w") as f:
        f.write(" ".join(map(str, pids)))
    os.replace(marker + ".tmp", marker)
    deadline = time.time() + float(hold)
    while time.time() < deadline and not os.path.exists(release):
        time.sleep(0.05)
    note("end")
""")


class Children:
    def __init__(self, tmp_path: Path):
        self.dir = tmp_path
        self.script = tmp_path / "child.py"
        self.script.write_text(CHILD)
        self.log = tmp_path / "runs.log"

    def __call__(self, name: str, hold: float = 60, mode: str = "") -> list[str]:
        return [sys.executable, str(self.script), name, str(self.log), str(self.marker(name)), str(hold),
                str(self.release_file(name)), mode]

    def marker(self, name: str) -> Path:
        return self.dir / f"{name}.started"

    def release_file(self, name: str) -> Path:
        return self.dir / f"{name}.release"

    def release(self, name: str) -> None:
        self.release_file(name).write_text("")

    def wait_started(self, name: str, proc: subprocess.Popen, timeout: float = 20) -> list[int]:
        path = self.marker(name)
        deadline = time.monotonic() + timeout
        while not path.exists():
            if proc.poll() is not None:
                raise AssertionError(f"lock run exited with {proc.returncode} before {name} started: "
                                     f"{proc.communicate()}")
            assert time.monotonic() < deadline, f"{name} did not start within {timeout}s"
            time.sleep(0.02)
        return [int(p) for p in path.read_text().split()]

    def intervals(self) -> dict[str, tuple[float, float]]:
        spans: dict[str, dict[str, float]] = {}
        for line in self.log.read_text().splitlines():
            name, what, t = line.split()
            spans.setdefault(name, {})[what] = float(t)
        return {n: (s["start"], s["end"]) for n, s in spans.items() if "start" in s and "end" in s}


@pytest.fixture
def child(tmp_path: Path) -> Children:
    return Children(tmp_path)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def blob_of(azurite, container: str, key: str):
    return azurite.service_client().get_blob_client(container, key_file_name(key) + ".lock")


def test_contending_runs_serialize_and_the_waiter_sees_the_holder(azurite_blob, child) -> None:
    env = azurite_blob.env()
    backend = azurite_blob.backend("locks-contend")
    key = "/subscriptions/0000/resourceGroups/rg-blob"
    run = [*LOCK_RUN, "--key", key, "--backend", backend, "--lease-seconds", "15"]
    env_a = dict(env, BUILD_BUILDID="31", SYSTEM_COLLECTIONURI="https://dev.azure.com/contoso/",
                 SYSTEM_TEAMPROJECT="infra")
    a = start([*run, "--", *child("A")], env_a)
    child.wait_started("A", a)

    # The holder, as blob metadata another party can read.
    props = blob_of(azurite_blob, "locks-contend", key).get_blob_properties()
    assert props.lease.state == "leased"
    meta = {k: unquote(v) for k, v in props.metadata.items()}
    assert meta["pid"] == str(a.pid) and meta["lock_key"] == key and meta["host"] and meta["user"]
    assert "child.py A" in meta["command"]
    assert meta["ci_run_url"] == "https://dev.azure.com/contoso/infra/_build/results?buildId=31"

    # A waiter that gives up: exit 3, one line naming the holder.
    late = subprocess.run([*run, "--timeout", "1s", "--", "echo", "never"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert late.returncode == 3 and late.stdout == ""
    last = late.stderr.strip().splitlines()[-1]
    assert last.startswith(f"armguard: error: timed out after 1s waiting for lock '{key}' held by ")
    assert f"pid {a.pid} running" in last and "dev.azure.com/contoso/infra" in last

    # A waiter that gets it once A is done, and not before.
    b = start([*run, "--timeout", "1m", "--", *child("B", 0.2)], env)
    time.sleep(1.5)
    assert b.poll() is None
    child.release("A")
    outs = {n: p.communicate(timeout=60) for n, p in (("A", a), ("B", b))}
    assert (a.returncode, b.returncode) == (0, 0), outs
    spans = child.intervals()
    assert spans["B"][0] >= spans["A"][1]
    waiting = [ln for ln in outs["B"][1].splitlines() if "waiting for lock" in ln]
    assert waiting and f"held by {meta['user']}@{meta['host']} pid {a.pid} running" in waiting[0]
    assert " since " in waiting[0]

    # Released: the lease is free and no stale holder is left in the metadata.
    props = blob_of(azurite_blob, "locks-contend", key).get_blob_properties()
    assert props.lease.state == "available"
    assert "pid" not in props.metadata


def test_lease_renewal_crash_expiry_and_outage(azurite_blob, azurite_blob_factory, child) -> None:
    """Side by side, each with a 15 s lease:
    renewal: a holder keeps the lock past the lease duration;
    crash:   the holder is killed with SIGKILL; its lease expires and a waiter gets the lock;
    outage:  the storage service goes away; once the lease may have expired the holder stops its
             command and exits 4."""
    private = azurite_blob_factory(wait=False)  # starts while the others get going
    env = azurite_blob.env()
    backend = azurite_blob.backend("locks-timing")
    common = ["--backend", backend, "--lease-seconds", "15"]
    renew = start([*LOCK_RUN, "--key", "renew", *common, "--", *child("R", 40)], env)
    crash = start([*LOCK_RUN, "--key", "crash", *common, "--", *child("C", 60)], env)
    child.wait_started("R", renew)
    t_renew = time.monotonic()
    (crash_child,) = child.wait_started("C", crash)
    outage_child = None
    try:
        os.kill(crash.pid, signal.SIGKILL)
        crash.wait(5)
        t_crash = time.monotonic()
        crash_waiter = start([*LOCK_RUN, "--key", "crash", *common, "--timeout", "40s", "--", "echo", "got it"],
                             env)
        renew_waiter = start([*LOCK_RUN, "--key", "renew", *common, "--timeout", "15s", "--", "echo", "never"],
                             env)
        private.wait_ready()
        outage = start([*LOCK_RUN, "--key", "outage", "--backend", private.backend("locks"), "--lease-seconds",
                        "15", "--grace", "1s", "--", *child("O", 60)], private.env())
        (outage_child,) = child.wait_started("O", outage)
        private.stop()
        t_outage = time.monotonic()

        # renewal: still leased a good while after one lease period, and the waiter gave up.
        out, err = renew_waiter.communicate(timeout=60)
        assert renew_waiter.returncode == 3, err
        assert f"pid {renew.pid}" in err.strip().splitlines()[-1], err
        time.sleep(max(0.0, t_renew + 16.5 - time.monotonic()))  # past one lease period for sure
        assert blob_of(azurite_blob, "locks-timing", "renew").get_blob_properties().lease.state == "leased"
        assert renew.poll() is None, renew.communicate()
        child.release("R")
        out, err = renew.communicate(timeout=30)
        assert renew.returncode == 0, err
        assert "lost" not in err

        # crash: the waiter saw the dead holder, then got the lock when its lease expired.
        out, err = crash_waiter.communicate(timeout=60)
        assert crash_waiter.returncode == 0, err
        assert out == "got it\n"
        assert "held by" in err and f"pid {crash.pid}" in err
        took = time.monotonic() - t_crash
        assert took < 15 + 15, (took, err)

        # outage: the command was stopped, and armguard said why in one line.
        out, err = outage.communicate(timeout=60)
        assert outage.returncode == 4, err
        took = time.monotonic() - t_outage
        assert took < 15 + 10, (took, err)
        last = err.strip().splitlines()[-1]
        assert last.startswith("armguard: error: lost lock 'outage': the lease could not be renewed for 15s")
        assert last.endswith("the command was stopped with SIGTERM")
        assert not alive(outage_child)
        spans = child.intervals()
        assert "O" not in spans  # it never got to its normal end
    finally:
        for pid in (p for p in (crash_child, outage_child) if p):  # orphans of the killed holders
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


def test_broken_lease_stops_the_command_and_breaks_nothing_of_the_new_holder(azurite_blob, child,
                                                                              monkeypatch) -> None:
    from azure.storage.blob import BlobLeaseClient

    env = azurite_blob.env()
    container = "locks-broken"
    backend = azurite_blob.backend(container)
    a = start([*LOCK_RUN, "--key", "k", "--backend", backend, "--lease-seconds", "15", "--grace", "1s", "--",
               *child("A", 60, "stubborn")], env)
    pids = child.wait_started("A", a)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite_blob.connection_string)
    with acquire("lib", backend=backend, lease_seconds=15, holder="library holder") as handle:
        # Someone else breaks both leases and takes the locks over.
        others = []
        for key in ("k", "lib"):
            blob = blob_of(azurite_blob, container, key)
            BlobLeaseClient(blob).break_lease(lease_break_period=0)
            other = BlobLeaseClient(blob)
            other.acquire(lease_duration=15)
            others.append((blob, other))
        t0 = time.monotonic()
        _, err = a.communicate(timeout=30)
        assert handle.lost.wait(10)
        assert "refused" in (handle.lost_reason or "")
    assert a.returncode == 4, err
    took = time.monotonic() - t0
    assert took < 5 + 1 + 6, (took, err)  # one renewal interval, the grace period, slack
    last = err.strip().splitlines()[-1]
    assert last.startswith("armguard: error: lost lock 'k': the lease renewal was refused (409")
    assert last.endswith("the command was killed with SIGKILL after a 1s grace period")
    assert "A TERM" in child.log.read_text()  # SIGTERM first
    assert not any(alive(p) for p in pids)    # then SIGKILL, grandchild included
    for blob, other in others:  # the new holders' leases are untouched
        other.renew()
        assert blob.get_blob_properties().lease.state == "leased"
        other.release()


def test_sigint_stops_the_command_and_releases_at_once(azurite_blob, child) -> None:
    env = azurite_blob.env()
    container = "locks-sigint"
    a = start([*LOCK_RUN, "--key", "k", "--backend", azurite_blob.backend(container), "--", *child("A")], env)
    (pid,) = child.wait_started("A", a)
    a.send_signal(signal.SIGINT)
    a.communicate(timeout=20)
    assert a.returncode == 130  # the command's own death by SIGINT
    assert not alive(pid)
    props = blob_of(azurite_blob, container, "k").get_blob_properties()
    assert props.lease.state == "available"  # released, not left to expire


def test_backend_errors_are_one_line_and_exit_2(azurite_blob) -> None:
    runner = CliRunner()
    cases = [
        ({"AZURE_STORAGE_CONNECTION_STRING": azurite_blob.connection_string.replace(
            azurite_blob.key, "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXkgd3Jvbmc=")},
         ["--backend", azurite_blob.backend("locks-x")], "failed [connection string]: 403"),
        ({"AZURE_STORAGE_CONNECTION_STRING": azurite_blob.connection_string},
         ["--backend", azurite_blob.backend("locks-missing"), "--no-create-container"],
         "container 'locks-missing' does not exist"),
        ({"AZURE_STORAGE_CONNECTION_STRING": azurite_blob.connection_string},
         ["--backend", "blob://otheraccount/locks"], "is for storage account 'armguardlocks'"),
        ({"AZURE_STORAGE_CONNECTION_STRING": "", "AZURE_STORAGE_KEY": azurite_blob.key,
          "ARMGUARD_BLOB_ENDPOINT": "http://127.0.0.1:1/{account}"},
         ["--backend", azurite_blob.backend("locks-x")], "cannot reach http://127.0.0.1:1/armguardlocks"),
    ]
    for env, args, message in cases:
        result = runner.invoke(lock, ["run", "--key", "k", *args, "--", "echo", "ran"], env=env)
        assert result.exit_code == 2, (args, result.output)
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("armguard: error: "), lines
        assert message in lines[0], lines[0]


def test_metadata_round_trips_any_text() -> None:
    holder = HolderInfo.current("  déploiement\n100% done \x00 \u2603 ", env={})
    meta = encode_metadata(holder, "/subscriptions/Ä/x")
    assert all(k.isidentifier() for k in meta)
    assert all(v.isascii() and v.isprintable() and v == v.strip() for v in meta.values())
    assert decode_metadata(meta) == holder
    assert decode_metadata({}) is None


def test_library_with_account_key_and_endpoint_override(azurite_blob, monkeypatch) -> None:
    """AZURE_STORAGE_KEY plus ARMGUARD_BLOB_ENDPOINT (the sovereign-cloud / Azurite path); the
    holder's text survives the metadata encoding; the waiter reads it."""
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    monkeypatch.setenv("AZURE_STORAGE_KEY", azurite_blob.key)
    monkeypatch.setenv("ARMGUARD_BLOB_ENDPOINT", f"http://127.0.0.1:{azurite_blob.port}/{{account}}")
    backend = azurite_blob.backend("locks-lib")
    waits = []
    with acquire("Scope/ü", backend=backend, lease_seconds=15, holder="déploiement 100%") as held:
        assert held.backend == backend and not held.lost.is_set()
        other = open_backend(backend)
        seen = other.read_holder("scope/Ü")
        assert seen is not None and seen.command == "déploiement 100%" and seen.token == held.holder.token
        with pytest.raises(LockTimeout) as info, acquire("scope/ü", backend=backend, timeout=0.2,
                                                         on_wait=waits.append):
            pass
        assert info.value.holder == held.holder
        assert waits and waits[0].holder == held.holder
        assert "held by" in waits[0].line() and "'déploiement 100%'" in waits[0].line()
    with acquire("scope/ü", backend=backend, timeout=0, lease_seconds=15):
        pass
