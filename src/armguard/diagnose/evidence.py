"""What each source said, one line per finding, each naming its source (the az command it stands for)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .facts import Facts, Operation, OperationStatus, is_terminal, key
from .inflight import is_deployment_op
from .texts import duration, short_id, when

MAX_LINES_PER_SOURCE = 8


@dataclass(frozen=True)
class Evidence:
    source: str
    """'error', 'status URI', 'resource show', 'lock list', 'deployment list', 'deployment operation
    list', 'activity log', 'catalog'."""
    text: str

    def as_json(self) -> dict[str, str]:
        return {"source": self.source, "text": self.text}


def describe(facts: Facts, now: dt.datetime) -> list[Evidence]:
    lines: list[Evidence] = []
    lines += _error(facts)
    lines += _status(facts)
    lines += _resources(facts)
    lines += _deployments(facts, now)
    lines += _activity(facts, now)
    lines += _locks(facts)
    lines += [Evidence(source, f"could not read: {why}") for source, _, why in
              (gap.partition(": ") for gap in facts.gaps)]
    return lines


def _error(facts: Facts) -> list[Evidence]:
    error = facts.error
    if error is None:
        return []
    head = error.code or "an error without a code"
    if error.status_code:
        head += f" (HTTP {error.status_code})"
    parts = [f"{head} in {error.source_format} output"]
    if error.resource_id:
        parts.append(f"on {short_id(error.resource_id)}")
    if error.deployment_name:
        parts.append(f"deployment '{error.deployment_name}'")
    if error.blocking_operation:
        parts.append(f"names the holder {error.blocking_operation}")
    if error.correlation_id:
        parts.append(f"correlation {error.correlation_id}")
    lines = [Evidence("error", "; ".join(parts))]
    if error.status_uri:
        lines.append(Evidence("error", f"status URI {error.status_uri}"))
    return lines


def _status(facts: Facts) -> list[Evidence]:
    status = facts.status
    if status is None:
        return []
    polled = [Evidence("status URI", f"read at {status.polled} (the configured endpoint)")] if status.polled else []
    return polled + _status_state(status)


def _status_state(status: OperationStatus) -> list[Evidence]:
    if status.http_status >= 300 or status.status is None:
        return [Evidence("status URI", f"HTTP {status.http_status}: the operation is not readable "
                                       "(expired or unknown)")]
    if status.running:
        return [Evidence("status URI", f"{status.status} since {when(status.started)}")]
    text = f"{status.status} at {when(status.ended)} (started {when(status.started)})"
    if status.error_code:
        text += f": {status.error_code}"
    return [Evidence("status URI", text)]


def _resources(facts: Facts) -> list[Evidence]:
    lines = []
    for res in facts.resources:
        label = short_id(res.id) if res.role == "resource group" else f"{res.role} {short_id(res.id)}"
        if not res.found:
            lines.append(Evidence("resource show", f"{label}: not found"))
        else:
            state = res.provisioning_state or "no provisioningState"
            busy = "" if res.provisioning_state is None or is_terminal(res.provisioning_state) else " (busy)"
            lines.append(Evidence("resource show", f"{label}: {state}{busy}"))
    return lines


def _deployments(facts: Facts, now: dt.datetime) -> list[Evidence]:
    if "deployment list" not in facts.read:
        return []
    running = [d for d in facts.deployments if d.running]
    lines = []
    if not running:
        lines.append(Evidence("deployment list", f"no deployment running in {short_id(facts.scope)}"))
    for dep in running[:MAX_LINES_PER_SOURCE]:
        age = (now - dep.started).total_seconds() if dep.started else None
        by = f" by {dep.caller}" if dep.caller else ""
        lines.append(Evidence("deployment list", f"'{dep.name}' {dep.state} since {when(dep.started)} "
                                                 f"({duration(age)}){by}, correlation {dep.correlation_id}"))
    for dep in facts.deployments:
        failed = [op for op in dep.operations if op.state == "Failed"]
        if dep.running or not failed:
            continue
        lines.append(Evidence("deployment list", f"'{dep.name}' {dep.state} at {when(dep.timestamp)}: "
                                                 f"{len(failed)} of {len(dep.operations)} operations failed"))
    for dep in facts.deployments:
        shown = [op for op in dep.operations if op.in_flight or op.state == "Failed"]
        for op in shown[:MAX_LINES_PER_SOURCE]:
            lines.append(Evidence("deployment operation list", f"'{dep.name}': {_op_line(op, now)}"))
    return lines


def _activity(facts: Facts, now: dt.datetime) -> list[Evidence]:
    if "activity log" not in facts.read:
        return []
    window = duration(facts.window_seconds)
    flying = [op for op in facts.operations if op.in_flight]
    rejected = [op for op in facts.operations if op.state == "Failed" and not is_deployment_op(op)]
    lines = [Evidence("activity log", f"{len(facts.operations)} write operations in the last {window}, "
                                      f"{len(flying)} not finished")]
    for op in flying[:MAX_LINES_PER_SOURCE]:
        lines.append(Evidence("activity log", _op_line(op, now)))
    for op in rejected[:3]:
        lines.append(Evidence("activity log", _op_line(op, now)))
    return lines


def _op_line(op: Operation, now: dt.datetime) -> str:
    by = f" by {op.caller}" if op.caller else ""
    if op.in_flight:
        age = (now - op.started).total_seconds() if op.started else None
        text = f"{op.operation} on {short_id(op.resource_id)} {op.state} since {when(op.started)} ({duration(age)}){by}"
    else:
        text = f"{op.operation} on {short_id(op.resource_id)} {op.state} at {when(op.ended or op.started)}{by}"
        if op.error_code:
            text += f": {op.error_code}"
    if op.correlation_id:
        text += f", correlation {op.correlation_id}"
    return text


def _locks(facts: Facts) -> list[Evidence]:
    if "lock list" not in facts.read:
        return []
    scope = facts.target_id or facts.scope
    if not facts.locks:
        return [Evidence("lock list", f"no management locks on {short_id(scope)} or its ancestors")]
    lines = []
    for lock in facts.locks:
        where = "above" if key(scope).startswith(key(lock.scope) + "/") else (
            "at" if key(scope) == key(lock.scope) else "below")
        text = f"{lock.level} lock '{lock.name}' {where} the scope, on {short_id(lock.scope)}"
        if lock.notes:
            text += f" (notes: {lock.notes})"
        if lock.caller:
            text += f", created {when(lock.created)} by {lock.caller}"
        lines.append(Evidence("lock list", text))
    return lines
