"""Linting many files across processes.

Files are handed to the workers in chunks as the directory walk finds them, so linting starts
while the walk goes on. Templates refer to their neighbours (a module's tests to `../../main.bicep`,
a module to its child modules), and a worker parses each file once for all templates that use it,
so a chunk keeps such neighbourhoods together: it ends only where the walk leaves the tree of the
topmost directory holding a Bicep file, unless it grows too large to share the work out. What every
worker needs (the front ends, the rules, the shipped catalog) is loaded before the workers start,
so that forked workers share it instead of each loading it again. Where processes fork (Linux),
`armguard.lint.forked` runs the workers from the main thread alone; elsewhere `concurrent.futures`
spawns them.

Workers run without the cyclic garbage collector: linting allocates millions of objects that live
as long as the worker (parsed files are kept for reuse) or die by reference counting, and the
collector would traverse them over and over, for about 15 % of the CPU time. It runs once per
`_COLLECT_EVERY` files instead, to bound the memory held by the few reference cycles.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

_MIN_CHUNK = 8
_MAX_CHUNK = 64
_COLLECT_EVERY = 2000

R = TypeVar("R")


def lint_in_parallel(paths: Iterable[str], workers: int, lint_chunk: Callable[[list[str]], list[R]]) -> list[R]:
    """`lint_chunk` over `paths` in `workers` processes; the results in the order of `paths`."""
    _preload()
    chunks = _chunks(paths)
    if hasattr(os, "fork") and sys.platform != "darwin":
        from armguard.lint.forked import run_forked

        done = run_forked(chunks, workers, functools.partial(_in_worker, lint_chunk), _start_worker)
    else:  # no fork (Windows), or fork not safe with the system libraries (macOS)
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers, initializer=_start_worker) as pool:
            done = [f.result() for f in [pool.submit(_in_worker, lint_chunk, chunk) for chunk in chunks]]
    return [r for chunk_results in done for r in chunk_results]


_linted_since_collect = 0


def _start_worker() -> None:
    from armguard.bicep.loader import files_do_not_change

    files_do_not_change()  # a worker lives for one run, during which files are not rewritten
    gc.disable()
    gc.freeze()  # what the worker inherited is never garbage: keep the collector off it


def _in_worker(lint_chunk: Callable[[list[str]], list[R]], chunk: list[str]) -> list[R]:
    global _linted_since_collect
    results = lint_chunk(chunk)
    _linted_since_collect += len(chunk)
    if _linted_since_collect >= _COLLECT_EVERY:
        _linted_since_collect = 0
        gc.collect()
        gc.freeze()  # survivors live on (parsed files): later collections need not look at them
    return results


def _chunks(paths: Iterable[str]) -> Iterator[list[str]]:
    """Runs of paths from a depth-first walk (a directory's files before its subdirectories'),
    cut between neighbourhoods once they hold `_MIN_CHUNK` files, and at `_MAX_CHUNK` files."""
    chunk: list[str] = []
    current = None
    with_bicep: set[str] = set()
    for p in paths:
        directory = os.path.dirname(p)
        if p.endswith(".bicep"):
            with_bicep.add(directory)
        key = _neighbourhood(directory, with_bicep)
        if chunk and (len(chunk) >= _MAX_CHUNK or (key != current and len(chunk) >= _MIN_CHUNK)):
            yield chunk
            chunk = []
        current = key
        chunk.append(p)
    if chunk:
        yield chunk


def _neighbourhood(directory: str, with_bicep: set[str]) -> str:
    """The topmost directory at or above `directory` that holds a Bicep file seen so far."""
    parts = directory.split(os.sep)
    for i in range(1, len(parts) + 1):
        candidate = os.sep.join(parts[:i])
        if candidate in with_bicep:
            return candidate
    return directory


def _preload() -> None:
    import armguard.bicep.loader  # noqa: F401
    from armguard.catalog import default_catalog
    from armguard.lint.rules import all_rules

    all_rules()
    default_catalog()
