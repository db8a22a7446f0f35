"""The deployment engine on ARM JSON templates (classic and languageVersion 2.0), in virtual time."""

from __future__ import annotations

import json
import re
from itertools import pairwise

import pytest

from armguard.emulator.errors import ArmError
from armguard.emulator.state import ArmState

SUB = "00000000-0000-0000-0000-000000000000"
SCOPE = f"/subscriptions/{SUB}/resourceGroups/rg"
NET = f"{SCOPE}/providers/Microsoft.Network"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
SUB_SCHEMA = "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"


def template(*resources: dict, **extra) -> dict:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", **extra, "resources": list(resources)}


def hub(name: str = "hub1") -> dict:
    return {"type": "Microsoft.Network/virtualHubs", "apiVersion": "2024-05-01", "name": name,
            "location": "[resourceGroup().location]", "properties": {"addressPrefix": "10.0.0.0/23"}}


def peers(count: int = 5, mode: str | None = None, batch: int | None = None, hub_name: str = "hub1") -> dict:
    copy: dict = {"name": "peers", "count": count}
    if mode:
        copy["mode"] = mode
    if batch:
        copy["batchSize"] = batch
    return {"type": "Microsoft.Network/virtualHubs/bgpConnections", "apiVersion": "2024-05-01",
            "name": f"[format('{hub_name}/peer{{0}}', copyIndex())]", "copy": copy,
            "dependsOn": [f"[resourceId('Microsoft.Network/virtualHubs', '{hub_name}')]"],
            "properties": {"peerAsn": "[add(65001, copyIndex())]", "peerIp": "[format('10.0.1.{0}', copyIndex(4))]"}}


def storage(count: int, mode: str | None = None, batch: int | None = None) -> dict:
    copy: dict = {"name": "accounts", "count": count}
    if mode:
        copy.update(mode=mode, batchSize=batch)
    return {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01",
            "name": "[format('sa{0}', copyIndex())]", "location": "westeurope", "copy": copy,
            "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"}


def body(t: dict, parameters: dict | None = None, **extra) -> dict:
    props = {"mode": "Incremental", "template": t}
    if parameters:
        props["parameters"] = {k: {"value": v} for k, v in parameters.items()}
    return {"properties": props, **extra}


@pytest.fixture
def state() -> ArmState:
    s = ArmState(seed=3)
    s.put_resource_group(SUB, "rg", {"location": "westeurope"})
    return s


def deploy(state: ArmState, t: dict, name: str = "d1", parameters: dict | None = None, scope: str = SCOPE,
           **extra) -> dict:
    state.put_deployment(scope, name, body(t, parameters, **extra))
    state.run_until_idle()
    return state.get_deployment(scope, name)


def ops(state: ArmState, name: str = "d1", scope: str = SCOPE) -> dict[str, dict]:
    return {o["properties"]["targetResource"]["resourceName"]: o["properties"]
            for o in state.list_deployment_operations(scope, name)}


def window(state: ArmState, op: dict) -> tuple[float, float]:
    """(start, end) of a deployment operation in virtual seconds."""
    from armguard.emulator.clock import parse_time

    end = parse_time(state.clock.epoch, op["timestamp"])
    text = op["duration"][2:]
    seconds = 0.0
    for unit in ("H", "M"):
        if unit in text:
            value, text = text.split(unit)
            seconds += float(value) * (3600 if unit == "H" else 60)
    seconds += float(text.rstrip("S") or 0)
    return end - seconds, end


# ---------------------------------------------------------------------------------------------
# The five BGP peers


def test_five_bgp_peers_in_parallel_fail_with_another_operation_in_progress(state):
    result = deploy(state, template(hub(), peers()))
    props = result["properties"]
    assert props["provisioningState"] == "Failed"
    error = props["error"]
    assert error["code"] == "DeploymentFailed"
    assert error["message"] == ("At least one resource deployment operation failed. Please list deployment "
                                "operations for details. Please see https://aka.ms/arm-deployment-operations for "
                                "usage details.")
    assert len(error["details"]) == 4
    for detail in error["details"]:
        assert detail["code"] == "Conflict"
        inner = json.loads(detail["message"])
        assert inner["error"]["code"] == "AnotherOperationInProgress"
    operations = ops(state)
    assert operations["hub1"]["provisioningState"] == "Succeeded"
    failed = {k: v for k, v in operations.items() if v["provisioningState"] == "Failed"}
    assert len(failed) == 4  # the first PUT to reach the hub holds it; the four others meet it
    for op in failed.values():
        assert op["statusCode"] == "Conflict"
        assert op["statusMessage"]["error"]["code"] == "AnotherOperationInProgress"
        assert op["statusMessage"]["error"]["message"].startswith(
            "Another operation on this or dependent resource is in progress. To retrieve status of the operation "
            "use uri: https://127.0.0.1/subscriptions/")
        assert op["targetResource"]["resourceType"] == "Microsoft.Network/virtualHubs/bgpConnections"
        assert op["provisioningOperation"] == "Create"
    [winner] = [k for k, v in operations.items() if k != "hub1" and v["provisioningState"] == "Succeeded"]
    for i in range(5):
        exists = state.resource_exists(f"{NET}/virtualHubs/hub1/bgpConnections/peer{i}")
        assert exists == (f"hub1/peer{i}" == winner)


def test_five_bgp_peers_in_series_succeed_one_after_another(state):
    result = deploy(state, template(hub(), peers(mode="serial", batch=1)))
    assert result["properties"]["provisioningState"] == "Succeeded"
    operations = ops(state)
    windows = [window(state, operations[f"hub1/peer{i}"]) for i in range(5)]
    for (_, end), (start, _) in pairwise(windows):
        assert start == pytest.approx(end)
    assert windows[0][0] == pytest.approx(window(state, operations["hub1"])[1])
    for i in range(5):
        view = state.get_resource(f"{NET}/virtualHubs/hub1/bgpConnections/peer{i}")
        assert view["properties"] == {"peerAsn": 65001 + i, "peerIp": f"10.0.1.{4 + i}", "provisioningState": "Succeeded"}


def test_batch_size_two_runs_two_at_a_time_in_index_order(state):
    result = deploy(state, template(storage(5, "serial", 2)))
    assert result["properties"]["provisioningState"] == "Succeeded"
    operations = ops(state)
    w = {i: window(state, operations[f"sa{i}"]) for i in range(5)}
    assert w[0][0] == pytest.approx(0, abs=1e-5) and w[1][0] == pytest.approx(0, abs=1e-5)
    batch1_end = max(w[0][1], w[1][1])
    assert w[2][0] == pytest.approx(batch1_end) and w[3][0] == pytest.approx(batch1_end)
    assert w[4][0] == pytest.approx(max(w[2][1], w[3][1]))
    parallel = ArmState(seed=3)
    parallel.put_resource_group(SUB, "rg", {"location": "westeurope"})
    deploy(parallel, template(storage(5)))
    assert all(window(parallel, o)[0] == pytest.approx(0, abs=1e-5) for o in ops(parallel).values())


def test_batch_size_two_on_one_hub_still_conflicts_and_stops_the_later_batches(state):
    result = deploy(state, template(hub(), peers(mode="serial", batch=2)))
    assert result["properties"]["provisioningState"] == "Failed"
    operations = ops(state)
    assert sorted(operations[f"hub1/peer{i}"]["provisioningState"] for i in (0, 1)) == ["Failed", "Succeeded"]
    assert "hub1/peer2" not in operations  # never started: its batch waits for a failed one


def test_redeploying_after_a_failure_completes_what_is_missing(state):
    parallel = template(hub(), peers())
    existing = []
    for _ in range(60):
        assert deploy(state, parallel)["properties"]["provisioningState"] == "Failed"
        existing.append(sum(state.resource_exists(f"{NET}/virtualHubs/hub1/bgpConnections/peer{i}")
                            for i in range(5)))
        if existing[-1] == 5:
            break
    # Reruns only add what is missing, at most one peer a run: whichever PUT reaches the hub first
    # (an existing peer's quick no-op update, or a missing one) holds it.
    assert existing == sorted(existing) and existing[-1] == 5
    assert all(b - a <= 1 for a, b in pairwise(existing))
    # Even with nothing missing the parallel loop fails: the no-op updates hold the hub too.
    assert deploy(state, parallel)["properties"]["provisioningState"] == "Failed"
    # The serial version succeeds, with quick no-op updates (Updating -> Succeeded in about a second).
    assert deploy(state, template(hub(), peers(mode="serial", batch=1)))["properties"]["provisioningState"] == \
        "Succeeded"
    for op in ops(state).values():
        start, end = window(state, op)
        assert end - start <= 1.5


def test_serial_redeploy_after_a_parallel_failure_succeeds(state):
    assert deploy(state, template(hub(), peers()))["properties"]["provisioningState"] == "Failed"
    assert deploy(state, template(hub(), peers(mode="serial", batch=1)))["properties"]["provisioningState"] == \
        "Succeeded"


# ---------------------------------------------------------------------------------------------
# Ordering, conditions, references


def test_depends_on_orders_and_independent_resources_start_at_once(state):
    t = template(
        {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01", "name": "vnet", "location": "westeurope",
         "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}},
        {"type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2024-05-01", "name": "nsg",
         "location": "westeurope"},
        {"type": "Microsoft.Network/virtualNetworks/subnets", "apiVersion": "2024-05-01", "name": "vnet/app",
         "dependsOn": ["vnet", "[resourceId('Microsoft.Network/networkSecurityGroups', 'nsg')]"],
         "properties": {"addressPrefix": "10.0.0.0/24",
                        "networkSecurityGroup": {"id": "[resourceId('Microsoft.Network/networkSecurityGroups', 'nsg')]"}}},
    )
    assert deploy(state, t)["properties"]["provisioningState"] == "Succeeded"
    operations = ops(state)
    vnet, nsg, subnet = (window(state, operations[k]) for k in ("vnet", "nsg", "vnet/app"))
    assert vnet[0] == pytest.approx(0, abs=1e-5) and nsg[0] == pytest.approx(0, abs=1e-5)
    assert subnet[0] == pytest.approx(max(vnet[1], nsg[1]))


def test_per_instance_depends_on_waits_for_that_instance_only(state):
    t = template(
        {"type": "Microsoft.Network/privateDnsZones", "apiVersion": "2024-06-01", "name": "[format('z{0}.example', copyIndex())]",
         "location": "global", "copy": {"name": "zones", "count": 3}},
        {"type": "Microsoft.Network/privateDnsZones/virtualNetworkLinks", "apiVersion": "2024-06-01",
         "name": "[format('z{0}.example/link', copyIndex())]", "location": "global", "copy": {"name": "links", "count": 3},
         "dependsOn": ["[resourceId('Microsoft.Network/privateDnsZones', format('z{0}.example', copyIndex()))]"],
         "properties": {"registrationEnabled": False}},
    )
    assert deploy(state, t)["properties"]["provisioningState"] == "Succeeded"
    operations = ops(state)
    for i in range(3):
        zone = window(state, operations[f"z{i}.example"])
        link = window(state, operations[f"z{i}.example/link"])
        assert link[0] == pytest.approx(zone[1])
    ends = sorted(window(state, operations[f"z{i}.example"])[1] for i in range(3))
    assert ends[0] < ends[-1]


def test_depends_on_a_copy_loop_name_waits_for_every_instance(state):
    t = template(storage(3), {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01", "name": "vnet",
                              "location": "westeurope", "dependsOn": ["accounts"]})
    deploy(state, t)
    operations = ops(state)
    assert window(state, operations["vnet"])[0] == pytest.approx(max(window(state, operations[f"sa{i}"])[1]
                                                                    for i in range(3)))


def test_conditions_skip_and_dependants_proceed(state):
    t = template(
        {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01", "name": "skipped",
         "location": "westeurope", "condition": "[parameters('deploySkipped')]"},
        {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01",
         "name": "[format('odd{0}', copyIndex())]", "location": "westeurope", "copy": {"name": "odd", "count": 4},
         "condition": "[equals(mod(copyIndex(), 2), 1)]"},
        {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01", "name": "after",
         "location": "westeurope", "dependsOn": ["skipped", "odd"]},
        parameters={"deploySkipped": {"type": "bool", "defaultValue": False}},
    )
    assert deploy(state, t)["properties"]["provisioningState"] == "Succeeded"
    assert sorted(ops(state)) == ["after", "odd1", "odd3"]
    assert not state.resource_exists(f"{NET}/virtualNetworks/skipped")


def test_reference_reads_the_emulated_state_and_outputs_are_evaluated(state):
    t = template(
        hub(),
        {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01", "name": "vnet", "location": "westeurope",
         "dependsOn": ["hub1"],
         "tags": {"hubPrefix": "[reference('hub1').addressPrefix]",
                  "hubState": "[reference(resourceId('Microsoft.Network/virtualHubs', 'hub1'), '2024-05-01', 'Full').properties.provisioningState]"}},
        outputs={"prefix": {"type": "string", "value": "[reference('hub1').addressPrefix]"},
                 "vnetId": {"type": "string", "value": "[resourceId('Microsoft.Network/virtualNetworks', 'vnet')]"}},
    )
    result = deploy(state, t)
    assert result["properties"]["provisioningState"] == "Succeeded"
    assert state.get_resource(f"{NET}/virtualNetworks/vnet")["tags"] == {"hubPrefix": "10.0.0.0/23",
                                                                         "hubState": "Succeeded"}
    assert result["properties"]["outputs"] == {
        "prefix": {"type": "String", "value": "10.0.0.0/23"},
        "vnetId": {"type": "String", "value": f"{NET}/virtualNetworks/vnet"}}
    assert {r["id"] for r in result["properties"]["outputResources"]} == {f"{NET}/virtualHubs/hub1",
                                                                         f"{NET}/virtualNetworks/vnet"}


def test_a_reference_to_a_missing_resource_fails_that_resource(state):
    t = template({"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01", "name": "vnet",
                  "location": "westeurope", "tags": {"x": "[reference('Microsoft.Network/virtualHubs/nope').a]"}})
    result = deploy(state, t)
    assert result["properties"]["provisioningState"] == "Failed"
    [op] = ops(state).values()
    assert op["statusMessage"]["error"]["code"] == "ResourceNotFound"


def test_language_version_2_symbolic_template(state):
    state.put_resource(f"{NET}/virtualHubs/hub1", {"location": "westeurope", "properties": {"addressPrefix": "10.9.0.0/23"}})
    state.run_until_idle()
    t = {"$schema": SCHEMA, "languageVersion": "2.0", "contentVersion": "1.0.0.0",
         "resources": {
             "hub": {"type": "Microsoft.Network/virtualHubs", "apiVersion": "2024-05-01", "name": "hub1",
                     "existing": True},
             "peer": {"type": "Microsoft.Network/virtualHubs/bgpConnections", "apiVersion": "2024-05-01",
                      "name": "[format('{0}/{1}', 'hub1', format('p{0}', copyIndex()))]",
                      "copy": {"name": "peer", "count": 3, "mode": "serial", "batchSize": 1},
                      "dependsOn": ["hub"],
                      "properties": {"peerAsn": "[add(65001, copyIndex())]",
                                     "note": "[reference('hub').addressPrefix]"}}},
         "outputs": {"prefix": {"type": "string", "value": "[reference('hub').addressPrefix]"}}}
    result = deploy(state, t)
    assert result["properties"]["provisioningState"] == "Succeeded"
    assert result["properties"]["outputs"]["prefix"]["value"] == "10.9.0.0/23"
    assert sorted(ops(state)) == ["hub1/p0", "hub1/p1", "hub1/p2"]  # the existing hub is not deployed
    assert state.get_resource(f"{NET}/virtualHubs/hub1/bgpConnections/p2")["properties"]["note"] == "10.9.0.0/23"


# ---------------------------------------------------------------------------------------------
# Nested deployments


def nested(name: str, inner: dict, *, scope: str = "inner", parameters: dict | None = None, **extra) -> dict:
    props: dict = {"mode": "Incremental", "expressionEvaluationOptions": {"scope": scope}, "template": inner}
    if parameters is not None:
        props["parameters"] = parameters
    return {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": name,
            "properties": props, **extra}


def peer_template() -> dict:
    return template(
        {"type": "Microsoft.Network/virtualHubs/bgpConnections", "apiVersion": "2024-05-01",
         "name": "[format('hub1/{0}', parameters('peer'))]", "properties": {"peerAsn": "[parameters('asn')]"}},
        parameters={"peer": {"type": "string"}, "asn": {"type": "int"}},
        outputs={"id": {"type": "string",
                        "value": "[resourceId('Microsoft.Network/virtualHubs/bgpConnections', 'hub1', parameters('peer'))]"}})


def test_nested_deployments_run_as_child_deployments_under_the_same_rules(state):
    module = nested("[format('peer-{0}', copyIndex())]", peer_template(),
                    parameters={"peer": {"value": "[format('nva{0}', copyIndex())]"}, "asn": {"value": "[add(65001, copyIndex())]"}},
                    copy={"name": "modules", "count": 3}, dependsOn=["hub1"])
    result = deploy(state, template(hub(), module))
    assert result["properties"]["provisioningState"] == "Failed"
    children = {n: state.get_deployment(SCOPE, f"peer-{n}")["properties"]["provisioningState"] for n in range(3)}
    assert sorted(children.values()) == ["Failed", "Failed", "Succeeded"]
    parent_ops = ops(state)
    assert parent_ops["peer-1"]["targetResource"]["resourceType"] == "Microsoft.Resources/deployments"
    failed_child = next(n for n, v in children.items() if v == "Failed")
    [inner] = ops(state, f"peer-{failed_child}").values()
    assert inner["statusMessage"]["error"]["code"] == "AnotherOperationInProgress"
    details = result["properties"]["error"]["details"]
    assert {d["code"] for d in details} == {"DeploymentFailed"}
    ok = next(n for n, v in children.items() if v == "Succeeded")
    assert state.get_deployment(SCOPE, f"peer-{ok}")["properties"]["outputs"]["id"]["value"] == \
        f"{NET}/virtualHubs/hub1/bgpConnections/nva{ok}"


def test_serial_nested_deployments_succeed(state):
    module = nested("[format('peer-{0}', copyIndex())]", peer_template(),
                    parameters={"peer": {"value": "[format('nva{0}', copyIndex())]"}, "asn": {"value": 65001}},
                    copy={"name": "modules", "count": 3, "mode": "serial", "batchSize": 1}, dependsOn=["hub1"])
    assert deploy(state, template(hub(), module))["properties"]["provisioningState"] == "Succeeded"
    assert [d["name"] for d in state.list_deployments(SCOPE)] == ["d1", "peer-0", "peer-1", "peer-2"]


def test_outer_scope_nested_template_sees_the_parent_parameters(state):
    inner = template({"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01",
                      "name": "[parameters('vnetName')]", "location": "westeurope"})
    t = template(nested("outer", inner, scope="outer"), parameters={"vnetName": {"type": "string"}})
    result = deploy(state, t, parameters={"vnetName": "from-parent"})
    assert result["properties"]["provisioningState"] == "Succeeded"
    assert state.resource_exists(f"{NET}/virtualNetworks/from-parent")
    assert "from-parent" in ops(state, "outer")


def test_parent_outputs_read_child_outputs(state):
    module = nested("child", peer_template(), parameters={"peer": {"value": "solo"}, "asn": {"value": 65010}},
                    dependsOn=["hub1"])
    t = template(hub(), module, outputs={"peerId": {
        "type": "string", "value": "[reference('child').outputs.id.value]"}})
    result = deploy(state, t)
    assert result["properties"]["outputs"]["peerId"]["value"] == f"{NET}/virtualHubs/hub1/bgpConnections/solo"


def test_subscription_scope_deployment_creates_a_group_and_deploys_into_it(state):
    t = {"$schema": SUB_SCHEMA, "contentVersion": "1.0.0.0", "resources": [
        {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01", "name": "rg-new",
         "location": "westeurope"},
        {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "into-group",
         "resourceGroup": "rg-new", "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'rg-new')]"],
         "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                        "template": template({"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01",
                                              "name": "vnet", "location": "[resourceGroup().location]"})}}]}
    scope = f"/subscriptions/{SUB}"
    with pytest.raises(ArmError) as info:
        state.put_deployment(scope, "sub", body(t))
    assert info.value.code == "LocationRequired"
    result = deploy(state, t, name="sub", scope=scope, location="westeurope")
    assert result["properties"]["provisioningState"] == "Succeeded", result
    vnet = state.get_resource(f"/subscriptions/{SUB}/resourceGroups/rg-new/providers/Microsoft.Network/virtualNetworks/vnet")
    assert vnet["location"] == "westeurope"
    assert state.get_deployment(f"/subscriptions/{SUB}/resourceGroups/rg-new", "into-group")["properties"][
        "provisioningState"] == "Succeeded"


# ---------------------------------------------------------------------------------------------
# Deployment lifecycle


def test_deployment_states_and_deployment_active(state):
    view, op = state.put_deployment(SCOPE, "d1", body(template(hub())))
    assert view["properties"]["provisioningState"] == "Accepted"
    assert op.status == "InProgress"
    state.clock.advance(1)
    assert state.get_deployment(SCOPE, "d1")["properties"]["provisioningState"] == "Running"
    with pytest.raises(ArmError) as info:
        state.put_deployment(SCOPE, "d1", body(template(hub())))
    error = info.value
    assert (error.status, error.code) == (409, "DeploymentActive")
    assert error.message == ("Unable to edit or replace deployment 'd1': previous deployment from '1/1/2026 12:00:00 AM' "
                             "is still active (expiration time is '1/8/2026 12:00:00 AM'). Please see "
                             "https://aka.ms/arm-deploy for usage details.")
    state.put_deployment(SCOPE, "d2", body(template(storage(1))))  # another name is fine
    state.run_until_idle()
    assert op.status == "Succeeded" and op.status_body()["status"] == "Succeeded"
    assert state.put_deployment(SCOPE, "d1", body(template(hub())))[0]["properties"]["provisioningState"] == "Accepted"


def test_cancel_stops_pending_resources_and_in_flight_ones_keep_their_locks(state):
    t = template(hub(), peers(mode="serial", batch=1))
    state.put_deployment(SCOPE, "d1", body(t))
    state.run_until_idle(max_time=400)  # the hub is done (~6 min), peer0 is running
    assert ops(state)["hub1/peer0"]["provisioningState"] == "Running"
    state.cancel_deployment(SCOPE, "d1")
    assert state.get_deployment(SCOPE, "d1")["properties"]["provisioningState"] == "Canceling"
    state.clock.advance(1)
    assert state.get_deployment(SCOPE, "d1")["properties"]["provisioningState"] == "Canceled"
    with pytest.raises(ArmError) as info:  # the canceled deployment's PUT is still running at the RP
        state.put_resource(f"{NET}/virtualHubs/hub1/bgpConnections/other", {"properties": {}})
    assert info.value.code == "AnotherOperationInProgress"
    state.run_until_idle()
    assert sorted(ops(state)) == ["hub1", "hub1/peer0"]
    assert ops(state)["hub1/peer0"]["provisioningState"] == "Succeeded"
    assert state.get_deployment(SCOPE, "d1")["properties"]["provisioningState"] == "Canceled"
    with pytest.raises(ArmError) as info:
        state.cancel_deployment(SCOPE, "d1")
    assert info.value.status == 409


def test_validate_and_template_errors(state):
    result = state.validate_deployment(SCOPE, "v", body(template(hub(), peers(2))))
    assert [r["id"] for r in result["properties"]["validatedResources"]] == [
        f"{NET}/virtualHubs/hub1", f"{NET}/virtualHubs/hub1/bgpConnections/peer0",
        f"{NET}/virtualHubs/hub1/bgpConnections/peer1"]
    bad = template({"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01", "name": "v",
                    "copy": {"name": "c", "count": "three"}})
    for call in (state.validate_deployment, state.put_deployment):
        with pytest.raises(ArmError) as info:
            call(SCOPE, "bad", body(bad))
        assert (info.value.status, info.value.code) == (400, "InvalidTemplate")
        assert "copy count must be an int" in info.value.message and "\n" not in info.value.message
    needs = template({"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01",
                      "name": "[parameters('n')]"}, parameters={"n": {"type": "string"}})
    with pytest.raises(ArmError) as info:
        state.put_deployment(SCOPE, "needs", body(needs))
    assert info.value.code == "InvalidTemplate"
    with pytest.raises(ArmError) as info:
        state.put_deployment(SCOPE, "link", {"properties": {"templateLink": {"uri": "https://example.com/t.json"}}})
    assert info.value.code == "InvalidContentLink"
    with pytest.raises(ArmError) as info:
        state.put_deployment(f"/subscriptions/{SUB}/resourceGroups/missing", "x", body(template(hub())))
    assert info.value.code == "ResourceGroupNotFound"


def test_wrong_segment_count_fails_that_resource(state):
    t = template({"type": "Microsoft.Network/virtualNetworks/subnets", "apiVersion": "2024-05-01", "name": "justone"})
    result = deploy(state, t)
    assert result["properties"]["provisioningState"] == "Failed"
    [op] = state.list_deployment_operations(SCOPE, "d1")
    assert "incorrect segment lengths" in op["properties"]["statusMessage"]["error"]["message"]


def test_deployment_operations_have_the_arm_shape(state):
    deploy(state, template(hub()))
    [op] = state.list_deployment_operations(SCOPE, "d1")
    assert op["id"] == f"{SCOPE}/providers/Microsoft.Resources/deployments/d1/operations/{op['operationId']}"
    assert len(op["operationId"]) == 16 and op["operationId"].isupper()
    props = op["properties"]
    assert set(props) >= {"provisioningOperation", "provisioningState", "timestamp", "duration", "statusCode",
                          "statusMessage", "targetResource"}
    assert props["targetResource"] == {"id": f"{NET}/virtualHubs/hub1", "resourceType": "Microsoft.Network/virtualHubs",
                                       "resourceName": "hub1", "apiVersion": "2024-05-01"}
    assert props["statusCode"] == "Created"
    assert props["statusMessage"]["properties"]["provisioningState"] == "Succeeded"


def test_delete_deployment_and_list(state):
    deploy(state, template(hub()))
    assert [d["name"] for d in state.list_deployments(SCOPE)] == ["d1"]
    state.delete_deployment(SCOPE, "d1")
    assert state.list_deployments(SCOPE) == []
    with pytest.raises(ArmError) as info:
        state.get_deployment(SCOPE, "d1")
    assert (info.value.code, info.value.message) == ("DeploymentNotFound", "Deployment 'd1' could not be found.")


def test_deployments_written_through_the_generic_resource_api(state):
    view, op = state.put_resource(f"{SCOPE}/providers/Microsoft.Resources/deployments/viaid", body(template(hub())))
    assert view["properties"]["provisioningState"] == "Accepted" and op is not None
    state.run_until_idle()
    assert state.get_resource(f"{SCOPE}/providers/Microsoft.Resources/deployments/viaid")["properties"][
        "provisioningState"] == "Succeeded"


def test_deployment_ops_go_to_the_activity_log_with_the_deployment_correlation_id(state):
    state.put_deployment(SCOPE, "d1", body(template(hub())), caller="pipeline", correlation_id="corr-d")
    state.run_until_idle()
    events = [e for e in state.activity_log(SUB) if e["correlationId"] == "corr-d"]
    names = {e["operationName"]["value"] for e in events}
    assert names == {"Microsoft.Resources/deployments/write", "Microsoft.Network/virtualHubs/write"}
    assert {e["caller"] for e in events} == {"pipeline"}


def test_same_seed_same_simulation():
    def run(seed: int) -> list:
        s = ArmState(seed=seed)
        s.put_resource_group(SUB, "rg", {"location": "westeurope"})
        deploy(s, template(hub(), peers(mode="serial", batch=1)))
        return [(o["properties"]["timestamp"], o["properties"]["duration"]) for o in s.list_deployment_operations(SCOPE, "d1")]

    assert run(9) == run(9)
    assert run(9) != run(10)


def test_complete_mode_deletes_what_the_template_does_not_declare(state):
    for name in ("keep", "extra"):
        state.put_resource(f"{NET}/virtualNetworks/{name}", {"location": "westeurope"})
    state.run_until_idle()
    t = template({"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01", "name": "keep",
                  "location": "westeurope"},
                 nested("child", template({"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01",
                                           "name": "from-child", "location": "westeurope"})))
    state.put_deployment(SCOPE, "full", {"properties": {"mode": "Complete", "template": t}})
    state.run_until_idle()
    assert state.get_deployment(SCOPE, "full")["properties"]["provisioningState"] == "Succeeded"
    assert state.resource_exists(f"{NET}/virtualNetworks/keep")
    assert state.resource_exists(f"{NET}/virtualNetworks/from-child")
    assert not state.resource_exists(f"{NET}/virtualNetworks/extra")
    deletes = [o["properties"] for o in state.list_deployment_operations(SCOPE, "full")
               if o["properties"]["provisioningOperation"] == "Delete"]
    assert [d["targetResource"]["id"] for d in deletes] == [f"{NET}/virtualNetworks/extra"]
    assert deletes[0]["provisioningState"] == "Succeeded"


def test_complete_mode_deletes_respect_locks(state):
    state.put_resource(f"{NET}/virtualNetworks/locked", {"location": "westeurope"})
    state.run_until_idle()
    state.put_lock(f"{NET}/virtualNetworks/locked", "keep", {"properties": {"level": "CanNotDelete"}})
    state.put_deployment(SCOPE, "full", {"properties": {"mode": "Complete", "template": template(storage(1))}})
    state.run_until_idle()
    result = state.get_deployment(SCOPE, "full")["properties"]
    assert result["provisioningState"] == "Failed"
    assert "ScopeLocked" in result["error"]["details"][0]["message"]


def test_the_step_shuffler_draws_every_order_and_repeats_for_a_seed():
    import random
    from collections import Counter

    from armguard.emulator.engine import shuffler

    shuffle = shuffler(random.Random(7))
    orders = Counter()
    for _ in range(6000):
        items = [1, 2, 3]
        shuffle(items)
        orders[tuple(items)] += 1
    assert len(orders) == 6 and min(orders.values()) > 800  # about 1,000 each
    first, second = [list(range(10)) for _ in range(2)]
    shuffler(random.Random(1))(first)
    shuffler(random.Random(1))(second)
    assert first == second and sorted(first) == list(range(10))


def test_the_front_end_graph_is_reused_only_for_the_same_template_parameters_and_scope():
    from armguard.emulator import deployments

    t = template(hub(), peers(3, mode="serial", batch=1),
                 parameters={"n": {"type": "int", "defaultValue": 1}})
    first, second, other_params, other_name = (ArmState(seed=s) for s in (1, 2, 3, 4))
    levels = []
    for state, name, params in ((first, "d", None), (second, "d", None), (other_params, "d", {"n": 2}),
                                (other_name, "e", None)):
        state.put_resource_group(SUB, "rg", {"location": "westeurope"})
        state.put_deployment(SCOPE, name, body(t, params))
        levels.append(state.deployments[f"{SCOPE}/providers/Microsoft.Resources/deployments/{name}".lower()].level)
        state.run_until_idle()
        assert state.get_deployment(SCOPE, name)["properties"]["provisioningState"] == "Succeeded"
    graphs = [level.graph for level in levels]
    assert graphs[0] is graphs[1]
    assert graphs[2] is not graphs[0] and graphs[3] is not graphs[0]
    assert len(deployments._FRONT_END_CACHE) <= deployments._FRONT_END_CACHE_SIZE
    t["resources"][1]["copy"]["count"] = 4  # the same dict, changed: built again
    state = ArmState(seed=5)
    state.put_resource_group(SUB, "rg", {"location": "westeurope"})
    state.put_deployment(SCOPE, "d", body(t))
    state.run_until_idle()
    assert len(state.list_deployment_operations(SCOPE, "d")) == 5


UAI = "Microsoft.ManagedIdentity/userAssignedIdentities"
SYMBOLIC = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def test_identities_get_the_ids_azure_generates_and_templates_read_them(state):
    site_identity = {"type": "SystemAssigned, UserAssigned",
                     "userAssignedIdentities": {f"[resourceId('{UAI}', 'id1')]": {}}}
    t = {"$schema": SYMBOLIC, "contentVersion": "1.0.0.0", "languageVersion": "2.0",
         "resources": {
             "uai": {"type": UAI, "apiVersion": "2023-01-31", "name": "id1", "location": "westeurope"},
             "site": {"type": "Microsoft.Web/sites", "apiVersion": "2023-12-01", "name": "app1",
                      "location": "westeurope", "identity": site_identity, "dependsOn": ["uai"],
                      "properties": {}}},
         "outputs": {"uaiPrincipal": {"type": "string", "value": "[reference('uai').principalId]"},
                     "sitePrincipal": {"type": "string", "value": "[reference('site', '2023-12-01', 'full').identity.principalId]"},
                     "endpoint": {"type": "string", "value": "[reference('site').defaultHostName]"}}}
    state.put_deployment(SCOPE, "ids", body(t))
    state.run_until_idle()
    props = state.get_deployment(SCOPE, "ids")["properties"]
    assert props["provisioningState"] == "Succeeded", props.get("error")
    uai = state.get_resource(f"{SCOPE}/providers/{UAI}/id1")["properties"]
    site = state.get_resource(f"{SCOPE}/providers/Microsoft.Web/sites/app1")["identity"]
    guid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$")
    assert guid.match(uai["principalId"]) and guid.match(uai["clientId"]) and uai["tenantId"]
    assert guid.match(site["principalId"]) and site["tenantId"] == uai["tenantId"]
    assigned = next(iter(site["userAssignedIdentities"].values()))
    assert assigned == {"principalId": uai["principalId"], "clientId": uai["clientId"]}
    outputs = props["outputs"]
    assert outputs["uaiPrincipal"]["value"] == uai["principalId"]
    assert outputs["sitePrincipal"]["value"] == site["principalId"]
    # a property only the provider fills in reads as a stand-in instead of failing the deployment
    assert outputs["endpoint"]["value"] == "<emulated reference('site').defaultHostName>"
    state.put_deployment(SCOPE, "ids", body(t))  # the ids stay what they were
    state.run_until_idle()
    assert state.get_resource(f"{SCOPE}/providers/{UAI}/id1")["properties"]["principalId"] == uai["principalId"]


def test_an_output_naming_a_missing_output_of_a_nested_deployment_is_left_out(state):
    """Deployment outputs are not stand-ins: only resources hold what providers add."""
    inner = {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": [], "outputs": {}}
    t = template({"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner",
                  "properties": {"mode": "Incremental", "template": inner}},
                 outputs={"x": {"type": "string", "value": "[reference('inner').outputs.nope.value]"}})
    state.put_deployment(SCOPE, "outer", body(t))
    state.run_until_idle()
    assert "x" not in (state.get_deployment(SCOPE, "outer")["properties"].get("outputs") or {})


def test_reference_to_one_instance_of_a_symbolic_loop(state):
    t = {"$schema": SYMBOLIC, "contentVersion": "1.0.0.0", "languageVersion": "2.0",
         "resources": {"nsgs": {"type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2024-05-01",
                                "name": "[format('nsg{0}', copyIndex())]", "location": "westeurope",
                                "copy": {"name": "nsgs", "count": 3}, "properties": {"securityRules": []}}},
         "outputs": {"second": {"type": "string", "value": "[reference('nsgs[1]', '2024-05-01', 'full').name]"},
                     "names": {"type": "array", "copy": {"count": 3, "input": "[reference(format('nsgs[{0}]', copyIndex()), '2024-05-01', 'full').name]"}}}}
    state.put_deployment(SCOPE, "loop", body(t))
    state.run_until_idle()
    props = state.get_deployment(SCOPE, "loop")["properties"]
    assert props["provisioningState"] == "Succeeded", props.get("error")
    assert props["outputs"]["second"]["value"] == "nsg1"
    assert props["outputs"]["names"]["value"] == ["nsg0", "nsg1", "nsg2"]


def test_list_of_a_sites_config_answers_its_settings(state):
    site = {"type": "Microsoft.Web/sites", "apiVersion": "2023-12-01", "name": "app1", "location": "westeurope",
            "properties": {}}
    settings = {"type": "Microsoft.Web/sites/config", "apiVersion": "2023-12-01", "name": "app1/appsettings",
                "dependsOn": ["[resourceId('Microsoft.Web/sites', 'app1')]"], "properties": {"A": "1"}}
    t = template(site, settings, outputs={"merged": {"type": "object", "value": "[union(list(resourceId('Microsoft.Web/sites/config', 'app1', 'appsettings'), '2023-12-01').properties, createObject('B', '2'))]"}})
    state.put_deployment(SCOPE, "cfg", body(t))
    state.run_until_idle()
    props = state.get_deployment(SCOPE, "cfg")["properties"]
    assert props["provisioningState"] == "Succeeded", props.get("error")
    assert props["outputs"]["merged"]["value"] == {"A": "1", "B": "2"}


def test_a_stand_in_reads_as_an_empty_array_or_object_where_a_function_needs_one(state):
    site = {"type": "Microsoft.Web/sites", "apiVersion": "2023-12-01", "name": "app1", "location": "westeurope",
            "properties": {}}
    t = template(site, outputs={
        "names": {"type": "array", "value": "[map(reference('app1').hostNameSslStates, lambda('s', lambdaVariables('s').name))]"},
        "entries": {"type": "array", "value": "[items(reference('app1').siteConfig)]"},
        "text": {"type": "string", "value": "[format('https://{0}/', reference('app1').defaultHostName)]"}})
    state.put_deployment(SCOPE, "standins", body(t))
    state.run_until_idle()
    props = state.get_deployment(SCOPE, "standins")["properties"]
    assert props["provisioningState"] == "Succeeded", props.get("error")
    assert props["outputs"]["names"]["value"] == []
    assert props["outputs"]["entries"]["value"] == []
    assert props["outputs"]["text"]["value"] == "https://<emulated reference('app1').defaultHostName>/"
