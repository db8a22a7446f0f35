"""Saving and loading the whole state, mid-operation."""

from __future__ import annotations

import json

import pytest

from armguard.emulator.clock import VirtualClock, WallClock
from armguard.emulator.errors import ArmError
from armguard.emulator.faults import Fault
from armguard.emulator.state import ArmState

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/rg"
HUB = f"{RG}/providers/Microsoft.Network/virtualHubs/hub"


def busy_state() -> ArmState:
    s = ArmState(seed=11)
    s.put_resource_group(SUB, "rg", {"location": "westeurope"})
    s.put_resource(HUB, {"location": "westeurope"})
    s.run_until_idle()
    s.put_lock(RG, "keep", {"properties": {"level": "CanNotDelete"}})
    s.inject(Fault("slow", type="Microsoft.Network/virtualHubs/bgpConnections", multiplier=2))
    s.put_resource(f"{HUB}/bgpConnections/p1", {"properties": {"peerAsn": 65001}}, caller="alice")
    s.clock.advance(30)
    return s


def test_round_trip_mid_operation_keeps_end_times_locks_and_outcomes():
    s = busy_state()
    data = json.loads(json.dumps(s.to_json()))  # plain JSON
    loaded = ArmState.from_json(data)
    [op] = [o for o in loaded.operations.values() if o.status == "InProgress"]
    [original] = [o for o in s.operations.values() if o.status == "InProgress"]
    assert loaded.clock.now() == s.clock.now() == original.start + 30
    assert (op.id, op.start, op.end, op.caller) == (original.id, original.start, original.end, "alice")
    for state in (s, loaded):
        with pytest.raises(ArmError) as info:  # the in-flight write still holds the hub
            state.put_resource(f"{HUB}/bgpConnections/p2", {"properties": {}})
        assert info.value.code == "AnotherOperationInProgress"
    assert state_after(s) == state_after(loaded)
    assert loaded.list_locks(RG)[0]["name"] == "keep"
    assert loaded.faults.faults[0].kind == "slow"


def state_after(s: ArmState) -> str:
    s.run_until_idle()
    s.put_resource(f"{HUB}/bgpConnections/p3", {"properties": {}})  # same generators: same durations
    s.run_until_idle()
    data = s.to_json()
    return json.dumps(data, sort_keys=True)


def test_loading_into_a_wall_clock_resumes_its_time():
    s = busy_state()
    clock = WallClock(time_scale=1.0)
    loaded = ArmState.from_json(s.to_json(), clock=clock)
    assert loaded.clock is clock and clock.now() >= s.clock.now()
    assert clock.epoch == s.clock.epoch


def test_loading_into_a_later_virtual_clock_applies_what_is_due():
    s = busy_state()
    loaded = ArmState.from_json(s.to_json(), clock=VirtualClock(100_000))
    assert loaded.get_resource(f"{HUB}/bgpConnections/p1")["properties"]["provisioningState"] == "Succeeded"


def test_rejects_foreign_data():
    with pytest.raises(ValueError):
        ArmState.from_json({"format": "something else"})


def test_provider_registrations_survive_a_round_trip():
    state = ArmState(seed=1)
    state.register_provider(SUB, "Microsoft.ContainerInstance", registered=False)
    state.register_provider(SUB, "Microsoft.Web")
    loaded = ArmState.from_json(json.loads(json.dumps(state.to_json())))
    assert loaded.get_provider(SUB, "microsoft.containerinstance")["registrationState"] == "Unregistered"
    assert loaded.get_provider(SUB, "Microsoft.Web")["registrationState"] == "Registered"
    listed = {p["namespace"]: p["registrationState"] for p in loaded.list_providers(SUB)}
    assert listed["Microsoft.ContainerInstance"] == "Unregistered"
    with pytest.raises(ArmError) as bad:
        loaded.get_provider(SUB, "no namespace")
    assert (bad.value.status, bad.value.code) == (404, "InvalidResourceNamespace")


def test_a_deployment_saved_mid_run_resumes_with_its_steps_tied_to_their_operations():
    s = ArmState(seed=5)
    s.put_resource_group(SUB, "rg", {"location": "westeurope"})
    s.inject(Fault("fail", pattern="*/routeTables/bad", code="InternalServerError", message="boom"))
    template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0",
                "resources": [{"type": "Microsoft.Network/routeTables", "apiVersion": "2024-05-01", "name": name,
                               "location": "westeurope", "properties": {}} for name in ("good", "bad")]}
    s.put_deployment(RG, "d", {"properties": {"mode": "Incremental", "template": template}})
    s.run_until_idle(max_time=s.clock.now() + 1)  # both PUTs accepted, neither finished
    running = {op.resource_id.rsplit("/", 1)[-1]: op for op in s.operations.values() if op.kind == "write"}
    assert {op.status for op in running.values()} == {"InProgress"}

    loaded = ArmState.from_json(json.loads(json.dumps(s.to_json())))
    for state in (s, loaded):
        state.run_until_idle()
        ops = {o["properties"]["targetResource"]["resourceName"]: o["properties"]
               for o in state.list_deployment_operations(RG, "d")}
        assert ops["good"]["provisioningState"] == "Succeeded"
        assert ops["bad"]["statusMessage"]["status"] == "Failed"  # read from the step's operation
        assert state.get_deployment(RG, "d")["properties"]["provisioningState"] == "Failed"
        assert state.operation(running["bad"].id).status == "Failed"
    assert json.dumps(s.to_json(), sort_keys=True) == json.dumps(loaded.to_json(), sort_keys=True)
