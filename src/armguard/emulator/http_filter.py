"""The `$filter` grammar of the activity-log API (`eventtypes/management/values`).

    filter  := clause ("and" clause)*
    clause  := field op value
    op      := "eq" | "ge" | "gt" | "le" | "lt"        (case-insensitive)
    value   := "'" text "'"  ('' inside quotes is one quote)  |  bare-token

`eventTimestamp` takes ge/gt (required, as in Azure) and le/lt; the other fields take eq:
resourceGroupName, resourceId / resourceUri, correlationId, resourceProvider, caller, status.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

EQUALITY_FIELDS: dict[str, str] = {
    "resourcegroupname": "resourceGroupName",
    "resourceid": "resourceId",
    "resourceuri": "resourceId",
    "correlationid": "correlationId",
    "resourceprovider": "resourceProvider",
    "caller": "caller",
    "status": "status",
}

_TOKEN = re.compile(r"\s*(?:'((?:[^']|'')*)'|([^\s']+))")


class FilterError(ValueError):
    """A `$filter` the emulator cannot read; the message says why."""


@dataclass(slots=True)
class ActivityFilter:
    """A parsed activity-log filter: a time window and equality conditions (field -> value)."""

    start: dt.datetime
    end: dt.datetime | None = None
    equals: dict[str, str] = field(default_factory=dict)

    @property
    def resource_group(self) -> str | None:
        return self.equals.get("resourceGroupName")

    def matches(self, event: dict[str, object]) -> bool:
        """True when `event` (an activity-log entry) satisfies every equality but the group's."""
        for name, wanted in self.equals.items():
            if name == "resourceGroupName":
                continue
            value = _event_value(event, name)
            if value is None or value.lower() != wanted.lower():
                return False
        return True


def parse_activity_filter(text: str | None) -> ActivityFilter:
    """Parse `text`; raises FilterError for anything outside the grammar above."""
    if not text or not text.strip():
        raise FilterError("The $filter query parameter is required and must contain "
                          "\"eventTimestamp ge '<start time>'\".")
    tokens = _tokens(text)
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    equals: dict[str, str] = {}
    index = 0
    while True:
        if index + 3 > len(tokens):
            raise FilterError(f"Incomplete condition at the end of $filter {text!r}.")
        (name, _), (op, _), (value, _) = tokens[index:index + 3]
        index += 3
        key, op = name.lower(), op.lower()
        if key == "eventtimestamp":
            moment = _timestamp(value)
            if op in ("ge", "gt"):
                start = moment
            elif op in ("le", "lt"):
                end = moment
            else:
                raise FilterError(f"eventTimestamp takes ge, gt, le or lt, not {op!r}.")
        elif key in EQUALITY_FIELDS:
            if op != "eq":
                raise FilterError(f"{name} takes eq, not {op!r}.")
            equals[EQUALITY_FIELDS[key]] = value
        else:
            raise FilterError(f"Unsupported field {name!r} in $filter; supported: eventTimestamp, "
                              + ", ".join(sorted({v for v in EQUALITY_FIELDS.values()})) + ".")
        if index == len(tokens):
            break
        conj, conj_quoted = tokens[index]
        if conj_quoted or conj.lower() != "and":
            raise FilterError(f"Expected 'and' between conditions, found {conj!r}.")
        index += 1
    if start is None:
        raise FilterError("The $filter must contain \"eventTimestamp ge '<start time>'\".")
    if end is not None and end < start:
        raise FilterError("The end of the eventTimestamp window is before its start.")
    return ActivityFilter(start, end, equals)


def _tokens(text: str) -> list[tuple[str, bool]]:
    tokens: list[tuple[str, bool]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FilterError(f"Unreadable $filter near {text[pos:pos + 20]!r} (unbalanced quote?).")
        quoted = match.group(1) is not None
        tokens.append((match.group(1).replace("''", "'") if quoted else match.group(2), quoted))
        pos = match.end()
    return tokens


def _timestamp(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise FilterError(f"{value!r} is not an ISO 8601 time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _event_value(event: dict[str, object], name: str) -> str | None:
    keys = {"resourceProvider": ("resourceProviderName", "resourceProvider")}.get(name, (name,))
    for key in keys:
        value = event.get(key)
        if isinstance(value, dict):
            value = value.get("value")
        if isinstance(value, str):
            return value
    return None
