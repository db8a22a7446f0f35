"""`armguard lock run`: run a command while holding a single-writer lock on a deployment scope.

Exit codes of `lock run`:

    N    the command's own exit code (128+S when it was killed by signal S)
    2    usage error, bad backend URL, or the backend refused us (credentials, permissions,
         unreachable on first contact); the command was not run
    3    the lock was not acquired within --timeout; the line names the holder
    4    the lock was lost while the command ran (lease broken, or not renewable for a whole lease
         period); the command was stopped: SIGTERM to its process group, SIGKILL after --grace
    126  the command could not be executed; 127 the command was not found
    130/143  armguard was interrupted (SIGINT/SIGTERM) while waiting for the lock

The command's output is not captured: it inherits stdin, stdout and stderr. armguard's own lines go
to stderr, prefixed `armguard:`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

import click

from armguard.cli_azure import duration_option
from armguard.guard.locks import (
    BACKEND_ENV,
    BLOB_ENDPOINT_ENV,
    DEFAULT_LEASE_SECONDS,
    HELD_ENV,
    MAX_LEASE_SECONDS,
    MIN_LEASE_SECONDS,
    HolderInfo,
    LockError,
    LockHandle,
    LockTimeout,
    WaitInfo,
    acquire,
    format_duration,
    held_entry,
    held_env_value,
    open_backend,
    redact_command,
    scope_key,
)

EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_LOST = 4
_POSIX = os.name == "posix"
_FORWARDED = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None),
                               getattr(signal, "SIGHUP", None)) if s is not None)


def _say(message: str) -> None:
    click.echo(f"armguard: {message}", err=True)


class WaitPrinter:
    """Shows `waiting for lock K held by <holder> since <t> (<age>)`: one live, rewritten line on
    a terminal; in logs a line when the holder changes and one a minute otherwise."""

    def __init__(self, stream: TextIO | None = None, every: float = 60.0):
        self.stream = stream or sys.stderr
        try:
            self.tty = self.stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self.every = every
        self._last: tuple[object, ...] | None = None
        self._last_at = 0.0
        self.live = False

    def __call__(self, info: WaitInfo) -> None:
        line = "armguard: " + info.line()
        if self.tty:
            width = shutil.get_terminal_size((120, 24)).columns
            if len(line) >= width:
                line = line[: max(10, width - 4)] + "..."
            self.stream.write("\r\x1b[K" + line)
            self.stream.flush()
            self.live = True
            return
        ident = (info.holder.token if info.holder else None, info.holder is None, info.error)
        now = time.monotonic()
        if ident != self._last or now - self._last_at >= self.every:
            self._last, self._last_at = ident, now
            self.stream.write(line + "\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()
            self.live = False


class _Interrupted(BaseException):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class _Signals:
    """Signal handling of `lock run`: while waiting for the lock, SIGINT/SIGTERM/SIGHUP unwind (the
    lock is never left behind); while the command runs they are forwarded to its process group;
    afterwards they are only recorded, so the release is not cut short."""

    def __init__(self) -> None:
        self.mode = "raise"
        self.child: subprocess.Popen[bytes] | None = None
        self.received: list[int] = []
        self.pending: list[int] = []
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for s in _FORWARDED:
                with contextlib.suppress(OSError, ValueError):
                    self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for s, old in self._old.items():
            signal.signal(s, old)

    def _handle(self, signum: int, frame: object) -> None:
        self.received.append(signum)
        if self.mode == "raise":
            raise _Interrupted(signum)
        if self.mode == "forward":
            if self.child is None:
                self.pending.append(signum)  # the command is being started: forwarded once it is
            else:
                _signal_child(self.child, signum)

    def started(self, child: subprocess.Popen[bytes]) -> None:
        self.child = child
        while self.pending:
            _signal_child(child, self.pending.pop(0))


def _signal_child(proc: subprocess.Popen[bytes], signum: int) -> None:
    try:
        if _POSIX:
            os.killpg(proc.pid, signum)
        elif signum == signal.SIGTERM:
            proc.terminate()
        else:
            proc.send_signal(signum)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_child(proc: subprocess.Popen[bytes], grace: float) -> str:
    """SIGTERM the command's process group, SIGKILL whatever is left after `grace` seconds."""
    if not _POSIX:
        proc.terminate()
        proc.wait()
        return "terminated"
    _signal_child(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if proc.poll() is not None and not _group_alive(proc.pid):
            return "stopped with SIGTERM"
        time.sleep(0.05)
    _signal_child(proc, signal.SIGKILL)
    proc.wait()
    return f"killed with SIGKILL after a {format_duration(grace)} grace period"


class _Terminal:
    """Hands the controlling terminal to the command's process group (as a shell does for a
    foreground job), so Ctrl-C and terminal reads reach it although it has a group of its own."""

    def __init__(self) -> None:
        self.fd: int | None = None
        self._old_ttou: Any = None

    def give(self, pgid: int) -> None:
        if not _POSIX:
            return
        try:
            fd = sys.stdin.fileno()
            if not os.isatty(fd) or os.tcgetpgrp(fd) != os.getpgrp():
                return
            self._old_ttou = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
            os.tcsetpgrp(fd, pgid)
            self.fd = fd
            os.killpg(pgid, signal.SIGCONT)  # in case it read the terminal before it was its own
        except (OSError, ValueError, AttributeError):
            pass

    def take_back(self) -> None:
        if self.fd is None:
            return
        try:
            os.tcsetpgrp(self.fd, os.getpgrp())
        except OSError:
            pass
        finally:
            if self._old_ttou is not None:
                signal.signal(signal.SIGTTOU, self._old_ttou)
            self.fd = None


def run_locked(command: Sequence[str], handle: LockHandle, env: dict[str, str], grace: float,
               signals: _Signals) -> int:
    """Run `command` under the held lock; the exit code of `lock run`."""
    signals.mode = "forward"
    try:
        proc = subprocess.Popen(list(command), env=env, **({"process_group": 0} if _POSIX else {}))
    except FileNotFoundError:
        _say(f"error: command not found: {command[0]}")
        return 127
    except PermissionError:
        _say(f"error: command not executable: {command[0]}")
        return 126
    except OSError as e:
        _say(f"error: cannot run {command[0]}: {e.strerror or e}")
        return 126
    terminal = _Terminal()
    terminal.give(proc.pid)
    signals.started(proc)
    stopped = None
    try:
        while True:
            try:
                rc = proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                pass
            if handle.lost.is_set():
                stopped = _stop_child(proc, grace)
                rc = proc.returncode
                break
    finally:
        signals.mode = "record"
        terminal.take_back()
    if handle.lost.is_set():
        if stopped:
            what = f"the command was {stopped}"
        else:
            what = f"the command had already finished with exit code {_exit_code(rc)}"
        _say(f"error: lost lock '{handle.key}': {handle.lost_reason or 'unknown reason'}; {what}")
        return EXIT_LOST
    return _exit_code(rc)


def _exit_code(rc: int) -> int:
    return 128 - rc if rc < 0 else rc


@click.group("lock", context_settings={"help_option_names": ["-h", "--help"]})
def lock() -> None:
    """Single-writer locks keyed by deployment scope, shared across CI systems."""


@lock.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False,
                                       "help_option_names": ["-h", "--help"]})
@click.option("--key", help="The lock key: any name; a scope id like /subscriptions/S/resourceGroups/RG "
                            "(compared case-insensitively).")
@click.option("--subscription", help="Lock this subscription's scope (instead of --key).")
@click.option("-g", "--resource-group", help="With --subscription: lock this resource group's scope.")
@click.option("--backend", envvar=BACKEND_ENV, show_envvar=True,
              help="file://PATH (default: a per-user cache directory) or blob://ACCOUNT/CONTAINER[/PREFIX].")
@click.option("--blob-endpoint", envvar=BLOB_ENDPOINT_ENV, show_envvar=True,
              help="Blob service URL override (Azurite, sovereign clouds); {account} is replaced.")
@click.option("--timeout", default="30m", show_default=True, callback=duration_option,
              help="How long to wait for the lock: 90s, 30m, 1h, 0 (one try) or none (forever).")
@click.option("--lease-seconds", type=click.IntRange(MIN_LEASE_SECONDS, MAX_LEASE_SECONDS),
              default=DEFAULT_LEASE_SECONDS, show_default=True,
              help="Blob lease duration; renewed every third of it. A crashed holder frees the key after it.")
@click.option("--grace", default="10s", show_default=True, callback=duration_option,
              help="When the lock is lost: time between SIGTERM and SIGKILL of the command.")
@click.option("--create-container/--no-create-container", default=True, show_default=True,
              help="Create the blob container when it does not exist.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(key: str | None, subscription: str | None, resource_group: str | None, backend: str | None,
        blob_endpoint: str | None, timeout: float | None, lease_seconds: int, grace: float | None,
        create_container: bool, command: tuple[str, ...]) -> None:
    """Run COMMAND while holding the lock; wait (showing who holds it) while someone else does.

    \b
      armguard lock run --key /subscriptions/S/resourceGroups/RG -- az deployment group create ...
      armguard lock run --subscription S -g RG --backend blob://acct/locks -- terraform apply

    \b
    Exit codes: the command's (128+S if killed by signal S); 2 usage or backend error;
    3 lock not acquired within --timeout; 4 lock lost, command stopped; 126/127 command not
    executable/found; 130/143 interrupted while waiting.
    """
    if key and subscription:
        raise click.UsageError("give either --key or --subscription, not both")
    if resource_group and not subscription:
        raise click.UsageError("--resource-group needs --subscription")
    if grace is None:
        raise click.BadParameter("the grace period must be finite", param_hint="--grace")
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise click.UsageError("no command given: armguard lock run --key K -- COMMAND ...")
    try:
        if subscription:
            key = scope_key(subscription, resource_group)
        if not key or not key.strip():
            raise click.UsageError("give the lock key: --key K, or --subscription S [-g RG]")
        be = open_backend(backend, blob_endpoint=blob_endpoint, create_container=create_container)
    except LockError as e:
        _say(str(e))
        sys.exit(EXIT_USAGE)

    holder = HolderInfo.current(redact_command(command))
    printer = WaitPrinter()
    with _Signals() as signals:
        try:
            with acquire(key, backend=be, timeout=timeout, on_wait=printer, holder=holder,
                         lease_seconds=lease_seconds) as handle:
                printer.finish()
                if handle.waited >= 1:
                    _say(f"acquired lock '{handle.key}' after {format_duration(handle.waited)}")
                env = dict(os.environ)
                env[HELD_ENV] = held_env_value([held_entry(be, key, handle.holder)])
                env["ARMGUARD_LOCK_KEY"] = handle.key
                code = run_locked(command, handle, env, grace, signals)
        except _Interrupted as e:
            printer.finish()
            _say(f"interrupted while waiting for lock '{key.strip()}'")
            code = 128 + e.signum
        except KeyboardInterrupt:
            printer.finish()
            _say(f"interrupted while waiting for lock '{key.strip()}'")
            code = 130
        except LockTimeout as e:
            printer.finish()
            _say(str(e))
            code = EXIT_TIMEOUT
        except LockError as e:
            printer.finish()
            _say(str(e))
            code = EXIT_USAGE
    sys.exit(code)


def main() -> None:
    """`python -m armguard.guard.lock_cli run ...`, for use before `lock` is in the armguard group."""
    lock.main(prog_name="armguard lock")


if __name__ == "__main__":
    main()
