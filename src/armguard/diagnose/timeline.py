"""Activity-log events into operations: Resource Manager logs `Started`, then `Accepted` (long-running)
and a terminal `Succeeded` / `Failed` / `Canceled` for each write, all with one operationId. An
operation with no terminal event yet is in flight. A rejected request (409) logs `Started` then
`Failed` with subStatus `Conflict`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .facts import Operation, is_terminal, key


@dataclass(frozen=True)
class Event:
    """The fields of one activity-log entry that diagnose reads."""

    timestamp: dt.datetime | None
    operation_name: str
    status: str
    resource_id: str
    caller: str | None = None
    correlation_id: str | None = None
    operation_id: str | None = None
    sub_status: str | None = None
    error_code: str | None = None


def group_events(events: list[Event]) -> list[Operation]:
    """One `Operation` per operationId (or correlation + resource + name), newest start first."""
    groups: dict[tuple[str, ...], list[Event]] = {}
    for event in events:
        if event.operation_id:
            group_key: tuple[str, ...] = ("op", event.operation_id.lower(), key(event.resource_id))
        else:
            group_key = ("corr", (event.correlation_id or "").lower(), key(event.resource_id),
                         event.operation_name.lower())
        groups.setdefault(group_key, []).append(event)
    operations = [_operation(sorted(found, key=_order)) for found in groups.values()]
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    operations.sort(key=lambda op: op.started or epoch, reverse=True)
    return operations


def _order(event: Event) -> tuple[dt.datetime, int]:
    rank = 2 if is_terminal(event.status) else (0 if event.status.lower() == "started" else 1)
    return (event.timestamp or dt.datetime.min.replace(tzinfo=dt.UTC), rank)


def _operation(events: list[Event]) -> Operation:
    first = events[0]
    end = next((e for e in reversed(events) if is_terminal(e.status)), None)
    state = _state(end.status) if end else "Running"
    error = None
    if end is not None and state != "Succeeded":
        error = end.error_code or end.sub_status or None
    caller = next((e.caller for e in events if e.caller), None)
    return Operation(resource_id=first.resource_id, operation=first.operation_name, state=state,
                     started=first.timestamp, ended=end.timestamp if end else None, caller=caller,
                     correlation_id=first.correlation_id, operation_id=first.operation_id, error_code=error,
                     source="activity log")


def _state(status: str) -> str:
    low = status.lower()
    return {"succeeded": "Succeeded", "failed": "Failed", "canceled": "Canceled", "cancelled": "Canceled",
            "deleted": "Succeeded"}.get(low, status)
