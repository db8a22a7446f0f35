"""Template deployments through DeploymentsMgmtClient (azure-mgmt-resource-deployments).

The fixtures are ARM JSON versions of examples/vwan-bgp-peers: a hub peering BGP with five
appliances, the BGP connections in a parallel copy loop (broken) or a serial one (fixed).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from armguard.emulator.faults import Fault

pytest.importorskip("azure.mgmt.resource.deployments")

from azure.core.exceptions import HttpResponseError, ResourceExistsError

FIXTURES = Path(__file__).parent / "fixtures"
POLL = {"polling_interval": 0.02}


def template(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def deployment_body(name: str) -> dict:
    return {"properties": {"mode": "Incremental", "template": template(name)}}


@pytest.fixture
def group(fast_resources) -> str:
    fast_resources.resource_groups.create_or_update("rg-bgp", {"location": "westeurope"})
    return "rg-bgp"


def failed_operations(deployments, group: str, name: str) -> list:
    return [op for op in deployments.deployment_operations.list(group, name)
            if op.properties.provisioning_state == "Failed"]


def test_serial_bgp_peers_deploy(fast_arm, deployments, group) -> None:
    poller = deployments.deployments.begin_create_or_update(group, "bgp-serial", deployment_body(
        "bgp-peers-serial.json"), **POLL)
    result = poller.result()
    assert result.properties.provisioning_state == "Succeeded"
    assert result.id.endswith("/resourceGroups/rg-bgp/providers/Microsoft.Resources/deployments/bgp-serial")
    assert failed_operations(deployments, group, "bgp-serial") == []
    hub = f"/subscriptions/{fast_arm.subscription_id}/resourceGroups/rg-bgp/providers/Microsoft.Network/virtualHubs/hub-weu"
    with fast_arm.lock:
        for i in range(1, 6):
            peer = fast_arm.state.get_resource(f"{hub}/bgpConnections/nva-{i}")
            assert peer["properties"]["provisioningState"] == "Succeeded"


def test_parallel_bgp_peers_fail_with_409s_on_later_connections(fast_arm, deployments, group) -> None:
    poller = deployments.deployments.begin_create_or_update(group, "bgp-parallel", deployment_body(
        "bgp-peers-parallel.json"), **POLL)
    with pytest.raises(HttpResponseError) as failure:
        poller.result()
    assert failure.value.error.code == "DeploymentFailed"
    deployment = deployments.deployments.get(group, "bgp-parallel")
    assert deployment.properties.provisioning_state == "Failed"
    failed = failed_operations(deployments, group, "bgp-parallel")
    assert len(failed) == 4  # the first connection holds the hub; the four others meet it
    for op in failed:
        assert op.properties.target_resource.resource_type == "Microsoft.Network/virtualHubs/bgpConnections"
        assert op.properties.status_code == "Conflict"
        assert "AnotherOperationInProgress" in json.dumps(op.properties.status_message.as_dict())


def test_subscription_scope_deployment(fast_arm, deployments) -> None:
    empty = {"$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
             "contentVersion": "1.0.0.0", "resources": [
                 {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2024-03-01", "name": "rg-sub",
                  "location": "westeurope"}]}
    result = deployments.deployments.begin_create_or_update_at_subscription_scope(
        "sub-deploy", {"location": "westeurope", "properties": {"mode": "Incremental", "template": empty}},
        **POLL).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert [d.name for d in deployments.deployments.list_at_subscription_scope()] == ["sub-deploy"]
    with fast_arm.lock:
        assert fast_arm.state.get_resource_group(fast_arm.subscription_id, "rg-sub")["name"] == "rg-sub"


def test_deployment_active_then_cancel(fast_arm, deployments, group) -> None:
    fast_arm.inject(Fault("stuck", type="Microsoft.Network/virtualWans"))
    body = deployment_body("bgp-peers-serial.json")
    first = deployments.deployments.begin_create_or_update(group, "bgp", body, **POLL)
    assert first.status() in ("Accepted", "Running", "InProgress")
    with pytest.raises(ResourceExistsError) as active:
        deployments.deployments.begin_create_or_update(group, "bgp", body, **POLL)
    assert active.value.status_code == 409
    assert active.value.error.code == "DeploymentActive"
    assert "Unable to edit or replace deployment 'bgp'" in active.value.error.message
    deployments.deployments.cancel(group, "bgp")
    with pytest.raises(HttpResponseError):
        first.result()
    assert deployments.deployments.get(group, "bgp").properties.provisioning_state == "Canceled"


def test_validate_list_delete(fast_arm, deployments, group) -> None:
    body = deployment_body("bgp-peers-serial.json")
    validated = deployments.deployments.begin_validate(group, "check", body, **POLL).result()
    assert validated.error is None
    deployments.deployments.begin_create_or_update(group, "bgp", body, **POLL).result()
    assert deployments.deployments.check_existence(group, "bgp") is True
    assert [d.name for d in deployments.deployments.list_by_resource_group(group)] == ["bgp"]
    deployments.deployments.begin_delete(group, "bgp", **POLL).result()
    assert deployments.deployments.check_existence(group, "bgp") is False


def test_what_if_against_the_emulated_state(fast_arm, deployments, group) -> None:
    body = deployment_body("bgp-peers-serial.json")
    before = deployments.deployments.begin_what_if(group, "bgp-serial", body, **POLL).result()
    assert before.status == "Succeeded"
    kinds = {c.resource_id.rsplit("/", 2)[-2] + "/" + c.resource_id.rsplit("/", 1)[-1]: c.change_type
             for c in before.changes}
    assert kinds["virtualHubs/hub-weu"] == "Create"
    assert [kinds[f"bgpConnections/nva-{i}"] for i in range(1, 6)] == ["Create"] * 5
    with fast_arm.lock:
        assert fast_arm.state.list_deployments(f"/subscriptions/{fast_arm.subscription_id}/resourceGroups/{group}") == []
    deployments.deployments.begin_create_or_update(group, "bgp-serial", body, **POLL).result()
    again = deployments.deployments.begin_what_if(group, "bgp-serial", body, **POLL).result()
    assert {c.change_type for c in again.changes} == {"NoChange"}
    changed = json.loads(json.dumps(body).replace('"asn": 65001', '"asn": 65101'))
    modified = deployments.deployments.begin_what_if(group, "bgp-serial", changed, **POLL).result()
    by_type = {c.change_type: c for c in modified.changes if c.change_type != "NoChange"}
    assert list(by_type) == ["Modify"]
    delta = by_type["Modify"].delta
    assert [(d.path, d.property_change_type, d.before, d.after) for d in delta] == [
        ("properties.peerAsn", "Modify", 65001, 65101)]
