"""The repository's Bicep examples deployed through the emulator (Bicep graph -> engine, no compiler).

vwan-bgp-peers: broken fails with AnotherOperationInProgress, fixed succeeds.
private-dns: broken fails with conflicts on the blob zone. The fixed one serializes the spoke
links, but its first spoke link still races the blob zone's hub link (`hubLinks[0]` waits only for
its own zone, `spokeLinks` for all zones), so it fails too; with that ordering added it succeeds.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from armguard.bicep import load_graph
from armguard.emulator.state import ArmState

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SUB = "00000000-0000-0000-0000-000000000000"
SCOPE = f"/subscriptions/{SUB}/resourceGroups/rg"
NET = f"{SCOPE}/providers/Microsoft.Network"
BLOB = "privatelink.blob.core.windows.net"
PEERS = {"nva-1": (65001, "10.10.1.4"), "nva-2": (65002, "10.10.1.5"), "nva-3": (65003, "10.10.1.6"),
         "nva-4": (65004, "10.10.1.7"), "nva-5": (65005, "10.10.1.8")}


def run(path: Path, params: dict, seed: int = 3) -> ArmState:
    state = ArmState(seed=seed)
    state.put_resource_group(SUB, "rg", {"location": "westeurope"})
    state.deploy_graph(SCOPE, "main", load_graph(path, params))
    state.run_until_idle()
    return state


def bgp(variant: str, seed: int = 3) -> ArmState:
    connection = f"{NET}/virtualHubs/hub-weu/hubVirtualNetworkConnections/nva-spoke"
    return run(EXAMPLES / "vwan-bgp-peers" / variant / "main.bicep", {"connectionId": connection}, seed)


def dns(path: Path, seed: int = 3) -> ArmState:
    return run(path, {"hubVnetId": f"{NET}/virtualNetworks/vnet-hub"}, seed)


def state_of(state: ArmState, name: str = "main") -> str:
    return state.get_deployment(SCOPE, name)["properties"]["provisioningState"]


def operations(state: ArmState, name: str = "main") -> dict[str, dict]:
    return {o["properties"]["targetResource"]["resourceName"]: o["properties"]
            for o in state.list_deployment_operations(SCOPE, name)}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bgp_broken_fails_with_another_operation_in_progress(seed):
    state = bgp("broken", seed)
    assert state_of(state) == "Failed"
    modules = {k: v for k, v in operations(state).items() if v["targetResource"]["resourceType"]
               == "Microsoft.Resources/deployments"}
    assert len(modules) == 5
    assert sorted(v["provisioningState"] for v in modules.values()) == ["Failed"] * 4 + ["Succeeded"]
    inner_codes = []
    for name, op in modules.items():
        [inner] = operations(state, name).values()
        assert inner["targetResource"]["resourceType"] == "Microsoft.Network/virtualHubs/bgpConnections"
        if op["provisioningState"] == "Failed":
            inner_codes.append(inner["statusMessage"]["error"]["code"])
    assert inner_codes == ["AnotherOperationInProgress"] * 4
    error = state.get_deployment(SCOPE, "main")["properties"]["error"]
    assert error["code"] == "DeploymentFailed" and len(error["details"]) == 4


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bgp_fixed_succeeds_one_peer_at_a_time(seed):
    state = bgp("fixed", seed)
    assert state_of(state) == "Succeeded"
    for name, (asn, ip) in PEERS.items():
        view = state.get_resource(f"{NET}/virtualHubs/hub-weu/bgpConnections/{name}")
        assert view["properties"]["peerAsn"] == asn and view["properties"]["peerIp"] == ip
        assert view["properties"]["hubVirtualNetworkConnection"]["id"].endswith("/nva-spoke")
    modules = [op for op in operations(state).values()
               if op["targetResource"]["resourceType"] == "Microsoft.Resources/deployments"]
    # Module names are what Bicep computes: uniqueString(deployment().name)-bgp-<peer>.
    assert all(re.fullmatch(r"[a-z0-9]{13}-bgp-nva-\d", op["targetResource"]["resourceName"]) for op in modules)
    hub = state.get_resource(f"{NET}/virtualHubs/hub-weu")
    assert hub["properties"]["virtualWan"]["id"] == f"{NET}/virtualWans/wan-core"
    assert hub["location"] == "westeurope"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_private_dns_broken_fails_with_conflicts_on_the_blob_zone(seed):
    state = dns(EXAMPLES / "private-dns" / "broken" / "main.bicep", seed)
    assert state_of(state) == "Failed"
    ops = operations(state)
    # Every failure is a link into the blob zone; at least two of the three spoke links fail.
    failed = {k for k, v in ops.items() if v["provisioningState"] == "Failed"}
    assert failed <= {f"{BLOB}/link-hub", *(f"{BLOB}/link-spoke-{i}" for i in range(3))}
    assert len(failed & {f"{BLOB}/link-spoke-{i}" for i in range(3)}) >= 2
    assert {ops[k]["statusMessage"]["error"]["code"] for k in failed} == {"AnotherOperationInProgress"}


def started(state: ArmState, op: dict) -> float:
    from armguard.emulator.clock import parse_time

    end = parse_time(state.clock.epoch, op["timestamp"])
    text = op["duration"][2:].rstrip("S")
    minutes, _, seconds = text.rpartition("M")
    return end - float(seconds or 0) - 60 * float(minutes or 0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_private_dns_fixed_succeeds_with_spoke_links_one_at_a_time(seed):
    state = dns(EXAMPLES / "private-dns" / "fixed" / "main.bicep", seed)
    ops = operations(state)
    spokes = [ops[f"{BLOB}/link-spoke-{i}"] for i in range(3)]
    hub_link = ops[f"{BLOB}/link-hub"]
    # The spoke links start after the blob zone's hub link and one after another (batchSize 1).
    assert started(state, spokes[0]) >= started(state, hub_link)
    assert started(state, spokes[0]) <= started(state, spokes[1]) <= started(state, spokes[2])
    assert all(op["provisioningState"] == "Succeeded" for op in [hub_link, *spokes])
    assert state_of(state) == "Succeeded"


def test_private_dns_fixed_with_the_hub_links_ordered_first_succeeds(tmp_path):
    copy = tmp_path / "private-dns"
    shutil.copytree(EXAMPLES / "private-dns", copy)
    main = copy / "fixed" / "main.bicep"
    assert "    hubLinks" in main.read_text("utf-8")
    for seed in (1, 2, 3):
        state = dns(main, seed)
        assert state_of(state) == "Succeeded"
        assert len(state.list_resources(SUB, "rg", filter="resourceType eq 'Microsoft.Network/privateDnsZones'")) == 3
        links = [f"{BLOB}/link-hub", *(f"{BLOB}/link-spoke-{i}" for i in range(3))]
        for name in links:
            zone, link = name.split("/")
            assert state.resource_exists(f"{NET}/privateDnsZones/{zone}/virtualNetworkLinks/{link}")


SCOPED_MAIN = """
param other string = 'rg-other'
module here 'mod.bicep' = {
  name: 'here'
  params: { n: 'a' }
}
module there 'mod.bicep' = {
  name: 'there'
  scope: resourceGroup(other)
  params: { n: 'b' }
}
module far 'mod.bicep' = [for i in range(0, 2): {
  name: 'far-${i}'
  scope: resourceGroup('11111111-1111-1111-1111-111111111111', 'rg-far')
  params: { n: 'c${i}' }
}]
output there string = there.outputs.where
output names array = [for i in range(0, 2): far[i].outputs.where]
"""
SCOPED_MODULE = """
param n string
resource rt 'Microsoft.Network/routeTables@2024-05-01' = {
  name: 'rt-${n}'
  location: resourceGroup().location
}
output where string = resourceGroup().name
"""


def test_modules_deploy_to_the_resource_group_their_scope_names(tmp_path):
    (tmp_path / "main.bicep").write_text(SCOPED_MAIN)
    (tmp_path / "mod.bicep").write_text(SCOPED_MODULE)
    far_sub = "11111111-1111-1111-1111-111111111111"
    state = ArmState(seed=1)
    state.put_resource_group(SUB, "rg", {"location": "westeurope"})
    state.put_resource_group(SUB, "rg-other", {"location": "northeurope"})
    state.put_resource_group(far_sub, "rg-far", {"location": "swedencentral"})
    state.deploy_graph(SCOPE, "main", load_graph(tmp_path / "main.bicep", {}))
    state.run_until_idle()
    assert state_of(state) == "Succeeded"
    tables = "providers/Microsoft.Network/routeTables"
    assert state.get_resource(f"{SCOPE}/{tables}/rt-a")["location"] == "westeurope"
    assert state.get_resource(f"/subscriptions/{SUB}/resourceGroups/rg-other/{tables}/rt-b")["location"] == "northeurope"
    for i in range(2):
        far = f"/subscriptions/{far_sub}/resourceGroups/rg-far"
        assert state.get_resource(f"{far}/{tables}/rt-c{i}")["location"] == "swedencentral"
        assert state.get_deployment(far, f"far-{i}")["properties"]["outputs"]["where"]["value"] == "rg-far"
    assert not state.resource_exists(f"{SCOPE}/{tables}/rt-b")
    outputs = state.get_deployment(SCOPE, "main")["properties"]["outputs"]
    assert outputs == {"there": {"type": "String", "value": "rg-other"},
                       "names": {"type": "Array", "value": ["rg-far", "rg-far"]}}
    other = f"/subscriptions/{SUB}/resourceGroups/rg-other"
    assert state.get_deployment(other, "there")["properties"]["provisioningState"] == "Succeeded"


def test_a_module_scoped_to_a_missing_group_fails_its_step(tmp_path):
    (tmp_path / "main.bicep").write_text(SCOPED_MAIN.split("module far")[0])
    (tmp_path / "mod.bicep").write_text(SCOPED_MODULE)
    state = ArmState(seed=1)
    state.put_resource_group(SUB, "rg", {"location": "westeurope"})
    state.deploy_graph(SCOPE, "main", load_graph(tmp_path / "main.bicep", {}))
    state.run_until_idle()
    assert state_of(state) == "Failed"
    assert operations(state)["there"]["statusCode"] == "NotFound"
    assert "rg-other" in str(operations(state)["there"]["statusMessage"])
