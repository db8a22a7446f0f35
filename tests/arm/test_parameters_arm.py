"""Parameter files, overrides, defaults and checks (armguard.arm.parameters)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from armguard.arm.loader import load_graph, load_parameters_file
from armguard.arm.parameters import check_value, parameters_from_file, parse_overrides
from armguard.errors import ArmguardError
from armguard.values import Unknown

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
PARAMS_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"


def write(tmp_path: Path, data: object, name: str = "t.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return str(path)


def template_with(parameters: dict, name: str = "[parameters('p')]", **extra: object) -> dict:
    res = {"type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2023-04-01", "name": name}
    return {"$schema": SCHEMA, "parameters": parameters, **extra, "resources": [res]}


# -- parameter files ---------------------------------------------------------------------------


def test_parameters_file_values_and_key_vault_references():
    values = load_parameters_file(FIXTURES / "classic.parameters.json")
    assert values["prefix"] == "prod"
    assert values["storageCount"] == 2
    secret = values["adminName"]
    assert isinstance(secret, Unknown)
    assert "param:adminName" in secret.deps
    assert "adminName" in secret.text and "kv1" in secret.text


def test_parameters_without_the_wrapper_are_accepted():
    assert parameters_from_file({"a": {"value": 1}}, "p.json") == {"a": 1}


def test_a_template_is_not_a_parameters_file():
    with pytest.raises(ArmguardError, match="deploymentTemplate, not a parameters file"):
        parameters_from_file({"$schema": SCHEMA, "resources": []}, "p.json")


def test_other_json_is_not_a_parameters_file():
    with pytest.raises(ArmguardError, match="not a deploymentParameters file"):
        parameters_from_file({"name": "x"}, "p.json")
    with pytest.raises(ArmguardError, match="not a deploymentParameters file"):
        parameters_from_file(["x"], "p.json")


def test_a_parameter_entry_needs_a_value():
    with pytest.raises(ArmguardError) as info:
        parameters_from_file({"$schema": PARAMS_SCHEMA, "parameters": {"a": {"valu": 1}}}, "p.json")
    assert info.value.where == "parameters.a"
    assert info.value.path == "p.json"


def test_bad_parameters_file_is_reported_with_its_path(tmp_path):
    params = write(tmp_path, {"$schema": PARAMS_SCHEMA, "parameters": {"p": 3}}, "p.json")
    with pytest.raises(ArmguardError) as info:
        load_graph(str(FIXTURES / "classic.json"), params)
    assert info.value.path == params


# -- overrides ---------------------------------------------------------------------------------


def test_overrides_are_coerced_to_declared_types(tmp_path):
    t = template_with({
        "p": {"type": "string"}, "n": {"type": "int"}, "b": {"type": "bool"},
        "a": {"type": "array"}, "o": {"type": "object"},
    })
    graph = load_graph(write(tmp_path, t), overrides=["p=x=y", "n=5", "b=True", "a=[1,2]", 'o={"k": 1}'])
    assert graph.parameters == {"p": "x=y", "n": 5, "b": True, "a": [1, 2], "o": {"k": 1}}


def test_overrides_win_over_the_parameters_file():
    graph = load_graph(str(FIXTURES / "classic.json"), str(FIXTURES / "classic.parameters.json"),
                       overrides=["prefix=test"])
    assert graph.parameters["prefix"] == "test"
    assert graph.parameters["storageCount"] == 2


@pytest.mark.parametrize(("override", "message"), [
    ("novalue", "not of the form name=value"),
    ("n=five", "expects an int"),
    ("b=yes", "expects true or false"),
    ("a=[1,", "expects JSON for a array"),
])
def test_bad_overrides_are_one_line_errors(tmp_path, override, message):
    t = template_with({"p": {"type": "string", "defaultValue": "x"}, "n": {"type": "int", "defaultValue": 1},
                       "b": {"type": "bool", "defaultValue": False}, "a": {"type": "array", "defaultValue": []}})
    with pytest.raises(ArmguardError, match=message):
        load_graph(write(tmp_path, t), overrides=[override])


def test_parse_overrides_keeps_text():
    assert parse_overrides(["a=1", " b = two"]) == {"a": "1", "b": " two"}


# -- declarations ------------------------------------------------------------------------------


def test_default_values_are_expressions_that_may_use_later_parameters(tmp_path):
    t = template_with({
        "p": {"type": "string", "defaultValue": "[format('{0}-{1}', parameters('base'), resourceGroup().name)]"},
        "base": {"type": "string", "defaultValue": "app"},
    })
    assert load_graph(write(tmp_path, t)).parameters["p"] == "app-rg"


def test_defaults_referring_to_each_other_are_an_error(tmp_path):
    t = template_with({
        "p": {"type": "string", "defaultValue": "[parameters('q')]"},
        "q": {"type": "string", "defaultValue": "[parameters('p')]"},
    })
    with pytest.raises(ArmguardError, match="cycle: p -> q -> p"):
        load_graph(write(tmp_path, t))


def test_parameter_without_value_is_unknown_unless_strict(tmp_path):
    path = write(tmp_path, template_with({"p": {"type": "string"}}))
    graph = load_graph(path)
    assert graph.parameters["p"] == Unknown("parameters('p')", {"param:p"})
    assert graph.nodes[0].name == graph.parameters["p"]
    with pytest.raises(ArmguardError) as info:
        load_graph(path, strict=True)
    assert info.value.message == "missing a value for required parameter 'p'"
    assert info.value.where == "parameters.p"
    assert load_graph(path, {"p": "given"}, strict=True).nodes[0].name == "given"


def test_nullable_parameter_without_value_is_null(tmp_path):
    t = template_with({"p": {"type": "string", "defaultValue": "x"}, "tags": {"type": "object", "nullable": True}})
    assert load_graph(write(tmp_path, t), strict=True).parameters["tags"] is None


def test_null_value_falls_back_to_the_default(tmp_path):
    t = template_with({"p": {"type": "string", "defaultValue": "dflt"}})
    assert load_graph(write(tmp_path, t), {"p": None}).parameters["p"] == "dflt"


def test_null_for_a_required_parameter_is_an_error_only_when_strict(tmp_path):
    path = write(tmp_path, template_with({"p": {"type": "string"}}, name="x"))
    assert load_graph(path, {"p": None}).parameters["p"] is None
    with pytest.raises(ArmguardError, match="required parameter 'p' is null"):
        load_graph(path, {"p": None}, strict=True)


def test_allowed_values_are_checked_for_known_values(tmp_path):
    t = template_with({"p": {"type": "string", "allowedValues": ["Basic", "Standard"], "defaultValue": "Basic"}})
    path = write(tmp_path, t)
    assert load_graph(path, {"p": "standard"}).parameters["p"] == "standard"  # ARM ignores case here
    with pytest.raises(ArmguardError) as info:
        load_graph(path, {"p": "Premium"})
    assert info.value.message == ('parameter \'p\' value "Premium" is not one of the allowed values: '
                                  '"Basic", "Standard"')
    assert info.value.where == "parameters.p"


def test_a_bad_default_value_names_the_default(tmp_path):
    t = template_with({"p": {"type": "int", "allowedValues": [1, 2], "defaultValue": 3}})
    with pytest.raises(ArmguardError) as info:
        load_graph(write(tmp_path, t))
    assert info.value.where == "parameters.p.defaultValue"
    assert info.value.message.startswith("default value: ")


def test_wrong_type_is_an_error(tmp_path):
    t = template_with({"p": {"type": "int"}}, name="x")
    with pytest.raises(ArmguardError, match="parameter 'p' expects an int, got a string"):
        load_graph(write(tmp_path, t), {"p": "3"})


def test_undeclared_parameters_are_a_warning_or_strict_error(tmp_path):
    path = write(tmp_path, template_with({"p": {"type": "string", "defaultValue": "x"}}))
    graph = load_graph(path, {"other": 1})
    assert [e.severity for e in graph.errors] == ["warning"]
    assert "not declared by the template: other" in graph.errors[0].message
    with pytest.raises(ArmguardError, match="not declared"):
        load_graph(path, {"other": 1}, strict=True)


@pytest.mark.parametrize(("value", "decl", "problem"), [
    (["a", "c"], {"type": "array", "allowedValues": ["a", "b"]}, 'value "c" is not one of'),
    (["a"], {"type": "array", "allowedValues": ["a", "b"]}, None),
    (5, {"type": "int", "minValue": 6}, "below minValue 6"),
    (5, {"type": "int", "maxValue": 4}, "above maxValue 4"),
    ("abc", {"type": "string", "maxLength": 2}, "above maxLength 2"),
    (True, {"type": "int"}, "expects an int, got a bool"),
    ({"a": 1}, {"type": "secureObject"}, None),
    ("x", {"type": "securestring"}, None),
    (Unknown("u"), {"type": "int", "allowedValues": [1]}, None),
    ("Basic", {"$ref": "#/definitions/tier"}, None),
    ("Gold", {"$ref": "#/definitions/tier"}, "not one of the allowed values"),
])
def test_check_value(value, decl, problem):
    definitions = {"tier": {"type": "string", "allowedValues": ["Basic", "Standard"]}}
    found = check_value("p", value, decl, definitions)
    if problem is None:
        assert found is None
    else:
        assert problem in found


def test_symbolic_template_parameter_types_come_from_definitions():
    graph = load_graph(str(FIXTURES / "symbolic.json"), {"tier": "Standard"})
    assert graph.parameters["tier"] == "Standard"
    with pytest.raises(ArmguardError, match="not one of the allowed values"):
        load_graph(str(FIXTURES / "symbolic.json"), {"tier": "Gold"})
