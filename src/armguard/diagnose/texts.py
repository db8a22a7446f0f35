"""Short, readable forms of ids, times and durations for diagnose's lines."""

from __future__ import annotations

import datetime as dt

from armguard.guard.locks import format_duration


def short_id(resource_id: str | None) -> str:
    """'virtualNetworks/v1/subnets/app' for a resource, 'deployment app', 'resource group rg'."""
    if not resource_id:
        return "?"
    parts = [p for p in resource_id.split("/") if p]
    low = [p.lower() for p in parts]
    if len(parts) == 4 and low[2] == "resourcegroups":
        return f"resource group {parts[3]}"
    if len(parts) == 2 and low[0] == "subscriptions":
        return f"subscription {parts[1]}"
    if "providers" in low:
        last = len(low) - 1 - low[::-1].index("providers")
        rest = parts[last + 2:]
        if len(rest) == 2 and low[last + 1] == "microsoft.resources" and rest[0].lower() == "deployments":
            return f"deployment {rest[1]}"
        if len(rest) == 2 and low[last + 1] == "microsoft.authorization" and rest[0].lower() == "locks":
            return f"lock {rest[1]}"
        if rest:
            return "/".join(rest)
    return resource_id


def when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "?"
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def duration(seconds: float | None) -> str:
    return "unknown" if seconds is None else format_duration(max(0.0, seconds))


def name_of(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]
