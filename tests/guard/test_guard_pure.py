"""The pure parts of the run-time guard: states, poll delays, ids, deploy input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from armguard.errors import ArmguardError
from armguard.guard.deploy_input import load_parameters, template_types
from armguard.guard.probes import ResourceRef
from armguard.guard.redeploy import chain_siblings, serialize_loops
from armguard.guard.wait import WaitTarget
from armguard.guard.wait_core import full_jitter, is_success, is_terminal, poll_delay, short_id

FIXTURES = Path(__file__).resolve().parents[1] / "emulator" / "fixtures"


@pytest.mark.parametrize("state", ["Running", "Accepted", "Canceling", "DeletingResources", "Creating", "Updating",
                                   "Deleting", "InProgress", "Waiting", None])
def test_non_terminal_states_keep_waiting(state) -> None:
    assert not is_terminal(state)


def test_terminal_states() -> None:
    assert all(is_terminal(s) for s in ("Succeeded", "failed", "Canceled", "Cancelled"))
    assert is_success("succeeded") and not is_success("Failed")


@given(st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)))
def test_poll_delay_is_bounded(retry_after) -> None:
    delay = poll_delay(retry_after, floor=1.0, ceiling=60.0)
    assert 1.0 <= delay <= 60.0
    if retry_after is not None and 1.0 <= retry_after <= 60.0:
        assert delay == retry_after


def test_full_jitter_grows_and_caps() -> None:
    rng = random.Random(3)
    draws = [full_jitter(a, base=2, cap=60, rng=rng) for a in range(12) for _ in range(50)]
    assert all(0 <= d <= 60 for d in draws)
    assert max(full_jitter(0, base=2, cap=60, rng=rng) for _ in range(200)) <= 2
    assert max(full_jitter(10, base=2, cap=60, rng=rng) for _ in range(200)) > 30


def test_resource_ref_parse() -> None:
    rid = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualHubs/h/bgpConnections/p1"
    ref = ResourceRef.parse(rid)
    assert (ref.namespace, ref.type) == ("Microsoft.Network", "Microsoft.Network/virtualHubs/bgpConnections")
    assert ref.parent_id == "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualHubs/h"
    assert ResourceRef.parse(ref.parent_id).parent_id is None
    assert short_id(rid) == "virtualHubs/h/bgpConnections/p1"
    ext = ResourceRef.parse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/"
                            "providers/Microsoft.Authorization/roleAssignments/g")
    assert ext.type == "Microsoft.Authorization/roleAssignments"
    for bad in ("virtualHubs/h", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualHubs"):
        with pytest.raises(ArmguardError):
            ResourceRef.parse(bad)


def test_wait_target_from_errors() -> None:
    assert WaitTarget.from_error("no error here") is None
    deployment_active = ('{"error": {"code": "DeploymentActive", "message": "Unable to edit or replace deployment '
                         "'main': previous deployment from '11/23/2026 10:00:00' is still active (expiration time is "
                         "'11/30/2026 10:00:00').\", \"target\": \"/subscriptions/s/resourceGroups/rg/providers/"
                         'Microsoft.Resources/deployments/main"}}')
    target = WaitTarget.from_error(deployment_active)
    assert target is not None and (target.deployment, target.resource_group) == ("main", "rg")


def test_serialize_loops_only_touches_loops_that_write_the_failed_types() -> None:
    template = json.loads((FIXTURES / "bgp-peers-parallel.json").read_text())
    fixed, loops = serialize_loops(template, {"microsoft.network/virtualhubs/bgpconnections"})
    assert loops == ["bgpPeers"]
    loop = next(r["copy"] for r in fixed["resources"] if "copy" in r)
    assert (loop["mode"], loop["batchSize"]) == ("serial", 1)
    assert "mode" not in next(r["copy"] for r in template["resources"] if "copy" in r)  # the input is untouched
    assert serialize_loops(template, {"microsoft.storage/storageaccounts"})[1] == []
    again, none = serialize_loops(fixed, {"microsoft.network/virtualhubs/bgpconnections"})
    assert none == [] and again == fixed
    assert "microsoft.network/virtualhubs/bgpconnections" in template_types(template)


def test_serialize_loops_follows_nested_deployments() -> None:
    inner = {"resources": [{"type": "Microsoft.Network/privateDnsZones/virtualNetworkLinks", "name": "[x]"}]}
    template = {"resources": [{"type": "Microsoft.Resources/deployments", "name": "links",
                               "copy": {"name": "links", "count": 3},
                               "properties": {"template": inner}}]}
    _, loops = serialize_loops(template, {"microsoft.network/privatednszones/virtualnetworklinks"})
    assert loops == ["links"]


def test_parameters_in_az_forms(tmp_path) -> None:
    arm_file = tmp_path / "p.json"
    arm_file.write_text(json.dumps({"$schema": "x", "contentVersion": "1.0.0.0",
                                    "parameters": {"hubName": {"value": "hub-1"}, "n": {"value": 2}}}))
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"n": 5, "tags": {"a": "b"}}))
    merged = load_parameters([str(arm_file), f"@{bare}", "hubName=hub-2", "flag=true", 'obj={"k": 1}', "text=a b"])
    assert merged == {"hubName": {"value": "hub-2"}, "n": {"value": 5}, "tags": {"value": {"a": "b"}},
                      "flag": {"value": True}, "obj": {"value": {"k": 1}}, "text": {"value": "a b"}}
    with pytest.raises(ArmguardError, match="no such file"):
        load_parameters(["missing.json"])
    with pytest.raises(ArmguardError, match="expected name=value"):
        load_parameters(["=x"])


PEER = "Microsoft.Network/virtualHubs/bgpConnections"
BGP = {PEER.lower()}


def peer_resource(name: str, **extra) -> dict:
    return {"type": PEER, "apiVersion": "2024-05-01", "name": name, "properties": {}, **extra}


def test_chain_siblings_links_the_writers_of_a_failed_type_in_template_order() -> None:
    template = {"resources": [peer_resource("hub/p1"), {"type": "Microsoft.Storage/storageAccounts", "name": "sa"},
                              peer_resource("[format('{0}/p2', parameters('hub'))]"), peer_resource("hub/p3")]}
    fixed, chains = chain_siblings(template, BGP)
    assert chains == ["hub/p1 -> [format('{0}/p2', parameters('hub'))] -> hub/p3"]
    resources = fixed["resources"]
    assert "dependsOn" not in resources[0] and "dependsOn" not in resources[1]
    assert resources[2]["dependsOn"] == [f"[resourceId('{PEER}', 'hub', 'p1')]"]
    assert resources[3]["dependsOn"] == [
        f"[resourceId('{PEER}', split(format('{{0}}/p2', parameters('hub')), '/')[0], "
        "split(format('{0}/p2', parameters('hub')), '/')[1])]"]
    assert "dependsOn" not in template["resources"][2]  # the input is untouched
    assert chain_siblings(fixed, BGP) == (fixed, [])  # nothing more to do
    assert chain_siblings(template, {"microsoft.storage/storageaccounts"})[1] == []  # one writer: no chain


def test_chain_siblings_keeps_the_order_the_template_already_has() -> None:
    # p1 is written first but already waits for p2: the chain must run p2 -> p1, not make a cycle.
    template = {"resources": [peer_resource("hub/p1", dependsOn=[f"[resourceId('{PEER}', 'hub', 'p2')]"]),
                              peer_resource("hub/p2")]}
    fixed, chains = chain_siblings(template, BGP)
    assert chains == []  # p1 already follows p2: nothing to add
    assert fixed == template
    template["resources"].append(peer_resource("hub/p3"))
    fixed, chains = chain_siblings(template, BGP)
    assert chains == ["hub/p2 -> hub/p1 -> hub/p3"]
    assert "dependsOn" not in fixed["resources"][1]
    assert fixed["resources"][2]["dependsOn"] == [f"[resourceId('{PEER}', 'hub', 'p1')]"]


def test_chain_siblings_in_symbolic_templates_and_nested_deployments() -> None:
    symbolic = {"languageVersion": "2.0", "resources": {"a": peer_resource("hub/a"), "b": peer_resource("hub/b"),
                                                        "loop": peer_resource("[format('hub/l{0}', copyIndex())]",
                                                                              copy={"name": "l", "count": 2})}}
    fixed, chains = chain_siblings(symbolic, BGP)
    assert chains == ["a -> b -> loop"]
    assert fixed["resources"]["b"]["dependsOn"] == ["a"] and fixed["resources"]["loop"]["dependsOn"] == ["b"]
    nested = {"resources": [{"type": "Microsoft.Resources/deployments", "name": "inner",
                             "properties": {"template": {"resources": [peer_resource("hub/x"),
                                                                       peer_resource("hub/y")]}}},
                            {"type": "Microsoft.Resources/deployments", "name": "other", "resourceGroup": "rg2",
                             "properties": {"template": {"resources": [peer_resource("hub/z")]}}}]}
    fixed, chains = chain_siblings(nested, BGP)
    assert chains == ["inner -> other", "hub/x -> hub/y"]
    assert fixed["resources"][1]["dependsOn"] == ["inner"]  # deployments are named by name, in any group
    scoped = {"resources": [peer_resource("hub/p1", scope="x"), peer_resource("hub/p2")]}
    assert chain_siblings(scoped, BGP)[1] == []  # another scope: no reference to chain with
