"""Retry a Python callable across operation conflicts: `retry_on_conflict` and `call_with_retry`.

For code that sees conflicts as exceptions rather than responses (a long-running operation whose
poller fails with Conflict, a deployment that ends Failed with AnotherOperationInProgress inside):

    @retry_on_conflict(timeout=2700, on_wait=log)
    def deploy():
        client.deployments.begin_create_or_update(rg, name, params).result()

On an exception `parse_error` reads as a conflict that waiting can help, it calls `on_wait(error)`,
waits for what the error names (`wait_for`: status URI, resource, deployment), or, when the error
names nothing to poll, backs off exponentially with full jitter, then calls again. Other exceptions
propagate at once; so does the last conflict at the deadline or after `max_attempts` calls.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from armguard.errors import ArmguardError
from armguard.guard.connection import ArmConnection
from armguard.guard.errors import ArmErrorInfo, parse_error
from armguard.guard.wait import WaitTarget, WaitTimeout, wait_for
from armguard.guard.wait_core import full_jitter

T = TypeVar("T")
DEFAULT_TIMEOUT_SECONDS = 45 * 60.0


def call_with_retry(func: Callable[..., T], *args: Any, timeout: float = DEFAULT_TIMEOUT_SECONDS,
                    max_attempts: int | None = None, on_wait: Callable[[ArmErrorInfo], None] | None = None,
                    conn: ArmConnection | None = None, backoff_base: float = 2.0, backoff_cap: float = 60.0,
                    rng: random.Random | None = None, **kwargs: Any) -> T:
    deadline = time.monotonic() + timeout
    rng = rng or random.Random()
    attempt = 0
    while True:
        attempt += 1
        try:
            return func(*args, **kwargs)
        except Exception as error:
            info = parse_error(error)
            if info is None or info.category != "wait":
                raise
            if time.monotonic() >= deadline or (max_attempts is not None and attempt >= max_attempts):
                raise
            if on_wait is not None:
                on_wait(info)
            if not _wait_for_holder(info, conn, deadline):
                time.sleep(max(0.0, min(full_jitter(attempt - 1, base=backoff_base, cap=backoff_cap, rng=rng),
                                        deadline - time.monotonic())))


def _wait_for_holder(info: ArmErrorInfo, conn: ArmConnection | None, deadline: float) -> bool:
    """Wait for what the error names; False when it names nothing that can be polled."""
    target = WaitTarget.from_error(info)
    if target is None:
        return False
    try:
        wait_for(target, conn=conn, timeout=max(0.0, deadline - time.monotonic()))
    except WaitTimeout:
        return True  # the caller's next attempt meets the deadline and re-raises the conflict
    except ArmguardError:
        return False
    return True


def retry_on_conflict(func: Callable[..., T] | None = None, **options: Any) -> Any:
    """Decorator form of `call_with_retry` (with or without arguments)."""

    def decorate(f: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            return call_with_retry(functools.partial(f, *args, **kwargs), **options)

        return wrapper

    return decorate(func) if func is not None else decorate
