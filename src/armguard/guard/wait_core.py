"""The pure parts of waiting: what counts as terminal, how long to sleep, how to say what we wait on.

Resource Manager's states: an async operation's `status` is InProgress until Succeeded, Failed or
Canceled (resource providers may report their own non-terminal values); a resource's or a
deployment's `provisioningState` is running unless it is Succeeded, Failed or Canceled (Creating,
Updating, Deleting, Accepted, Running, Canceling, DeletingResources, Waiting, ... are all running).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SUCCESS_STATES = frozenset({"succeeded", "deleted"})
FAILED_STATES = frozenset({"failed", "canceled", "cancelled"})

DEFAULT_POLL_SECONDS = 10.0
MIN_POLL_SECONDS = 1.0
MAX_POLL_SECONDS = 60.0


def is_terminal(state: str | None) -> bool:
    """Succeeded, Failed or Canceled (or Deleted); anything else a Resource Manager state can say is running."""
    return state is not None and (state.lower() in SUCCESS_STATES or state.lower() in FAILED_STATES)


def is_success(state: str | None) -> bool:
    return state is not None and state.lower() in SUCCESS_STATES


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds; an HTTP date is read as 'no advice')."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def poll_delay(retry_after: float | None, *, floor: float = MIN_POLL_SECONDS, ceiling: float = MAX_POLL_SECONDS,
               default: float = DEFAULT_POLL_SECONDS) -> float:
    """The next poll interval: the server's Retry-After, bounded to [floor, ceiling]; else `default`."""
    seconds = default if retry_after is None else retry_after
    return max(floor, min(ceiling, seconds))


def full_jitter(attempt: int, *, base: float = 2.0, cap: float = 60.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    upper = min(cap, base * (2 ** max(0, attempt)))
    return (rng or random).uniform(0.0, upper)


@dataclass(frozen=True, slots=True)
class Observation:
    """One look at what we wait on."""

    what: str
    """What it is, for people: 'operation <url>', 'virtualHubs/hub1', 'deployment main', ..."""
    state: str
    """Its state as the service reports it (InProgress, Updating, Running, Succeeded, ...)."""
    done: bool
    """Nothing more to wait for (terminal, gone, or the group has no running deployment)."""
    ok: bool = True
    """When done: whether it ended well (Failed/Canceled are not)."""
    retry_after: float | None = None
    started: str | None = None
    detail: str | None = None
    """Why it failed, or which condition beyond provisioningState is still pending."""


def format_duration(seconds: float) -> str:
    """'0.4s', '12s', '3m05s', '2h10m'."""
    if seconds < 9.95:
        return f"{max(0.0, seconds):.1f}".removesuffix(".0") + "s"
    s = int(seconds + 0.5)
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def progress_line(obs: Observation, waited: float) -> str:
    if obs.done:
        return f"{obs.what}: {obs.state} after {format_duration(waited)}"
    extra = f" ({obs.detail})" if obs.detail else ""
    return f"waiting on {obs.what}: {obs.state}{extra}, {format_duration(waited)} so far"


def short_id(resource_id: str) -> str:
    """The tail of a resource id after the provider namespace: 'virtualHubs/hub1/bgpConnections/p1'."""
    parts = [p for p in resource_id.split("/") if p]
    lower = [p.lower() for p in parts]
    if "providers" in lower:
        index = len(lower) - 1 - lower[::-1].index("providers")
        tail = parts[index + 2:]
        if tail:
            return "/".join(tail)
    if "resourcegroups" in lower:
        return "resourceGroups/" + parts[lower.index("resourcegroups") + 1]
    return resource_id
