"""Dependencies between resources and modules, following the Bicep compiler's rules
(bench/COMPILER_DEPENDSON_NOTES.md): explicit dependsOn, references anywhere in a body, through
variables, `parent:`/`scope:`, module outputs, nesting, and the special rules for `existing`."""

from __future__ import annotations

from pathlib import Path

import pytest

from armguard.bicep import load_graph, parse_text
from armguard.bicep.semantic import SemanticModel
from armguard.model import DeploymentGraph

SA = "'Microsoft.Storage/storageAccounts@2023-01-01'"
SITE = "'Microsoft.Web/sites@2022-09-01'"
KV = "'Microsoft.KeyVault/vaults@2023-07-01'"


def graph(tmp_path: Path, text: str, files: dict[str, str] | None = None) -> DeploymentGraph:
    for name, content in (files or {}).items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    main = tmp_path / "main.bicep"
    main.write_text(text, encoding="utf-8")
    g = load_graph(main)
    assert g.errors == [], [str(e) for e in g.errors]
    return g


def deps(tmp_path: Path, text: str, files: dict[str, str] | None = None) -> dict[str, list[str]]:
    return {n.symbol: n.depends_on() for n in graph(tmp_path, text, files).nodes}


BASE = f"""resource a {SA} = {{
  name: 'a'
}}
resource ex {KV} existing = {{
  name: 'kv'
}}
"""


def with_base(body: str) -> str:
    return BASE + body


# ---------------------------------------------------------------- explicit

def test_no_references_no_dependencies(tmp_path):
    d = deps(tmp_path, with_base(f"resource b {SITE} = {{\n  name: 'b'\n}}\n"))
    assert d == {"a": [], "ex": [], "b": []}


def test_explicit_depends_on(tmp_path):
    d = deps(tmp_path, with_base(f"resource b {SITE} = {{\n  name: 'b'\n  dependsOn: [\n    a\n  ]\n}}\n"))
    assert d["b"] == ["a"]


def test_explicit_depends_on_existing_is_kept(tmp_path):
    d = deps(tmp_path, with_base(f"resource b {SITE} = {{\n  name: 'b'\n  dependsOn: [ ex ]\n}}\n"))
    assert d["b"] == ["ex"]


def test_explicit_depends_on_origin(tmp_path):
    g = graph(tmp_path, with_base(f"resource b {SITE} = {{\n  name: 'b'\n  dependsOn: [ a ]\n}}\n"))
    assert [(x.target, x.origin) for x in g.node("b").dependencies] == [("a", "dependsOn")]


def test_explicit_depends_on_nested_child_and_loop_item(tmp_path):
    text = f"""resource p {SA} = {{
  name: 'p'
  resource c 'blobServices' = {{
    name: 'default'
  }}
}}
resource l {SA} = [for i in range(0, 2): {{
  name: 'l${{i}}'
}}]
resource b {SITE} = {{
  name: 'b'
  dependsOn: [
    p::c
    l[1]
  ]
}}
"""
    assert deps(tmp_path, text)["b"] == ["p::c", "l"]


def test_explicit_and_implicit_dependencies_are_merged(tmp_path):
    text = with_base(f"""resource c {SITE} = {{
  name: 'c'
}}
resource b {SITE} = {{
  name: a.name
  dependsOn: [
    c
  ]
}}
""")
    assert sorted(deps(tmp_path, text)["b"]) == ["a", "c"]


def test_duplicate_dependencies_are_listed_once(tmp_path):
    text = with_base(f"resource b {SITE} = {{\n  name: a.name\n  properties: {{\n    x: a.id\n  }}\n"
                     f"  dependsOn: [ a ]\n}}\n")
    assert deps(tmp_path, text)["b"] == ["a"]


# ------------------------------------------------------------- references

@pytest.mark.parametrize("usage", [
    "name: a.name",
    "name: 'b'\n  properties: {\n    id: a.id\n  }",
    "name: 'b'\n  properties: {\n    x: a.properties.primaryEndpoints.blob\n  }",
    "name: 'b'\n  properties: {\n    list: [\n      {\n        deep: '${a.name}-x'\n      }\n    ]\n  }",
    "name: 'b'\n  properties: {\n    k: a.listKeys().keys[0].value\n  }",
    "name: 'b'\n  tags: {\n    t: a.?tags.?x ?? 'none'\n  }",
    "name: 'b'\n  properties: {\n    f: map([1], x => a.name)\n  }",
    "name: 'b'\n  properties: {\n    n: a!.name\n  }",
    "name: 'b'\n  properties: {\n    t: a.type\n  }",
    "name: 'b'\n  properties: {\n    whole: a\n  }",
])
def test_any_reference_to_a_deployed_resource_is_a_dependency(tmp_path, usage):
    assert deps(tmp_path, with_base(f"resource b {SITE} = {{\n  {usage}\n}}\n"))["b"] == ["a"]


def test_reference_through_variables_transitively(tmp_path):
    text = with_base(f"var v1 = a.id\nvar v2 = '${{v1}}/x'\nresource b {SITE} = {{\n  name: 'b'\n"
                     f"  properties: {{\n    x: v2\n  }}\n}}\n")
    assert deps(tmp_path, text)["b"] == ["a"]


def test_self_referencing_variables_do_not_hang(tmp_path):
    text = with_base(f"var v1 = v2\nvar v2 = v1\nresource b {SITE} = {{\n  name: 'b'\n  properties: {{\n"
                     f"    x: v1\n  }}\n}}\n")
    g = load_graph_ignoring_errors(tmp_path, text)
    assert g.node("b").depends_on() == []


def load_graph_ignoring_errors(tmp_path: Path, text: str) -> DeploymentGraph:
    main = tmp_path / "main.bicep"
    main.write_text(text, encoding="utf-8")
    return load_graph(main)


def test_reference_in_condition(tmp_path):
    text = with_base(f"resource b {SITE} = if (a.properties.x == 1) {{\n  name: 'b'\n}}\n")
    assert deps(tmp_path, text)["b"] == ["a"]


def test_reference_in_loop_source(tmp_path):
    text = with_base(f"resource b {SITE} = [for x in [a.name]: {{\n  name: x\n}}]\n")
    assert deps(tmp_path, text)["b"] == ["a"]


def test_reference_in_loop_filter(tmp_path):
    text = with_base(f"resource b {SITE} = [for i in range(0, 2): if (a.properties.n > i) {{\n  name: 'b${{i}}'\n}}]\n")
    assert deps(tmp_path, text)["b"] == ["a"]


def test_indexed_reference_to_a_loop_depends_on_the_loop(tmp_path):
    text = f"""resource l {SA} = [for i in range(0, 3): {{
  name: 'l${{i}}'
}}]
resource b {SITE} = {{
  name: 'b'
  properties: {{
    x: l[1].id
  }}
}}
"""
    assert deps(tmp_path, text)["b"] == ["l"]


def test_references_inside_index_expressions(tmp_path):
    text = with_base(f"""resource l {SA} = [for i in range(0, 3): {{
  name: 'l${{i}}'
}}]
resource b {SITE} = {{
  name: 'b'
  properties: {{
    x: l[a.properties.index].id
  }}
}}
""")
    assert sorted(deps(tmp_path, text)["b"]) == ["a", "l"]


def test_self_reference_is_not_a_dependency(tmp_path):
    text = f"resource b {SITE} = {{\n  name: 'b'\n  properties: {{\n    me: b.id\n  }}\n}}\n"
    assert deps(tmp_path, text)["b"] == []


def test_references_in_outputs_are_not_node_dependencies(tmp_path):
    text = with_base("output o string = a.properties.x\n")
    assert deps(tmp_path, text) == {"a": [], "ex": []}


def test_loop_variable_shadowing_a_resource_is_not_a_reference(tmp_path):
    text = with_base(f"resource b {SITE} = [for a in range(0, 2): {{\n  name: 'b${{a}}'\n}}]\n"
                     f"resource c {SITE} = {{\n  name: 'c'\n  properties: {{\n    l: [for a in [1]: a]\n"
                     f"    m: map([1], a => a)\n  }}\n}}\n")
    d = deps(tmp_path, text)
    assert d["b"] == [] and d["c"] == []


# ------------------------------------------------------------ parent/scope

def test_parent_property_is_a_dependency(tmp_path):
    text = with_base("resource b 'Microsoft.Storage/storageAccounts/blobServices@2023-01-01' = {\n"
                     "  parent: a\n  name: 'default'\n}\n")
    g = graph(tmp_path, text)
    b = g.node("b")
    assert b.depends_on() == ["a"] and b.parent == "a"
    assert [(x.target, x.origin) for x in b.dependencies] == [("a", "parent")]


def test_scope_property_is_a_dependency(tmp_path):
    text = with_base("resource lock 'Microsoft.Authorization/locks@2020-05-01' = {\n  name: 'l'\n  scope: a\n"
                     "  properties: {\n    level: 'CanNotDelete'\n  }\n}\n")
    g = graph(tmp_path, text)
    assert [(x.target, x.origin) for x in g.node("lock").dependencies] == [("a", "scope")]


def test_parent_on_one_loop_item(tmp_path):
    text = """resource vnets 'Microsoft.Network/virtualNetworks@2024-05-01' = [for i in range(0, 2): {
  name: 'v${i}'
}]
resource subnets 'Microsoft.Network/virtualNetworks/subnets@2024-05-01' = [for i in range(0, 2): {
  parent: vnets[i]
  name: 's'
}]
"""
    g = graph(tmp_path, text)
    assert g.node("subnets").depends_on() == ["vnets"] and g.node("subnets").parent == "vnets"


def test_nested_child_depends_on_its_parent(tmp_path):
    text = f"resource p {SA} = {{\n  name: 'p'\n  resource c 'blobServices' = {{\n    name: 'default'\n  }}\n}}\n"
    g = graph(tmp_path, text)
    assert g.node("p::c").depends_on() == ["p"] and g.node("p::c").parent == "p"
    assert g.node("p").depends_on() == []


def test_nested_sibling_reference(tmp_path):
    text = """resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: 'v'
  resource s1 'subnets' = {
    name: 's1'
  }
  resource s2 'subnets' = {
    name: 's2'
    properties: {
      x: s1.id
    }
  }
}
"""
    assert deps(tmp_path, text)["vnet::s2"] == ["vnet", "vnet::s1"]


def test_reference_to_nested_child_from_outside(tmp_path):
    text = f"""resource p {SA} = {{
  name: 'p'
  resource c 'blobServices' = {{
    name: 'default'
  }}
}}
resource b {SITE} = {{
  name: 'b'
  properties: {{
    x: p::c.id
  }}
}}
"""
    assert deps(tmp_path, text)["b"] == ["p::c"]


def test_parent_body_does_not_inherit_child_references(tmp_path):
    text = with_base(f"resource p {SA} = {{\n  name: 'p'\n  resource c 'blobServices' = {{\n    name: a.name\n  }}\n}}\n")
    d = deps(tmp_path, text)
    assert d["p"] == [] and sorted(d["p::c"]) == ["a", "p"]


# ------------------------------------------------------- existing targets

@pytest.mark.parametrize("usage", [
    "ex.id", "ex.name", "ex.type", "ex.apiVersion", "ex.listKeys().keys[0].value", "ex.listSecrets()",
])
def test_compile_time_access_to_existing_is_not_a_dependency(tmp_path, usage):
    text = with_base(f"resource b {SITE} = {{\n  name: 'b'\n  properties: {{\n    x: {usage}\n  }}\n}}\n")
    assert deps(tmp_path, text)["b"] == []


@pytest.mark.parametrize("usage", [
    "ex.properties.vaultUri", "ex!.properties.vaultUri", "ex.?properties", "ex.sku.name", "ex.location",
    "ex.identity.principalId", "ex.kind", "ex.tags",
])
def test_runtime_access_to_existing_is_a_dependency(tmp_path, usage):
    text = with_base(f"resource b {SITE} = {{\n  name: 'b'\n  properties: {{\n    x: {usage}\n  }}\n}}\n")
    assert deps(tmp_path, text)["b"] == ["ex"]


def test_parent_existing_is_not_a_dependency(tmp_path):
    text = with_base("resource s 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {\n  parent: ex\n  name: 's'\n}\n")
    g = graph(tmp_path, text)
    assert g.node("s").depends_on() == [] and g.node("s").parent == "ex"


def test_scope_existing_is_not_a_dependency(tmp_path):
    text = with_base("resource lock 'Microsoft.Authorization/locks@2020-05-01' = {\n  name: 'l'\n  scope: ex\n}\n")
    assert deps(tmp_path, text)["lock"] == []


def test_child_nested_in_existing_parent_does_not_depend_on_it(tmp_path):
    text = f"resource kv {KV} existing = {{\n  name: 'kv'\n  resource s 'secrets' = {{\n    name: 's'\n  }}\n}}\n"
    g = graph(tmp_path, text)
    assert g.node("kv::s").depends_on() == [] and g.node("kv::s").parent == "kv"


def test_existing_nested_child_property_read_is_a_dependency_on_the_child(tmp_path):
    text = f"""resource kv {KV} existing = {{
  name: 'kv'
  resource key 'keys' existing = {{
    name: 'k'
  }}
}}
resource b {SITE} = {{
  name: 'b'
  properties: {{
    id: kv.id
    uri: kv::key.properties.keyUri
  }}
}}
"""
    assert deps(tmp_path, text)["b"] == ["kv::key"]


def test_existing_reference_through_variable(tmp_path):
    text = with_base(f"var sku = ex.sku.name\nvar kvId = ex.id\nresource b {SITE} = {{\n  name: 'b'\n"
                     f"  properties: {{\n    s: sku\n    i: kvId\n  }}\n}}\n")
    assert deps(tmp_path, text)["b"] == ["ex"]


def test_existing_resource_has_dependencies_of_its_own(tmp_path):
    text = with_base(f"resource ex2 {SA} existing = {{\n  name: a.name\n}}\n")
    assert deps(tmp_path, text)["ex2"] == ["a"]


def test_existing_with_explicit_depends_on(tmp_path):
    text = with_base(f"resource ex2 {SA} existing = {{\n  name: 'x'\n  dependsOn: [\n    a\n  ]\n}}\n")
    assert deps(tmp_path, text)["ex2"] == ["a"]


def test_no_dependency_reference_to_existing_inherits_its_dependencies(tmp_path):
    text = with_base(f"""resource pool {SA} existing = {{
  name: 'x'
  dependsOn: [
    a
  ]
}}
resource lock 'Microsoft.Authorization/locks@2020-05-01' = {{
  name: 'l'
  scope: pool
}}
resource byId {SITE} = {{
  name: 's'
  properties: {{
    x: pool.id
  }}
}}
""")
    d = deps(tmp_path, text)
    assert d["lock"] == ["a"] and d["byId"] == ["a"]


# ---------------------------------------------------------------- modules

MOD = "param p string = ''\noutput id string = p\nresource st 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: 'x'\n}\n"


def test_module_params_reference_is_a_dependency(tmp_path):
    text = with_base("module m 'mod.bicep' = {\n  name: 'm'\n  params: {\n    p: a.id\n  }\n}\n")
    assert deps(tmp_path, text, {"mod.bicep": MOD})["m"] == ["a"]


def test_module_output_reference_is_a_dependency_on_the_module(tmp_path):
    text = (f"module m 'mod.bicep' = {{\n  name: 'm'\n}}\nresource b {SITE} = {{\n  name: 'b'\n"
            f"  properties: {{\n    x: m.outputs.id\n  }}\n}}\n")
    assert deps(tmp_path, text, {"mod.bicep": MOD})["b"] == ["m"]


def test_module_scope_on_existing_is_not_a_dependency(tmp_path):
    text = ("targetScope = 'subscription'\nresource rg 'Microsoft.Resources/resourceGroups@2022-09-01' existing = {\n"
            "  name: 'rg'\n}\nmodule m 'mod.bicep' = {\n  name: 'm'\n  scope: rg\n}\n")
    assert deps(tmp_path, text, {"mod.bicep": MOD})["m"] == []


def test_module_depends_on_module(tmp_path):
    text = ("module m1 'mod.bicep' = {\n  name: 'm1'\n}\nmodule m2 'mod.bicep' = {\n  name: 'm2'\n"
            "  params: {\n    p: m1.outputs.id\n  }\n}\n")
    assert deps(tmp_path, text, {"mod.bicep": MOD})["m2"] == ["m1"]


# ------------------------------------------------------ semantic references

def test_references_record_whether_the_compiler_needs_them():
    text = with_base(f"resource b {SITE} = {{\n  name: ex.name\n  properties: {{\n    x: ex.properties.y\n"
                     f"    z: a.name\n  }}\n}}\n")
    program = parse_text(text)
    m = SemanticModel(program, program.source)
    refs = [(r.symbol, r.origin, r.needed) for r in m.declarations["b"].references]
    assert ("ex", "reference", False) in refs
    assert ("ex", "reference", True) in refs
    assert ("a", "reference", True) in refs


def test_get_secret_on_existing_key_vault_is_not_a_dependency(tmp_path):
    """`kv.getSecret('s')` compiles to a Key Vault reference in the module's parameters; the compiler
    emits no dependsOn for it (Modules_CRLF sample: secureModule1 has no dependsOn)."""
    text = with_base("module m 'mod.bicep' = {\n  name: 'm'\n  params: {\n    p: ex.getSecret('s')\n  }\n}\n")
    assert deps(tmp_path, text, {"mod.bicep": MOD})["m"] == []
