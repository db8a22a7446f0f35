"""A pool of forked worker processes, fed over pipes by the main thread alone.

`concurrent.futures` starts two threads and a queue per pool, and a run of lint hands it a
hundred tasks: the threads' pickling and hand-offs cost the main process more CPU than the walk
of the directory tree, on a machine whose cores the workers need. Here the main thread forks the
workers, writes each one its next task, and waits on their result pipes with `select`. A worker
has up to two tasks queued, so that it does not wait for work while the main thread walks on.

Messages are pickles behind an 8-byte length: a task is `(index, item)`, a result
`(index, value, exception)`. A worker stops when its task pipe is closed.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_QUEUED_PER_WORKER = 2
_HEADER = 8


class WorkerError(RuntimeError):
    """A worker process died, or failed with an exception that could not be sent back."""


def run_forked(items: Iterable[T], workers: int, work: Callable[[T], R], start: Callable[[], None]) -> list[R]:
    """`work(item)` for every item, in `workers` forked processes that each run `start` first;
    the results in the order of `items`. An exception raised by `work` is raised here."""
    pool: list[_Worker] = []
    try:
        for _ in range(workers):
            pool.append(_fork(work, start, pool))
        return _dispatch(iter(items), pool)
    except BaseException:
        for worker in pool:
            worker.kill()
        raise
    finally:
        for worker in pool:
            worker.stop()


class _Worker:
    __slots__ = ("pid", "queued", "results", "tasks")

    def __init__(self, pid: int, tasks: int, results: int):
        self.pid = pid
        self.tasks = tasks  # the write end of its task pipe
        self.results = results  # the read end of its result pipe
        self.queued = 0

    def send(self, message: Any) -> None:
        try:
            _write(self.tasks, message)
        except BrokenPipeError:
            raise self.died() from None
        self.queued += 1

    def died(self) -> WorkerError:
        return WorkerError(f"a lint worker (pid {self.pid}) stopped unexpectedly")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)

    def stop(self) -> None:
        """Close its pipes (it exits at the end of its tasks) and wait for it."""
        for fd in (self.tasks, self.results):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _fork(work: Callable[[Any], Any], start: Callable[[], None], siblings: list[_Worker]) -> _Worker:
    task_r, task_w = os.pipe()
    result_r, result_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker; it never returns into the caller's code
        code = 1
        try:
            # Pipes of the workers forked before this one: a copy left open here would keep
            # their task pipes from ever reaching their end.
            for fd in (task_w, result_r, *(f for w in siblings for f in (w.tasks, w.results))):
                os.close(fd)
            start()
            _serve(task_r, result_w, work)
            code = 0
        finally:
            os._exit(code)
    os.close(task_r)
    os.close(result_w)
    return _Worker(pid, task_w, result_r)


def _serve(tasks: int, results: int, work: Callable[[Any], Any]) -> None:
    while True:
        message = _read(tasks)
        if message is None:
            return
        index, item = message
        try:
            reply = (index, work(item), None)
        except Exception as e:
            reply = (index, None, e if _picklable(e) else WorkerError(traceback.format_exc()))
        _write(results, reply)


def _dispatch(items: Iterator[Any], pool: list[_Worker]) -> list[Any]:
    done: dict[int, Any] = {}
    sent = 0
    more = True

    def feed(worker: _Worker) -> None:
        nonlocal sent, more
        while more and worker.queued < _QUEUED_PER_WORKER:
            item = next(items, _END)
            if item is _END:
                more = False
                return
            worker.send((sent, item))
            sent += 1

    for worker in pool:
        feed(worker)
    by_fd = {w.results: w for w in pool}
    while any(w.queued for w in pool):
        ready, _, _ = select.select([w.results for w in pool if w.queued], [], [])
        for fd in ready:
            worker = by_fd[fd]
            message = _read(fd)
            if message is None:
                raise worker.died()
            index, value, error = message
            if error is not None:
                raise error
            worker.queued -= 1
            done[index] = value
            feed(worker)
    return [done[i] for i in range(sent)]


_END = object()


def _picklable(e: BaseException) -> bool:
    try:
        pickle.loads(pickle.dumps(e))
    except Exception:
        return False
    return True


def _write(fd: int, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(_HEADER, "little") + data)
    while view:
        view = view[os.write(fd, view):]


def _read(fd: int) -> Any:
    """The next message, or None at the end of the pipe."""
    header = _read_exactly(fd, _HEADER)
    if header is None:
        return None
    data = _read_exactly(fd, int.from_bytes(header, "little"))
    return None if data is None else pickle.loads(data)


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts = []
    while size:
        part = os.read(fd, min(size, 1 << 20))
        if not part:
            return None
        parts.append(part)
        size -= len(part)
    return b"".join(parts)
