"""Static evaluation of Bicep expressions: known values where inputs are known, Unknown values
that say what they depend on otherwise."""

from __future__ import annotations

import re
from typing import Any

import pytest

from armguard.bicep import parse_text
from armguard.bicep.semantic import SemanticModel
from armguard.values import Unknown


def model(text: str, params: dict[str, Any] | None = None) -> SemanticModel:
    program = parse_text(text, "main.bicep")
    assert program.diagnostics == [], [str(d) for d in program.diagnostics]
    return SemanticModel(program, program.source, params)


def value(text: str, params: dict[str, Any] | None = None, prelude: str = "") -> Any:
    m = model(f"{prelude}\nvar result = {text}\n", params)
    return m.evaluator.var("result")


# ------------------------------------------------------------ known values

@pytest.mark.parametrize(("text", "expected"), [
    ("42", 42),
    ("'s'", "s"),
    ("true", True),
    ("null", None),
    ("[1, 'a', [true]]", [1, "a", [True]]),
    ("{ a: 1, b: { c: 'd' } }", {"a": 1, "b": {"c": "d"}}),
    ("1 + 2 * 3 - 4", 3),
    ("(1 + 2) * 3", 9),
    ("-7 / 2", -3),
    ("-7 % 2", -1),
    ("7 % -2", 1),
    ("10 / 3", 3),
    ("-(3)", -3),
    ("!true || false", False),
    ("true && !false", True),
    ("1 < 2 && 'a' < 'b'", True),
    ("2 >= 3", False),
    ("'A' =~ 'a'", True),
    ("'A' !~ 'a'", False),
    ("'A' == 'a'", False),
    ("[1, 2] == [1, 2]", True),
    ("{ a: 1 } != { a: 2 }", True),
    ("1 == true", False),
    ("true ? 'y' : 'n'", "y"),
    ("1 > 2 ? 'y' : 'n'", "n"),
    ("true ? false ? 1 : 2 : 3", 2),
    ("null ?? 'd'", "d"),
    ("'v' ?? 'd'", "v"),
    ("null ?? null ?? 3", 3),
    ("{ a: { b: [1, 2, 3] } }.a.b[^1]", 3),
    ("[1, 2, 3][0]", 1),
    ("{ a: 1 }.?b", None),
    ("{ a: 1 }['a']", 1),
    ("{ A: 1 }.a", 1),
    ("[1][?5]", None),
    ("'a${1 + 1}b${'c'}'", "a2bc"),
    ("'${true}-${null}-${[1]}'", "True--[1]"),  # ARM's string(): True/False, null is empty
])
def test_known_values(text, expected):
    got = value(text)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(("text", "expected"), [
    ("concat([1], [2, 3])", [1, 2, 3]),
    ("concat('a', 'b', 'c')", "abc"),
    ("format('{0}-{1}', 'x', 2)", "x-2"),
    ("length('abcd')", 4),
    ("length([1, 2])", 2),
    ("length({ a: 1 })", 1),
    ("range(0, 3)", [0, 1, 2]),
    ("range(5, 2)", [5, 6]),
    ("union({ a: 1 }, { b: 2 })", {"a": 1, "b": 2}),
    ("union([1, 2], [2, 3])", [1, 2, 3]),
    ("toLower('AbC')", "abc"),
    ("toUpper('abc')", "ABC"),
    ("sys.concat('a', 'b')", "ab"),
    ("az.concat('a', 'b')", "ab"),
    ("split('a,b,c', ',')", ["a", "b", "c"]),
    ("join(['a', 'b'], '-')", "a-b"),
    ("replace('a-b', '-', '_')", "a_b"),
    ("substring('abcdef', 1, 3)", "bcd"),
    ("contains([1, 2], 2)", True),
    ("empty('')", True),
    ("first([7, 8])", 7),
    ("last([7, 8])", 8),
    ("take([1, 2, 3], 2)", [1, 2]),
    ("skip([1, 2, 3], 2)", [3]),
    ("min(3, 1, 2)", 1),
    ("max([3, 1, 2])", 3),
    ("string(12)", "12"),
    ("int('12')", 12),
    ("bool('true')", True),
    ("coalesce(null, 'x')", "x"),
    ("startsWith('abc', 'ab')", True),
    ("indexOf('abc', 'c')", 2),
    ("padLeft('7', 3, '0')", "007"),
    ("items({ b: 2, a: 1 })", [{"key": "a", "value": 1}, {"key": "b", "value": 2}]),
    ("map([1, 2], x => x * 10)", [10, 20]),
    ("filter(range(0, 5), x => x % 2 == 0)", [0, 2, 4]),
    ("reduce([1, 2, 3], 0, (acc, x) => acc + x)", 6),
    ("toObject(['a', 'b'], k => k, v => length(v))", {"a": 1, "b": 1}),
    ("any(5)", 5),
])
def test_functions_with_known_inputs(text, expected):
    assert value(text) == expected


def test_unique_string_is_deterministic():
    a = value("uniqueString('a', 'b')")
    assert isinstance(a, str) and re.fullmatch(r"[a-z0-9]{13}", a)
    assert value("uniqueString('a', 'b')") == a
    assert value("uniqueString('a', 'c')") != a


def test_guid_is_deterministic():
    g = value("guid('a', 'b')")
    assert isinstance(g, str) and re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", g)
    assert value("guid('a', 'b')") == g


@pytest.mark.parametrize(("text", "expected"), [
    ("[for x in range(1, 3): x * 2]", [2, 4, 6]),
    ("[for (x, i) in ['a', 'b']: '${i}${x}']", ["0a", "1b"]),
    ("[for x in range(0, 4): if (x > 1) x]", [2, 3]),
    ("[for (x, i) in ['p', 'q', 'r']: if (i != 1) x]", ["p", "r"]),
    ("[for x in [for y in range(0, 2): y + 1]: x * 10]", [10, 20]),
])
def test_for_expressions(text, expected):
    assert value(text) == expected


def test_spread_values():
    assert value("{ ...{ a: 1, b: 2 }, b: 3, ...{ c: 4 } }") == {"a": 1, "b": 3, "c": 4}
    assert value("[...[1, 2], 3, ...[]]") == [1, 2, 3]


def test_multiline_and_escaped_strings():
    assert value("'''\nline1\nline2'''") == "line1\nline2"
    assert value(r"'it\'s \u{41}\n'") == "it's A\n"
    assert value("$'''\n${1 + 1} items'''") == "2 items"


# ------------------------------------------------------ params and variables

def test_param_default_is_the_value():
    assert value("'${location}-x'", prelude="param location string = 'westeurope'") == "westeurope-x"


def test_supplied_param_value_overrides_default():
    assert value("location", {"location": "northeurope"}, prelude="param location string = 'westeurope'") \
        == "northeurope"


def test_param_default_may_use_other_params():
    assert value("b", prelude="param a int = 2\nparam b int = a * 3") == 6


def test_variables_chain():
    assert value("v3", prelude="var v1 = [1, 2]\nvar v2 = length(v1)\nvar v3 = range(0, v2)") == [0, 1]


def test_param_without_value_is_unknown_with_param_dep():
    got = value("p", prelude="param p string")
    assert isinstance(got, Unknown) and got.deps == {"param:p"}


def test_expression_of_unknown_param_carries_the_dep():
    got = value("'${toLower(p)}-${q}'", prelude="param p string\nparam q string = 'x'")
    assert isinstance(got, Unknown) and "param:p" in got.deps


def test_nullable_param_without_value_is_unknown():
    got = value("p ?? 'd'", prelude="param p string?")
    assert isinstance(got, Unknown) and got.depends_on("param:p")


def test_ternary_with_unknown_condition_is_unknown():
    got = value("p ? 1 : 2", prelude="param p bool")
    assert isinstance(got, Unknown) and got.deps == {"param:p"}


def test_short_circuit_with_unknown_right_side():
    assert value("false && p", prelude="param p bool") is False
    assert value("true || p", prelude="param p bool") is True


def test_cyclic_variables_do_not_hang():
    got = value("a", prelude="var a = b\nvar b = a")
    assert isinstance(got, Unknown)


# ---------------------------------------------------- resources and runtime

RES = "resource st 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: 'stg${1}'\n}"


def test_resource_name_is_known_from_its_body():
    assert value("st.name", prelude=RES) == "stg1"


def test_resource_type_and_api_version_are_known():
    assert value("st.type", prelude=RES) == "Microsoft.Storage/storageAccounts"
    assert value("st.apiVersion", prelude=RES) == "2023-01-01"


def test_resource_runtime_property_is_unknown_with_resource_dep():
    got = value("st.properties.primaryEndpoints.blob", prelude=RES)
    assert isinstance(got, Unknown) and got.deps == {"resource:st"}
    got = value("'${st.id}/x'", prelude=RES)
    assert isinstance(got, Unknown) and got.depends_on("resource:st")


def test_runtime_functions_are_unknown():
    for text in ("resourceGroup().location", "subscription().subscriptionId", "utcNow()", "newGuid()",
                 "deployment().name", "az.resourceGroup().name"):
        got = value(text)
        assert isinstance(got, Unknown), text
        assert got.depends_on("runtime:"), (text, got.deps)


def test_loop_variable_outside_a_known_loop_is_unknown_with_loop_dep():
    m = model("param items array\nresource r 'A.B/c@1' = [for x in items: {\n  name: x\n}]\n")
    name = m.declarations["r"].body.get("name")
    got = m.evaluator.eval(name, {})
    assert isinstance(got, Unknown) and got.deps == {"loop:r"}


def test_imported_namespace_function_is_unknown():
    got = value("ns.f(1)", prelude="import * as ns from 'x.bicep'")
    assert isinstance(got, Unknown)


def test_user_function_call_is_unknown_not_a_crash():
    got = value("f(1)", prelude="func f(a int) int => a + 1")
    assert isinstance(got, Unknown) or got == 2


def test_evaluation_errors_become_unknown():
    for text in ("1 / 0", "[1][5]", "'a' + 1", "!'x'", "length(1)", "nosuchfunction(1)"):
        assert isinstance(value(text), Unknown), text


def test_comparing_resource_references_is_not_statically_false():
    """`st == st` compares run-time resource objects; it must not evaluate to False statically."""
    got = value("st == st ? 'same' : 'different'", prelude=RES)
    assert got != "different"
