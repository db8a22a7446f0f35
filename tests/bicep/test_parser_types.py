"""Parsing Bicep type expressions (type declarations, parameter and output types)."""

from __future__ import annotations

import pytest

from armguard.bicep import parse_text
from armguard.bicep import syntax as s


def typ(text: str) -> s.Node:
    program = parse_text(f"type t = {text}\n")
    assert program.diagnostics == [], [str(d) for d in program.diagnostics]
    (st,) = program.statements
    assert isinstance(st, s.TypeDecl)
    return st.value


def tx(n: object) -> str:
    """Compact rendering of a type tree."""
    if isinstance(n, s.TypeRef):
        return n.name if n.namespace is None else f"{n.namespace}.{n.name}"
    if isinstance(n, s.TypeLiteral):
        v = n.value
        if isinstance(v, s.StringLiteral):
            return repr(v.value)
        if isinstance(v, s.IntLiteral):
            return str(v.value)
        if isinstance(v, s.BoolLiteral):
            return "true" if v.value else "false"
        if isinstance(v, s.NullLiteral):
            return "null"
        if isinstance(v, s.Unary):
            return f"{v.op}{v.operand.value}"
        raise AssertionError(v)
    if isinstance(n, s.TypeUnion):
        return "(| " + " ".join(tx(m) for m in n.members) + ")"
    if isinstance(n, s.TypeArray):
        return f"{tx(n.item)}[]"
    if isinstance(n, s.TypeNullable):
        return f"{tx(n.inner)}?"
    if isinstance(n, s.TypeParen):
        return f"({tx(n.inner)})"
    if isinstance(n, s.TypeMember):
        return f"{tx(n.target)}<{n.member}>"
    if isinstance(n, s.TypeResource):
        return f"{n.kind}<{n.type_string.value}>"
    if isinstance(n, s.TypeTuple):
        return "[" + ", ".join(tx(i.type) for i in n.items) + "]"
    if isinstance(n, s.TypeObject):
        return "{" + ", ".join(f"{p.name or '*'}: {tx(p.type)}" for p in n.properties) + "}"
    raise AssertionError(f"unexpected type node {n!r}")


@pytest.mark.parametrize(("text", "expected"), [
    ("string", "string"),
    ("int", "int"),
    ("string[]", "string[]"),
    ("string[][]", "string[][]"),
    ("string?", "string?"),
    ("string[]?", "string[]?"),
    ("'a'", "'a'"),
    ("42", "42"),
    ("-1", "-1"),
    ("true", "true"),
    ("null", "null"),
    ("'a' | 'b'", "(| 'a' 'b')"),
    ("'a' | 'b' | 'c'", "(| 'a' 'b' 'c')"),
    ("1 | 2 | -3", "(| 1 2 -3)"),
    ("'a' | 'b'[]", "(| 'a' 'b'[])"),
    ("('a' | 'b')[]", "((| 'a' 'b'))[]"),
    ("(string | int)?", "((| string int))?"),
    ("[string, int]", "[string, int]"),
    ("[]", "[]"),
    ("{ a: string, b: int? }", "{a: string, b: int?}"),
    ("{ *: string }", "{*: string}"),
    ("{}", "{}"),
    ("myType.prop", "myType<prop>"),
    ("myType[*]", "myType<[*]>"),
    ("myType[0]", "myType<[0]>"),
    ("myType.*", "myType<*>"),
    ("myType!", "myType<!>"),
    ("resource 'Microsoft.Storage/storageAccounts@2023-01-01'",
     "resource<Microsoft.Storage/storageAccounts@2023-01-01>"),
    ("resourceInput<'Microsoft.Storage/storageAccounts@2023-01-01'>",
     "resourceInput<Microsoft.Storage/storageAccounts@2023-01-01>"),
    ("resourceInput<'Microsoft.Storage/storageAccounts@2023-01-01'>.properties",
     "resourceInput<Microsoft.Storage/storageAccounts@2023-01-01><properties>"),
    ("sys.resourceOutput<'Microsoft.Storage/storageAccounts@2023-01-01'>",
     "resourceOutput<Microsoft.Storage/storageAccounts@2023-01-01>"),
    ("resourceOutput<'A.B/c@1'>.properties.x[*]", "resourceOutput<A.B/c@1><properties><x><[*]>"),
])
def test_type_expressions(text, expected):
    assert tx(typ(text)) == expected


def test_multiline_union_with_leading_bars():
    assert tx(typ("\n  | 'a'\n  | 'b'\n  | 'c'")) == "(| 'a' 'b' 'c')"


def test_multiline_union_without_leading_bar():
    assert tx(typ("'a'\n  | 'b'\n  | 'c'")) == "(| 'a' 'b' 'c')"


def test_union_in_param_type():
    program = parse_text("param p 'a' | 'b' = 'a'\n")
    assert program.diagnostics == []
    (st,) = program.statements
    assert tx(st.type) == "(| 'a' 'b')" and st.default.value == "a"


def test_multiline_object_type_with_decorated_properties():
    t = typ("{\n  @description('the name')\n  @minLength(1)\n  name: string\n\n  'quoted-key': int\n"
            "  @sys.description('rest')\n  *: bool\n}")
    assert isinstance(t, s.TypeObject)
    assert [p.name for p in t.properties] == ["name", "quoted-key", None]
    assert [d.name for d in t.properties[0].decorators] == ["description", "minLength"]
    assert t.properties[1].decorators == []
    assert [(d.namespace, d.name) for d in t.properties[2].decorators] == [("sys", "description")]


def test_object_type_with_keyword_property_names():
    t = typ("{\n  if: string\n  resource: int\n  type: bool\n}")
    assert [p.name for p in t.properties] == ["if", "resource", "type"]


def test_nested_object_type_in_array():
    assert tx(typ("{\n  subnets: {\n    name: string\n    prefix: string?\n  }[]\n}")) == \
        "{subnets: {name: string, prefix: string?}[]}"


def test_multiline_tuple_with_decorated_items():
    t = typ("[\n  @description('first')\n  string\n  @description('second')\n  int\n  bool\n]")
    assert isinstance(t, s.TypeTuple)
    assert [tx(i.type) for i in t.items] == ["string", "int", "bool"]
    assert [len(i.decorators) for i in t.items] == [1, 1, 0]
    assert t.items[0].decorators[0].call.args[0].value == "first"


def test_sealed_and_discriminator_decorators_on_type_declarations():
    program = parse_text("@sealed()\ntype a = { x: string }\n@discriminator('kind')\ntype u = b | c\n")
    assert program.diagnostics == []
    a, u = program.statements
    assert a.decorator("sealed") is not None
    assert u.decorator("discriminator").call.args[0].value == "kind"
    assert tx(u.value) == "(| b c)"


def test_typed_variable_and_output_with_complex_types():
    program = parse_text("var v {\n  a: int\n}[] = []\noutput o ('x' | 'y')[] = ['x']\n")
    assert program.diagnostics == []
    v, o = program.statements
    assert tx(v.type) == "{a: int}[]"
    assert tx(o.type) == "((| 'x' 'y'))[]"


def test_func_with_typed_params_and_union_return():
    program = parse_text("func f(a string[], b {\n  x: int\n}) 'a' | 'b' => 'a'\n")
    assert program.diagnostics == []
    (f,) = program.statements
    assert [tx(p.type) for p in f.lambda_.params] == ["string[]", "{x: int}"]
    assert tx(f.lambda_.return_type) == "(| 'a' 'b')"
