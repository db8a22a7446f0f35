"""Parsing every Bicep and Bicep-parameters statement kind, with decorators."""

from __future__ import annotations

import pytest

from armguard.bicep import parse_text
from armguard.bicep import syntax as s


def parse_ok(text: str, path: str = "main.bicep") -> list[s.Statement]:
    program = parse_text(text, path)
    assert program.diagnostics == [], [str(d) for d in program.diagnostics]
    return program.statements


def one(text: str, cls: type) -> s.Statement:
    statements = parse_ok(text)
    assert len(statements) == 1, statements
    assert isinstance(statements[0], cls), statements[0]
    return statements[0]


def plain(node: s.Node | None) -> str:
    assert isinstance(node, s.StringLiteral), node
    assert node.value is not None
    return node.value


# --------------------------------------------------------------- programs

def test_program_of_empty_text():
    program = parse_text("")
    assert program.statements == [] and program.diagnostics == []
    assert (program.start, program.end) == (0, 0)


def test_program_of_only_comments_and_blank_lines():
    program = parse_text("// a\n\n/* b */\n\n")
    assert program.statements == [] and program.diagnostics == []
    assert len(program.comments) == 2


def test_program_keeps_statements_in_source_order():
    statements = parse_ok("param a string\nvar b = 1\noutput c int = b\n")
    assert [type(st).__name__ for st in statements] == ["ParamDecl", "VarDecl", "OutputDecl"]


def test_program_records_source():
    program = parse_text("var x = 1", "x.bicep")
    assert program.source.path == "x.bicep"
    assert program.end == len("var x = 1")


# ------------------------------------------------------- targetScope / metadata

@pytest.mark.parametrize("scope", ["resourceGroup", "subscription", "managementGroup", "tenant", "desiredStateConfiguration"])
def test_target_scope(scope):
    st = one(f"targetScope = '{scope}'", s.TargetScopeDecl)
    assert plain(st.value) == scope


def test_metadata_with_object_value():
    st = one("metadata info = {\n  author: 'me'\n}", s.MetadataDecl)
    assert st.name == "info"
    assert isinstance(st.value, s.ObjectExpr)
    assert plain(st.value.get("author")) == "me"


def test_metadata_with_description_decorator():
    st = one("@description('d')\nmetadata m = 'x'", s.MetadataDecl)
    assert [d.name for d in st.decorators] == ["description"]


# ------------------------------------------------------------------ params

def test_param_with_simple_type():
    st = one("param location string", s.ParamDecl)
    assert st.name == "location"
    assert isinstance(st.type, s.TypeRef) and st.type.name == "string"
    assert st.default is None


def test_param_with_default():
    st = one("param count int = 3", s.ParamDecl)
    assert isinstance(st.default, s.IntLiteral) and st.default.value == 3


def test_nullable_param():
    st = one("param tags object?", s.ParamDecl)
    assert isinstance(st.type, s.TypeNullable)
    assert isinstance(st.type.inner, s.TypeRef) and st.type.inner.name == "object"


def test_param_with_resource_type():
    st = one("param sa resource 'Microsoft.Storage/storageAccounts@2023-01-01'", s.ParamDecl)
    assert isinstance(st.type, s.TypeResource)
    assert st.type.kind == "resource"
    assert plain(st.type.type_string) == "Microsoft.Storage/storageAccounts@2023-01-01"


def test_param_with_user_type_and_default_object():
    st = one("param cfg myType = {\n  a: 1\n}", s.ParamDecl)
    assert isinstance(st.type, s.TypeRef) and st.type.name == "myType"
    assert isinstance(st.default, s.ObjectExpr)


def test_param_decorators_with_arguments_and_namespace():
    st = one(
        "@minLength(3)\n@maxLength(24)\n@sys.description('name')\n@secure()\n@allowed([\n  'a'\n  'b'\n])\nparam n string",
        s.ParamDecl)
    assert [d.name for d in st.decorators] == ["minLength", "maxLength", "description", "secure", "allowed"]
    assert [d.namespace for d in st.decorators] == [None, None, "sys", None, None]
    assert st.decorator("description") is st.decorators[2]
    assert isinstance(st.decorators[0].call.args[0], s.IntLiteral)
    assert st.decorators[0].call.args[0].value == 3
    allowed = st.decorator("allowed").call.args[0]
    assert isinstance(allowed, s.ArrayExpr) and [plain(i) for i in allowed.items] == ["a", "b"]


def test_decorator_lookup_ignores_foreign_namespaces():
    st = one("@other.description('x')\nparam p string", s.ParamDecl)
    assert st.decorators[0].namespace == "other"
    assert st.decorator("description") is None


def test_decorator_with_multiline_string_argument():
    st = one("@description('''\nline 1\nline 2''')\nparam p string", s.ParamDecl)
    arg = st.decorators[0].call.args[0]
    assert isinstance(arg, s.StringLiteral) and arg.multiline and arg.value == "line 1\nline 2"


def test_comments_and_directives_between_decorator_and_declaration():
    program = parse_text("@description('x')\n// why\n#disable-next-line no-unused-params\nparam p string\n")
    assert program.diagnostics == []
    (st,) = program.statements
    assert isinstance(st, s.ParamDecl) and len(st.decorators) == 1
    assert [d.name for d in program.directives] == ["disable-next-line"]


# -------------------------------------------------------------------- vars

def test_untyped_var():
    st = one("var x = 'a'", s.VarDecl)
    assert st.name == "x" and st.type is None and plain(st.value) == "a"


def test_typed_var():
    st = one("var x string[] = []", s.VarDecl)
    assert isinstance(st.type, s.TypeArray)
    assert isinstance(st.value, s.ArrayExpr) and st.value.items == []


def test_exported_var():
    st = one("@export()\nvar x = 1", s.VarDecl)
    assert st.decorators[0].name == "export" and st.decorators[0].call.args == []


# ----------------------------------------------------------------- outputs

def test_output():
    st = one("output id string = 'x'", s.OutputDecl)
    assert st.name == "id" and isinstance(st.type, s.TypeRef) and st.type.name == "string"


def test_output_of_resource_type():
    st = one("output sa resource 'Microsoft.Storage/storageAccounts@2023-01-01' = stg", s.OutputDecl)
    assert isinstance(st.type, s.TypeResource)
    assert isinstance(st.value, s.Identifier) and st.value.name == "stg"


def test_output_with_loop_value():
    st = one("output names array = [for x in items: x.name]", s.OutputDecl)
    assert isinstance(st.value, s.ForExpr)


# ------------------------------------------------------------ types / funcs

def test_type_declaration():
    st = one("@export()\ntype pair = [string, int]", s.TypeDecl)
    assert st.name == "pair" and isinstance(st.value, s.TypeTuple)
    assert st.decorators[0].name == "export"


def test_func_declaration():
    st = one("func add(a int, b int) int => a + b", s.FuncDecl)
    assert st.name == "add"
    lam = st.lambda_
    assert [p.name for p in lam.params] == ["a", "b"]
    assert all(isinstance(p.type, s.TypeRef) and p.type.name == "int" for p in lam.params)
    assert isinstance(lam.return_type, s.TypeRef) and lam.return_type.name == "int"
    assert isinstance(lam.body, s.Binary) and lam.body.op == "+"


def test_func_without_params_and_multiline_signature():
    st = one("func f(\n  a string,\n  b int\n) object => {\n  a: a\n}", s.FuncDecl)
    assert [p.name for p in st.lambda_.params] == ["a", "b"]
    assert isinstance(st.lambda_.body, s.ObjectExpr)
    st2 = one("func g() int =>\n  42", s.FuncDecl)
    assert st2.lambda_.params == [] and isinstance(st2.lambda_.body, s.IntLiteral)


# ----------------------------------------------------------------- imports

def test_import_symbols_with_alias():
    st = one("import {a as b, c} from 'shared.bicep'", s.ImportDecl)
    assert st.kind == "symbols"
    assert [(i.name, i.alias) for i in st.items] == [("a", "b"), ("c", None)]
    assert plain(st.source) == "shared.bicep"


def test_import_symbols_multiline_and_quoted_names():
    st = one("import {\n  foo\n  'bar' as baz\n} from 'br/public:x:1.0'", s.ImportDecl)
    assert [(i.name, i.alias) for i in st.items] == [("foo", None), ("bar", "baz")]


def test_import_wildcard():
    st = one("import * as ns from 'types.bicep'", s.ImportDecl)
    assert (st.kind, st.alias, st.items, plain(st.source)) == ("wildcard", "ns", [], "types.bicep")


def test_legacy_provider_import():
    st = one("import 'az@1.0.0' as azure", s.ImportDecl)
    assert st.kind == "provider" and st.alias == "azure"


# -------------------------------------------------------------- extensions

def test_extension_by_name():
    st = one("extension microsoftGraph", s.ExtensionDecl)
    assert st.spec == "microsoftGraph" and st.config is None and st.alias is None


def test_extension_with_config_and_alias():
    st = one("extension kubernetes with {\n  namespace: 'default'\n  kubeConfig: kc\n} as k8s", s.ExtensionDecl)
    assert st.spec == "kubernetes" and st.alias == "k8s"
    assert isinstance(st.config, s.ObjectExpr)
    assert [p.name for p in st.config.properties] == ["namespace", "kubeConfig"]


def test_extension_by_registry_reference():
    st = one("extension 'br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:0.1.8-preview' as graph",
             s.ExtensionDecl)
    assert plain(st.spec).startswith("br:mcr.microsoft.com/") and st.alias == "graph"


def test_legacy_provider_keyword():
    st = one("provider kubernetes with { namespace: 'x' } as k", s.ExtensionDecl)
    assert st.spec == "kubernetes" and st.alias == "k"


# --------------------------------------------------------------- resources

RES = "'Microsoft.Network/virtualNetworks@2024-05-01'"


def test_resource_with_object_body():
    st = one(f"resource vnet {RES} = {{\n  name: 'v'\n  location: 'x'\n}}", s.ResourceDecl)
    assert st.name == "vnet" and not st.existing
    assert plain(st.type_string) == "Microsoft.Network/virtualNetworks@2024-05-01"
    assert isinstance(st.value, s.ObjectExpr) and st.body is st.value
    assert [p.name for p in st.body.properties] == ["name", "location"]


def test_existing_resource():
    st = one(f"resource vnet {RES} existing = {{\n  name: 'v'\n}}", s.ResourceDecl)
    assert st.existing


def test_conditional_resource():
    st = one(f"resource vnet {RES} = if (deploy && env == 'prod') {{\n  name: 'v'\n}}", s.ResourceDecl)
    assert isinstance(st.value, s.IfExpr)
    assert isinstance(st.value.condition, s.Binary) and st.value.condition.op == "&&"
    assert st.body is st.value.body


def test_resource_loop():
    st = one(f"resource vnet {RES} = [for (name, i) in names: {{\n  name: name\n}}]", s.ResourceDecl)
    loop = st.value
    assert isinstance(loop, s.ForExpr)
    assert (loop.item, loop.index, loop.condition) == ("name", "i", None)
    assert isinstance(loop.iterable, s.Identifier) and loop.iterable.name == "names"
    assert st.body is loop.body


def test_resource_loop_with_filter():
    st = one(f"resource vnet {RES} = [for x in xs: if (x.enabled) {{\n  name: x.name\n}}]", s.ResourceDecl)
    loop = st.value
    assert isinstance(loop, s.ForExpr)
    assert isinstance(loop.condition, s.PropertyAccess) and loop.condition.name == "enabled"
    assert isinstance(loop.body, s.ObjectExpr) and st.body is loop.body


def test_resource_body_on_the_next_line():
    st = one(f"resource vnet {RES} =\n  {{\n  name: 'v'\n}}", s.ResourceDecl)
    assert isinstance(st.value, s.ObjectExpr)


def test_resource_loop_on_the_next_line():
    st = one(f"resource vnet {RES} =\n  [for i in range(0, 2): {{\n  name: 'v${{i}}'\n}}]", s.ResourceDecl)
    assert isinstance(st.value, s.ForExpr)


def test_resource_loop_with_body_on_its_own_lines():
    st = one(f"resource vnet {RES} = [\n  for i in range(0, 2): {{\n    name: 'v${{i}}'\n  }}\n]", s.ResourceDecl)
    assert isinstance(st.value, s.ForExpr) and st.body is not None


def test_resource_with_batch_size_decorators():
    st = one(f"@batchSize(1)\nresource a {RES} = [for i in range(0, 2): {{\n  name: 'a${{i}}'\n}}]", s.ResourceDecl)
    assert st.decorator("batchSize").call.args[0].value == 1
    st2 = one(f"@sys.batchSize(2)\nresource a {RES} = [for i in range(0, 2): {{\n  name: 'a${{i}}'\n}}]",
              s.ResourceDecl)
    assert st2.decorator("batchSize").call.args[0].value == 2
    assert st2.decorators[0].namespace == "sys"


def test_nested_child_resources_with_own_decorators():
    text = f"""resource hub {RES} = {{
  name: 'hub'
  resource bgp 'bgpConnections' = {{
    name: 'bgp'
  }}
  @batchSize(2)
  @description('routes')
  resource routes 'routeTables@2022-01-01' = [for r in rs: {{
    name: r
    resource inner 'x' existing = {{
      name: 'i'
    }}
  }}]
}}"""
    st = one(text, s.ResourceDecl)
    children = st.body.resources
    assert [c.name for c in children] == ["bgp", "routes"]
    assert plain(children[0].type_string) == "bgpConnections"
    assert [d.name for d in children[1].decorators] == ["batchSize", "description"]
    assert isinstance(children[1].value, s.ForExpr)
    (inner,) = children[1].body.resources
    assert inner.name == "inner" and inner.existing
    # nested resources are not properties
    assert [p.name for p in st.body.properties] == ["name"]


def test_resource_keyword_as_property_name_is_a_property():
    st = one("var x = {\n  resource: 'r'\n  existing: true\n}", s.VarDecl)
    assert [p.name for p in st.value.properties] == ["resource", "existing"]
    assert st.value.resources == []


# ----------------------------------------------------------------- modules

@pytest.mark.parametrize("ref", [
    "./modules/storage.bicep",
    "../shared/main.json",
    "br:mcr.microsoft.com/bicep/avm/res/network/virtual-network:0.5.0",
    "br/public:avm/res/network/virtual-network:0.5.0",
    "br/myalias:network/vnet:1.0",
    "ts:00000000-0000-0000-0000-000000000000/rg/spec:1.0",
    "ts/corp:spec:1.0",
])
def test_module_references(ref):
    st = one(f"module m '{ref}' = {{\n  name: 'm'\n  params: {{\n    a: 1\n  }}\n}}", s.ModuleDecl)
    assert st.name == "m" and plain(st.path) == ref
    assert st.body is not None and isinstance(st.body.get("params"), s.ObjectExpr)


def test_module_with_condition_loop_and_decorators():
    st = one("@batchSize(3)\n@description('m')\nmodule m 'm.bicep' = [for i in range(0, 4): if (i > 0) {\n  name: 'm${i}'\n}]",
             s.ModuleDecl)
    assert [d.name for d in st.decorators] == ["batchSize", "description"]
    assert isinstance(st.value, s.ForExpr) and st.value.condition is not None


def test_conditional_module():
    st = one("module m 'm.bicep' = if (!empty(x)) {\n  name: 'm'\n}", s.ModuleDecl)
    assert isinstance(st.value, s.IfExpr)
    assert isinstance(st.value.condition, s.Unary) and st.value.condition.op == "!"


# ------------------------------------------------------------ test / assert

def test_test_statement():
    st = one("test t1 'main.bicep' = {\n  params: {\n    a: 1\n  }\n}", s.TestDecl)
    assert st.name == "t1" and plain(st.path) == "main.bicep" and isinstance(st.value, s.ObjectExpr)


def test_assert_statement():
    st = one("assert nonEmpty = length(name) > 0", s.AssertDecl)
    assert st.name == "nonEmpty"
    assert isinstance(st.value, s.Binary) and st.value.op == ">"


# -------------------------------------------------------------- bicepparam

def test_bicepparam_using_extends_params_and_imports():
    text = """using './main.bicep'
extends 'base.bicepparam'
import { names } from 'shared.bicep'
import * as t from 'types.bicep'
param count = 3
param names2 = [
  'a'
  'b'
]
var prefix = 'x'
param name = '${prefix}-y'
"""
    statements = parse_ok(text, "main.bicepparam")
    assert [type(x).__name__ for x in statements] == [
        "UsingDecl", "ExtendsDecl", "ImportDecl", "ImportDecl", "ParamDecl", "ParamDecl", "VarDecl", "ParamDecl"]
    using, extends = statements[0], statements[1]
    assert plain(using.path) == "./main.bicep" and using.config is None
    assert plain(extends.path) == "base.bicepparam"
    count = statements[4]
    assert count.name == "count" and count.type is None and count.default.value == 3


def test_using_none():
    st = one("using none", s.UsingDecl)
    assert st.path is None


def test_using_with_config():
    st = one("using 'main.bicep' with {\n  mode: 'stack'\n}", s.UsingDecl)
    assert plain(st.path) == "main.bicep" and isinstance(st.config, s.ObjectExpr)


def test_bicepparam_extension_config():
    """Bicep's `extensionConfig <alias> with {...}` statement in .bicepparam files
    (baselines_bicepparam/Extensions in the Bicep repository)."""
    program = parse_text("using 'main.bicep'\n\nextensionConfig k8s with {\n  namespace: 'default'\n}\n",
                         "main.bicepparam")
    assert program.diagnostics == [], [str(d) for d in program.diagnostics]
    assert len(program.statements) == 2
    assert not isinstance(program.statements[1], s.ErrorStatement)


# -------------------------------------------------------------- separators

def test_statements_separated_by_crlf():
    statements = parse_ok("param a string\r\nvar b = 1\r\n\r\noutput c int = b\r\n")
    assert len(statements) == 3


def test_two_statements_on_one_line_is_an_error():
    program = parse_text("var a = 1 var b = 2")
    assert len(program.diagnostics) == 1
    assert "expected end of line" in program.diagnostics[0].message


def test_directives_are_recorded_on_the_program():
    text = ("#disable-diagnostics AG101 BCP081\nvar a = 1\n#disable-next-line no-unused-vars\nvar b = [\n"
            "  #disable-next-line x\n  1\n]\n#restore-diagnostics AG101\n")
    program = parse_text(text)
    assert program.diagnostics == [] and len(program.statements) == 2
    assert [(d.name, d.codes) for d in program.directives] == [
        ("disable-diagnostics", ["AG101", "BCP081"]), ("disable-next-line", ["no-unused-vars"]),
        ("disable-next-line", ["x"]), ("restore-diagnostics", ["AG101"])]
    first = program.directives[0]
    assert text[first.start:first.end] == "#disable-diagnostics AG101 BCP081"


@pytest.mark.parametrize(("statement", "cls"), [
    ("metadata m = 1", s.MetadataDecl),
    ("param p string", s.ParamDecl),
    ("var v = 1", s.VarDecl),
    ("output o int = 1", s.OutputDecl),
    ("type t = string", s.TypeDecl),
    ("func f() int => 1", s.FuncDecl),
    ("resource r 'A.B/c@1' = {\n  name: 'r'\n}", s.ResourceDecl),
    ("module m 'm.bicep' = {\n  name: 'm'\n}", s.ModuleDecl),
    ("import * as ns from 'x.bicep'", s.ImportDecl),
    ("extension kubernetes as k", s.ExtensionDecl),
    ("test t 'main.bicep' = {}", s.TestDecl),
    ("assert a = true", s.AssertDecl),
])
def test_decorators_attach_to_every_statement_kind(statement, cls):
    st = one(f"@description('d')\n@sys.export()\n{statement}", cls)
    assert [(d.namespace, d.name) for d in st.decorators] == [(None, "description"), ("sys", "export")]
    assert st.decorators[0].call.args[0].value == "d"
