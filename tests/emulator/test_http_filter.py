"""The activity log's `$filter` grammar."""

from __future__ import annotations

import datetime as dt

import pytest

from armguard.emulator.http_filter import FilterError, parse_activity_filter


def test_window_and_group() -> None:
    f = parse_activity_filter("eventTimestamp ge '2026-01-01T00:00:00Z' and eventTimestamp le "
                              "'2026-01-02T00:00:00.1234567Z' and resourceGroupName eq 'rg-1'")
    assert f.start == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert f.end is not None and f.end.day == 2
    assert f.resource_group == "rg-1"


def test_keywords_case_insensitive_and_quotes() -> None:
    f = parse_activity_filter("EVENTTIMESTAMP GE '2026-01-01' AND caller eq 'o''brien@x' "
                              "and resourceUri eq '/subscriptions/s/x'")
    assert f.start.tzinfo is not None
    assert f.equals == {"caller": "o'brien@x", "resourceId": "/subscriptions/s/x"}


def test_matches_fields() -> None:
    f = parse_activity_filter("eventTimestamp ge '2026-01-01' and resourceId eq '/A/B' and "
                              "correlationId eq 'c1' and resourceProvider eq 'microsoft.network' and "
                              "status eq 'Succeeded'")
    event = {"resourceId": "/a/b", "correlationId": "C1",
             "resourceProviderName": {"value": "Microsoft.Network"}, "status": {"value": "Succeeded"}}
    assert f.matches(event)
    assert not f.matches({**event, "correlationId": "c2"})
    assert not f.matches({k: v for k, v in event.items() if k != "resourceId"})


@pytest.mark.parametrize("text", [
    None,
    "",
    "resourceGroupName eq 'rg'",
    "eventTimestamp ge",
    "eventTimestamp ge 'not a time'",
    "eventTimestamp eq '2026-01-01'",
    "eventTimestamp ge '2026-01-01' or resourceGroupName eq 'x'",
    "eventTimestamp ge '2026-01-01' and levels eq 'Error'",
    "eventTimestamp ge '2026-01-01' and resourceGroupName ge 'x'",
    "eventTimestamp ge '2026-01-01' and resourceGroupName eq 'unterminated",
    "eventTimestamp ge '2026-01-02' and eventTimestamp le '2026-01-01'",
])
def test_rejects(text: str | None) -> None:
    with pytest.raises(FilterError):
        parse_activity_filter(text)
