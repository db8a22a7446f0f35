"""The core's conflict rules on a VirtualClock: lock domains from the catalog, the exact errors."""

from __future__ import annotations

import re

import pytest

from armguard.emulator.errors import ArmError
from armguard.emulator.state import ArmState

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/rg"
NET = f"{RG}/providers/Microsoft.Network"
HUB = f"{NET}/virtualHubs/hub1"
VNET_A = f"{NET}/virtualNetworks/vnet-a"
VNET_B = f"{NET}/virtualNetworks/vnet-b"
URI = re.compile(r"use uri: (https://127\.0\.0\.1(/subscriptions/[^?]+/operations/([0-9a-f-]+))\?api-version=[\d-]+)\.$")


def make_state(**kwargs) -> ArmState:
    state = ArmState(seed=kwargs.pop("seed", 1), **kwargs)
    state.put_resource_group(SUB, "rg", {"location": "westeurope"})
    return state


def created(state: ArmState, resource_id: str, body: dict | None = None) -> None:
    """PUT and run until done: the resource exists and is Succeeded."""
    state.put_resource(resource_id, body or {"location": "westeurope", "properties": {}})
    state.run_until_idle()
    assert state.get_resource(resource_id)["properties"]["provisioningState"] == "Succeeded"


def rejected(state: ArmState, resource_id: str, body: dict | None = None, method: str = "PUT") -> ArmError:
    with pytest.raises(ArmError) as info:
        if method == "DELETE":
            state.delete_resource(resource_id)
        else:
            state.put_resource(resource_id, body or {"properties": {}})
    return info.value


@pytest.fixture
def state() -> ArmState:
    return make_state()


def test_second_write_on_the_same_resource_is_rejected_with_the_network_error_and_a_readable_status_uri(state):
    _, first = state.put_resource(VNET_A, {"location": "westeurope", "properties": {}})
    error = rejected(state, VNET_A, {"location": "westeurope", "properties": {"x": 1}})
    assert error.status == 409
    assert error.code == "AnotherOperationInProgress"
    body = error.body()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    match = URI.search(error.message)
    assert error.message.startswith("Another operation on this or dependent resource is in progress. To retrieve "
                                    "status of the operation use uri: https://127.0.0.1/subscriptions/")
    assert match, error.message
    uri, path, op_id = match.groups()
    assert path == f"/subscriptions/{SUB}/providers/Microsoft.Network/locations/westeurope/operations/{first.id}"
    assert path == state.status_uri_path(first)
    assert uri == state.status_uri(first)
    looked_up = state.operation(op_id)
    assert looked_up is first and looked_up.status == "InProgress"
    assert looked_up.status_body()["status"] == "InProgress"


def test_base_url_is_what_the_server_sets(state):
    state.base_url = "https://localhost:8443"
    _, first = state.put_resource(VNET_A, {"location": "westeurope"})
    error = rejected(state, VNET_A)
    assert f"use uri: https://localhost:8443{state.status_uri_path(first)}?api-version=" in error.message


def test_a_rejected_write_is_not_queued(state):
    state.put_resource(VNET_A, {"location": "westeurope"})
    rejected(state, VNET_A, {"location": "westeurope", "properties": {"second": True}})
    state.run_until_idle()
    assert "second" not in state.get_resource(VNET_A)["properties"]


def test_parent_write_conflicts_with_an_in_flight_child_write(state):
    created(state, VNET_A)
    state.put_resource(f"{VNET_A}/subnets/app", {"properties": {"addressPrefix": "10.0.0.0/24"}})
    error = rejected(state, VNET_A, {"location": "westeurope", "properties": {}})
    assert error.code == "AnotherOperationInProgress"
    assert rejected(state, VNET_A, method="DELETE").code == "AnotherOperationInProgress"


def test_child_write_conflicts_with_an_in_flight_parent_write(state):
    created(state, VNET_A)
    state.put_resource(VNET_A, {"location": "westeurope", "properties": {"updated": True}})
    error = rejected(state, f"{VNET_A}/subnets/app", {"properties": {}})
    # The parent itself is being written: the Network RP answers 429 RetryableError.
    assert error.status == 429 and error.code == "RetryableError"
    assert error.details[0]["code"] == "ReferencedResourceNotProvisioned"
    assert error.message == (
        f"Cannot proceed with operation because resource {VNET_A} used by resource {VNET_A}/subnets/app is not in "
        "Succeeded state. Resource is in Updating state and the last operation that updated/is updating the resource "
        "is PutVirtualNetworkOperation.")
    assert error.retry_after == 10.0


def test_siblings_in_a_serial_domain_conflict(state):
    created(state, VNET_A)
    state.put_resource(f"{VNET_A}/subnets/one", {"properties": {"addressPrefix": "10.0.0.0/24"}})
    error = rejected(state, f"{VNET_A}/subnets/two", {"properties": {"addressPrefix": "10.0.1.0/24"}})
    assert error.code == "AnotherOperationInProgress"


def test_bgp_connections_of_one_hub_conflict_and_of_two_hubs_do_not(state):
    created(state, HUB)
    created(state, f"{NET}/virtualHubs/hub2")
    state.put_resource(f"{HUB}/bgpConnections/p1", {"properties": {"peerAsn": 65001}})
    assert rejected(state, f"{HUB}/bgpConnections/p2").code == "AnotherOperationInProgress"
    _, other = state.put_resource(f"{NET}/virtualHubs/hub2/bgpConnections/p1", {"properties": {"peerAsn": 65001}})
    assert other is not None and other.status == "InProgress"


def test_siblings_of_a_safe_or_unknown_parent_do_not_conflict(state):
    nsg = f"{NET}/networkSecurityGroups/nsg"
    created(state, nsg)
    # securityRules are "unknown" in the catalog: safe by default.
    for i in range(3):
        _, op = state.put_resource(f"{nsg}/securityRules/r{i}", {"properties": {"priority": 100 + i}})
        assert op is not None
    state.run_until_idle()
    assert all(state.get_resource(f"{nsg}/securityRules/r{i}")["properties"]["provisioningState"] == "Succeeded"
               for i in range(3))


def test_unknown_types_conflict_when_built_with_unknown_as_serial():
    state = make_state(unknown_as="serial")
    nsg = f"{NET}/networkSecurityGroups/nsg"
    created(state, nsg)
    state.put_resource(f"{nsg}/securityRules/r0", {"properties": {}})
    assert rejected(state, f"{nsg}/securityRules/r1").code == "AnotherOperationInProgress"
    with pytest.raises(ValueError):
        ArmState(unknown_as="sometimes")


def test_resource_groups_are_not_locked_by_the_writes_inside_them(state):
    state.put_resource(VNET_A, {"location": "westeurope"})
    state.put_resource(VNET_B, {"location": "westeurope"})  # siblings at the top level
    view = state.put_resource_group(SUB, "rg", {"location": "westeurope", "tags": {"env": "test"}})
    assert view["tags"] == {"env": "test"}


def test_peering_holds_the_remote_vnet(state):
    created(state, VNET_A)
    created(state, VNET_B)
    peering = f"{VNET_A}/virtualNetworkPeerings/a-to-b"
    state.put_resource(peering, {"properties": {"remoteVirtualNetwork": {"id": VNET_B}}})
    # The remote VNet, its subnets and another peering into it are all held.
    assert rejected(state, VNET_B, {"location": "westeurope"}).code == "AnotherOperationInProgress"
    assert rejected(state, f"{VNET_B}/subnets/s").code == "AnotherOperationInProgress"
    error = rejected(state, f"{VNET_B}/virtualNetworkPeerings/b-to-a",
                     {"properties": {"remoteVirtualNetwork": {"id": VNET_A}}})
    assert error.status in (409, 429)
    state.run_until_idle()
    state.put_resource(f"{VNET_B}/subnets/s", {"properties": {}})  # free again


def test_peering_into_a_vnet_whose_subnet_is_being_written_gets_referenced_resource_not_provisioned(state):
    created(state, VNET_A)
    created(state, VNET_B)
    state.put_resource(f"{VNET_B}/subnets/s", {"properties": {"addressPrefix": "10.1.0.0/24"}})
    peering = f"{VNET_A}/virtualNetworkPeerings/a-to-b"
    error = rejected(state, peering, {"properties": {"remoteVirtualNetwork": {"id": VNET_B}}})
    assert (error.status, error.code) == (429, "RetryableError")
    assert error.message == (
        f"Cannot proceed with operation because resource {VNET_B} used by resource {peering} is not in Succeeded "
        "state. Resource is in Updating state and the last operation that updated/is updating the resource is "
        "PutSubnetOperation.")
    assert error.details == [{"code": "ReferencedResourceNotProvisioned", "message": error.message}]


def test_a_vnet_shows_updating_while_one_of_its_subnets_is_written(state):
    created(state, VNET_A)
    state.put_resource(f"{VNET_A}/subnets/s", {"properties": {}})
    assert state.get_resource(VNET_A)["properties"]["provisioningState"] == "Updating"
    state.run_until_idle()
    assert state.get_resource(VNET_A)["properties"]["provisioningState"] == "Succeeded"


def test_nic_put_while_its_subnet_is_updating_gets_429(state):
    created(state, VNET_A)
    subnet = f"{VNET_A}/subnets/s"
    created(state, subnet, {"properties": {"addressPrefix": "10.0.0.0/24"}})
    state.put_resource(subnet, {"properties": {"addressPrefix": "10.0.0.0/25"}})
    nic = f"{NET}/networkInterfaces/nic1"
    body = {"location": "westeurope",
            "properties": {"ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": subnet}}}]}}
    error = rejected(state, nic, body)
    assert (error.status, error.code) == (429, "RetryableError")
    assert error.message == (
        f"Cannot proceed with operation because resource {subnet} used by resource {nic} is not in Succeeded state. "
        "Resource is in Updating state and the last operation that updated/is updating the resource is "
        "PutSubnetOperation.")
    state.run_until_idle()
    _, op = state.put_resource(nic, body)
    assert op is not None


def test_app_service_answers_conflict_with_its_own_message(state):
    site = f"{RG}/providers/Microsoft.Web/sites/app"
    created(state, site)
    _, first = state.put_resource(f"{site}/slots/staging", {"location": "westeurope"})
    error = rejected(state, f"{site}/slots/canary", {"location": "westeurope"})
    assert (error.status, error.code) == (409, "Conflict")
    assert re.fullmatch(
        rf"Cannot modify this site because another operation is in progress\. Details: Id: {first.id}, "
        r"OperationName: Create, CreatedTime: \d+/\d+/2026 \d+:\d\d:\d\d [AP]M, RequestId: [0-9a-f-]{36}, EntityType: 3",
        error.message), error.message


def test_cognitive_services_answers_request_conflict(state):
    account = f"{RG}/providers/Microsoft.CognitiveServices/accounts/ai"
    created(state, account)
    state.put_resource(f"{account}/deployments/gpt", {"properties": {}})
    error = rejected(state, f"{account}/deployments/embeddings", {"properties": {}})
    assert (error.status, error.code) == (409, "RequestConflict")
    assert error.message == (f"Another operation is being performed on the parent resource '{account}'. Please try "
                             "again later.")


def test_storage_answers_storage_account_operation_in_progress(state):
    account = f"{RG}/providers/Microsoft.Storage/storageAccounts/sa1"
    state.put_resource(account, {"location": "westeurope"})
    error = rejected(state, account, {"location": "westeurope", "sku": {"name": "Standard_LRS"}})
    assert (error.status, error.code) == (409, "StorageAccountOperationInProgress")
    assert error.message == ("An operation is currently performing on this storage account that requires exclusive "
                             "access.")


def test_other_providers_answer_a_generic_conflict_with_the_status_uri(state):
    server = f"{RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg"
    created(state, server)
    _, first = state.put_resource(f"{server}/configurations/a", {"properties": {"value": "on"}})
    error = rejected(state, f"{server}/configurations/b", {"properties": {"value": "off"}})
    assert (error.status, error.code) == (409, "Conflict")
    assert error.message == (f"Another operation is in progress on '{server}'. To retrieve status of the operation "
                             f"use uri: {state.status_uri(first)}.")
    assert state.status_uri_path(first) == f"/subscriptions/{SUB}/providers/Microsoft.Resources/operations/{first.id}"


def test_ids_are_case_insensitive_and_keep_the_first_casing(state):
    state.put_resource(VNET_A, {"location": "westeurope"})
    error = rejected(state, VNET_A.upper().replace("SUBSCRIPTIONS", "subscriptions"))
    assert error.code == "AnotherOperationInProgress"
    state.run_until_idle()
    state.put_resource(VNET_A.lower(), {"location": "westeurope", "properties": {"v": 2}})
    view = state.get_resource(VNET_A.lower())
    assert view["id"] == VNET_A and view["name"] == "vnet-a"
