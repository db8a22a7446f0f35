"""AG101: a loop whose iterations share one serial lock domain, deployed in parallel."""

from __future__ import annotations

import shutil
from pathlib import Path
from textwrap import dedent

from armguard.lint import lint_file
from armguard.lint.runner import FileResult

MODULES = Path(__file__).resolve().parent / "fixtures" / "modules"

VNET = """\
resource vnet 'Microsoft.Network/virtualNetworks@2023-09-01' existing = {
  name: 'vnet1'
}
"""


def lint(tmp_path: Path, text: str, name: str = "main.bicep") -> FileResult:
    """Lint `text` as tmp_path/name, with the shared test modules in tmp_path/modules."""
    if not (tmp_path / "modules").exists():
        shutil.copytree(MODULES, tmp_path / "modules")
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    result = lint_file(str(path))
    assert result.errors == [], result.errors
    return result


def ag101(result: FileResult) -> dict[str, object]:
    """AG101 findings by symbol."""
    return {f.symbol: f for f in result.findings if f.rule == "AG101"}


# ------------------------------------------------------------- resource loops

def test_parallel_subnet_loop_into_one_vnet_is_flagged_with_location_domain_and_members(tmp_path):
    result = lint(tmp_path, VNET + """\
// A comment line.
@description('subnets')
resource subnets 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = [for i in range(0, 3): {
  parent: vnet
  name: 'snet-${i}'
}]
""")
    (f,) = result.findings
    assert (f.rule, f.level, f.symbol) == ("AG101", "warning", "subnets")
    assert (f.line, f.column) == (6, 1)  # the `resource` keyword, not the decorator
    assert f.path == str(tmp_path / "main.bicep")
    assert f.domain == "Microsoft.Network/virtualNetworks 'vnet1'"
    assert f.members == ["snet-0", "snet-1", "snet-2"]
    assert "in parallel" in f.message and "@batchSize(1)" in f.message
    assert f.fix is not None
    assert f.reason  # the catalog's explanation


def test_batch_size_one_clears_ag101(tmp_path):
    result = lint(tmp_path, VNET + """\
// Serial: subnets of one VNet.
@batchSize(1)
resource subnets 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = [for i in range(0, 3): {
  parent: vnet
  name: 'snet-${i}'
}]
""")
    assert result.findings == []


def test_batch_size_above_one_is_flagged(tmp_path):
    result = lint(tmp_path, VNET + """\
@batchSize(2)
resource subnets 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = [for i in range(0, 3): {
  parent: vnet
  name: 'snet-${i}'
}]
""")
    f = ag101(result)["subnets"]
    assert "2 at a time" in f.message


def test_loop_of_one_iteration_is_not_flagged(tmp_path):
    result = lint(tmp_path, VNET + """\
resource subnets 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = [for s in ['only']: {
  parent: vnet
  name: s
}]
""")
    assert ag101(result) == {}


def test_loop_over_a_parameter_array_into_one_zone_is_flagged(tmp_path):
    result = lint(tmp_path, """\
param vnetIds array
resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (id, i) in vnetIds: {
  name: 'zone.example.com/link-${i}'
  location: 'global'
}]
""")
    f = ag101(result)["links"]
    assert f.domain == "Microsoft.Network/privateDnsZones 'zone.example.com'"


def test_peerings_loop_onto_one_vnet_is_flagged(tmp_path):
    result = lint(tmp_path, """\
resource hubVnet 'Microsoft.Network/virtualNetworks@2023-09-01' existing = {
  name: 'vnet-hub'
}
resource peerings 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings@2023-09-01' = [for s in ['a', 'b']: {
  parent: hubVnet
  name: 'to-${s}'
  properties: {
    remoteVirtualNetwork: {
      id: resourceId('Microsoft.Network/virtualNetworks', s)
    }
  }
}]
""")
    assert "peerings" in ag101(result)


# ------------------------------------------------------ one domain per iteration

def test_vnet_links_over_many_zones_with_parent_zones_i_are_not_flagged(tmp_path):
    result = lint(tmp_path, """\
var zoneNames = ['a.example.com', 'b.example.com', 'c.example.com']
resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [for z in zoneNames: {
  name: z
  location: 'global'
}]
resource hubLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (z, i) in zoneNames: {
  parent: zones[i]
  name: 'link-hub'
  location: 'global'
}]
""")
    assert ag101(result) == {}


def test_vnet_links_over_parameter_zones_with_parent_zones_i_are_not_flagged(tmp_path):
    result = lint(tmp_path, """\
param zoneNames array
resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [for z in zoneNames: {
  name: z
  location: 'global'
}]
resource hubLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (z, i) in zoneNames: {
  parent: zones[i]
  name: 'link-hub'
  location: 'global'
}]
""")
    assert ag101(result) == {}


def test_links_that_all_use_zones_0_as_parent_are_flagged(tmp_path):
    result = lint(tmp_path, """\
param zoneNames array
resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [for z in zoneNames: {
  name: z
  location: 'global'
}]
resource firstZoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (z, i) in zoneNames: {
  parent: zones[0]
  name: 'link-${i}'
  location: 'global'
}]
""")
    assert "firstZoneLinks" in ag101(result)


def test_literal_array_of_distinct_parent_names_is_not_flagged(tmp_path):
    result = lint(tmp_path, """\
resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for z in ['a.example.com', 'b.example.com']: {
  name: '${z}/link-hub'
  location: 'global'
}]
""")
    assert ag101(result) == {}


def test_literal_array_with_duplicate_parent_names_is_flagged(tmp_path):
    result = lint(tmp_path, """\
resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for z in ['a.example.com', 'b.example.com', 'a.example.com']: {
  name: '${z}/link-${uniqueString(z)}'
  location: 'global'
}]
""")
    assert "links" in ag101(result)


def test_duplicate_parents_reached_through_parent_zones_i_are_flagged(tmp_path):
    result = lint(tmp_path, """\
var zoneNames = ['a.example.com', 'b.example.com', 'a.example.com']
resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' existing = [for z in zoneNames: {
  name: z
}]
resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (z, i) in zoneNames: {
  parent: zones[i]
  name: 'link-hub'
  location: 'global'
}]
""")
    assert "links" in ag101(result)


def test_duplicate_parent_finding_names_the_duplicated_zone_not_the_loop_expression(tmp_path):
    # BUG: the domain is reported as "'${z}'" (the loop expression), not the zone both iterations write.
    result = lint(tmp_path, """\
resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for z in ['a.example.com', 'a.example.com']: {
  name: '${z}/link-${uniqueString(z)}'
  location: 'global'
}]
""")
    f = ag101(result)["links"]
    assert f.domain == "Microsoft.Network/privateDnsZones 'a.example.com'"


def test_subnets_sharing_one_route_table_across_vnets_are_flagged(tmp_path):
    result = lint(tmp_path, """\
resource subnets 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = [for v in ['vnet-a', 'vnet-b']: {
  name: '${v}/snet-db'
  properties: {
    addressPrefix: '10.0.1.0/24'
    routeTable: {
      id: resourceId('Microsoft.Network/routeTables', 'rt-shared')
    }
  }
}]
""")
    f = ag101(result)["subnets"]
    assert "routetables/rt-shared" in (f.domain or "").lower()


def test_subnets_of_distinct_vnets_each_with_its_own_route_table_are_not_flagged(tmp_path):
    # BUG: per-iteration property domains (routeTable.id built from the loop item) are computed from the
    # loop-generic properties, so every iteration looks like it writes "one" route table.
    result = lint(tmp_path, """\
resource subnets 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = [for v in ['vnet-a', 'vnet-b', 'vnet-c']: {
  name: '${v}/snet-app'
  properties: {
    addressPrefix: '10.0.0.0/24'
    routeTable: {
      id: resourceId('Microsoft.Network/routeTables', 'rt-${v}')
    }
  }
}]
""")
    assert ag101(result) == {}


# ------------------------------------------------------------ safe / unknown

def test_safe_type_loop_is_never_ag101(tmp_path):
    result = lint(tmp_path, """\
resource accounts 'Microsoft.Storage/storageAccounts@2023-01-01' = [for i in range(0, 4): {
  name: 'stg${i}'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
}]
""")
    assert ag101(result) == {}


def test_unknown_types_are_never_ag101(tmp_path):
    result = lint(tmp_path, """\
resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for i in range(0, 4): {
  name: guid('x', string(i))
  properties: {
    roleDefinitionId: 'x'
    principalId: 'p${i}'
  }
}]
resource records 'Microsoft.Network/privateDnsZones/A@2024-06-01' = [for i in range(0, 4): {
  name: 'zone.example.com/r${i}'
}]
resource widgets 'Contoso.Widgets/things/parts@2020-01-01' = [for i in range(0, 4): {
  name: 'thing/p${i}'
}]
""")
    assert ag101(result) == {}


def test_existing_loop_is_not_flagged(tmp_path):
    result = lint(tmp_path, VNET + """\
resource subnets 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' existing = [for i in range(0, 3): {
  parent: vnet
  name: 'snet-${i}'
}]
""")
    assert ag101(result) == {}


# -------------------------------------------------------------- module loops

def test_module_loop_into_one_hub_is_flagged_through_the_module(tmp_path):
    result = lint(tmp_path, """\
module peers 'modules/bgp.bicep' = [for p in ['p1', 'p2', 'p3']: {
  name: '${uniqueString(deployment().name)}-${p}'
  params: {
    hubName: 'hub-1'
    peerName: p
  }
}]
""")
    f = ag101(result)["peers"]
    assert (f.line, f.column) == (1, 1)
    assert f.domain == "Microsoft.Network/virtualHubs 'hub-1'"
    assert "through module resource 'bgp'" in f.message
    assert len(f.members) == 3
    assert f.fix is not None


def test_module_loop_is_judged_through_nested_local_modules(tmp_path):
    result = lint(tmp_path, """\
module peers 'modules/wrap.bicep' = [for p in ['p1', 'p2']: {
  name: '${uniqueString(deployment().name)}-${p}'
  params: {
    hubName: 'hub-2'
    peerName: p
  }
}]
""")
    assert ag101(result)["peers"].domain == "Microsoft.Network/virtualHubs 'hub-2'"


def test_module_loop_whose_hub_comes_from_the_loop_item_is_not_flagged(tmp_path):
    result = lint(tmp_path, """\
var hubs = [
  { hub: 'hub-a', peer: 'p1' }
  { hub: 'hub-b', peer: 'p2' }
]
module direct 'modules/bgp.bicep' = [for h in hubs: {
  name: '${uniqueString(deployment().name)}-d-${h.hub}'
  params: {
    hubName: h.hub
    peerName: h.peer
  }
}]
module nested 'modules/wrap.bicep' = [for h in hubs: {
  name: '${uniqueString(deployment().name)}-n-${h.hub}'
  params: {
    hubName: h.hub
    peerName: h.peer
  }
}]
""")
    assert ag101(result) == {}


def test_module_loop_over_literal_hub_names_with_a_duplicate_is_flagged(tmp_path):
    # BUG: module loops get no per-iteration analysis, so two iterations writing 'hub-z' go unreported.
    result = lint(tmp_path, """\
module peers 'modules/bgp.bicep' = [for (h, i) in ['hub-z', 'hub-y', 'hub-z']: {
  name: '${uniqueString(deployment().name)}-${i}'
  params: {
    hubName: h
    peerName: 'peer-${i}'
  }
}]
""")
    assert "peers" in ag101(result)


def test_parallel_module_loop_around_a_serial_inner_loop_is_flagged(tmp_path):
    result = lint(tmp_path, """\
module groups 'modules/bgp-serial-loop.bicep' = [for (g, i) in [['a', 'b'], ['c', 'd']]: {
  name: '${uniqueString(deployment().name)}-${i}'
  params: {
    peers: g
  }
}]
""")
    assert ag101(result)["groups"].domain == "Microsoft.Network/virtualHubs 'hub-default'"


def test_module_loop_of_safe_types_is_not_flagged(tmp_path):
    result = lint(tmp_path, """\
module accounts 'modules/storage.bicep' = [for n in ['a', 'b', 'c']: {
  name: '${uniqueString(deployment().name)}-${n}'
  params: {
    accountName: 'stg${n}'
  }
}]
""")
    assert ag101(result) == {}


def test_module_loop_with_batch_size_one_is_not_flagged(tmp_path):
    result = lint(tmp_path, """\
// Serial: one hub's BGP state.
@batchSize(1)
module peers 'modules/bgp.bicep' = [for p in ['p1', 'p2']: {
  name: '${uniqueString(deployment().name)}-${p}'
  params: {
    hubName: 'hub-1'
    peerName: p
  }
}]
""")
    assert result.findings == []


def test_message_and_domain_stay_on_one_line_for_a_multi_line_hub_name_expression(tmp_path):
    # BUG: the domain text is the raw source of the expression, newlines included, which breaks the
    # compiler-style one-line message (and the fix's `//` comment, see test_fix.py).
    result = lint(tmp_path, """\
param suffix string
resource hub 'Microsoft.Network/virtualHubs@2024-05-01' existing = {
  name: join([
    'hub'
    suffix
  ], '-')
}
resource bgp 'Microsoft.Network/virtualHubs/bgpConnections@2024-05-01' = [for p in ['a', 'b']: {
  parent: hub
  name: p
  properties: {
    peerAsn: 65001
    peerIp: '10.0.0.4'
  }
}]
""")
    f = ag101(result)["bgp"]
    assert "\n" not in f.message
    assert "\n" not in (f.domain or "")
