"""Fault injection on the pure core: stuck, fail, slow, throttle, server errors, superseded."""

from __future__ import annotations

import pytest

from armguard.emulator.errors import ArmError
from armguard.emulator.faults import Fault
from armguard.emulator.state import ArmState

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/rg"
NET = f"{RG}/providers/Microsoft.Network"
HUB = f"{NET}/virtualHubs/hub"
VNET = f"{NET}/virtualNetworks/vnet"
BGP = "Microsoft.Network/virtualHubs/bgpConnections"


def make(seed: int = 5) -> ArmState:
    s = ArmState(seed=seed)
    s.put_resource_group(SUB, "rg", {"location": "westeurope"})
    s.put_resource(HUB, {"location": "westeurope"})
    s.put_resource(VNET, {"location": "westeurope"})
    s.run_until_idle()
    return s


def test_stuck_operations_time_out_at_the_catalog_max_seconds():
    s = make()
    s.inject(Fault("stuck", type=BGP))
    _, op = s.put_resource(f"{HUB}/bgpConnections/p1", {"properties": {}})
    assert op.end - op.start == pytest.approx(1800)  # bgpConnections max_seconds
    s.clock.advance_to(op.end - 1)
    assert s.operation(op.id).status == "InProgress"
    with pytest.raises(ArmError) as info:  # still holding the hub
        s.put_resource(f"{HUB}/bgpConnections/p2", {"properties": {}})
    assert info.value.code == "AnotherOperationInProgress"
    s.clock.advance_to(op.end)
    body = s.operation(op.id).status_body()
    assert body["status"] == "Failed"
    assert body["error"]["code"] == "OperationTimedOut"
    assert body["error"]["message"] == (f"The operation 'PutBgpConnectionOperation' ({op.id}) on resource "
                                        f"'{HUB}/bgpConnections/p1' did not complete within 1800 seconds.")
    assert s.get_resource(f"{HUB}/bgpConnections/p1")["properties"]["provisioningState"] == "Failed"


def test_stuck_types_without_a_max_wait_two_hours():
    s = make()
    s.inject(Fault("stuck", pattern="*/virtualnetworks/vnet2"))
    _, op = s.put_resource(f"{NET}/virtualNetworks/vnet2", {"location": "westeurope"})
    assert op.end - op.start == pytest.approx(7200)


def test_failures_with_a_given_code_and_message():
    s = make()
    s.inject(Fault("fail", pattern="*/subnets/bad", code="InvalidAddressPrefix", message="Bad prefix."))
    _, bad = s.put_resource(f"{VNET}/subnets/bad", {"properties": {}})
    s.run_until_idle()
    assert bad.status == "Failed" and bad.error == {"code": "InvalidAddressPrefix", "message": "Bad prefix."}
    assert s.get_resource(f"{VNET}/subnets/bad")["properties"]["provisioningState"] == "Failed"
    _, good = s.put_resource(f"{VNET}/subnets/good", {"properties": {}})
    s.run_until_idle()
    assert good.status == "Succeeded"


def test_synchronous_failures_reject_the_request():
    s = make()
    s.inject(Fault("fail", type="Microsoft.Network/virtualNetworks", sync=True, status=400, code="InvalidParameter",
                   message="Nope."))
    with pytest.raises(ArmError) as info:
        s.put_resource(VNET, {"location": "westeurope"})
    assert (info.value.status, info.value.code, info.value.message) == (400, "InvalidParameter", "Nope.")


def test_slow_operations_take_longer_by_the_multiplier():
    plain, slow = make(), make()
    slow.inject(Fault("slow", type=BGP, multiplier=3))
    _, a = plain.put_resource(f"{HUB}/bgpConnections/p", {"properties": {}})
    _, b = slow.put_resource(f"{HUB}/bgpConnections/p", {"properties": {}})
    assert b.end - b.start == pytest.approx(3 * (a.end - a.start))


def test_transient_429_with_referenced_resource_not_provisioned_then_success():
    s = make()
    s.inject(Fault("throttle", type="Microsoft.Network/networkInterfaces", times=2))
    nic = f"{NET}/networkInterfaces/nic"
    subnet = f"{VNET}/subnets/s"
    body = {"location": "westeurope",
            "properties": {"ipConfigurations": [{"properties": {"subnet": {"id": subnet}}}]}}
    for _ in range(2):
        with pytest.raises(ArmError) as info:
            s.put_resource(nic, body)
        e = info.value
        assert (e.status, e.code, e.retry_after) == (429, "RetryableError", 10.0)
        assert e.details[0]["code"] == "ReferencedResourceNotProvisioned"
        assert e.message == (f"Cannot proceed with operation because resource {subnet} used by resource {nic} is not "
                             "in Succeeded state. Resource is in Updating state and the last operation that "
                             "updated/is updating the resource is PutSubnetOperation.")
    _, op = s.put_resource(nic, body)  # the fault fired twice: the third try is accepted
    assert op is not None and op.status == "InProgress"
    s.run_until_idle()
    assert op.status == "Succeeded"


def test_server_errors_with_retry_after():
    s = make()
    s.inject(Fault("server_error", type=BGP, retry_after=7))
    with pytest.raises(ArmError) as info:
        s.put_resource(f"{HUB}/bgpConnections/p", {"properties": {}})
    assert (info.value.status, info.value.code, info.value.retry_after) == (503, "ServiceUnavailable", 7)
    s.clear_faults()
    s.inject(Fault("server_error", type=BGP, status=500))
    with pytest.raises(ArmError) as info:
        s.put_resource(f"{HUB}/bgpConnections/p", {"properties": {}})
    assert (info.value.status, info.value.code, info.value.retry_after) == (500, "InternalServerError", 5.0)
    s.clear_faults()
    _, op = s.put_resource(f"{HUB}/bgpConnections/p", {"properties": {}})
    assert op is not None and op.status == "InProgress"


def test_a_later_parent_write_supersedes_a_faulted_in_flight_child():
    s = make()
    s.inject(Fault("superseded", type="Microsoft.Network/virtualNetworks/subnets"))
    _, child = s.put_resource(f"{VNET}/subnets/s", {"properties": {}})
    _, parent = s.put_resource(VNET, {"location": "westeurope", "properties": {"subnets": []}})
    assert parent is not None and parent.status == "InProgress"
    body = s.operation(child.id).status_body()
    assert body["status"] == "Canceled"
    assert body["error"] == {
        "code": "Canceled", "message": "Operation was canceled.",
        "details": [{"code": "CanceledAndSupersededDueToAnotherOperation",
                     "message": f"Operation PutSubnetOperation ({child.id}) was canceled and superseded by operation "
                                f"PutVirtualNetworkOperation ({parent.id})."}]}
    assert s.get_resource(f"{VNET}/subnets/s")["properties"]["provisioningState"] == "Canceled"
    s.run_until_idle()
    assert parent.status == "Succeeded"


def test_without_the_fault_the_parent_write_is_rejected():
    s = make()
    _, child = s.put_resource(f"{VNET}/subnets/s", {"properties": {}})
    with pytest.raises(ArmError) as info:
        s.put_resource(VNET, {"location": "westeurope"})
    assert (info.value.status, info.value.code) == (409, "AnotherOperationInProgress")
    assert child.status == "InProgress"  # not superseded: the child runs on
    assert s.get_resource(f"{VNET}/subnets/s")["properties"]["provisioningState"] == "Creating"


def test_probabilistic_faults_are_seeded():
    def pattern(seed: int) -> tuple[list[bool], int]:
        s = make(seed)
        fault = Fault("fail", type="Microsoft.Network/virtualNetworks/subnets", sync=True, probability=0.5)
        s.inject(fault)
        out = []
        for i in range(16):
            try:
                s.put_resource(f"{VNET}/subnets/s{i}", {"properties": {}})
                s.run_until_idle()
                out.append(True)
            except ArmError:
                out.append(False)
        return out, fault.fired

    first, fired = pattern(1)
    assert pattern(1) == (first, fired)  # the same seed draws the same faults
    assert pattern(2)[0] != first  # another seed draws others
    assert any(first) and not all(first)  # some writes were rejected, some went through
    assert fired == first.count(False)  # every rejection is the fault firing, and only those


def test_fault_validation_and_round_trip():
    with pytest.raises(ValueError, match="unknown fault kind 'explode'"):
        Fault("explode")
    with pytest.raises(ValueError, match="a slow fault needs a positive multiplier"):
        Fault("slow", multiplier=0)
    with pytest.raises(ValueError, match="probability must be between 0 and 1"):
        Fault("fail", probability=1.5)
    f = Fault("throttle", type=BGP, times=3)
    f.fired = 1
    again = Fault.from_json(f.to_json())
    assert again == f and again.fired == 1
