"""Resources, groups, subscriptions, operations and durations on the pure core."""

from __future__ import annotations

import pytest

from armguard.catalog import load_catalog_data
from armguard.emulator.clock import VirtualClock
from armguard.emulator.durations import DEFAULT_SECONDS, JITTER_HIGH, JITTER_LOW
from armguard.emulator.errors import ArmError
from armguard.emulator.state import ArmState

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/rg"
NET = f"{RG}/providers/Microsoft.Network"
VNET = f"{NET}/virtualNetworks/vnet"
HUB = f"{NET}/virtualHubs/hub"


@pytest.fixture
def state() -> ArmState:
    s = ArmState(seed=7)
    s.put_resource_group(SUB, "rg", {"location": "westeurope"})
    return s


def duration(state: ArmState, resource_id: str, body: dict | None = None, method: str = "PUT") -> float:
    if method == "DELETE":
        op = state.delete_resource(resource_id)
    else:
        _, op = state.put_resource(resource_id, body or {"location": "westeurope", "properties": {}})
    assert op is not None
    state.run_until_idle()
    assert op.finished is not None
    return op.finished - op.start


def test_provisioning_states_through_create_update_delete(state):
    view, op = state.put_resource(VNET, {"location": "westeurope", "properties": {"addressSpace": {}}})
    assert view["properties"]["provisioningState"] == "Creating"
    assert state.get_resource(VNET)["properties"]["provisioningState"] == "Creating"
    state.clock.advance_to(op.end)
    assert state.get_resource(VNET)["properties"]["provisioningState"] == "Succeeded"
    assert op.status == "Succeeded" and op.done
    view, op = state.put_resource(VNET, {"location": "westeurope", "properties": {"addressSpace": {"x": 1}}})
    assert view["properties"]["provisioningState"] == "Updating"
    state.run_until_idle()
    op = state.delete_resource(VNET)
    assert state.get_resource(VNET)["properties"]["provisioningState"] == "Deleting"
    state.run_until_idle()
    assert op.status == "Succeeded"
    with pytest.raises(ArmError) as info:
        state.get_resource(VNET)
    assert info.value.status == 404 and info.value.code == "ResourceNotFound"
    assert info.value.message == ("The Resource 'Microsoft.Network/virtualNetworks/vnet' under resource group 'rg' was "
                                  "not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")


def test_view_keeps_the_body_and_adds_identity_and_state(state):
    body = {"location": "westeurope", "tags": {"a": "b"}, "sku": {"name": "Standard"},
            "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}, "id": "ignored", "name": "ignored"}
    state.put_resource(VNET, body)
    state.run_until_idle()
    view = state.get_resource(VNET)
    assert view == {"id": VNET, "name": "vnet", "type": "Microsoft.Network/virtualNetworks", "location": "westeurope",
                    "tags": {"a": "b"}, "sku": {"name": "Standard"},
                    "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                                   "provisioningState": "Succeeded"}}
    view["properties"]["addressSpace"]["addressPrefixes"].append("mutated")
    assert state.get_resource(VNET)["properties"]["addressSpace"]["addressPrefixes"] == ["10.0.0.0/16"]


def test_patch_merges_and_needs_an_existing_resource(state):
    with pytest.raises(ArmError) as info:
        state.patch_resource(VNET, {"tags": {"a": "1"}})
    assert info.value.code == "ResourceNotFound"
    state.put_resource(VNET, {"location": "westeurope", "tags": {"a": "1", "b": "2"}, "properties": {"p": 1}})
    state.run_until_idle()
    view, op = state.patch_resource(VNET, {"tags": {"b": None, "c": "3"}})
    assert op is not None and view["properties"]["provisioningState"] == "Updating"
    state.run_until_idle()
    view = state.get_resource(VNET)
    assert view["tags"] == {"a": "1", "c": "3"} and view["properties"]["p"] == 1


def test_failed_and_missing_parents_and_groups(state):
    with pytest.raises(ArmError) as info:
        state.put_resource(f"{VNET}/subnets/s", {"properties": {}})
    assert (info.value.status, info.value.code) == (404, "ParentResourceNotFound")
    assert info.value.message == ("Can not perform requested operation on nested resource. Parent resource 'vnet' not "
                                  "found.")
    with pytest.raises(ArmError) as info:
        state.put_resource(f"/subscriptions/{SUB}/resourceGroups/nope/providers/Microsoft.Network/virtualNetworks/v",
                           {"location": "westeurope"})
    assert (info.value.status, info.value.code, info.value.message) == (
        404, "ResourceGroupNotFound", "Resource group 'nope' could not be found.")
    with pytest.raises(ArmError) as info:
        state.put_resource(f"/subscriptions/{SUB}/resourceGroups", {})
    assert info.value.code == "InvalidResourceId"


def test_delete_removes_children_and_missing_resources_delete_as_204(state):
    state.put_resource(VNET, {"location": "westeurope"})
    state.run_until_idle()
    state.put_resource(f"{VNET}/subnets/s", {"properties": {}})
    state.run_until_idle()
    assert state.delete_resource(f"{NET}/virtualNetworks/other") is None
    state.delete_resource(VNET)
    state.run_until_idle()
    assert not state.resource_exists(f"{VNET}/subnets/s")


def test_list_resources_lists_top_level_resources_with_filters(state):
    state.put_resource(VNET, {"location": "westeurope"})
    state.put_resource(HUB, {"location": "westeurope"})
    state.run_until_idle()
    state.put_resource(f"{VNET}/subnets/s", {"properties": {}})
    state.run_until_idle()
    names = sorted(r["name"] for r in state.list_resources(SUB, "rg"))
    assert names == ["hub", "vnet"]
    assert [r["name"] for r in state.list_resources(SUB)] == ["vnet", "hub"]
    only = state.list_resources(SUB, "rg", filter="resourceType eq 'Microsoft.Network/virtualHubs'")
    assert [r["name"] for r in only] == ["hub"]
    assert state.list_resources(SUB, "rg", filter="name eq 'vnet' and resourceType eq "
                                                  "'microsoft.network/virtualnetworks'")[0]["id"] == VNET
    with pytest.raises(ArmError):
        state.list_resources(SUB, "rg", filter="substringof('x', name)")


def test_a_same_body_put_of_a_succeeded_resource_is_a_quick_update(state):
    body = {"location": "westeurope", "properties": {"addressPrefix": "10.0.0.0/23"}}
    created = duration(state, HUB, body)
    again = duration(state, HUB, body)
    changed = duration(state, HUB, {**body, "tags": {"x": "y"}})
    assert created > 270
    assert again <= 1.5
    assert 140 <= changed <= 280  # an update: half the typical 360 s, with jitter


def test_durations_come_from_the_catalog_with_seeded_jitter(state):
    hub = duration(state, HUB)
    assert 360 * JITTER_LOW <= hub <= 360 * JITTER_HIGH
    bgp = duration(state, f"{HUB}/bgpConnections/p1", {"properties": {}})
    assert 90 * JITTER_LOW <= bgp <= 90 * JITTER_HIGH
    unknown = duration(state, VNET)  # virtualNetworks: no typical duration in the catalog
    assert DEFAULT_SECONDS["create"] * JITTER_LOW <= unknown <= DEFAULT_SECONDS["create"] * JITTER_HIGH
    update = duration(state, VNET, {"location": "westeurope", "tags": {"a": "b"}})
    assert DEFAULT_SECONDS["update"] * JITTER_LOW <= update <= DEFAULT_SECONDS["update"] * JITTER_HIGH
    delete = duration(state, VNET, method="DELETE")
    assert DEFAULT_SECONDS["delete"] * JITTER_LOW <= delete <= DEFAULT_SECONDS["delete"] * JITTER_HIGH


def durations_for(seed: int) -> list[float]:
    s = ArmState(seed=seed)
    s.put_resource_group(SUB, "rg", {"location": "westeurope"})
    out = []
    for i in range(6):
        _, op = s.put_resource(f"{NET}/virtualNetworks/v{i}", {"location": "westeurope"})
        out.append(op.end - op.start)
    return out


def test_same_seed_same_durations_different_seed_different():
    assert durations_for(3) == durations_for(3)
    assert durations_for(3) != durations_for(4)
    assert len(set(durations_for(3))) == 6


def test_typical_seconds_from_a_custom_catalog():
    catalog = load_catalog_data({
        "meta": {"version": 1, "date": "2026-01-01", "description": "test"},
        "defaults": {"serial": "unknown", "domains": [], "typical_seconds": "unknown", "max_seconds": "unknown",
                     "sources": ["test"], "notes": ""},
        "types": {"Microsoft.Test/widgets": {"serial": "serial", "domains": [], "typical_seconds": 100,
                                             "max_seconds": 200, "sources": ["test"], "notes": "a widget"}},
    })
    s = ArmState(catalog=catalog, seed=1)
    s.put_resource_group(SUB, "rg", {"location": "westeurope"})
    _, op = s.put_resource(f"{RG}/providers/Microsoft.Test/widgets/w", {"location": "westeurope"})
    assert 75 <= op.end - op.start <= 150


def test_operation_status_body_progresses(state):
    _, op = state.put_resource(HUB, {"location": "westeurope"})
    body = op.status_body()
    assert body == {"id": state.status_uri_path(op), "name": op.id, "status": "InProgress",
                    "startTime": "2026-01-01T00:00:00.0000000Z", "percentComplete": 0.0}
    state.clock.advance((op.end - op.start) / 2)
    assert 45 <= state.operation(op.id).status_body()["percentComplete"] <= 55
    state.run_until_idle()
    done = state.operation(op.id).status_body()
    assert done["status"] == "Succeeded" and done["percentComplete"] == 100.0 and "endTime" in done
    assert "error" not in done
    with pytest.raises(ArmError) as info:
        state.operation("00000000-0000-0000-0000-00000000dead")
    assert info.value.status == 404


def test_synchronous_types_complete_at_once(state):
    state.put_resource(VNET, {"location": "westeurope"})
    state.run_until_idle()
    assignment = f"{VNET}/providers/Microsoft.Authorization/roleAssignments/11111111-2222-3333-4444-555555555555"
    view, op = state.put_resource(assignment, {"properties": {"roleDefinitionId": "x", "principalId": "y"}})
    assert op is None and view["properties"]["provisioningState"] == "Succeeded"


def test_resource_groups_lifecycle(state):
    assert state.get_resource_group(SUB, "rg")["properties"]["provisioningState"] == "Succeeded"
    with pytest.raises(ArmError) as info:
        state.put_resource_group(SUB, "other", {})
    assert (info.value.code, info.value.message) == ("LocationRequired",
                                                     "The location property is required for this definition.")
    with pytest.raises(ArmError) as info:
        state.put_resource_group(SUB, "rg", {"location": "eastus"})
    assert info.value.code == "InvalidResourceGroupLocation"
    assert info.value.message == ("Invalid resource group location 'eastus'. The Resource group already exists in "
                                  "location 'westeurope'.")
    state.put_resource_group(SUB, "rg2", {"location": "West Europe", "tags": {"k": "v"}})
    assert sorted(g["name"] for g in state.list_resource_groups(SUB)) == ["rg", "rg2"]
    state.put_resource(VNET, {"location": "westeurope"})
    state.run_until_idle()
    _, busy = state.put_resource(VNET, {"location": "westeurope", "tags": {"t": "1"}})
    op = state.delete_resource_group(SUB, "rg")
    assert op.end >= busy.end  # it waits for what is in flight inside
    assert state.get_resource_group(SUB, "rg")["properties"]["provisioningState"] == "Deleting"
    with pytest.raises(ArmError) as info:
        state.put_resource(HUB, {"location": "westeurope"})
    assert (info.value.code, info.value.message) == (
        "ResourceGroupBeingDeleted",
        "The resource group 'rg' is in deprovisioning state and cannot perform this operation.")
    state.run_until_idle()
    assert op.status == "Succeeded" and busy.status == "Succeeded"
    with pytest.raises(ArmError) as info:
        state.get_resource_group(SUB, "rg")
    assert info.value.code == "ResourceGroupNotFound"
    assert not state.resource_exists(VNET)


def test_resource_ids_route_groups_through_the_generic_api(state):
    view, op = state.put_resource(f"/subscriptions/{SUB}/resourceGroups/viaid", {"location": "westeurope"})
    assert op is None and view["type"] == "Microsoft.Resources/resourceGroups"
    assert state.get_resource(f"/subscriptions/{SUB}/resourceGroups/viaid")["name"] == "viaid"


def test_subscriptions_are_created_on_first_use(state):
    other = "11111111-1111-1111-1111-111111111111"
    state.put_resource_group(other, "rg", {"location": "westeurope"})
    ids = sorted(s["subscriptionId"] for s in state.list_subscriptions())
    assert ids == sorted([SUB, other])
    assert state.get_subscription(other)["state"] == "Enabled"


def test_every_operation_records_caller_and_correlation_id(state):
    _, op = state.put_resource(VNET, {"location": "westeurope"}, caller="alice@contoso.com", correlation_id="c-1")
    assert (op.caller, op.correlation_id) == ("alice@contoso.com", "c-1")
    _, op = state.put_resource(HUB, {"location": "westeurope"})
    assert op.caller == state.default_caller and len(op.correlation_id) == 36


def test_clocks():
    clock = VirtualClock(5.0)
    assert clock.advance(2.5) == 7.5
    assert clock.advance_to(10) == 10.0
    with pytest.raises(ValueError):
        clock.advance_to(3)
    with pytest.raises(ValueError):
        clock.advance(-1)
    from armguard.emulator.clock import WallClock

    wall = WallClock(time_scale=0.01)
    assert wall.to_real(1800) == pytest.approx(18.0)
    t0 = wall.now()
    wall.resume(t0 + 100)
    assert wall.now() >= t0 + 100
    with pytest.raises(ValueError):
        WallClock(time_scale=0)


def test_a_wall_clock_state_settles_lazily_without_a_thread():
    import time

    from armguard.emulator.clock import WallClock

    state = ArmState(clock=WallClock(time_scale=1e-4), seed=1)
    state.put_resource_group(SUB, "rg", {"location": "westeurope"})
    _, op = state.put_resource(VNET, {"location": "westeurope"})  # ~20 virtual s = ~2 ms real
    time.sleep(0.05)
    assert state.get_resource(VNET)["properties"]["provisioningState"] == "Succeeded"
    assert op.status == "Succeeded"
