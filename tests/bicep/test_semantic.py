"""The semantic model: symbol table, name binding, resource/module declarations (types, API versions,
existing, conditions, loops, nesting)."""

from __future__ import annotations

from armguard.bicep import parse_text
from armguard.bicep import syntax as s
from armguard.bicep.semantic import SemanticModel, split_type


def model(text: str, path: str = "main.bicep") -> SemanticModel:
    program = parse_text(text, path)
    assert program.diagnostics == [], [str(d) for d in program.diagnostics]
    return SemanticModel(program, program.source)


def binding_at(m: SemanticModel, text: str, needle: str, occurrence: int = 1) -> tuple[str, str] | None:
    """The binding of the identifier starting at the n-th occurrence of `needle`."""
    pos = -1
    for _ in range(occurrence):
        pos = text.index(needle, pos + 1)
    return m.bindings.get(pos)


# -------------------------------------------------------------- symbol table

SYMBOLS = """targetScope = 'subscription'
import {x as y} from 'f.bicep'
import * as ns from 'g.bicep'
extension kubernetes with { namespace: 'n' } as k8s
param p string
var v = 1
type t = string
func f() int => 1
resource r 'Microsoft.Storage/storageAccounts@2023-01-01' = {
  name: 'r'
}
module m 'm.bicep' = {
  name: 'm'
}
output o string = p
"""


def test_symbol_kinds():
    m = model(SYMBOLS)
    assert m.top_level == {"y": "import", "ns": "namespace", "k8s": "namespace", "p": "param", "v": "var",
                           "t": "type", "f": "func", "r": "resource", "m": "module"}
    assert m.symbol_kind("p") == "param" and m.symbol_kind("nothing") is None


def test_symbol_tables_by_kind():
    m = model(SYMBOLS)
    assert list(m.params) == ["p"] and list(m.variables) == ["v"] and list(m.outputs) == ["o"]
    assert list(m.types) == ["t"] and list(m.functions) == ["f"]
    assert m.imports == {"y": "symbol", "ns": "namespace", "k8s": "namespace"}
    assert m.is_import_namespace("ns") and not m.is_import_namespace("y")
    assert list(m.declarations) == ["r", "m"]


def test_target_scope_default_and_declared():
    assert model("var x = 1").target_scope == "resourceGroup"
    assert model(SYMBOLS).target_scope == "subscription"


def test_outputs_live_in_their_own_namespace():
    m = model("param a string\noutput a string = a\n")
    assert m.diagnostics == []
    assert m.top_level == {"a": "param"}


def test_duplicate_top_level_symbol_is_a_diagnostic():
    m = model("param a string\nvar a = 1\n")
    (d,) = m.diagnostics
    assert d.line == 2 and "'a'" in d.message and "more than once" in d.message
    assert m.top_level["a"] == "param"


def test_duplicate_resource_symbol_keeps_the_first():
    m = model("resource r 'A.B/c@1' = {\n  name: 'one'\n}\nresource r 'A.B/d@1' = {\n  name: 'two'\n}\n")
    assert len(m.diagnostics) == 1 and m.diagnostics[0].line == 4
    assert list(m.declarations) == ["r"] and m.declarations["r"].type == "A.B/c"


def test_duplicate_nested_symbol_is_a_diagnostic():
    m = model("resource r 'A.B/c@1' = {\n  name: 'r'\n  resource k 'd' = {\n    name: 'k'\n  }\n"
              "  resource k 'e' = {\n    name: 'k2'\n  }\n}\n")
    (d,) = m.diagnostics
    assert (d.line, d.column) == (6, 12)
    assert m.declarations["r::k"].type == "A.B/c/d"


def test_same_nested_name_under_different_parents_is_fine():
    m = model("resource a 'A.B/c@1' = {\n  name: 'a'\n  resource k 'd' = {\n    name: 'k'\n  }\n}\n"
              "resource b 'A.B/c@1' = {\n  name: 'b'\n  resource k 'd' = {\n    name: 'k'\n  }\n}\n")
    assert m.diagnostics == []
    assert {"a::k", "b::k"} <= set(m.declarations)


# ------------------------------------------------------------------ bindings

BIND = """param loc string
var names = ['a']
resource r 'A.B/c@1' = {
  name: 'r'
  location: loc
}
resource l 'A.B/c@1' = [for (n, i) in names: {
  name: '${n}${i}${r.name}'
}]
var shadow = [for r in names: r]
var lam = map(names, loc => loc)
var unknownRef = nothing
"""


def test_binds_params_vars_and_resources():
    m = model(BIND)
    assert binding_at(m, BIND, "loc\n}") == ("param", "loc")
    assert binding_at(m, BIND, "names:") == ("var", "names")
    assert binding_at(m, BIND, "r.name") == ("resource", "r")


def test_loop_variables_bind_to_the_loop():
    m = model(BIND)
    assert binding_at(m, BIND, "n}${i}") == ("local", "loop:l")
    assert binding_at(m, BIND, "i}${r") == ("local", "loop:l")


def test_for_expression_variable_shadows_a_resource():
    m = model(BIND)
    assert binding_at(m, BIND, "r]") == ("local", "loop:r")


def test_lambda_parameter_shadows_a_param():
    m = model(BIND)
    assert binding_at(m, BIND, "loc)") == ("local", "lambda:loc")


def test_unknown_identifier():
    m = model(BIND)
    assert binding_at(m, BIND, "nothing") == ("unknown", "nothing")


def test_nested_resources_visible_by_plain_name_only_inside_their_parent():
    text = """resource p 'A.B/c@1' = {
  name: 'p'
  resource a 'x' = {
    name: 'a'
  }
  resource b 'y' = {
    name: a.name
  }
}
var outside = a
"""
    m = model(text)
    assert binding_at(m, text, "a.name") == ("resource", "p::a")
    assert m.bindings.get(text.index("outside = a") + len("outside = ")) == ("unknown", "a")


def test_statements_are_bound_when_first_looked_up_in():
    m = model(BIND)
    bindings = m.bindings
    assert bindings.found == {}  # nothing bound before a lookup
    assert binding_at(m, BIND, "nothing") == ("unknown", "nothing")
    assert set(bindings.found) == {BIND.index("nothing")}  # only the statement looked up in
    assert binding_at(m, BIND, "r.name") == ("resource", "r")
    assert BIND.index("names: {") in bindings.found  # the loop iterable, in the same statement
    assert BIND.index("loc\n}") not in bindings.found


def test_bindings_read_as_a_whole_bind_every_statement():
    lazy = model(BIND).bindings
    looked_up = model(BIND).bindings
    offsets = [i for i in range(len(BIND)) if looked_up.get(i) is not None]
    assert sorted(lazy.items()) == [(i, looked_up[i]) for i in offsets]
    assert len(lazy) == len(offsets) == 10
    assert all(i in lazy for i in offsets) and 0 not in lazy and "x" not in lazy
    assert lazy.get(0, "none") == "none"


def test_resolve_resource_expressions():
    text = """resource p 'A.B/c@1' = {
  name: 'p'
  resource a 'x' = {
    name: 'a'
  }
}
resource l 'A.B/c@1' = [for i in range(0, 2): {
  name: 'l${i}'
}]
var e1 = p::a
var e2 = l[0]!
var e3 = (p)
var e4 = p.name
"""
    m = model(text)
    values = {v: m.variables[v].value for v in m.variables}
    assert m.resolve(values["e1"]) == "p::a"
    assert m.resolve(values["e2"]) == "l"
    assert m.resolve(values["e3"]) == "p"
    assert m.resolve(values["e4"]) is None


# -------------------------------------------------------------- declarations

def test_split_type():
    assert split_type("Microsoft.Network/virtualHubs@2023-04-01") == ("Microsoft.Network/virtualHubs", "2023-04-01")
    assert split_type("bgpConnections") == ("bgpConnections", None)
    assert split_type("A.B/c@2020-01-01-preview") == ("A.B/c", "2020-01-01-preview")


def test_resource_declaration_fields():
    m = model("resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {\n  name: 'v'\n}\n")
    d = m.declarations["vnet"]
    assert (d.symbol, d.local, d.kind) == ("vnet", "vnet", "resource")
    assert (d.type, d.api_version) == ("Microsoft.Network/virtualNetworks", "2024-05-01")
    assert not d.existing and d.loop is None and d.condition is None and d.nesting_parent is None
    assert isinstance(d.decl, s.ResourceDecl) and d.body is d.decl.body


def test_module_declaration_fields():
    m = model("module mod './m.bicep' = {\n  name: 'm'\n}\n")
    d = m.declarations["mod"]
    assert (d.kind, d.type, d.api_version, d.existing) == ("module", "Microsoft.Resources/deployments", None, False)


def test_existing_declaration():
    m = model("resource kv 'Microsoft.KeyVault/vaults@2023-07-01' existing = {\n  name: 'kv'\n}\n")
    assert m.declarations["kv"].existing


def test_nested_child_gets_full_type_and_inherits_api_version():
    text = """resource hub 'Microsoft.Network/virtualHubs@2023-04-01' = {
  name: 'hub'
  resource bgp 'bgpConnections' = {
    name: 'bgp'
  }
  resource routes 'hubRouteTables@2022-01-01' = {
    name: 'rt'
  }
}
"""
    m = model(text)
    bgp = m.declarations["hub::bgp"]
    assert bgp.type == "Microsoft.Network/virtualHubs/bgpConnections"
    assert bgp.api_version == "2023-04-01"
    assert (bgp.local, bgp.nesting_parent) == ("bgp", "hub")
    routes = m.declarations["hub::routes"]
    assert routes.type == "Microsoft.Network/virtualHubs/hubRouteTables"
    assert routes.api_version == "2022-01-01"
    assert m.declarations["hub"].children == ["hub::bgp", "hub::routes"]


def test_deeply_nested_children():
    text = """resource a 'Microsoft.ApiManagement/service@2023-05-01-preview' = {
  name: 'a'
  resource b 'apis' = {
    name: 'b'
    resource c 'operations' = {
      name: 'c'
      resource d 'policies@2022-08-01' = {
        name: 'policy'
      }
    }
  }
}
"""
    m = model(text)
    assert list(m.declarations) == ["a", "a::b", "a::b::c", "a::b::c::d"]
    d = m.declarations["a::b::c::d"]
    assert d.type == "Microsoft.ApiManagement/service/apis/operations/policies"
    assert d.api_version == "2022-08-01"
    assert m.declarations["a::b::c"].api_version == "2023-05-01-preview"
    assert d.nesting_parent == "a::b::c"


def test_nested_child_of_existing_parent():
    text = """resource sa 'Microsoft.Storage/storageAccounts@2023-01-01' existing = {
  name: 'sa'
  resource blob 'blobServices' = {
    name: 'default'
  }
}
"""
    m = model(text)
    assert m.declarations["sa"].existing and not m.declarations["sa::blob"].existing
    assert m.declarations["sa::blob"].type == "Microsoft.Storage/storageAccounts/blobServices"


def test_child_declared_with_parent_property_keeps_its_full_type():
    text = """resource hub 'Microsoft.Network/virtualHubs@2023-04-01' = {
  name: 'hub'
}
resource bgp 'Microsoft.Network/virtualHubs/bgpConnections@2023-04-01' = {
  parent: hub
  name: 'bgp'
}
"""
    m = model(text)
    d = m.declarations["bgp"]
    assert d.type == "Microsoft.Network/virtualHubs/bgpConnections" and d.nesting_parent is None


def test_conditional_declaration():
    m = model("param deploy bool\nresource r 'A.B/c@1' = if (deploy) {\n  name: 'r'\n}\n")
    d = m.declarations["r"]
    assert isinstance(d.condition, s.Identifier) and d.condition.name == "deploy"
    assert d.loop is None and d.body is not None


def test_loop_declaration():
    m = model("@batchSize(2)\nresource r 'A.B/c@1' = [for (x, i) in range(0, 3): {\n  name: 'r${i}'\n}]\n")
    d = m.declarations["r"]
    assert isinstance(d.loop, s.ForExpr) and (d.loop.item, d.loop.index) == ("x", "i")
    assert d.condition is None
    assert [dec.name for dec in d.decorators] == ["batchSize"]


def test_filtered_loop_declaration_has_a_condition():
    m = model("resource r 'A.B/c@1' = [for x in range(0, 3): if (x > 0) {\n  name: 'r${x}'\n}]\n")
    d = m.declarations["r"]
    assert d.loop is not None and d.condition is d.loop.condition


def test_module_loop_and_condition():
    m = model("module a 'a.bicep' = [for i in range(0, 2): {\n  name: 'a${i}'\n}]\n"
              "module b 'b.bicep' = if (true) {\n  name: 'b'\n}\n")
    assert m.declarations["a"].loop is not None
    assert isinstance(m.declarations["b"].condition, s.BoolLiteral)


def test_error_statement_is_not_a_declaration():
    program = parse_text("resource r 'A.B/c@1' = {\n  name: = \n}\nresource ok 'A.B/c@1' = {\n  name: 'ok'\n}\n")
    m = SemanticModel(program, program.source)
    assert list(m.declarations) == ["ok"]
    assert m.diagnostics == program.diagnostics


def test_bicepparam_using_is_recorded():
    program = parse_text("using './main.bicep'\nparam a = 1\n", "main.bicepparam")
    m = SemanticModel(program, program.source)
    assert m.using == "./main.bicep"
    program = parse_text("using none\nparam a = 1\n", "x.bicepparam")
    assert SemanticModel(program, program.source).using is None


def test_extension_alias_prefix_is_not_part_of_the_type():
    """`'az:My.Rp/TestType@2020-01-01'` names the type through the `az` extension; the compiler emits
    type `My.Rp/TestType` (Extensions sample, testResource1)."""
    m = model("resource r 'az:Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: 'r'\n}\n")
    d = m.declarations["r"]
    assert (d.type, d.api_version) == ("Microsoft.Storage/storageAccounts", "2023-01-01")
