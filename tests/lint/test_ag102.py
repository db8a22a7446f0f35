"""AG102: separate declarations (or loops) writing one serial lock domain with nothing ordering them."""

from __future__ import annotations

import shutil
from pathlib import Path
from textwrap import dedent

from armguard.lint import lint_file
from armguard.lint.runner import FileResult

MODULES = Path(__file__).resolve().parent / "fixtures" / "modules"

HEAD = """\
param c bool
param env string
param other bool
resource vnet 'Microsoft.Network/virtualNetworks@2023-09-01' existing = {
  name: 'vnet1'
}
"""


def subnet(symbol: str, condition: str = "", extra: str = "") -> str:
    cond = f"if ({condition}) " if condition else ""
    return (f"resource {symbol} 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {cond}{{\n"
            f"  parent: vnet\n  name: '{symbol}'\n{extra}}}\n")


def lint(tmp_path: Path, text: str) -> FileResult:
    if not (tmp_path / "modules").exists():
        shutil.copytree(MODULES, tmp_path / "modules")
    path = tmp_path / "main.bicep"
    path.write_text(dedent(text), encoding="utf-8")
    result = lint_file(str(path))
    assert result.errors == [], result.errors
    return result


def ag102(result: FileResult) -> dict[str, object]:
    return {f.symbol: f for f in result.findings if f.rule == "AG102"}


def test_three_subnets_declared_separately_are_flagged_from_the_second_on(tmp_path):
    result = lint(tmp_path, HEAD + subnet("s1") + subnet("s2") + subnet("s3"))
    found = ag102(result)
    assert sorted(found) == ["s2", "s3"]
    s2, s3 = found["s2"], found["s3"]
    assert (s2.level, s2.line, s2.column) == ("warning", 11, 1)
    assert s2.domain == s3.domain == "Microsoft.Network/virtualNetworks 'vnet1'"
    assert s2.members == ["s1", "s2", "s3"]
    assert "'s1'" in s2.message and "depend on 's1'" in s2.message
    assert "depend on 's2'" in s3.message
    assert s2.fix is not None and s3.fix is not None


def test_direct_depends_on_chain_clears_ag102(tmp_path):
    result = lint(tmp_path, HEAD + subnet("s1") + subnet("s2", extra="  dependsOn: [s1]\n")
                  + subnet("s3", extra="  dependsOn: [\n    s2\n  ]\n"))
    assert ag102(result) == {}


def test_transitive_dependency_through_a_non_writer_clears_ag102(tmp_path):
    result = lint(tmp_path, HEAD + subnet("s1") + """\
resource nsg 'Microsoft.Network/networkSecurityGroups@2023-09-01' = {
  name: 'nsg'
  location: 'westeurope'
  dependsOn: [s1]
}
""" + subnet("s2", extra="  dependsOn: [nsg]\n"))
    assert ag102(result) == {}


def test_implicit_reference_dependency_clears_ag102(tmp_path):
    result = lint(tmp_path, HEAD + subnet("s1") + subnet("s2", extra="  properties: {\n    description: s1.id\n  }\n"))
    assert ag102(result) == {}


def test_depending_only_on_the_wrong_sibling_still_flags(tmp_path):
    result = lint(tmp_path, HEAD + subnet("s1") + subnet("s2") + subnet("s3", extra="  dependsOn: [s2]\n"))
    found = ag102(result)
    assert "'s1'" in found["s3"].message  # s3 is ordered after s2 but not after s1
    assert "s2" in found


def test_negated_conditions_are_mutually_exclusive(tmp_path):
    result = lint(tmp_path, HEAD + subnet("s1", "c") + subnet("s2", "!c"))
    assert ag102(result) == {}


def test_parenthesized_negation_is_mutually_exclusive(tmp_path):
    result = lint(tmp_path, HEAD + subnet("s1", "!(c)") + subnet("s2", "c"))
    assert ag102(result) == {}


def test_equality_with_different_literals_is_mutually_exclusive(tmp_path):
    result = lint(tmp_path, HEAD + subnet("s1", "env == 'dev'") + subnet("s2", "'prod' == env"))
    assert ag102(result) == {}


def test_equality_and_its_negation_are_mutually_exclusive(tmp_path):
    result = lint(tmp_path, HEAD + subnet("s1", "env != 'dev'") + subnet("s2", "env == 'dev'")
                  + subnet("s3", "other == null", extra="  dependsOn: [s1, s2]\n")
                  + subnet("s4", "null != other", extra="  dependsOn: [s1, s2]\n"))
    assert ag102(result) == {}


def test_two_inequalities_or_mixed_case_rules_are_not_exclusive(tmp_path):
    result = lint(tmp_path, HEAD + subnet("s1", "env != 'dev'") + subnet("s2", "env != 'prod'")
                  + subnet("s3", "env =~ 'dev'", extra="  dependsOn: [s1, s2]\n")
                  + subnet("s4", "env != 'DEV'", extra="  dependsOn: [s1, s2]\n"))
    assert sorted(ag102(result)) == ["s2", "s4"]


def test_unrelated_conditions_are_not_exclusive(tmp_path):
    result = lint(tmp_path, HEAD + subnet("s1", "c") + subnet("s2", "other"))
    assert "s2" in ag102(result)


def test_same_literal_conditions_are_not_exclusive(tmp_path):
    result = lint(tmp_path, HEAD + subnet("s1", "env == 'dev'") + subnet("s2", "env == 'dev'"))
    assert "s2" in ag102(result)


def test_exclusive_pair_does_not_hide_a_third_unordered_writer(tmp_path):
    result = lint(tmp_path, HEAD + subnet("s1", "c") + subnet("s2", "!c") + subnet("s3", "env == 'dev'"))
    assert sorted(ag102(result)) == ["s3"]


def test_case_insensitive_and_case_sensitive_equality_are_not_exclusive(tmp_path):
    # BUG: `env =~ 'dev'` and `env == 'DEV'` are both true for env = 'DEV', but the literal of `=~` is
    # lower-cased before comparing, so the two are taken as mutually exclusive and AG102 stays silent.
    result = lint(tmp_path, HEAD + subnet("s1", "env =~ 'dev'") + subnet("s2", "env == 'DEV'"))
    assert "s2" in ag102(result)


def test_writers_of_different_vnets_are_not_flagged(tmp_path):
    result = lint(tmp_path, """\
resource a 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {
  name: 'vnet-a/snet'
}
resource b 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {
  name: 'vnet-b/snet'
}
""")
    assert ag102(result) == {}


def test_existing_declarations_are_not_writers(tmp_path):
    result = lint(tmp_path, HEAD + subnet("s1") + """\
resource s2 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' existing = {
  parent: vnet
  name: 's2'
}
""")
    assert ag102(result) == {}


def test_peerings_from_two_loops_onto_one_vnet_are_flagged(tmp_path):
    result = lint(tmp_path, """\
resource hubVnet 'Microsoft.Network/virtualNetworks@2023-09-01' existing = {
  name: 'vnet-hub'
}
// Serial: peerings of one VNet.
@batchSize(1)
resource peerA 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings@2023-09-01' = [for s in ['a1', 'a2']: {
  parent: hubVnet
  name: 'to-${s}'
}]
// Serial: peerings of one VNet.
@batchSize(1)
resource peerB 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings@2023-09-01' = [for s in ['b1', 'b2']: {
  parent: hubVnet
  name: 'to-${s}'
}]
""")
    assert [f.rule for f in result.findings] == ["AG102"]
    f = ag102(result)["peerB"]
    assert f.members == ["peerA", "peerB"]
    assert f.domain == "Microsoft.Network/virtualNetworks 'vnet-hub'"


def test_two_loops_chained_with_depends_on_are_not_flagged(tmp_path):
    result = lint(tmp_path, """\
resource hubVnet 'Microsoft.Network/virtualNetworks@2023-09-01' existing = {
  name: 'vnet-hub'
}
// Serial: peerings of one VNet.
@batchSize(1)
resource peerA 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings@2023-09-01' = [for s in ['a1', 'a2']: {
  parent: hubVnet
  name: 'to-${s}'
}]
// Serial: peerings of one VNet.
@batchSize(1)
resource peerB 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings@2023-09-01' = [for s in ['b1', 'b2']: {
  parent: hubVnet
  name: 'to-${s}'
  dependsOn: [peerA]
}]
""")
    assert result.findings == []


def test_two_loops_over_the_same_zones_collide_zone_by_zone(tmp_path):
    # Each loop writes a different zone per iteration, but iteration i of both loops writes zone i.
    result = lint(tmp_path, """\
var zoneNames = ['a.example.com', 'b.example.com']
resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' existing = [for z in zoneNames: {
  name: z
}]
resource hubLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (z, i) in zoneNames: {
  parent: zones[i]
  name: 'link-hub'
  location: 'global'
}]
resource spokeLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (z, i) in zoneNames: {
  parent: zones[i]
  name: 'link-spoke'
  location: 'global'
}]
""")
    found = ag102(result)
    assert set(found) == {"spokeLinks"}
    assert "hubLinks" in found["spokeLinks"].message


def test_module_and_resource_writing_one_hub_are_flagged(tmp_path):
    result = lint(tmp_path, """\
module peer 'modules/bgp.bicep' = {
  name: 'peer'
  params: {
    hubName: 'hub-q'
    peerName: 'p1'
  }
}
resource hub 'Microsoft.Network/virtualHubs@2024-05-01' existing = {
  name: 'hub-q'
}
resource direct 'Microsoft.Network/virtualHubs/bgpConnections@2024-05-01' = {
  parent: hub
  name: 'direct'
  properties: {
    peerAsn: 65001
    peerIp: '10.0.0.4'
  }
}
""")
    f = ag102(result)["direct"]
    assert f.domain == "Microsoft.Network/virtualHubs 'hub-q'"
    assert f.members == ["peer", "direct"]
