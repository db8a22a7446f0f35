"""A diagnosis as text for people and as JSON for pipelines."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from .decide import Blocker, Diagnosis
from .facts import is_terminal
from .texts import duration, when


def to_json(diagnosis: Diagnosis) -> dict[str, Any]:
    """{"verdict", "blocker", "evidence", "next"} as the issue specifies, with summary, advice, the
    other blockers, the estimated end, the scope, the time used for "now" and the exit code."""
    return {
        "verdict": diagnosis.verdict,
        "summary": diagnosis.summary,
        "blocker": diagnosis.blocker.as_json() if diagnosis.blocker else None,
        "evidence": [e.as_json() for e in diagnosis.evidence],
        "next": list(diagnosis.next),
        "advice": list(diagnosis.advice),
        "others": [b.as_json() for b in diagnosis.others],
        "estimated_end": _iso(diagnosis.estimated_end),
        "scope": diagnosis.scope,
        "now": _iso(diagnosis.now),
        "exit_code": diagnosis.exit_code,
    }


def render_json(diagnosis: Diagnosis) -> str:
    return json.dumps(to_json(diagnosis), indent=2)


def render_text(diagnosis: Diagnosis) -> str:
    lines = [diagnosis.summary, ""]
    if diagnosis.blocker is not None:
        lines += _blocker_lines("blocker", diagnosis.blocker)
    for other in diagnosis.others[:5]:
        lines += _blocker_lines("also", other)
    if diagnosis.blocker is not None or diagnosis.others:
        lines.append("")
    lines.append("evidence:")
    width = max((len(e.source) for e in diagnosis.evidence), default=0) + 2
    for item in diagnosis.evidence:
        lines.append(f"  {('[' + item.source + ']').ljust(width)} {item.text}")
    if diagnosis.next or diagnosis.advice:
        lines += ["", "next:"]
        lines += [f"  $ {cmd}" for cmd in diagnosis.next]
        lines += [f"  - {text}" for text in diagnosis.advice]
    return "\n".join(lines)


def _blocker_lines(label: str, blocker: Blocker) -> list[str]:
    pad = " " * (len(label) + 2)
    lines = [f"{label}: {blocker.id or '(resource not known: ' + (blocker.operation or 'operation') + ')'}"]
    what = blocker.operation or "a write"
    finished = blocker.kind == "operation" and is_terminal(blocker.state)
    since = f" {'from' if finished else 'since'} {when(blocker.started)}" if blocker.started else ""
    running = f" ({'ran ' if finished else ''}{duration(blocker.running_seconds)})" \
        if blocker.running_seconds is not None else ""
    if blocker.running_seconds is None and blocker.running_at_least is not None:
        running = f" (started before the activity log's window: more than {duration(blocker.running_at_least)})"
    by = f" by {blocker.caller}" if blocker.caller else ""
    lines.append(f"{pad}{what}, {blocker.state}{since}{running}{by}")
    if blocker.kind != "lock":
        limit = "maximum " + duration(blocker.max_seconds) if blocker.max_seconds is not None else \
            f"maximum unknown (stuck after {duration(blocker.limit)})"
        lines.append(f"{pad}catalog for {blocker.resource_type or 'this type'}: typical "
                     f"{duration(blocker.typical_seconds)}, {limit}")
    if blocker.deployment and blocker.kind != "deployment":
        lines.append(f"{pad}issued by deployment '{blocker.deployment}'")
    return lines


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
