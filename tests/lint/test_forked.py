"""The forked worker pool that lint runs on: order of results, errors, dead workers, clean exit."""

from __future__ import annotations

import os
import sys
import time

import pytest

from armguard.lint.forked import WorkerError, run_forked

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                                reason="the forked pool runs where lint forks its workers")

STARTED: list[int] = []


def start() -> None:
    STARTED.append(os.getpid())


def slow_square(x: int) -> tuple[int, int, list[int]]:
    time.sleep(0.002 * (x % 3))  # uneven work: results arrive out of order
    return x * x, os.getpid(), list(STARTED)


def child_pids() -> set[int]:
    """This process's children (other tests' helpers, such as a session's Azurite, included)."""
    pids: set[int] = set()
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        with open(f"/proc/{os.getpid()}/task/{task}/children") as f:
            pids.update(int(p) for p in f.read().split())
    return pids


@pytest.fixture(autouse=True)
def children_before() -> None:
    global BEFORE
    BEFORE = child_pids()


BEFORE: set[int] = set()


def no_children_left() -> bool:
    """Every worker the pool forked has been reaped: no child that was not there before the test."""
    return not (child_pids() - BEFORE)


def test_results_come_back_in_the_order_of_the_items():
    results = run_forked(range(40), 3, slow_square, start)
    assert [r[0] for r in results] == [x * x for x in range(40)]
    pids = {r[1] for r in results}
    assert 1 < len(pids) <= 3 and os.getpid() not in pids
    assert all(r[2] == [r[1]] for r in results)  # `start` ran once, in the worker itself
    assert STARTED == [] and no_children_left()


def test_no_items_no_results():
    assert run_forked([], 2, slow_square, start) == []
    assert no_children_left()


def fail_on_seven(x: int) -> int:
    if x == 7:
        raise ValueError(f"bad item {x}")
    return x


def test_an_exception_in_a_worker_is_raised_in_the_caller():
    with pytest.raises(ValueError, match="bad item 7"):
        run_forked(range(20), 2, fail_on_seven, lambda: None)
    assert no_children_left()


class Unpicklable(Exception):
    def __init__(self, a: int, b: int):
        super().__init__(a)  # pickling keeps one argument: it cannot be made again


def fail_unpicklably(x: int) -> int:
    raise Unpicklable(x, x)


def test_an_exception_that_cannot_travel_becomes_a_worker_error_with_its_traceback():
    with pytest.raises(WorkerError, match="Unpicklable"):
        run_forked([1, 2], 2, fail_unpicklably, lambda: None)
    assert no_children_left()


def die_on_three(x: int) -> int:
    if x == 3:
        os._exit(9)
    return x


def test_a_worker_that_dies_is_reported():
    with pytest.raises(WorkerError, match="stopped unexpectedly"):
        run_forked(range(10), 2, die_on_three, lambda: None)
    assert no_children_left()


def test_a_worker_that_cannot_start_is_reported():
    def broken_start() -> None:
        raise RuntimeError("no")

    with pytest.raises(WorkerError, match="stopped unexpectedly"):
        run_forked(range(4), 2, slow_square, broken_start)
    assert no_children_left()
