"""Unknown propagation and error reporting of the function library."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from armguard.arm.evaluator import EvalContext, EvaluationError, evaluate
from armguard.arm.expressions import ExpressionError, quote
from armguard.arm.functions import FUNCTIONS, call_function
from armguard.errors import ArmguardError
from armguard.values import Unknown

LOC = Unknown("parameters('location')", {"param:location"})
NAME = Unknown("parameters('name')", {"param:name"})


def ctx(**extra) -> EvalContext:
    params = {"location": LOC, "name": NAME, "known": "k", "list": ["a", LOC], "obj": {"a": 1, "b": LOC}}
    params.update(extra)
    return EvalContext(parameters=params)


def test_unknown_inputs_give_unknown_with_merged_deps():
    value = evaluate("[concat(parameters('name'), '-', parameters('location'))]", ctx())
    assert isinstance(value, Unknown)
    assert value.deps == {"param:name", "param:location"}
    assert value.text == "concat(parameters('name'), '-', parameters('location'))"


def test_format_of_unknown_keeps_the_expression_text():
    value = evaluate("[format('{0}-vnet', parameters('name'))]", ctx())
    assert isinstance(value, Unknown) and value.text == "format('{0}-vnet', parameters('name'))"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[length(parameters('list'))]", 2),
        ("[length(parameters('obj'))]", 2),
        ("[empty(parameters('list'))]", False),
        ("[contains(parameters('obj'), 'B')]", True),
        ("[contains(parameters('list'), 'a')]", True),
        ("[first(parameters('list'))]", "a"),
        ("[if(true(), 'x', parameters('name'))]", "x"),
        ("[if(false(), parameters('name'), 'y')]", "y"),
        ("[if(equals(parameters('name'), 'a'), 'same', 'same')]", "same"),
        ("[coalesce('first', parameters('name'))]", "first"),
        ("[coalesce(null(), 'second', parameters('name'))]", "second"),
        ("[union(parameters('obj'), createObject('c', 3)).a]", 1),
        ("[objectKeys(parameters('obj'))]", ["a", "b"]),
        ("[and(false(), parameters('name'))]", False),
        ("[or(parameters('name'), true())]", True),
        ("[createObject('k', parameters('name')).k]", NAME),
        ("[createArray(1, parameters('name'))[0]]", 1),
        ("[tryGet(parameters('obj'), 'a')]", 1),
        ("[skip(parameters('list'), 1)[0]]", LOC),
        ("[take(parameters('list'), 1)]", ["a"]),
        ("[map(parameters('list'), lambda('x', 1))]", [1, 1]),
        ("[length(concat(parameters('list'), createArray(parameters('name'))))]", 3),
    ],
)
def test_results_that_stay_known(text, expected):
    assert evaluate(text, ctx()) == expected


@pytest.mark.parametrize(
    "text",
    [
        "[length(parameters('name'))]",
        "[contains(parameters('list'), 'z')]",
        "[coalesce(parameters('name'), 'x')]",
        "[if(equals(parameters('name'), 'a'), 'x', 'y')]",
        "[and(true(), parameters('name'))]",
        "[union(parameters('list'), createArray('b'))]",
        "[toLower(parameters('name'))]",
        "[parameters('obj').b]",
        "[parameters('list')[1]]",
        "[createArray('a')[length(parameters('name'))]]",
        "[filter(parameters('list'), lambda('x', equals(lambdaVariables('x'), 'a')))]",
        "[sort(parameters('list'), lambda('a', 'b', less(lambdaVariables('a'), lambdaVariables('b'))))]",
        "[toObject(parameters('list'), lambda('x', lambdaVariables('x')))]",
        "[uniqueString(resourceGroup().id, parameters('name'))]",
        "[guid(parameters('name'))]",
        "[resourceId('Microsoft.Network/virtualNetworks', parameters('name'))]",
    ],
)
def test_results_that_become_unknown(text):
    value = evaluate(text, ctx())
    assert isinstance(value, Unknown), value
    assert value.deps & {"param:name", "param:location"}


def test_unknown_member_access_keeps_deps():
    value = evaluate("[parameters('name').properties.x[0]]", ctx())
    assert isinstance(value, Unknown)
    assert value.text == "parameters('name').properties.x[0]"
    assert value.deps == {"param:name"}


def test_reference_without_resolver_is_unknown_with_a_reference_dep():
    value = evaluate("[reference(resourceId('Microsoft.Network/virtualNetworks', 'hub'), '2023-04-01').subnets]", ctx())
    assert isinstance(value, Unknown)
    assert value.deps == {
        "reference:/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
        "/providers/Microsoft.Network/virtualNetworks/hub"
    }
    symbolic = evaluate("[reference('hub').outputs.id.value]", ctx())
    assert symbolic.deps == {"reference:hub"}
    keys = evaluate("[listKeys('sa', '2022-09-01').keys[0].value]", ctx())
    assert keys.deps == {"reference:sa"}
    assert keys.text == "listKeys('sa', '2022-09-01').keys[0].value"


def test_reference_to_an_unknown_target_names_its_expression():
    value = evaluate("[reference(parameters('name'))]", ctx())
    assert value.deps == {"reference:parameters('name')", "param:name"}


def test_runtime_only_functions_are_unknown():
    assert isinstance(evaluate("[roleDefinitions('Contributor').id]", ctx()), Unknown)
    assert isinstance(evaluate("[providers('Microsoft.Web', 'sites')]", ctx()), Unknown)


def test_call_function_propagates_unknown_values():
    value = call_function("toUpper", [NAME])
    assert isinstance(value, Unknown)
    assert value.text == "toUpper(parameters('name'))"
    assert call_function("length", [[NAME, NAME]]) == 2


# ---------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[foo()]", "unknown function 'foo'"),
        ("[length(1)]", "function 'length' expects an array, object or string, got int"),
        ("[length()]", "function 'length' expects 1 argument, got 0"),
        ("[substring('abc', 1, 2, 3)]", "function 'substring' expects 2 to 3 arguments, got 4"),
        ("[div(1, 0)]", "function 'div' cannot divide by zero"),
        ("[mod(1, 0)]", "function 'mod' cannot divide by zero"),
        ("[createArray(1)[1]]", "index 1 is out of range for an array of length 1"),
        ("[createObject('a', 1).b]", "property 'b' does not exist in createObject('a', 1) (available: a)"),
        ("[createObject('a', 1)[0]]", "an object index must be a string, got int"),
        ("['abc'.length]", "cannot read property 'length' of string"),
        ("[substring('abc', 2, 5)]", "start index 2 plus length 5 is beyond the end of a string of length 3"),
        ("[substring('abc', -1)]", "start index -1 must not be negative"),
        ("[int('x1')]", "function 'int' cannot convert 'x1' to an int"),
        ("[json('{bad')]", "function 'json' got invalid JSON"),
        ("[if('yes', 1, 2)]", "function 'if' expects a bool condition, got string"),
        ("[not(1)]", "function 'not' expects a bool, got int"),
        ("[createObject('a')]", "expects an even number of arguments"),
        ("[range(0, -1)]", "count must not be negative"),
        ("[union(createArray(), createObject())]", "expects all arrays or all objects, got array, object"),
        ("[uniqueString(1)]", "function 'uniqueString' expects string arguments, got int"),
        ("[greater('a', 1)]", "expects two ints or two strings, got string and int"),
        ("[fail('boom')]", "the template called fail(): boom"),
        ("[lambdaVariables('x')]", "refers to no enclosing lambda parameter"),
        ("[map(createArray(1), 'notalambda')]", "function 'map' expects a lambda, got string"),
        ("[cidrSubnet('10.0.0.0/16', 8, 0)]", "new CIDR /8 must be between /16 and /32"),
        ("[parseCidr('nope')]", "expects a CIDR range"),
        ("[dateTimeAdd('2020-01-01T00:00:00Z', 'X')]", "expects an ISO 8601 duration"),
        ("[base64ToString('***')]", "not base64-encoded UTF-8 text"),
        ("[padLeft('a', 3, 'xy')]", "expects a single padding character"),
        ("[format('{1}', 'a')]", "placeholder {1} has no argument (1 given)"),
    ],
)
def test_error_messages(text, message):
    with pytest.raises(EvaluationError, match=re.escape(message)) as info:
        evaluate(text, EvalContext())
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_concat_without_arguments_is_empty():
    assert evaluate("[concat()]", EvalContext()) == ""


def test_python_errors_inside_functions_become_evaluation_errors():
    with pytest.raises(EvaluationError, match="function 'map' failed: division by zero"):
        call_function("map", [[0], lambda x: 1 / x])
    with pytest.raises(EvaluationError, match="unknown function 'nope'"):
        call_function("nope", [])


def test_malformed_expression_is_expression_error():
    with pytest.raises(ExpressionError):
        evaluate("[concat('a']", EvalContext())


# ---------------------------------------------------------------------------------------------
# Robustness: arbitrary calls of every built-in raise only our own errors.

_SKIP = {"fail", "newguid", "utcnow"}
_names = st.sampled_from(sorted(n for n in FUNCTIONS if n not in _SKIP))
_leaves = st.one_of(
    st.integers(-5, 40).map(str),
    st.sampled_from(["'a'", "''", "'10.0.0.0/24'", "'2020-01-01T00:00:00Z'", "'P1D'", "'{0}-{1}'", "'Microsoft.X/y'",
                     "createArray()", "createObject()", "createArray(1, 'b')", "createObject('k', 1)", "null()",
                     "true()", "json('[1,[2]]')", "parameters('name')", "lambda('x', lambdaVariables('x'))",
                     "lambda('a', 'b', true())"]),
    st.text(alphabet="abc/-{}0 ", max_size=6).map(quote),
)


def _call(children):
    return st.builds(lambda n, args: f"{n}({', '.join(args)})", _names, st.lists(children, max_size=4))


_exprs = st.recursive(_leaves, _call, max_leaves=8)


@settings(max_examples=600, deadline=None)
@given(_exprs)
def test_any_call_raises_only_armguard_errors(expr):
    with contextlib.suppress(ArmguardError):
        evaluate(f"[{expr}]", ctx())
