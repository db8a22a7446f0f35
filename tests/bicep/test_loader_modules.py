"""Modules: local files parsed recursively, ARM JSON modules, Azure Verified Modules from the public
registry, aliases from bicepconfig.json, unresolvable references and module cycles."""

from __future__ import annotations

from pathlib import Path

import pytest

from armguard.bicep import load_graph
from armguard.bicep.modules import resolve_module
from armguard.model import DeploymentGraph
from armguard.values import Unknown

MODULES = Path(__file__).resolve().parent / "fixtures" / "snippets" / "modules"
VNET_TYPES = [
    "Microsoft.Authorization/locks",
    "Microsoft.Authorization/roleAssignments",
    "Microsoft.Insights/diagnosticSettings",
    "Microsoft.Network/virtualNetworks",
    "Microsoft.Network/virtualNetworks/subnets",
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
]  # the AVM module also creates nested deployments, which deploys() leaves out as plumbing


@pytest.fixture(scope="module")
def main() -> DeploymentGraph:
    return load_graph(MODULES / "main.bicep")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_fixture_has_no_errors(main):
    assert main.errors == []


# ------------------------------------------------------------ local modules

def test_local_module_node(main):
    n = main.node("storage")
    assert (n.kind, n.type, n.api_version) == ("module", "Microsoft.Resources/deployments", None)
    assert n.module_ref == "modules/storage.bicep" and n.unresolved is None
    assert n.module is not None and Path(n.module.path).name == "storage.bicep"
    assert n.name == "storage"


def test_local_module_is_parsed_recursively(main):
    inner = main.node("storage").module
    assert [x.symbol for x in inner.nodes] == ["kv", "accounts", "logs", "logs::blob", "network"]
    network = inner.node("network")
    assert network.module is not None
    assert [x.symbol for x in network.module.nodes] == ["vnet", "vnet::subnet"]


def test_module_params_flow_into_the_module(main):
    inner = main.node("storage").module
    assert inner.parameters["count"] == 3 and inner.parameters["location"] == "westeurope"
    assert inner.node("accounts").loop.count == 3
    assert inner.node("accounts").instance_names == ["st0", "st1", "st2"]
    network = inner.node("network").module
    assert network.node("vnet").name == "st-vnet"


def test_module_deploys_types_recursively_without_existing(main):
    assert main.node("storage").deploys() == [
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/virtualNetworks/subnets",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Storage/storageAccounts/blobServices",
    ]
    assert "Microsoft.KeyVault/vaults" not in main.node("storage").deploys()


def test_arm_json_module(main):
    n = main.node("arm")
    assert n.unresolved is None and n.module is not None and n.module.language == "arm"
    assert n.deploys() == ["Microsoft.Network/publicIPAddresses"]
    (pips,) = n.module.nodes
    assert pips.loop.count == 2


def test_dependency_on_module_output(main):
    assert main.node("afterStorage").depends_on() == ["storage"]
    # a module output is known only after deployment, whatever the module's source says
    name = main.node("afterStorage").module.node("vnet").name
    assert isinstance(name, Unknown) and name.depends_on("resource:storage"), name


def test_missing_local_module(tmp_path):
    main = write(tmp_path / "main.bicep", "module m './nope.bicep' = {\n  name: 'm'\n}\n")
    g = load_graph(main)
    n = g.node("m")
    assert n.module is None and "not found" in n.unresolved
    (err,) = g.errors
    assert (err.line, err.column) == (1, 10) and "nope.bicep" in err.message


def test_module_path_with_interpolation_is_unresolved(tmp_path):
    main = write(tmp_path / "main.bicep", "var n = 'x'\nmodule m '${n}.bicep' = {\n  name: 'm'\n}\n")
    n = load_graph(main).node("m")
    assert n.module is None and n.module_ref is None and n.unresolved


def test_module_loop_and_condition(tmp_path):
    write(tmp_path / "child.bicep", "resource r 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: 'r'\n}\n")
    main = write(tmp_path / "main.bicep",
                 "@batchSize(1)\nmodule m 'child.bicep' = [for i in range(0, 4): {\n  name: 'm${i}'\n}]\n"
                 "module c 'child.bicep' = if (false) {\n  name: 'c'\n}\n")
    g = load_graph(main)
    m = g.node("m")
    assert (m.loop.count, m.loop.batch_size, m.loop.mode) == (4, 1, "serial")
    assert m.deploys() == ["Microsoft.Storage/storageAccounts"]
    assert g.node("c").conditional and g.node("c").condition is False


def test_module_file_is_parsed_once_per_load(tmp_path):
    write(tmp_path / "child.bicep", "param n string\nresource r 'A.B/c@1' = {\n  name: n\n}\n")
    main = write(tmp_path / "main.bicep",
                 "module a 'child.bicep' = {\n  name: 'a'\n  params: {\n    n: 'x'\n  }\n}\n"
                 "module b './child.bicep' = {\n  name: 'b'\n  params: {\n    n: 'y'\n  }\n}\n")
    g = load_graph(main)
    assert g.node("a").module.node("r").name == "x"
    assert g.node("b").module.node("r").name == "y"


def test_same_module_with_different_params_evaluates_separately(tmp_path):
    """Per-file analysis is shared between uses of a module; values derived from its params are not."""
    write(tmp_path / "child.bicep", "param n string\nvar full = '${n}-x'\nresource r 'A.B/c@1' = [for i in range(0, length(n)): {\n"
                                    "  name: '${full}${i}'\n}]\n")
    main = write(tmp_path / "main.bicep",
                 "module a 'child.bicep' = {\n  name: 'a'\n  params: {\n    n: 'one'\n  }\n}\n"
                 "module b 'child.bicep' = {\n  name: 'b'\n  params: {\n    n: 'three'\n  }\n}\n")
    for _ in range(2):  # and again, from the caches
        g = load_graph(main)
        a, b = g.node("a").module.node("r"), g.node("b").module.node("r")
        assert (a.loop.count, b.loop.count) == (3, 5)
        assert a.instance_names[0] == "one-x0" and b.instance_names[0] == "three-x0"


# ---------------------------------------------------------------- registry

def test_public_avm_module_maps_to_the_types_it_deploys(main):
    n = main.node("avm")
    assert n.unresolved is None and n.module is None
    assert n.deploys() == VNET_TYPES


def test_full_registry_reference_to_avm(main):
    assert main.node("avmFull").deploys() == VNET_TYPES


def test_alias_from_bicepconfig_resolves_to_avm(main):
    n = main.node("aliased")
    assert n.unresolved is None and n.deploys() == VNET_TYPES


def test_private_registry_module_is_unresolved_not_guessed(main):
    n = main.node("corp")
    assert n.deploys() == [] and n.module is None
    assert "br/corp:infra/hub:1.2.3" in n.unresolved


def test_undefined_alias_is_unresolved(main):
    n = main.node("undefinedAlias")
    assert n.deploys() == [] and "br/nope" in n.unresolved


def test_unknown_avm_module_is_unresolved(main):
    n = main.node("unknownAvm")
    assert n.deploys() == [] and "avm/res/does-not/exist" in n.unresolved


@pytest.mark.parametrize("symbol", ["spec", "specAlias"])
def test_template_specs_are_unresolved(main, symbol):
    n = main.node(symbol)
    assert n.deploys() == [] and n.module is None and "template spec" in n.unresolved


def test_unresolved_modules_are_not_graph_errors(main):
    assert main.errors == []


def test_bicepconfig_is_found_in_a_parent_directory(tmp_path):
    write(tmp_path / "bicepconfig.json",
          '{"moduleAliases": {"br": {"mine": {"registry": "mcr.microsoft.com", "modulePath": "bicep/avm/res"}}}}')
    main = write(tmp_path / "deep" / "er" / "main.bicep",
                 "module v 'br/mine:network/virtual-network:0.5.0' = {\n  name: 'v'\n}\n")
    assert load_graph(main).node("v").deploys() == VNET_TYPES


def test_invalid_bicepconfig_does_not_crash(tmp_path):
    write(tmp_path / "bicepconfig.json", "{ this is not json")
    main = write(tmp_path / "main.bicep", "module v 'br/mine:x/y:1.0' = {\n  name: 'v'\n}\n")
    n = load_graph(main).node("v")
    assert n.unresolved and n.deploys() == []


def test_public_alias_works_without_bicepconfig(tmp_path):
    main = write(tmp_path / "main.bicep",
                 "module v 'br/public:avm/res/network/virtual-network:0.5.0' = {\n  name: 'v'\n}\n")
    assert load_graph(main).node("v").deploys() == VNET_TYPES


def test_resolve_module_kinds(tmp_path):
    here = tmp_path / "main.bicep"
    assert resolve_module("./a.bicep", here).kind == "local"
    assert resolve_module("./a.bicep", here).path == tmp_path / "a.bicep"
    assert resolve_module("br/public:avm/res/network/virtual-network:0.5.0", here).kind == "registry"
    assert resolve_module("ts:sub/rg/spec:1.0", here).kind == "template-spec"
    assert resolve_module("https://example.com/x.bicep", here).kind == "invalid"


# ------------------------------------------------------------------- cycles

def test_module_cycle_is_an_error_and_does_not_hang():
    g = load_graph(MODULES / "cycle" / "a.bicep")
    b = g.node("b")
    assert b.module is not None
    inner = b.module.node("a")
    assert inner.module is None and "cycle" in inner.unresolved
    assert "a.bicep -> b.bicep -> a.bicep" in inner.unresolved


def test_module_cycle_is_reported_in_the_top_level_graph():
    """The user inspects a.bicep; the cycle a -> b -> a must show up in that graph's errors."""
    g = load_graph(MODULES / "cycle" / "a.bicep")
    assert any("cycle" in e.message for e in g.errors), g.errors


def test_module_that_references_itself():
    g = load_graph(MODULES / "cycle" / "self.bicep")
    assert any("module cycle: self.bicep -> self.bicep" in e.message for e in g.errors)
    assert "cycle" in g.node("me").unresolved


def test_syntax_errors_in_a_module_are_reported(tmp_path):
    write(tmp_path / "broken.bicep", "var x = \n")
    main = write(tmp_path / "main.bicep", "module m 'broken.bicep' = {\n  name: 'm'\n}\n")
    g = load_graph(main)
    assert g.errors, "a syntax error in a module the template uses must not be silently dropped"


def test_unreadable_module_is_an_error_not_an_exception(tmp_path):
    (tmp_path / "bin.bicep").write_bytes(b"\x00\x01")
    main = write(tmp_path / "main.bicep", "module m 'bin.bicep' = {\n  name: 'm'\n}\n")
    g = load_graph(main)
    assert g.node("m").unresolved and "binary" in g.node("m").unresolved
    assert len(g.errors) == 1 and g.errors[0].line == 1


def test_a_nullable_parameter_a_module_call_leaves_out_is_null_and_the_files_own_is_unknown(tmp_path):
    # The call site passes all a module gets; the file's own parameters are whatever its callers pass.
    child = """\
param names string[]?
resource ids 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for n in (names ?? []): {
  name: n
  location: 'westeurope'
}]
"""
    write(tmp_path / "child.bicep", child)
    write(tmp_path / "json-child.json", """{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"names": {"type": "array", "nullable": true}},
  "resources": [{"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
                 "name": "[coalesce(parameters('names'), createArray())[copyIndex()]]", "location": "westeurope",
                 "copy": {"name": "ids", "count": "[length(coalesce(parameters('names'), createArray()))]"}}]
}""")
    main = write(tmp_path / "main.bicep", """\
module none 'child.bicep' = {
  name: 'none'
}
module json 'json-child.json' = {
  name: 'json'
}
""")
    graph = load_graph(main)
    assert [graph.node(m).module.node("ids").loop.count for m in ("none", "json")] == [0, 0]
    assert load_graph(tmp_path / "child.bicep").node("ids").loop.count is None


PEERS_TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"hubName": {"type": "string"}},
    "resources": [{"type": "Microsoft.Network/virtualHubs/bgpConnections", "apiVersion": "2024-05-01",
                   "name": "[format('{0}/peer{1}', parameters('hubName'), copyIndex())]",
                   "copy": {"name": "peers", "count": 3},
                   "properties": {"peerAsn": 65001, "peerIp": "10.0.0.4"}}],
}


def cached(root: Path, registry: str, repository: str, folder: str) -> Path:
    import json

    return write(root / "br" / registry / repository.replace("/", "$") / folder / "main.json",
                 json.dumps(PEERS_TEMPLATE))


def test_a_registry_module_in_bicep_s_local_cache_is_read_from_there(tmp_path, monkeypatch):
    from armguard.lint import lint_file

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    main = write(tmp_path / "project" / "main.bicep", """\
module peers 'br/contoso:network/peers:V1' = [for site in ['a', 'b']: {
  name: 'peers-${site}'
  params: { hubName: 'hub-weu' }
}]
""")
    write(tmp_path / "project" / "bicepconfig.json", """{
  // the alias resolves to contoso.azurecr.io/bicep/network/peers
  "moduleAliases": {"br": {"contoso": {"registry": "contoso.azurecr.io", "modulePath": "bicep"}}}
}""")
    node = load_graph(main, lazy_modules=True).node("peers")
    assert node.module is None and "bicep restore" in (node.unresolved or "")

    # What `bicep restore` writes: the tag keeps its case as 'V1' + '$' + a mask of upper-case letters.
    cached(tmp_path / "home" / ".bicep", "contoso.azurecr.io", "bicep/network/peers", "V1$1")
    # A new process would see it; here, a file in another folder (the cache is looked at once per folder).
    write(tmp_path / "project2" / "bicepconfig.json", (tmp_path / "project" / "bicepconfig.json").read_text())
    main = write(tmp_path / "project2" / "again.bicep", main.read_text())
    graph = load_graph(main, lazy_modules=True)
    assert graph.node("peers").module.node("peers").instance_names == [
        "hub-weu/peer0", "hub-weu/peer1", "hub-weu/peer2"]
    # Lint sees through the cache: both iterations deploy the module's BGP connections into one hub,
    # and inside the module its own loop does too (shown at the module declaration, with no fix).
    inside, loop = sorted((f for f in lint_file(str(main)).findings if f.rule == "AG101"), key=lambda f: f.message)
    assert (loop.symbol, loop.line, loop.domain) == ("peers", 1, "Microsoft.Network/virtualHubs 'hub-weu'")
    assert inside.message.startswith("in module 'peers' (br/contoso:network/peers:V1): loop 'peers' writes 3 ")
    assert (inside.line, inside.path, inside.fix) == (1, str(main), None)


def test_the_cache_root_can_be_set_in_bicepconfig_and_digests_name_their_folder(tmp_path):
    digest = "sha256:" + "ab" * 32
    write(tmp_path / "bicepconfig.json", '{"cacheRootDirectory": "%s"}' % (tmp_path / "cache"))
    cached(tmp_path / "cache", "mcr.microsoft.com", "bicep/avm/res/network/virtual-hub", "0.4.0$")
    cached(tmp_path / "cache", "example.azurecr.io$5000", "mods/peers", digest.replace(":", "#"))
    main = write(tmp_path / "main.bicep", f"""\
module avm 'br/public:avm/res/network/virtual-hub:0.4.0' = {{
  name: 'avm'
  params: {{ hubName: 'hub-a' }}
}}
module pinned 'br:example.azurecr.io:5000/mods/peers@{digest}' = {{
  name: 'pinned'
  params: {{ hubName: 'hub-b' }}
}}
""")
    graph = load_graph(main, lazy_modules=True)
    avm, pinned = graph.node("avm"), graph.node("pinned")
    assert "Microsoft.Network/virtualHubs" in avm.module_types  # still known by type from the AVM table
    assert avm.module.node("peers").instance_names[0] == "hub-a/peer0"
    assert pinned.module.node("peers").instance_names[0] == "hub-b/peer0"
