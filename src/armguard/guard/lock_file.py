"""The file lock backend: an OS advisory lock on `<dir>/<key>.lock` plus a JSON sidecar
`<dir>/<key>.holder.json` naming the holder.

The lock is `flock(LOCK_EX)` on POSIX and `msvcrt.locking` on Windows; both are dropped by the OS
when the holding process dies, however it dies, so a crashed holder never leaves the key locked.
Lock files are never deleted (deleting one while another process has it open would let two
processes hold "the" lock on two different inodes). The sidecar is written after the lock is
taken and deleted (if still ours) before it is released; a sidecar left by a crashed process on
this host is recognised by its dead pid and ignored.

One machine only: a directory on a network file system serializes only where that file system
implements flock faithfully. Use the blob backend across machines.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading

from armguard.guard.locks import HolderInfo, LockError, _pid_alive, key_file_name

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class FileLease:
    def __init__(self, fd: int, sidecar: str, token: str):
        self.fd = fd
        self.sidecar = sidecar
        self.token = token
        self.lost = threading.Event()  # an OS lock held by an open descriptor cannot be lost
        self.lost_reason: str | None = None

    def release(self) -> None:
        if self.fd < 0:
            return
        try:
            holder = _read_sidecar(self.sidecar)
            if holder is not None and holder.token == self.token:
                with contextlib.suppress(OSError):
                    os.unlink(self.sidecar)
        finally:
            try:
                _unlock(self.fd)
            finally:
                os.close(self.fd)
                self.fd = -1


def _read_sidecar(path: str) -> HolderInfo | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return HolderInfo.from_dict(data) if isinstance(data, dict) else None


class FileBackend:
    poll_initial = 0.05
    poll_max = 1.0

    def __init__(self, directory: str):
        self.directory = directory
        self.identity = "file:" + os.path.normcase(os.path.realpath(directory))

    def describe(self) -> str:
        return f"file://{self.directory}"

    def prepare(self) -> None:
        try:
            os.makedirs(self.directory, exist_ok=True)
        except OSError as e:
            raise LockError(f"cannot create the lock directory {self.directory}: {e.strerror or e}") from e
        if not os.path.isdir(self.directory):
            raise LockError(f"the lock directory {self.directory} is not a directory")

    def paths(self, key: str) -> tuple[str, str]:
        name = key_file_name(key)
        return (os.path.join(self.directory, name + ".lock"),
                os.path.join(self.directory, name + ".holder.json"))

    def _open(self, path: str) -> int:
        flags = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | flags, 0o666)
        except PermissionError:
            # A directory shared between users: flock works on a read-only descriptor too.
            try:
                return os.open(path, os.O_RDONLY | flags)
            except OSError as e:
                raise LockError(f"cannot open the lock file {path}: {e.strerror or e}") from e
        except OSError as e:
            raise LockError(f"cannot open the lock file {path}: {e.strerror or e}") from e

    def try_acquire(self, key: str, holder: HolderInfo, lease_seconds: int) -> FileLease | None:
        lock_path, sidecar = self.paths(key)
        fd = self._open(lock_path)
        if not _try_lock(fd):
            os.close(fd)
            return None
        try:
            self._write_sidecar(sidecar, holder)
        except BaseException:
            _unlock(fd)
            os.close(fd)
            raise
        return FileLease(fd, sidecar, holder.token)

    def _write_sidecar(self, path: str, holder: HolderInfo) -> None:
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(holder.to_json() + "\n")
            os.replace(tmp, path)
        except OSError:
            # Informational only (a read-only shared directory): waiters then see "holder unknown".
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def read_holder(self, key: str) -> HolderInfo | None:
        holder = _read_sidecar(self.paths(key)[1])
        if holder is None:
            return None
        if holder.host == socket.gethostname() and not _pid_alive(holder.pid):
            return None  # left by a crashed holder; the new holder has not written its own yet
        return holder
