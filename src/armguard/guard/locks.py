"""Single-writer locks keyed by deployment scope, shared across CI systems.

GitHub `concurrency` groups and Azure DevOps exclusive locks each serialize runs inside one CI
system only; two pipelines from different systems (or a pipeline and a person) can still deploy
to one resource group at once, and Resource Manager answers the loser with 409 Conflict. A lock
here is keyed by scope (`scope_key(subscription, resource_group)`) or by any key the user names,
and lives in a backend both sides can reach:

- `file://DIR` (default: a per-user cache directory): an OS advisory lock on `DIR/<key>.lock`
  plus a JSON sidecar naming the holder. One machine only; the OS drops the lock when the holder
  dies, however it dies.
- `blob://ACCOUNT/CONTAINER[/PREFIX]`: an Azure Blob Storage lease on one blob per key (what
  Terraform's azurerm backend uses for state locking). Leases are finite (15-60 s) and renewed in
  the background every lease/3 seconds, so a crashed holder's lock expires. The holder is written
  as blob metadata.

    with acquire("/subscriptions/s/resourceGroups/rg", backend="blob://acct/locks",
                 timeout=1800, on_wait=print) as lock:
        ...                      # lock.lost is set if the lease could not be kept
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import random
import re
import shlex
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from armguard.errors import ArmguardError
from armguard.guard.wait_core import format_duration

#: Environment variable naming the default backend (`file://PATH` or `blob://ACCOUNT/CONTAINER`).
BACKEND_ENV = "ARMGUARD_LOCK_BACKEND"
#: Environment variable with an endpoint override for the blob backend (Azurite, sovereign clouds).
BLOB_ENDPOINT_ENV = "ARMGUARD_BLOB_ENDPOINT"
#: Set by `armguard lock run` for its command: the locks held by an ancestor process, so that a
#: nested `acquire` of the same key (a guarded deploy inside `lock run`) does not wait on itself.
HELD_ENV = "ARMGUARD_LOCKS_HELD"

MIN_LEASE_SECONDS = 15
MAX_LEASE_SECONDS = 60
DEFAULT_LEASE_SECONDS = 60


class LockError(ArmguardError):
    """A lock could not be used: bad backend URL, missing credentials, backend refused."""


class LockTimeout(LockError):
    """The lock was not acquired within the timeout; names who holds it."""

    def __init__(self, key: str, waited: float, holder: HolderInfo | None, last_error: str | None = None,
                 timeout: float | None = None):
        self.key = key
        self.waited = waited
        self.holder = holder
        self.last_error = last_error
        self.timeout = timeout
        msg = f"timed out after {format_duration(waited if timeout is None else timeout)} waiting for lock '{key}'"
        if holder is not None:
            msg += f" held by {holder.describe()} since {holder.since()}"
        elif last_error:
            msg += f" (last error: {last_error})"
        else:
            msg += " (holder unknown)"
        super().__init__(msg)


class LockLost(LockError):
    """The lock was lost while held (lease broken, expired or not renewable)."""


class BackendUnavailable(Exception):
    """A transient backend failure while waiting; retried until the timeout."""


# --------------------------------------------------------------------------------------------
# Keys


def normalize_key(key: str) -> str:
    """The canonical form of a lock key. Keys compare case-insensitively, as Azure resource ids
    do, so `/subscriptions/S/resourceGroups/RG` and its lower-case spelling are one lock."""
    norm = key.strip().casefold()
    if not norm:
        raise LockError("the lock key is empty")
    return norm


def scope_key(subscription: str, resource_group: str | None = None) -> str:
    """The lock key of a deployment scope: a subscription, or a resource group in it."""
    sub = subscription.strip().strip("/")
    if sub.lower().startswith("subscriptions/"):
        sub = sub.split("/", 1)[1]
    if not sub:
        raise LockError("the subscription is empty")
    key = f"/subscriptions/{sub}"
    if resource_group:
        key += f"/resourceGroups/{resource_group.strip().strip('/')}"
    return normalize_key(key)


def key_file_name(key: str) -> str:
    """A file or blob name for a key: readable, safe on every file system, and unique (a hash of
    the normalized key tells `a/b` from `a-b`)."""
    norm = normalize_key(key)
    readable = re.sub(r"[^a-z0-9._-]+", "-", norm).strip("-.")[:80].strip("-.") or "key"
    digest = hashlib.sha256(norm.encode("utf-8")).hexdigest()[:12]
    return f"{readable}-{digest}"


# --------------------------------------------------------------------------------------------
# Holders

_SECRETISH = re.compile(r"(?i)(pass(word|wd)?|pwd|secret|token|key|sig|signature|credential|"
                        r"connection[-_]?string|sas)")
_ASSIGNMENT = re.compile(r"^([^=\s]*?)=(.*)$", re.S)
MAX_COMMAND_CHARS = 300


def redact_command(argv: Sequence[str]) -> str:
    """A command line as a holder description: values of secret-looking options and assignments
    replaced by `***`, cut to a readable length. Holder metadata is readable by everyone who can
    read the lock, so secrets passed on the command line must not land there."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        m = _ASSIGNMENT.match(arg)
        if m and _SECRETISH.search(m.group(1)):
            out.append(f"{m.group(1)}=***")
            continue
        if arg.startswith("-") and _SECRETISH.search(arg) and "=" not in arg:
            hide_next = True
        out.append(arg)
    text = shlex.join(out)
    if len(text) > MAX_COMMAND_CHARS:
        text = text[: MAX_COMMAND_CHARS - 3] + "..."
    return text


def ci_run_url(env: Mapping[str, str] | None = None) -> str | None:
    """The URL of the CI run this process belongs to, from the CI system's environment."""
    env = os.environ if env is None else env
    gh_run = env.get("GITHUB_RUN_ID")
    if gh_run and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        url = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{gh_run}"
        if env.get("GITHUB_RUN_ATTEMPT") and env["GITHUB_RUN_ATTEMPT"] != "1":
            url += f"/attempts/{env['GITHUB_RUN_ATTEMPT']}"
        return url
    ado_build = env.get("BUILD_BUILDID")
    if ado_build and env.get("SYSTEM_COLLECTIONURI"):
        from urllib.parse import quote

        base = env["SYSTEM_COLLECTIONURI"].rstrip("/") + "/"
        project = env.get("SYSTEM_TEAMPROJECT") or env.get("SYSTEM_TEAMPROJECTID") or ""
        if project:
            base += quote(project, safe="") + "/"
        return f"{base}_build/results?buildId={ado_build}"
    for name in ("CI_JOB_URL", "CI_PIPELINE_URL", "BUILD_URL", "CIRCLE_BUILD_URL"):  # GitLab, Jenkins, CircleCI
        if env.get(name):
            return env[name]
    return None


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class HolderInfo:
    """Who holds (or wants) a lock. `token` is unique per acquisition."""

    host: str
    pid: int
    user: str
    command: str = ""
    ci_run_url: str | None = None
    started_at: str = ""
    token: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def current(cls, command: str | Sequence[str] | None = None, *,
                env: Mapping[str, str] | None = None) -> HolderInfo:
        """This process as a holder; `command` defaults to this process's command line."""
        if command is None:
            command = [os.path.basename(sys.argv[0] or "python"), *sys.argv[1:]]
        text = command if isinstance(command, str) else redact_command(command)
        try:
            user = getpass.getuser()
        except Exception:  # no user name in some containers
            user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
        return cls(host=socket.gethostname(), pid=os.getpid(), user=user, command=text,
                   ci_run_url=ci_run_url(env), started_at=_utc_now(), token=uuid.uuid4().hex)

    def with_new_token(self) -> HolderInfo:
        return HolderInfo(self.host, self.pid, self.user, self.command, self.ci_run_url,
                          _utc_now(), uuid.uuid4().hex, dict(self.extra))

    def describe(self) -> str:
        text = f"{self.user}@{self.host} pid {self.pid}"
        if self.command:
            text += f" running {self.command!r}"
        if self.ci_run_url:
            text += f" ({self.ci_run_url})"
        return text

    def started(self) -> datetime | None:
        try:
            return datetime.strptime(self.started_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return None

    def age(self) -> float | None:
        start = self.started()
        if start is None:
            return None
        return max(0.0, (datetime.now(UTC) - start).total_seconds())

    def since(self) -> str:
        """`<started at> (<age>)`, as shown while waiting."""
        age = self.age()
        if age is None:
            return self.started_at or "an unknown time"
        return f"{self.started_at} ({format_duration(age)})"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> HolderInfo | None:
        try:
            pid = int(data.get("pid", 0))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            pid = 0
        host = str(data.get("host") or "")
        if not host and not pid:
            return None
        extra = data.get("extra")
        return cls(host=host or "?", pid=pid, user=str(data.get("user") or "?"),
                   command=str(data.get("command") or ""),
                   ci_run_url=str(data["ci_run_url"]) if data.get("ci_run_url") else None,
                   started_at=str(data.get("started_at") or ""), token=str(data.get("token") or ""),
                   extra={str(k): str(v) for k, v in extra.items()} if isinstance(extra, dict) else {})


# --------------------------------------------------------------------------------------------
# Durations


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?", re.I)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float | None:
    """Seconds from `90`, `90s`, `30m`, `1h30m`, `500ms`; `none`, `inf` or `forever` -> None
    (no limit)."""
    raw = text.strip().lower()
    if raw in ("none", "inf", "infinite", "forever", "never"):
        return None
    pos, total, parts = 0, 0.0, 0
    raw = raw.replace(" ", "")
    while pos < len(raw):
        m = _DURATION_PART.match(raw, pos)
        if not m or m.end() == pos:
            raise ValueError(f"invalid duration {text!r} (use e.g. 90s, 30m, 1h30m, or none)")
        unit = (m.group(2) or "s").lower()
        total += float(m.group(1)) * _UNITS[unit]
        pos = m.end()
        parts += 1
    if parts == 0:
        raise ValueError(f"invalid duration {text!r} (use e.g. 90s, 30m, 1h30m, or none)")
    return total


# --------------------------------------------------------------------------------------------
# Backends


class Lease(Protocol):
    """A held lock. `lost` is set (with `lost_reason`) when the backend says we no longer hold it."""

    lost: threading.Event
    lost_reason: str | None

    def release(self) -> None: ...


class Backend(Protocol):
    #: identifies the backend's lock namespace (for nested acquisitions)
    identity: str
    #: poll delays while waiting: first and largest (seconds)
    poll_initial: float
    poll_max: float

    def describe(self) -> str: ...

    def prepare(self) -> None:
        """First contact: errors here are configuration errors (raise LockError)."""

    def try_acquire(self, key: str, holder: HolderInfo, lease_seconds: int) -> Lease | None:
        """The lock if free now, else None. Raises BackendUnavailable on transient failures."""

    def read_holder(self, key: str) -> HolderInfo | None:
        """Who holds the key now (None if free or unknown)."""


def default_lock_dir() -> str:
    """The per-user cache directory for file locks."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser(r"~\AppData\Local")
        return os.path.join(base, "armguard", "locks")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Caches/armguard/locks")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "armguard", "locks")


def open_backend(url: str | None = None, *, blob_endpoint: str | None = None,
                 create_container: bool = True) -> Backend:
    """A backend from `file://PATH`, `blob://ACCOUNT/CONTAINER[/PREFIX]`, or None (the value of
    ARMGUARD_LOCK_BACKEND, else the per-user file backend). Raises LockError on a bad URL."""
    if url is None or not url.strip():
        url = os.environ.get(BACKEND_ENV, "").strip() or None
    if url is None:
        from armguard.guard.lock_file import FileBackend

        return FileBackend(default_lock_dir())
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("file", "blob"):
        raise LockError(f"unsupported lock backend {url!r}: use file://PATH or blob://ACCOUNT/CONTAINER")
    if scheme == "file":
        from armguard.guard.lock_file import FileBackend

        return FileBackend(_file_url_path(rest))
    from armguard.guard.lock_blob import BlobBackend

    if blob_endpoint is None:
        blob_endpoint = os.environ.get(BLOB_ENDPOINT_ENV, "").strip() or None
    return BlobBackend.from_url(url, rest, endpoint=blob_endpoint, create_container=create_container)


def _file_url_path(rest: str) -> str:
    from urllib.parse import unquote

    path = unquote(rest)
    if path.lower().startswith("localhost/"):
        path = path[len("localhost"):]
    if sys.platform == "win32" and re.match(r"^/[A-Za-z]:", path):
        path = path[1:]
    if not path:
        return default_lock_dir()
    return os.path.abspath(os.path.expanduser(path))


# --------------------------------------------------------------------------------------------
# Acquiring


@dataclass
class WaitInfo:
    """Passed to `on_wait` on every poll while the lock is held by someone else."""

    key: str
    holder: HolderInfo | None
    waited: float
    attempts: int
    error: str | None = None
    backend: str = ""

    def line(self) -> str:
        """`waiting for lock K held by <holder> since <t> (<age>)`."""
        if self.holder is not None:
            text = f"waiting for lock '{self.key}' held by {self.holder.describe()} since {self.holder.since()}"
        else:
            text = f"waiting for lock '{self.key}' (holder unknown)"
        if self.error:
            text += f" [backend error: {self.error}]"
        return text


@dataclass
class LockHandle:
    """A held lock. `lost` is set when the lock can no longer be trusted to be ours; stop what
    you were doing then. `nested` when an ancestor process (`armguard lock run`) holds it."""

    key: str
    backend: str
    holder: HolderInfo
    lost: threading.Event
    nested: bool = False
    waited: float = 0.0
    _lease: Lease | None = None

    @property
    def lost_reason(self) -> str | None:
        if self._lease is not None:
            return self._lease.lost_reason
        return None

    def check(self) -> None:
        """Raise LockLost if the lock was lost."""
        if self.lost.is_set():
            raise LockLost(f"lost lock '{self.key}': {self.lost_reason or 'unknown reason'}")


def held_entry(backend: Backend, key: str, holder: HolderInfo) -> dict[str, object]:
    return {"backend": backend.identity, "key": normalize_key(key), "pid": os.getpid(),
            "token": holder.token}


def held_env_value(entries: list[dict[str, object]], env: Mapping[str, str] | None = None) -> str:
    """The value of ARMGUARD_LOCKS_HELD for a child: the inherited entries plus `entries`."""
    return json.dumps(_held_entries(env) + entries)


def _held_entries(env: Mapping[str, str] | None = None) -> list[dict[str, object]]:
    env = os.environ if env is None else env
    try:
        data = json.loads(env.get(HELD_ENV, "") or "[]")
    except ValueError:
        return []
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return True  # no cheap check; the entry came from our environment
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _held_by_ancestor(backend: Backend, key: str) -> dict[str, object] | None:
    norm = normalize_key(key)
    for entry in _held_entries():
        if entry.get("backend") == backend.identity and entry.get("key") == norm:
            pid = entry.get("pid")
            if isinstance(pid, int) and _pid_alive(pid):
                return entry
    return None


class _Backoff:
    def __init__(self, initial: float, maximum: float, factor: float = 1.6):
        self.delay = initial
        self.maximum = maximum
        self.factor = factor

    def next(self) -> float:
        d = self.delay
        self.delay = min(self.maximum, self.delay * self.factor)
        return d * random.uniform(0.6, 1.0)  # jitter: waiters started together drift apart


@contextlib.contextmanager
def acquire(key: str, *, backend: str | Backend | None = None, timeout: float | None = None,
            on_wait: Callable[[WaitInfo], None] | None = None, holder: HolderInfo | str | None = None,
            lease_seconds: int = DEFAULT_LEASE_SECONDS, blob_endpoint: str | None = None,
            create_container: bool = True) -> Iterator[LockHandle]:
    """Hold the single-writer lock `key` for the `with` block.

    backend: `file://PATH`, `blob://ACCOUNT/CONTAINER[/PREFIX]`, a Backend, or None (ARMGUARD_LOCK_BACKEND,
    else a per-user file lock). timeout: seconds to wait (None: forever, 0: one try); raises
    LockTimeout naming the holder. on_wait: called on every poll while someone else holds it.
    holder: our description (a HolderInfo, or a string describing what we do; default this
    process's command line). lease_seconds: the blob lease (15-60 s), renewed every third of it.

    The handle's `lost` event is set if the lock is lost while held (blob lease broken, or not
    renewable until it may have expired); the caller must stop writing then. The lock is released
    when the block exits, also on exceptions and KeyboardInterrupt. Acquiring a key that an
    ancestor `armguard lock run` holds on the same backend succeeds at once (`nested=True`).
    """
    if not MIN_LEASE_SECONDS <= lease_seconds <= MAX_LEASE_SECONDS:
        raise LockError(f"lease duration must be {MIN_LEASE_SECONDS}-{MAX_LEASE_SECONDS} seconds, "
                        f"not {lease_seconds}")
    if timeout is not None and timeout < 0:
        raise LockError("timeout must not be negative")
    key_display = key.strip()
    normalize_key(key)
    be = backend if backend is not None and not isinstance(backend, str) else \
        open_backend(backend, blob_endpoint=blob_endpoint, create_container=create_container)
    if holder is None:
        me = HolderInfo.current()
    elif isinstance(holder, str):
        me = HolderInfo.current(holder)
    else:
        me = holder.with_new_token()

    if _held_by_ancestor(be, key) is not None:
        yield LockHandle(key_display, be.describe(), me, threading.Event(), nested=True)
        return

    be.prepare()
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    backoff = _Backoff(be.poll_initial, be.poll_max)
    attempts = 0
    last_holder: HolderInfo | None = None
    last_error: str | None = None
    lease: Lease | None = None
    try:
        while lease is None:
            attempts += 1
            error = None
            try:
                lease = be.try_acquire(key, me, lease_seconds)
            except BackendUnavailable as e:
                error = last_error = str(e)
            if lease is not None:
                break
            if error is None:
                try:
                    last_holder = be.read_holder(key)
                except BackendUnavailable as e:
                    error = last_error = str(e)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise LockTimeout(key_display, now - start, last_holder, last_error, timeout)
            if on_wait is not None:
                on_wait(WaitInfo(key_display, last_holder, now - start, attempts, error, be.describe()))
            delay = backoff.next()
            if deadline is not None:
                delay = min(delay, max(0.0, deadline - now))
            time.sleep(delay)
        yield LockHandle(key_display, be.describe(), me, lease.lost, waited=time.monotonic() - start,
                         _lease=lease)
    finally:
        if lease is not None:
            lease.release()
