"""`ConflictRetryPolicy`: an azure-core policy that waits out Resource Manager operation conflicts.

    from armguard.guard import ConflictRetryPolicy
    client = NetworkManagementClient(cred, sub, retry_policy=ConflictRetryPolicy(on_wait=log, timeout=2700))
    # or: NetworkManagementClient(cred, sub, per_retry_policies=[ConflictRetryPolicy(on_wait=log)])

azure-core's own RetryPolicy never retries 409. On a 409 (or 429) whose ARM error says another
operation holds the resource (AnotherOperationInProgress, Conflict, RetryableError, ...), this policy
calls `on_wait(error)`, then polls what holds it, through the rest of the client's pipeline (so with
the client's credential and transport): the status URI the error names, else the resource the error
names as not yet provisioned, else the request's own resource (and its parents and readiness rule).
It sends the request again once that is terminal, so it sees one 409 per conflict. Only when nothing
visible is running does it fall back to exponential backoff with full jitter. Past `timeout` (total,
from the first send) the last response is returned and the client raises its usual error.

It is also a full RetryPolicy for transient errors, except when a RetryPolicy already runs outside it
(placed in `per_retry_policies`): then it leaves transient retries to that one.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from typing import Any

from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.pipeline.policies import RetryPolicy
from azure.core.rest import HttpRequest

from armguard.errors import ArmguardError
from armguard.guard.connection import RawResponse
from armguard.guard.errors import ArmErrorInfo, parse_error
from armguard.guard.probes import ApiVersions, ResourceProber, probe_operation
from armguard.guard.wait_core import (
    DEFAULT_POLL_SECONDS,
    MAX_POLL_SECONDS,
    MIN_POLL_SECONDS,
    Observation,
    full_jitter,
    poll_delay,
)

CONFLICT_STATUSES = frozenset({409, 429})
DEFAULT_TIMEOUT_SECONDS = 45 * 60.0
_REFERENCED = re.compile(r"because resource (/subscriptions/\S+?) used by resource", re.I)


class PipelineGetter:
    """The `get` probes need, sent through the rest of an azure-core pipeline."""

    def __init__(self, next_policy: Any, transport: Any, base_url: str):
        self._next = next_policy
        self._transport = transport
        self.endpoint = base_url

    def get(self, path_or_url: str, *, api_version: str | None = None) -> RawResponse:
        url = path_or_url if "://" in path_or_url else self.endpoint.rstrip("/") + "/" + path_or_url.lstrip("/")
        if api_version and "api-version=" not in url:
            url += ("&" if "?" in url else "?") + f"api-version={api_version}"
        request = PipelineRequest(HttpRequest("GET", url, headers={"Accept": "application/json"}),
                                  PipelineContext(self._transport))
        response = self._next.send(request).http_response
        body: Any = None
        try:
            text = response.text()
            if text:
                import json

                body = json.loads(text)
        except ValueError:
            body = None
        return RawResponse(response.status_code, dict(response.headers), body, url)


def conflict_of(status: int, body_text: str | None) -> ArmErrorInfo | None:
    """The conflict an HTTP error response reports when waiting can help, else None."""
    if status not in CONFLICT_STATUSES or not body_text:
        return None
    info = parse_error(body_text)
    if info is None or info.category != "wait":
        return None
    return info


class ConflictWaiting:
    """Settings and decisions shared by the sync and async policies (cooperative mixin)."""

    def __init__(self, on_wait: Callable[[ArmErrorInfo], None] | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS, max_conflicts: int | None = None,
                 poll_floor: float = MIN_POLL_SECONDS, poll_ceiling: float = MAX_POLL_SECONDS,
                 poll_default: float = DEFAULT_POLL_SECONDS, backoff_base: float = 2.0, backoff_cap: float = 60.0,
                 on_poll: Callable[[Observation], None] | None = None, catalog: Any = None,
                 rng: random.Random | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.on_wait = on_wait
        self.on_poll = on_poll
        self.conflict_timeout = timeout
        self.max_conflicts = max_conflicts
        self.poll_floor = poll_floor
        self.poll_ceiling = poll_ceiling
        self.poll_default = poll_default
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.catalog = catalog
        self.rng = rng or random.Random()
        self.conflicts_seen = 0
        """How many conflict responses this policy has waited out (all requests)."""

    def conflict_to_wait(self, http: Any, text: str | None, conflicts: int, deadline: float) -> ArmErrorInfo | None:
        """The conflict to wait out, or None to hand the response back (not one, or out of time/tries)."""
        info = conflict_of(http.status_code, text)
        if info is None or time.monotonic() >= deadline:
            return None
        if self.max_conflicts is not None and conflicts >= self.max_conflicts:
            return None
        self.conflicts_seen += 1
        if self.on_wait is not None:
            self.on_wait(info)
        return info

    def seen(self, obs: Observation) -> None:
        if self.on_poll is not None:
            self.on_poll(obs)

    def poll_seconds(self, obs: Observation, deadline: float) -> float:
        delay = poll_delay(obs.retry_after, floor=self.poll_floor, ceiling=self.poll_ceiling, default=self.poll_default)
        return max(0.0, min(delay, deadline - time.monotonic()))

    def settle_seconds(self, waited_on_something: bool, attempt: int, deadline: float) -> float:
        """The pause before sending again: a little jitter after a wait (several waiters released by one
        holder would otherwise send at the same instant), else backoff with full jitter."""
        if waited_on_something:
            return self.rng.uniform(0.0, min(1.0, self.poll_floor))
        backoff = full_jitter(attempt - 1, base=self.backoff_base, cap=self.backoff_cap, rng=self.rng)
        return max(0.0, min(backoff, deadline - time.monotonic()))


class ConflictRetryPolicy(ConflictWaiting, RetryPolicy):
    def __init__(self, on_wait: Callable[[ArmErrorInfo], None] | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, **kwargs: Any):
        super().__init__(on_wait, **kwargs)
        self._sleep = sleep
        self._api_versions: dict[str, str] = {}
        self._providers_read: set[str] = set()

    def send(self, request: PipelineRequest) -> Any:
        nested = "retry_count" in request.context  # an outer RetryPolicy already handles transient errors
        deadline = time.monotonic() + self.conflict_timeout
        conflicts = 0
        while True:
            response = self.next.send(request) if nested else super().send(request)
            http = response.http_response
            if http.status_code not in CONFLICT_STATUSES:
                return response
            info = self.conflict_to_wait(http, _text(http), conflicts, deadline)
            if info is None:
                return response
            conflicts += 1
            getter = PipelineGetter(self.next, request.context.transport, base_url(request.http_request.url))
            self._wait_out(getter, request.http_request.url, info, conflicts, deadline)

    def _wait_out(self, getter: PipelineGetter, request_url: str, info: ArmErrorInfo, attempt: int,
                  deadline: float) -> None:
        look = self._looker(getter, request_url, info)
        waited_on_something = False
        while time.monotonic() < deadline:
            try:
                obs = look()
            except ArmguardError:
                break  # cannot read what holds it: fall back to backoff
            self.seen(obs)
            if obs.done:
                break
            waited_on_something = True
            self._sleep(self.poll_seconds(obs, deadline))
        self._sleep(self.settle_seconds(waited_on_something, attempt, deadline))

    def _looker(self, getter: PipelineGetter, request_url: str, info: ArmErrorInfo) -> Callable[[], Observation]:
        if info.status_uri:
            return lambda: probe_operation(getter, info.status_uri)  # type: ignore[arg-type]
        versions = ApiVersions(getter, self._api_versions, self._providers_read)  # type: ignore[arg-type]
        prober = ResourceProber(getter, self.catalog, versions)  # type: ignore[arg-type]
        return lambda: prober.probe(holder_resource(info, request_url))


def holder_resource(info: ArmErrorInfo, request_url: str) -> str:
    """The resource to watch when the error gives no status URI: the one it says is not provisioned yet
    (ReferencedResourceNotProvisioned), else the request's own."""
    referenced = _REFERENCED.search(info.message or "")
    return referenced.group(1).rstrip(".,") if referenced else resource_path(request_url)


def _text(http_response: Any) -> str | None:
    """The body of an error response; LRO clients stream it, so read it first (it stays readable)."""
    try:
        if hasattr(http_response, "read"):
            http_response.read()
        return http_response.text()
    except Exception:  # a streamed or undecodable body: not an ARM error we can read
        return None


def base_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def resource_path(url: str) -> str:
    rest = url.partition("://")[2]
    path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    return path.split("?", 1)[0]
