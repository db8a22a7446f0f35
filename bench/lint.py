"""armguard lint against checkov on the same Bicep files, one run each, side by side.

Usage: python bench/lint.py PATH [--armguard-only] [--jobs N] [--checkov-spec SPEC] [--json FILE]

Both tools run as subprocesses on PATH and are measured the same way:

- wall time: from start to exit of the process;
- peak memory: the largest sum of resident set sizes over the process and all its descendants,
  sampled from /proc every 50 ms (worker pools count: every process is added up; pages that forked
  workers share are counted in each), and never below the kernel's ru_maxrss of the process;
- files: armguard's `files` from its JSON report (Bicep files and ARM JSON templates it discovered);
  for checkov the *.bicep files under PATH, which is what `--framework bicep` reads;
- parse failures: armguard's `errors` array (files that failed to load); checkov's
  `summary.parsing_errors` from `-o json` (checkov 3.x lists each .bicep file its parser rejected in
  `results.parsing_errors` and counts them in the summary);
- findings: armguard's `findings`; checkov's `failed_checks`.

armguard is run as `armguard lint PATH --format json` from the environment running this script.
checkov is not a project dependency: it lives in the bench's own venv at
${ARMGUARD_BENCH_VENV:-~/.cache/armguard-bench/venv}, created and `pip install checkov`-ed on first
use. It is run with `--skip-download` so that it makes no network request (without it checkov tries to
fetch guidelines from its vendor's API and logs a traceback when that fails). If the venv cannot be
set up, one line says so and armguard's figures are still printed.

Before timing, every file under PATH is read once so that neither tool pays for a cold file cache,
and armguard's modules are byte-compiled (`compileall`), as `pip install` does for a regular
install and did for checkov's venv: an editable install run with PYTHONDONTWRITEBYTECODE=1 would
otherwise compile every module it imports on every run. Nothing else is cached between runs: each
run starts cold. The verdict line gives the speed ratio against the target of the issue: whole-directory lint at
least 10x faster than checkov on the same Bicep files, with 0 parse failures.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TARGET_RATIO = 10.0
SAMPLE_SECONDS = 0.05
SKIP_DIRS = {".git", "node_modules", ".terraform", "__pycache__"}


@dataclass
class Figures:
    tool: str
    ok: bool = False
    wall_s: float | None = None
    cpu_s: float | None = None
    files: int | None = None
    parse_failures: int | None = None
    findings: int | None = None
    peak_rss_mb: float | None = None
    exit_code: int | None = None
    version: str | None = None
    note: str | None = None
    failed_files: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ measuring


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may hold spaces and parentheses
        rest = stat[stat.rfind(b")") + 2:].split()
        if len(rest) > 1:
            kids.setdefault(int(rest[1]), []).append(int(entry.name))
    return kids


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree_rss_kb(root: int) -> int:
    kids = _children_map()
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_kb(pid)
        stack.extend(kids.get(pid, ()))
    return total


@dataclass
class Run:
    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_kb: int
    stdout: str
    stderr: str


def measure(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    """Run `cmd`, sampling the RSS of its process tree; stdout and stderr go to temporary files so
    that pipes never block the child."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss_kb(proc.pid))
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        # ru_maxrss (KiB on Linux) is the largest single process of the tree; a floor for the sum
        peak = max(peak, usage.ru_maxrss)
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime  # the process and every descendant it waited for
        return Run(proc.returncode, wall, cpu, peak,
                   out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))


def warm_cache(root: Path) -> tuple[int, int]:
    """Read every file under root once. Returns (files, bytes)."""
    files = size = 0
    paths = [root] if root.is_file() else []
    if root.is_dir():
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            paths.extend(Path(dirpath) / n for n in filenames)
    for p in paths:
        try:
            size += len(p.read_bytes())
            files += 1
        except OSError:
            pass
    return files, size


def bicep_files(root: Path) -> int:
    if root.is_file():
        return int(root.suffix == ".bicep")
    n = 0
    for _dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")]
        n += sum(1 for f in filenames if f.endswith(".bicep"))
    return n


def _tail(text: str, lines: int = 6) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:])


# ------------------------------------------------------------------ armguard


def compile_armguard() -> int:
    """Byte-compile armguard's modules where they are imported from; the number of directories."""
    spec = importlib.util.find_spec("armguard")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        compileall.compile_dir(location, quiet=1)
    return len(locations)


def armguard_command() -> list[str]:
    exe = Path(sys.executable).parent / "armguard"
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("armguard")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from armguard.cli import main; sys.exit(main())"]


def run_armguard(path: Path, jobs: int | None) -> Figures:
    fig = Figures("armguard")
    cmd = [*armguard_command(), "lint", str(path), "--format", "json"]
    if jobs:
        cmd += ["-j", str(jobs)]
    try:
        import armguard

        fig.version = getattr(armguard, "__version__", None)
    except ImportError:
        pass
    print(f"running: {' '.join(cmd)}", flush=True)
    run = measure(cmd)
    fig.wall_s, fig.cpu_s, fig.exit_code = run.wall_s, run.cpu_s, run.returncode
    fig.peak_rss_mb = run.peak_rss_kb / 1024
    try:
        data = json.loads(run.stdout)
    except json.JSONDecodeError:
        fig.note = f"no JSON report (exit {run.returncode})"
        print(f"armguard: {fig.note}; stderr ends with:\n{_tail(run.stderr)}", file=sys.stderr)
        return fig
    errors = data.get("errors") or []
    fig.ok = True
    fig.files = data.get("files")
    fig.findings = len(data.get("findings") or [])
    fig.parse_failures = len({e.get("path") for e in errors})
    fig.failed_files = sorted({str(e.get("path")) for e in errors})
    if len(errors) != fig.parse_failures:
        fig.note = f"{len(errors)} errors in {fig.parse_failures} files"
    return fig


# ------------------------------------------------------------------ checkov


def bench_venv() -> Path:
    return Path(os.environ.get("ARMGUARD_BENCH_VENV") or Path.home() / ".cache" / "armguard-bench" / "venv")


def ensure_checkov(venv: Path, spec: str) -> tuple[Path | None, str]:
    """The checkov executable in the bench venv, installing it on first use. (None, why) on failure."""
    exe = venv / "bin" / "checkov"
    if exe.is_file():
        print(f"using checkov from {venv}", flush=True)
        return exe, ""
    py = venv / "bin" / "python"
    if not py.is_file():
        print(f"creating the bench venv: {sys.executable} -m venv {venv}", flush=True)
        r = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
        if r.returncode != 0:
            return None, f"could not create the venv {venv}: {(r.stderr or r.stdout).strip().splitlines()[-1:]}"
    print(f"installing checkov into the bench venv: {py} -m pip install {spec} (a few minutes)", flush=True)
    r = subprocess.run([str(py), "-m", "pip", "install", "--disable-pip-version-check", "--quiet", spec],
                       capture_output=True, text=True)
    if r.returncode != 0 or not exe.is_file():
        last = (r.stderr or r.stdout).strip().splitlines()
        return None, f"pip install {spec} failed (exit {r.returncode}): {last[-1] if last else 'no output'}"
    return exe, ""


def _checkov_reports(stdout: str) -> list[dict[str, Any]]:
    """checkov -o json prints one report object, a list of them (one per framework), or a bare
    summary when nothing was scanned; anything it logs to stdout before the JSON is skipped."""
    decoder = json.JSONDecoder()
    offset = 0
    for line in stdout.splitlines(keepends=True):
        if line.startswith(("{", "[")):
            try:
                data, _ = decoder.raw_decode(stdout, offset)
            except ValueError:
                pass
            else:
                reports = data if isinstance(data, list) else [data]
                return [r for r in reports if isinstance(r, dict)]
        offset += len(line)
    raise ValueError("no JSON in checkov's output")


def run_checkov(path: Path, exe: Path) -> Figures:
    fig = Figures("checkov")
    v = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    fig.version = v.stdout.strip() or None
    cmd = [str(exe), "--framework", "bicep", "--skip-download", "-o", "json"]
    cmd += ["-f", str(path)] if path.is_file() else ["-d", str(path)]
    print(f"running: {' '.join(cmd)}", flush=True)
    env = {**os.environ, "LOG_LEVEL": "ERROR"}
    run = measure(cmd, env=env)
    fig.wall_s, fig.cpu_s, fig.exit_code = run.wall_s, run.cpu_s, run.returncode
    fig.peak_rss_mb = run.peak_rss_kb / 1024
    fig.files = bicep_files(path)
    try:
        reports = _checkov_reports(run.stdout)
    except ValueError as e:
        fig.note = f"unreadable report (exit {run.returncode}): {e}"
        print(f"checkov: {fig.note}; stderr ends with:\n{_tail(run.stderr)}", file=sys.stderr)
        return fig
    fig.ok = True
    fig.findings = fig.parse_failures = 0
    failed: set[str] = set()
    for rep in reports:
        summary = rep.get("summary", rep)
        results = rep.get("results") or {}
        listed = results.get("parsing_errors") or []
        failed.update(str(p) for p in listed)
        fig.parse_failures += max(int(summary.get("parsing_errors") or 0), len(listed))
        failed_checks = results.get("failed_checks")
        fig.findings += len(failed_checks) if failed_checks is not None else int(summary.get("failed") or 0)
    fig.failed_files = sorted(failed)
    return fig


# ------------------------------------------------------------------ report


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec)


def table(figs: list[Figures]) -> str:
    rows = [
        ("", [f"{f.tool} {f.version or ''}".strip() for f in figs]),
        ("wall time (s)", [_fmt(f.wall_s, ".2f") for f in figs]),
        ("CPU time, tree (s)", [_fmt(f.cpu_s, ".2f") for f in figs]),
        ("files", [_fmt(f.files) for f in figs]),
        ("parse failures", [_fmt(f.parse_failures) for f in figs]),
        ("findings", [_fmt(f.findings) for f in figs]),
        ("peak RSS, tree (MB)", [_fmt(f.peak_rss_mb, ".0f") for f in figs]),
        ("exit code", [_fmt(f.exit_code) for f in figs]),
    ]
    w0 = max(len(r[0]) for r in rows)
    widths = [max(len(r[1][i]) for r in rows) for i in range(len(figs))]
    out = []
    for label, cells in rows:
        out.append(f"{label:<{w0}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)))
    for f in figs:
        if f.note:
            out.append(f"{f.tool}: {f.note}")
    return "\n".join(out)


def verdict(ag: Figures, ck: Figures | None) -> str:
    if not ag.ok:
        return "verdict: armguard produced no report"
    clean = ag.parse_failures == 0
    if ck is None or not ck.ok or not ck.wall_s or not ag.wall_s:
        return (f"verdict: no checkov figures to compare; armguard {ag.wall_s:.2f} s, "
                f"{ag.parse_failures} parse failure(s)")
    ratio = ck.wall_s / ag.wall_s
    met = ratio >= TARGET_RATIO and clean
    cpu = f" (CPU time {ck.cpu_s / ag.cpu_s:.1f}x)" if ck.cpu_s and ag.cpu_s else ""
    return (f"verdict: armguard {ratio:.1f}x faster than checkov in wall time{cpu} "
            f"({ag.wall_s:.2f} s vs {ck.wall_s:.2f} s), "
            f"{ag.parse_failures} parse failure(s) vs checkov's {ck.parse_failures}; "
            f"target >= {TARGET_RATIO:.0f}x with 0 parse failures: {'MET' if met else 'NOT MET'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--armguard-only", action="store_true", help="do not run (or install) checkov")
    ap.add_argument("-j", "--jobs", type=int, default=None, help="armguard lint -j N (default: its own)")
    ap.add_argument("--checkov-spec", default="checkov",
                    help="what to pip install into the bench venv (default: checkov)")
    ap.add_argument("--list-failures", action="store_true", help="print the files each tool failed to parse")
    ap.add_argument("--json", dest="json_out", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)
    path: Path = args.path
    if not path.exists():
        ap.error(f"no such file or directory: {path}")

    exe = None
    if not args.armguard_only:
        exe, why = ensure_checkov(bench_venv(), args.checkov_spec)
        if exe is None:
            print(f"checkov unavailable, armguard figures only: {why}", flush=True)

    files, size = warm_cache(path)
    print(f"warmed the file cache: {files} files, {size / 1e6:.1f} MB under {path}", flush=True)
    if compile_armguard():
        print("byte-compiled armguard's modules (as a regular install does)", flush=True)
    load = os.getloadavg()[0]
    if load >= 0.5:
        print(f"note: load average {load:.1f} on {os.cpu_count()} cores before the runs; other processes "
              "compete for the CPU, so wall times are noisy (CPU times less so)", flush=True)

    ag = run_armguard(path, args.jobs)
    ck = run_checkov(path, exe) if exe is not None else None
    figs = [ag] + ([ck] if ck is not None else [])
    print()
    print(table(figs))
    if args.list_failures:
        for f in figs:
            print(f"\n{f.tool} failed to parse {len(f.failed_files)} file(s):")
            for p in f.failed_files:
                print(f"  {p}")
    print(verdict(ag, ck))
    if args.json_out:
        args.json_out.write_text(json.dumps({"path": str(path), "load_average": load, "results": [asdict(f) for f in figs]}, indent=2))
    return 0 if ag.ok else 1


if __name__ == "__main__":
    sys.exit(main())
