"""Management locks (ScopeLocked) and the activity log on the pure core."""

from __future__ import annotations

import datetime as dt

import pytest

from armguard.emulator.errors import ArmError
from armguard.emulator.state import ArmState

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/rg"
VNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/vnet"
HUB = f"{RG}/providers/Microsoft.Network/virtualHubs/hub"


@pytest.fixture
def state() -> ArmState:
    s = ArmState(seed=2)
    s.put_resource_group(SUB, "rg", {"location": "westeurope"})
    s.put_resource(VNET, {"location": "westeurope"})
    s.run_until_idle()
    return s


def error_of(call, *args, **kwargs) -> ArmError:
    with pytest.raises(ArmError) as info:
        call(*args, **kwargs)
    return info.value


def test_read_only_lock_on_the_group_blocks_writes_and_deletes(state):
    view = state.put_lock(RG, "freeze", {"properties": {"level": "ReadOnly", "notes": "change freeze"}})
    assert view == {"id": f"{RG}/providers/Microsoft.Authorization/locks/freeze", "name": "freeze",
                    "type": "Microsoft.Authorization/locks",
                    "properties": {"level": "ReadOnly", "notes": "change freeze"}}
    error = error_of(state.put_resource, VNET, {"location": "westeurope", "tags": {"a": "b"}})
    assert (error.status, error.code) == (409, "ScopeLocked")
    assert error.message == (f"The scope '{VNET}' cannot perform write operation because following scope(s) are "
                             f"locked: '{RG}'. Please remove the lock and try again.")
    error = error_of(state.delete_resource, VNET)
    assert error.message == (f"The scope '{VNET}' cannot perform delete operation because following scope(s) are "
                             f"locked: '{RG}'. Please remove the lock and try again.")
    state.delete_lock(RG, "freeze")
    _, op = state.put_resource(VNET, {"location": "westeurope", "tags": {"a": "b"}})
    assert op is not None


def test_can_not_delete_blocks_deletes_only(state):
    state.put_lock(VNET, "keep", {"properties": {"level": "CanNotDelete"}})
    _, op = state.put_resource(VNET, {"location": "westeurope", "tags": {"a": "b"}})
    assert op is not None
    state.run_until_idle()
    error = error_of(state.delete_resource, VNET)
    assert error.code == "ScopeLocked" and f"locked: '{VNET}'" in error.message


def test_locks_are_inherited_from_the_subscription(state):
    state.put_lock(f"/subscriptions/{SUB}", "sub-freeze", {"properties": {"level": "ReadOnly"}})
    error = error_of(state.put_resource, HUB, {"location": "westeurope"})
    assert f"locked: '/subscriptions/{SUB}'" in error.message
    error = error_of(state.put_resource_group, SUB, "new", {"location": "westeurope"})
    assert error.code == "ScopeLocked"


def test_a_locked_resource_blocks_deleting_its_group(state):
    state.put_lock(VNET, "keep", {"properties": {"level": "CanNotDelete"}})
    error = error_of(state.delete_resource_group, SUB, "rg")
    assert error.message == (f"The scope '{RG}' cannot perform delete operation because following scope(s) are "
                             f"locked: '{VNET}'. Please remove the lock and try again.")


def test_list_get_and_errors(state):
    state.put_lock(f"/subscriptions/{SUB}", "top", {"properties": {"level": "CanNotDelete"}})
    state.put_lock(RG, "mid", {"properties": {"level": "CanNotDelete"}})
    state.put_lock(VNET, "low", {"properties": {"level": "CanNotDelete"}})
    assert sorted(lk["name"] for lk in state.list_locks(VNET)) == ["low", "mid", "top"]
    assert sorted(lk["name"] for lk in state.list_locks(RG)) == ["low", "mid", "top"]
    assert state.get_lock(RG, "mid")["properties"]["level"] == "CanNotDelete"
    assert error_of(state.get_lock, RG, "nope").status == 404
    assert error_of(state.put_lock, RG, "bad", {"properties": {"level": "Sometimes"}}).status == 400
    assert error_of(state.put_lock, f"{RG}/providers/Microsoft.Network/virtualNetworks/missing", "x",
                    {"properties": {"level": "ReadOnly"}}).code == "ResourceNotFound"


def test_locks_written_as_resources_route_to_the_lock_store(state):
    lock_id = f"{VNET}/providers/Microsoft.Authorization/locks/viaid"
    view, op = state.put_resource(lock_id, {"properties": {"level": "ReadOnly"}})
    assert op is None and view["id"] == lock_id
    assert state.get_resource(lock_id)["properties"]["level"] == "ReadOnly"
    assert error_of(state.put_resource, VNET, {"location": "westeurope"}).code == "ScopeLocked"
    state.delete_resource(lock_id)
    assert state.list_locks(VNET) == []


def test_activity_log_records_each_operation_with_caller_and_correlation_id(state):
    start = state.clock.now()
    _, op = state.put_resource(HUB, {"location": "westeurope"}, caller="alice@contoso.com", correlation_id="corr-1")
    state.run_until_idle()
    events = state.activity_log(SUB, start, state.clock.now())
    mine = [e for e in events if e["correlationId"] == "corr-1"]
    assert [e["status"]["value"] for e in mine] == ["Succeeded", "Accepted", "Started"]  # newest first
    for e in mine:
        assert e["caller"] == "alice@contoso.com"
        assert e["operationName"] == {"value": "Microsoft.Network/virtualHubs/write",
                                      "localizedValue": "Create or Update Virtual Hub"}
        assert e["resourceId"] == HUB and e["resourceGroupName"] == "rg" and e["operationId"] == op.id
        assert e["subscriptionId"] == SUB and len(e["eventDataId"]) == 36
        assert e["eventTimestamp"].startswith("2026-01-01T")
    assert mine[1]["subStatus"] == {"value": "Created", "localizedValue": "Created (HTTP Status Code: 201)"}
    assert len({e["eventDataId"] for e in events}) == len(events)


def test_activity_log_records_rejections(state):
    state.put_resource(f"{HUB}", {"location": "westeurope"})
    state.run_until_idle()
    state.put_resource(f"{HUB}/bgpConnections/a", {"properties": {}})
    with pytest.raises(ArmError):
        state.put_resource(f"{HUB}/bgpConnections/b", {"properties": {}}, caller="bob", correlation_id="corr-2")
    failed = [e for e in state.activity_log(SUB) if e["correlationId"] == "corr-2"]
    assert [e["status"]["value"] for e in failed] == ["Failed", "Started"]
    assert failed[0]["operationName"]["value"] == "Microsoft.Network/virtualHubs/bgpConnections/write"
    assert failed[0]["subStatus"]["value"] == "Conflict" and failed[0]["level"] == "Error"
    assert "AnotherOperationInProgress" in failed[0]["properties"]["statusMessage"]


def test_activity_log_time_window_and_group_filter(state):
    state.put_resource_group(SUB, "other", {"location": "westeurope"})
    state.clock.advance(100)
    state.put_resource(HUB, {"location": "westeurope"})
    state.put_resource(f"/subscriptions/{SUB}/resourceGroups/other/providers/Microsoft.Network/virtualNetworks/v",
                       {"location": "westeurope"})
    epoch = state.clock.epoch
    window = state.activity_log(SUB, epoch + dt.timedelta(seconds=50), (epoch + dt.timedelta(seconds=150)).isoformat())
    assert window and all(e["eventTimestamp"] >= "2026-01-01T00:00:50" for e in window)
    in_rg = state.activity_log(SUB, 50.0, None, resource_group="rg")
    assert {e["resourceGroupName"] for e in in_rg} == {"rg"}
    assert state.activity_log("11111111-1111-1111-1111-111111111111") == []
