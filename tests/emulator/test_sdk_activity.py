"""The activity log through MonitorManagementClient (azure-mgmt-monitor), with the caller recorded."""

from __future__ import annotations

import datetime as dt

import pytest

from armguard.emulator.http_identity import unsigned_jwt

pytest.importorskip("azure.mgmt.monitor")

NET = "2024-05-01"
POLL = {"polling_interval": 0.05}
VNET_BODY = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}


def window() -> str:
    # Emulated time runs faster than real time (time_scale < 1): look well ahead.
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=30)
    return f"eventTimestamp ge '{start:%Y-%m-%dT%H:%M:%SZ}' and eventTimestamp le '{end:%Y-%m-%dT%H:%M:%SZ}'"


def test_activity_log_records_the_caller(arm, resources, monitor) -> None:
    resources.resource_groups.create_or_update("rg1", {"location": "westeurope"})
    rid = f"/subscriptions/{arm.subscription_id}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/v1"
    resources.resources.begin_create_or_update_by_id(rid, api_version=NET, parameters=VNET_BODY, **POLL).result()
    events = list(monitor.activity_logs.list(filter=f"{window()} and resourceGroupName eq 'rg1'"))
    assert events
    assert {e.caller for e in events} == {"tester@contoso.com"}  # the upn claim of the SDK's token
    writes = [e for e in events if e.operation_name.value == "Microsoft.Network/virtualNetworks/write"]
    assert [e.status.value for e in writes] == ["Succeeded", "Accepted", "Started"]  # newest first
    assert {e.resource_id for e in writes} == {rid}
    assert len({e.correlation_id for e in writes}) == 1

    by_resource = list(monitor.activity_logs.list(filter=f"{window()} and resourceUri eq '{rid}'"))
    assert {e.resource_id for e in by_resource} == {rid}
    corr = writes[0].correlation_id
    by_corr = list(monitor.activity_logs.list(filter=f"{window()} and correlationId eq '{corr}'"))
    assert {e.correlation_id for e in by_corr} == {corr}
    assert len(by_corr) == 3
    selected = list(monitor.activity_logs.list(filter=f"{window()} and correlationId eq '{corr}'",
                                               select="caller,status"))
    assert selected[0].caller == "tester@contoso.com" and selected[0].resource_id is None


def test_caller_from_header_and_default(arm, raw) -> None:
    opaque = {"Authorization": "Bearer opaque-token", "x-ms-caller": "pipeline@ci"}
    sub = arm.subscription_id
    assert raw.put(f"/subscriptions/{sub}/resourceGroups/rg-h?api-version=2024-03-01",
                   json={"location": "westeurope"}, headers=opaque).status_code == 201
    assert raw.put(f"/subscriptions/{sub}/resourceGroups/rg-d?api-version=2024-03-01",
                   json={"location": "westeurope"}).status_code == 201
    app_token = unsigned_jwt({"appid": "11111111-2222-3333-4444-555555555555", "oid": "x"})
    assert raw.put(f"/subscriptions/{sub}/resourceGroups/rg-j?api-version=2024-03-01",
                   json={"location": "westeurope"}, headers={"Authorization": f"Bearer {app_token}"}
                   ).status_code == 201
    got = raw.get(f"/subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values",
                  params={"api-version": "2015-04-01", "$filter": window()}).json()["value"]
    callers = {e["resourceGroupName"]: e["caller"] for e in got}
    assert callers == {"rg-h": "pipeline@ci", "rg-d": "tester@contoso.com",
                       "rg-j": "11111111-2222-3333-4444-555555555555"}


def test_bad_filter_is_400(arm, raw) -> None:
    response = raw.get(f"/subscriptions/{arm.subscription_id}/providers/Microsoft.Insights/eventtypes/management/values",
                       params={"api-version": "2015-04-01", "$filter": "resourceGroupName eq 'x'"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidFilter"
