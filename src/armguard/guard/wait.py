"""Wait for whatever holds a resource to finish: `wait_for`.

    from armguard.guard import wait_for
    result = wait_for(operation_url=info.status_uri, timeout=45 * 60)
    result = wait_for(error=exc)                       # an SDK exception or tool output
    result = wait_for(resource_group="rg-hub", subscription=sub)

What is polled, by preference: the async operation's status URI; the resource's provisioningState
(then its parents' and the catalog's readiness rule); a named deployment; every deployment of a
resource group. Each poll honours the server's Retry-After, bounded to [poll_floor, poll_ceiling].
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from armguard.errors import ArmguardError
from armguard.guard.connection import ArmConnection, connect
from armguard.guard.probes import ResourceProber, probe_deployment, probe_group, probe_operation
from armguard.guard.wait_core import (
    DEFAULT_POLL_SECONDS,
    MAX_POLL_SECONDS,
    MIN_POLL_SECONDS,
    Observation,
    format_duration,
    poll_delay,
)

DEFAULT_TIMEOUT_SECONDS = 45 * 60.0


class WaitTimeout(ArmguardError):
    """The deadline passed while the target was still running."""


@dataclass(frozen=True)
class WaitTarget:
    """What to wait on: one kind, except that a resource id may back up an operation URL."""

    operation_url: str | None = None
    resource_id: str | None = None
    deployment: str | None = None
    resource_group: str | None = None
    subscription: str | None = None

    def describe(self) -> str:
        if self.operation_url:
            return f"operation {self.operation_url}"
        if self.resource_id:
            return self.resource_id
        if self.deployment:
            return f"deployment {self.deployment} in resource group {self.resource_group}"
        return f"resource group {self.resource_group}"

    @classmethod
    def from_error(cls, error: Any) -> WaitTarget | None:
        """The best thing to poll for an error (exception, tool output or an ArmErrorInfo), or None."""
        from armguard.guard.errors import ArmErrorInfo, parse_error

        info = error if isinstance(error, ArmErrorInfo) else parse_error(error)
        if info is None:
            return None
        if info.status_uri:
            rid = info.resource_id if info.resource_id and "/providers/" in info.resource_id else None
            return cls(operation_url=info.status_uri, resource_id=rid)
        if info.resource_id and "/providers/microsoft.resources/deployments/" not in info.resource_id.lower():
            return cls(resource_id=info.resource_id)
        where = info.resource_id or info.target
        group = _group_of(where)
        if info.deployment_name and group:
            return cls(deployment=info.deployment_name, resource_group=group, subscription=_subscription_of(where))
        return None


def _group_of(resource_id: str | None) -> str | None:
    parts = (resource_id or "").split("/")
    lower = [p.lower() for p in parts]
    return parts[lower.index("resourcegroups") + 1] if "resourcegroups" in lower[:-1] else None


def _subscription_of(resource_id: str | None) -> str | None:
    parts = (resource_id or "").split("/")
    lower = [p.lower() for p in parts]
    return parts[lower.index("subscriptions") + 1] if "subscriptions" in lower[:-1] else None


@dataclass(frozen=True)
class WaitResult:
    ok: bool
    """The target ended well (Succeeded, gone, or nothing running)."""
    observation: Observation
    waited: float
    polls: int

    @property
    def state(self) -> str:
        return self.observation.state


class Poller:
    """Looks at one target; keeps per-target caches (API versions) between polls."""

    def __init__(self, target: WaitTarget, conn: ArmConnection, catalog: Any = None):
        self.target = target
        self.conn = conn
        self._resources = ResourceProber(conn, catalog) if target.resource_id else None
        self._operation_unreadable = False

    def look(self) -> Observation:
        t = self.target
        if t.operation_url and not self._operation_unreadable:
            try:
                return probe_operation(self.conn, t.operation_url)
            except ArmguardError:
                if not t.resource_id:
                    raise
                self._operation_unreadable = True  # e.g. 403 on another tenant's URI: watch the resource
        if t.resource_id:
            assert self._resources is not None
            return self._resources.probe(t.resource_id)
        subscription = t.subscription or self.conn.subscription_id()
        if t.deployment:
            if not t.resource_group:
                raise ArmguardError("--deployment needs -g/--resource-group")
            return probe_deployment(self.conn, f"/subscriptions/{subscription}/resourceGroups/{t.resource_group}",
                                    t.deployment)
        if t.resource_group:
            return probe_group(self.conn, subscription, t.resource_group)
        raise ArmguardError("nothing to wait on: give --operation-url, --id, --deployment or --resource-group")


def wait_for(target: WaitTarget | None = None, *, operation_url: str | None = None, resource_id: str | None = None,
             deployment: str | None = None, resource_group: str | None = None, subscription: str | None = None,
             error: Any = None, conn: ArmConnection | None = None, timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
             poll_floor: float = MIN_POLL_SECONDS, poll_ceiling: float = MAX_POLL_SECONDS,
             poll_default: float = DEFAULT_POLL_SECONDS, on_progress: Callable[[Observation, float], None] | None = None,
             catalog: Any = None, sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.monotonic) -> WaitResult:
    """Poll until the target is terminal; raises WaitTimeout at the deadline (None: no deadline).

    `on_progress(observation, waited_seconds)` is called after every poll. Failed/Canceled end the
    wait with `ok=False`; only the deadline raises.
    """
    if target is None:
        if error is not None:
            target = WaitTarget.from_error(error)
            if target is None:
                raise ArmguardError("the error names no operation, resource or deployment to wait on")
        else:
            target = WaitTarget(operation_url, resource_id, deployment, resource_group, subscription)
    own_conn = conn is None
    conn = conn or connect(subscription=subscription)
    try:
        poller = Poller(target, conn, catalog)
        start = clock()
        deadline = None if timeout is None else start + timeout
        polls = 0
        while True:
            obs = poller.look()
            polls += 1
            waited = clock() - start
            if on_progress is not None:
                on_progress(obs, waited)
            if obs.done:
                return WaitResult(obs.ok, obs, waited, polls)
            delay = poll_delay(obs.retry_after, floor=poll_floor, ceiling=poll_ceiling, default=poll_default)
            if deadline is not None:
                remaining = deadline - clock()
                if remaining <= 0:
                    raise WaitTimeout(f"timed out after {format_duration(waited)} waiting on {obs.what}: still "
                                      f"{obs.state}" + (f" ({obs.detail})" if obs.detail else ""))
                delay = min(delay, remaining)
            sleep(delay)
    finally:
        if own_conn:
            conn.close()
