"""`armguard retry -- COMMAND ...`: run az, terraform, pwsh or anything; wait out conflicts; run again.

The command's output streams through live (and is kept, up to a bound, to read the error from).
When it fails with an error `parse_error` reads as a conflict that waiting can help, armguard waits
for what the output names (status URI, resource id, deployment), or backs off with full jitter when it
names nothing to poll, and runs the command again. Any other failure ends at once with the command's
own exit code.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import BinaryIO

import click

from armguard.cli_azure import arm_options, duration_option
from armguard.errors import ArmguardError
from armguard.guard.connection import ArmConnection
from armguard.guard.errors import ArmErrorInfo, parse_error
from armguard.guard.progress import ProgressLine
from armguard.guard.wait import WaitTarget, WaitTimeout, wait_for
from armguard.guard.wait_core import format_duration, full_jitter

KEEP_BYTES = 1 << 20  # of output per attempt, from the end: errors are printed last


class Captured:
    """The last KEEP_BYTES of a command's stdout and stderr, interleaved as they arrived."""

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._lock = threading.Lock()

    def add(self, chunk: bytes) -> None:
        with self._lock:
            self._chunks.append(chunk)
            self._size += len(chunk)
            while self._size > KEEP_BYTES and len(self._chunks) > 1:
                self._size -= len(self._chunks.popleft())

    def text(self) -> str:
        with self._lock:
            return b"".join(self._chunks).decode("utf-8", "replace")


def _pump(source: BinaryIO, sink: BinaryIO, captured: Captured) -> None:
    for chunk in iter(lambda: source.read1(65536), b""):  # type: ignore[attr-defined]
        captured.add(chunk)
        sink.write(chunk)
        sink.flush()


def run_teed(command: Sequence[str]) -> tuple[int, str]:
    """Run `command`, streaming its output through; its exit code and the kept output."""
    try:
        proc = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise ArmguardError(f"command not found: {command[0]}") from None
    except OSError as e:
        raise ArmguardError(f"cannot run {command[0]}: {e.strerror or e}") from None
    captured = Captured()
    pumps = [threading.Thread(target=_pump, args=(proc.stdout, sys.stdout.buffer, captured), daemon=True),
             threading.Thread(target=_pump, args=(proc.stderr, sys.stderr.buffer, captured), daemon=True)]
    for t in pumps:
        t.start()
    try:
        rc = proc.wait()
    except KeyboardInterrupt:
        proc.wait()
        raise
    for t in pumps:
        t.join()
    return (128 - rc if rc < 0 else rc), captured.text()


def describe(info: ArmErrorInfo) -> str:
    holder = f", held by {info.blocking_operation}" if info.blocking_operation else ""
    return f"{info.code}{holder}"


@click.command("retry", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--timeout", default="45m", show_default=True, callback=duration_option,
              help="Stop retrying after this long in all (90s, 45m, 2h).")
@click.option("--max-attempts", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Run the command at most this many times.")
@click.option("--poll-min", default="1s", show_default=True, callback=duration_option)
@click.option("--poll-max", default="60s", show_default=True, callback=duration_option)
@click.option("-q", "--quiet", is_flag=True, help="No progress line while waiting.")
@arm_options()
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def retry(timeout: float | None, max_attempts: int, poll_min: float | None, poll_max: float | None, quiet: bool,
          command: tuple[str, ...], conn: ArmConnection) -> None:
    """Run COMMAND; on an operation conflict, wait for the holder and run it again.

    \b
      armguard retry -- az deployment group create -g rg-hub -f main.bicep
      armguard retry --timeout 1h -- terraform apply -auto-approve

    Exit status: 0 when a run succeeds; otherwise the command's own exit code (after the last
    attempt when it kept conflicting); 2 usage error; 127 command not found.
    """
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise click.UsageError("no command given: armguard retry -- COMMAND ...")
    poll_min = 1.0 if poll_min is None else poll_min
    poll_max = max(poll_min, 60.0 if poll_max is None else poll_max)
    deadline = None if timeout is None else time.monotonic() + timeout
    progress = ProgressLine(enabled=not quiet)
    rng = random.Random()
    started = time.monotonic()
    for attempt in range(1, max_attempts + 1):
        try:
            rc, output = run_teed(command)
        except ArmguardError as e:
            click.echo(f"armguard retry: {e.message}", err=True)
            sys.exit(127)
        if rc == 0:
            if attempt > 1:
                progress.say(f"armguard retry: succeeded on attempt {attempt} after {format_duration(time.monotonic() - started)}")
            return
        info = parse_error(output)
        if info is None or info.category != "wait":
            sys.exit(rc)
        if attempt == max_attempts:
            progress.say(f"armguard retry: still conflicting after {attempt} attempts ({describe(info)}); giving up")
            sys.exit(rc)
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            progress.say(f"armguard retry: timed out after {format_duration(time.monotonic() - started)} "
                         f"({describe(info)}); giving up")
            sys.exit(rc)
        if not _wait(info, conn, remaining, poll_min, poll_max, progress, attempt, rng):
            sys.exit(rc)


def _wait(info: ArmErrorInfo, conn: ArmConnection, remaining: float | None, poll_min: float, poll_max: float,
          progress: ProgressLine, attempt: int, rng: random.Random) -> bool:
    """Wait out the conflict; False when the deadline passed while waiting."""
    target = WaitTarget.from_error(info)
    if target is not None:
        progress.say(f"armguard retry: attempt {attempt} hit {describe(info)}; waiting on {target.describe()}")
        try:
            wait_for(target, conn=conn, timeout=remaining, poll_floor=poll_min, poll_ceiling=poll_max,
                     on_progress=progress)
            progress.finish()
            return True
        except WaitTimeout as e:
            progress.say(f"armguard retry: {e.message}; giving up")
            return False
        except ArmguardError as e:
            progress.say(f"armguard retry: cannot poll ({e.message}); backing off instead")
    delay = full_jitter(attempt - 1, rng=rng)
    if remaining is not None:
        delay = min(delay, remaining)
    progress.say(f"armguard retry: attempt {attempt} hit {describe(info)}; nothing to poll, retrying in {delay:.1f}s")
    time.sleep(delay)
    return True
