"""EvalContext and evaluate(): parameters, variables, loops, user-defined functions, scopes."""

from __future__ import annotations

import re

import pytest

from armguard.arm.evaluator import (
    PLACEHOLDER_SUBSCRIPTION_ID,
    EvalContext,
    EvaluationError,
    ResourceRef,
    evaluate,
    evaluate_expr,
)
from armguard.arm.expressions import parse_expression
from armguard.arm.functions import FUNCTIONS, call_function, is_supported
from armguard.values import Unknown


def test_default_context_has_documented_placeholders():
    ctx = EvalContext()
    assert evaluate("[subscription().subscriptionId]", ctx) == PLACEHOLDER_SUBSCRIPTION_ID
    assert evaluate("[resourceGroup().name]", ctx) == "rg"
    assert evaluate("[resourceGroup().location]", ctx) == "westus"
    assert evaluate("[resourceGroup().id]", ctx) == f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION_ID}/resourceGroups/rg"
    assert evaluate("[environment().name]", ctx) == "AzureCloud"
    assert evaluate("[environment().suffixes.storage]", ctx) == "core.windows.net"
    assert evaluate("[deployment().name]", ctx) == "deployment"
    assert evaluate("[tenant().tenantId]", ctx) == "00000000-0000-0000-0000-000000000000"
    assert set(evaluate("[deployer()]", ctx)) == {"objectId", "tenantId", "userPrincipalName"}


def test_evaluate_walks_objects_and_arrays():
    ctx = EvalContext(parameters={"name": "hub"})
    value = {"a": ["[parameters('name')]", 1, None, True], "b": {"c": "[[literal]", "d": "plain"}}
    assert evaluate(value, ctx) == {"a": ["hub", 1, None, True], "b": {"c": "[literal]", "d": "plain"}}


def test_property_names_can_be_expressions():
    ctx = EvalContext(parameters={"tag": "env"})
    assert evaluate({"[parameters('tag')]": "prod"}, ctx) == {"env": "prod"}


def test_parameters_and_variables_are_case_insensitive():
    ctx = EvalContext(parameters={"Location": "eastus"}, variables={"Prefix": "[toUpper(parameters('location'))]"})
    assert evaluate("[parameters('LOCATION')]", ctx) == "eastus"
    assert evaluate("[variables('prefix')]", ctx) == "EASTUS"


def test_object_properties_are_case_insensitive():
    ctx = EvalContext(parameters={"o": {"Name": "x", "Nested": {"Key": 1}}})
    assert evaluate("[parameters('o').name]", ctx) == "x"
    assert evaluate("[parameters('o')['NESTED'].key]", ctx) == 1


def test_variables_are_lazy_and_memoized():
    calls = []

    def resolver(ref: ResourceRef):
        calls.append(ref.target)
        return {"value": len(calls)}

    ctx = EvalContext(variables={"r": "[reference('res')]", "unused": "[fail('never evaluated')]"},
                      reference_resolver=resolver)
    assert evaluate("[variables('r').value]", ctx) == 1
    assert evaluate("[variables('r').value]", ctx) == 1
    assert calls == ["res"]


def test_variable_cycles_are_reported():
    ctx = EvalContext(variables={"a": "[variables('b')]", "b": "[concat(variables('a'), 'x')]"})
    with pytest.raises(EvaluationError, match="cycle: a -> b -> a"):
        evaluate("[variables('a')]", ctx)


def test_unknown_variable_and_parameter():
    with pytest.raises(EvaluationError, match="the template has no variable 'nope'"):
        evaluate("[variables('nope')]", EvalContext())
    with pytest.raises(EvaluationError, match="the template has no parameter 'nope'"):
        evaluate("[parameters('nope')]", EvalContext())


def test_variable_copy_loops():
    # copy-variables.md: a 'copy' array in the variables section defines array variables.
    ctx = EvalContext(
        parameters={"itemCount": 3},
        variables={
            "copy": [
                {"name": "disks", "count": "[parameters('itemCount')]",
                 "input": {"name": "[concat('myDataDisk', copyIndex('disks', 1))]", "diskSizeGB": "1"}},
                {"name": "names", "count": 2, "input": "[concat('n-', copyIndex('names'))]"},
            ],
            "combined": "[concat(variables('names'), createArray('z'))]",
        },
    )
    assert evaluate("[variables('disks')]", ctx) == [
        {"name": "myDataDisk1", "diskSizeGB": "1"},
        {"name": "myDataDisk2", "diskSizeGB": "1"},
        {"name": "myDataDisk3", "diskSizeGB": "1"},
    ]
    assert evaluate("[variables('combined')]", ctx) == ["n-0", "n-1", "z"]


def test_property_copy_inside_objects():
    # copy-properties.md: a 'copy' array inside an object expands into properties.
    ctx = EvalContext().with_copy_index(None, 7)
    value = {
        "storageProfile": {
            "copy": [{"name": "dataDisks", "count": 2,
                      "input": {"lun": "[copyIndex('dataDisks')]", "vm": "[copyIndex()]"}}],
            "osDisk": {"name": "os"},
        }
    }
    assert evaluate(value, ctx) == {
        "storageProfile": {"dataDisks": [{"lun": 0, "vm": 7}, {"lun": 1, "vm": 7}], "osDisk": {"name": "os"}}
    }


def test_copy_count_limits():
    ctx = EvalContext(variables={"copy": [{"name": "x", "count": 801, "input": 1}]})
    with pytest.raises(EvaluationError, match="between 0 and 800"):
        evaluate("[variables('x')]", ctx)


def test_copy_index_forms():
    ctx = EvalContext().with_copy_index(None, 2).with_copy_index("outer", 5)
    assert evaluate("[copyIndex()]", ctx) == 2
    assert evaluate("[copyIndex(10)]", ctx) == 12
    assert evaluate("[copyIndex('outer')]", ctx) == 5
    assert evaluate("[copyIndex('OUTER', 1)]", ctx) == 6
    with pytest.raises(EvaluationError, match="outside of a copy loop"):
        evaluate("[copyIndex()]", EvalContext())
    with pytest.raises(EvaluationError, match="no enclosing copy loop named 'inner'"):
        evaluate("[copyIndex('inner')]", ctx)


def test_copy_index_of_an_unexpanded_loop_is_unknown():
    ctx = EvalContext(copy_indexes={None: Unknown("copyIndex()", {"loop:vms"})})
    value = evaluate("[concat('vm-', copyIndex(1))]", ctx)
    assert isinstance(value, Unknown)
    assert value.deps == {"loop:vms"}


def test_parameter_defaults_are_evaluated_lazily():
    ctx = EvalContext(
        parameters={"prefix": "app"},
        parameter_defaults={
            "name": "[format('{0}-{1}', parameters('prefix'), parameters('suffix'))]",
            "suffix": "[toLower('WEB')]",
            "a": "[parameters('b')]",
            "b": "[parameters('a')]",
        },
    )
    assert evaluate("[parameters('name')]", ctx) == "app-web"
    with pytest.raises(EvaluationError, match="cycle"):
        evaluate("[parameters('a')]", ctx)


CLASSIC_FUNCTIONS = [
    {
        "namespace": "contoso",
        "members": {
            "uniqueName": {
                "parameters": [{"name": "namePrefix", "type": "string"}],
                "output": {"type": "string", "value": "[concat(toLower(parameters('namePrefix')), 'x')]"},
            }
        },
    }
]

BICEP_FUNCTIONS = [
    {
        "namespace": "__bicep",
        "members": {
            "joinArray": {
                "parameters": [{"type": "array", "name": "values"}, {"type": "string", "name": "sep"}],
                "output": {"type": "string", "value": "[join(parameters('values'), parameters('sep'))]"},
            },
            "twice": {
                "parameters": [{"type": "string", "name": "v"}],
                "output": {"type": "string", "value": "[__bicep.joinArray(createArray(parameters('v'), parameters('v')), '')]"},
            },
        },
    }
]


def test_user_defined_functions_classic_shape():
    ctx = EvalContext(parameters={"namePrefix": "OUTER"}, functions=CLASSIC_FUNCTIONS)
    assert evaluate("[contoso.uniqueName('ABC')]", ctx) == "abcx"
    assert evaluate("[CONTOSO.UNIQUENAME('D')]", ctx) == "dx"


def test_user_defined_functions_see_only_their_parameters():
    functions = [{"namespace": "ns", "members": {"f": {"parameters": [],
                                                       "output": {"type": "string", "value": "[parameters('outer')]"}}}}]
    ctx = EvalContext(parameters={"outer": "x"}, functions=functions)
    with pytest.raises(EvaluationError, match="no parameter 'outer'"):
        evaluate("[ns.f()]", ctx)


def test_bicep_generated_functions_and_calls_between_them():
    ctx = EvalContext(functions=BICEP_FUNCTIONS)
    assert evaluate("[__bicep.joinArray(createArray('a', 'b'), '-')]", ctx) == "a-b"
    assert evaluate("[__bicep.twice('ab')]", ctx) == "abab"
    assert call_function("__bicep.twice", ["x"], ctx) == "xx"


def test_user_defined_function_errors():
    ctx = EvalContext(functions=BICEP_FUNCTIONS)
    with pytest.raises(EvaluationError, match=re.escape("function '__bicep.joinArray' expects 2 argument")):
        evaluate("[__bicep.joinArray(createArray('a'))]", ctx)
    with pytest.raises(EvaluationError, match=re.escape("unknown function 'other.fn'")):
        evaluate("[other.fn()]", ctx)


def test_functions_may_be_given_as_a_dict():
    ctx = EvalContext(functions={"NS.Id": {"parameters": [{"name": "v"}], "output": {"value": "[parameters('v')]"}}})
    assert evaluate("[ns.id(3)]", ctx) == 3


def test_if_evaluates_only_the_chosen_branch():
    ctx = EvalContext(parameters={"items": []})
    assert evaluate("[if(empty(parameters('items')), 'none', parameters('items')[0])]", ctx) == "none"


def test_and_or_short_circuit():
    ctx = EvalContext(parameters={"o": {}})
    assert evaluate("[and(false(), parameters('o').missing)]", ctx) is False
    assert evaluate("[or(true(), parameters('o').missing)]", ctx) is True
    assert evaluate("[and(true(), true(), not(false()))]", ctx) is True


def test_reference_uses_the_resolver():
    seen: list[ResourceRef] = []

    def resolver(ref: ResourceRef):
        seen.append(ref)
        return {"primaryKey": "k"} if ref.function.lower() == "listkeys" else {"properties": {"x": 1}}

    ctx = EvalContext(reference_resolver=resolver)
    assert evaluate("[reference('vnet', '2023-01-01', 'Full').properties.x]", ctx) == 1
    assert evaluate("[listKeys(resourceId('Microsoft.Storage/storageAccounts', 'sa'), '2022-09-01').primaryKey]", ctx) == "k"
    assert seen[0].target == "vnet" and seen[0].api_version == "2023-01-01" and seen[0].args == ("2023-01-01", "Full")
    assert seen[1].function == "listKeys"
    assert seen[1].target.endswith("/providers/Microsoft.Storage/storageAccounts/sa")


def test_scope_functions_depend_on_the_deployment_scope():
    sub_ctx = EvalContext(scope="subscription")
    assert evaluate("[resourceId('Microsoft.Resources/resourceGroups', 'rg1')]", sub_ctx) == (
        f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION_ID}/providers/Microsoft.Resources/resourceGroups/rg1")
    with pytest.raises(EvaluationError, match="resourceGroup' is not available in a subscription deployment"):
        evaluate("[resourceGroup()]", sub_ctx)
    mg_ctx = EvalContext(scope="managementGroup")
    assert evaluate("[managementGroup().name]", mg_ctx) == "mg"
    assert evaluate("[managementGroupResourceId('Microsoft.Authorization/policyDefinitions', 'p')]", mg_ctx) == (
        "/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Authorization/policyDefinitions/p")
    tenant_ctx = EvalContext(scope="tenant")
    assert evaluate("[resourceId('Microsoft.Management/managementGroups', 'mg2')]", tenant_ctx) == (
        "/providers/Microsoft.Management/managementGroups/mg2")
    with pytest.raises(EvaluationError, match="not available in a resourceGroup deployment"):
        evaluate("[managementGroup()]", EvalContext())


def test_resource_id_name_count_must_match_the_type():
    with pytest.raises(EvaluationError, match="needs 2 name segment"):
        evaluate("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet')]", EvalContext())
    # A name given as 'parent/child' counts as two segments.
    assert evaluate("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet/default')]", EvalContext()).endswith(
        "/virtualNetworks/vnet/subnets/default")


def test_new_guid_and_utc_now_are_deterministic_per_seed():
    a = [evaluate("[newGuid()]", EvalContext(seed=1)) for _ in range(2)]
    ctx = EvalContext(seed=1)
    b = [evaluate("[newGuid()]", ctx), evaluate("[newGuid()]", ctx)]
    assert a[0] == a[1] == b[0]
    assert b[0] != b[1]  # two calls in one deployment differ
    assert evaluate("[newGuid()]", EvalContext(seed=2)) != a[0]
    assert evaluate("[utcNow()]", EvalContext(seed=61)) == "20250101T000101Z"


def test_evaluate_expr_on_a_parsed_tree():
    assert evaluate_expr(parse_expression("add(1, mul(2, 3))"), EvalContext()) == 7


def test_call_function_with_plain_values_and_python_lambdas():
    assert call_function("toLower", ["ABC"]) == "abc"
    assert call_function("MAP", [[1, 2], lambda x: x * 10]) == [10, 20]
    assert call_function("filter", [[1, 2, 3], lambda x: x > 1]) == [2, 3]
    assert call_function("reduce", [[1, 2, 3], 0, lambda acc, x: acc + x]) == 6
    assert call_function("groupBy", [["ab", "ac", "b"], lambda s: s[0]]) == {"a": ["ab", "ac"], "b": ["b"]}
    assert call_function("mapValues", [{"a": 1, "b": 2}, lambda v: v + 1]) == {"a": 2, "b": 3}
    assert call_function("resourceGroup", [], EvalContext())["name"] == "rg"
    assert call_function("resourceGroup", []) == EvalContext().resource_group


def test_is_supported():
    assert is_supported("concat") and is_supported("CONCAT") and is_supported("listSecrets")
    assert is_supported("lambda") and is_supported("lambdaVariables")
    assert not is_supported("nope")
    assert "uniquestring" in FUNCTIONS


def test_object_functions():
    assert call_function("objectKeys", [{"a": 1, "b": 2}]) == ["a", "b"]
    assert call_function("shallowMerge", [[{"a": 1, "n": {"x": 1}}, {"b": 2, "n": {"y": 2}}]]) == {
        "a": 1, "n": {"y": 2}, "b": 2}
    assert call_function("tryGet", [{"a": {"B": [5]}}, "a", "b", 0]) == 5
    assert call_function("tryGet", [{"a": 1}, "missing"]) is None
    assert call_function("tryGet", [[1, 2], 5]) is None
    assert call_function("tryIndexFromEnd", [[1, 2, 3], 1]) == 3
    assert call_function("tryIndexFromEnd", [[1, 2, 3], 4]) is None
    assert call_function("indexFromEnd", [[1, 2, 3], 3]) == 1
    assert call_function("contains", [{"Key": 1}, "KEY"]) is True
    assert call_function("contains", ["abc", "B"]) is False
    assert call_function("equals", [{"A": [1, {"b": 2}]}, {"a": [1, {"B": 2}]}]) is True
    assert call_function("equals", ["demo", "Demo"]) is False  # Bicep's =~ compiles to equals(toLower, toLower)
    assert call_function("union", [{"a": {"x": 1}}, {"A": {"y": 2}}]) == {"a": {"x": 1, "y": 2}}
    assert call_function("union", [[1, 2], [2, 3], [1, 4]]) == [1, 2, 3, 4]


def test_numeric_semantics():
    assert call_function("div", [-7, 2]) == -3
    assert call_function("mod", [-7, 2]) == -1
    assert call_function("mod", [7, -2]) == 1
    assert call_function("int", [" 12 "]) == 12
    assert call_function("float", ["1.5"]) == 1.5
    assert call_function("json", ["0.25"]) == 0.25
    assert call_function("string", [1.5]) == "1.5"
    assert call_function("string", [True]) == "True"
    assert call_function("string", [None]) == ""
    assert call_function("range", [0, 0]) == []


def test_format_composite_formatting():
    assert call_function("format", ["{0:D3}-{1}", 7, "x"]) == "007-x"
    assert call_function("format", ["{{literal}} {0}", "v"]) == "{literal} v"
    assert call_function("format", ["[{0,5}] [{0,-5}]", "ab"]) == "[   ab] [ab   ]"
    assert call_function("format", ["{0:X}/{0:x4}", 255]) == "FF/00ff"
    assert call_function("format", ["{0:N2}", 1234.5]) == "1,234.50"
    assert call_function("format", ["{0:000}", 5]) == "005"
    assert call_function("format", ["{0:#,##0}", 1234567]) == "1,234,567"
    assert call_function("format", ["{0}", {"a": [1]}]) == '{"a":[1]}'
    assert call_function("format", ["{0}", None]) == ""


def test_string_helpers():
    assert call_function("split", ["a,,b", ","]) == ["a", "", "b"]
    assert call_function("replace", ["aAa", "a", "b"]) == "bAb"
    assert call_function("substring", ["abc", 1]) == "bc"
    assert call_function("substring", ["abc", 3, 0]) == ""
    assert call_function("trim", ["\t x \n"]) == "x"
    assert call_function("parseUri", ["https://example.com:8443/a/b?x=1"]) == {
        "absoluteUri": "https://example.com:8443/a/b?x=1", "scheme": "https", "host": "example.com", "port": 8443,
        "path": "/a/b", "query": "?x=1"}
    assert call_function("buildUri", [{"scheme": "https", "host": "h", "port": 443, "path": "/p", "query": "?q=1"}]) == (
        "https://h/p?q=1")


def test_derived_contexts_change_one_field_and_share_the_rest():
    base = EvalContext(parameters={"p": 1}, variables={"v": "[add(parameters('p'), copyIndex())]"})
    first = base.with_copy_index(None, 1)
    second = base.with_copy_index(None, 2)
    assert base.copy_indexes == {} and first.copy_indexes == {None: 1} and second.copy_indexes == {None: 2}
    assert first.parameters is base.parameters and first._variable_cache is base._variable_cache
    assert type(first) is EvalContext and first == EvalContext(parameters={"p": 1}, variables=base.variables,
                                                              copy_indexes={None: 1})
    inner = first.with_lambda_variables({"x": 3})
    assert inner.lambda_variables == {"x": 3} and first.lambda_variables == {}
    assert inner.copy_indexes == {None: 1}
