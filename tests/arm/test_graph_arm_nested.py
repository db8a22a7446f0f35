"""Nested and linked deployments become module nodes with their own graphs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from armguard.arm import load_graph
from armguard.errors import ArmguardError
from armguard.values import Unknown

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def write(tmp_path: Path, data: object, name: str = "t.json") -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return str(path)


def deployment(name: str, properties: dict, **extra: object) -> dict:
    return {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": name,
            "properties": {"mode": "Incremental", **properties}, **extra}


def template(*resources: dict, **extra: object) -> dict:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", **extra, "resources": list(resources)}


@pytest.fixture(scope="module")
def nested():
    return load_graph(str(FIXTURES / "nested.json"))


def test_inner_scope_sees_the_parameters_it_is_given(nested):
    module = nested.node("innerScoped")
    assert module.kind == "module" and module.type == "Microsoft.Resources/deployments"
    assert module.module.parameters == {"name": "outer-name-passed"}
    [ip] = module.module.nodes
    assert ip.name == "outer-name-passed-from-inner"
    assert ip.deployment == "innerScoped"
    assert "template" not in module.properties


def test_outer_scope_sees_the_enclosing_template(nested):
    [ip] = nested.node("outerScoped").module.nodes
    assert ip.name == "outer-name-from-outer"
    assert ip.deployment == "outerScoped"


def test_nested_resources_have_positions_in_the_same_file(nested):
    text = (FIXTURES / "nested.json").read_text().splitlines()
    [ip] = nested.node("innerScoped").module.nodes
    assert ip.path == str(FIXTURES / "nested.json")
    assert '"type": "Microsoft.Network/publicIPAddresses"' in text[ip.line]


def test_relative_template_link_is_loaded_relative_to_the_file(nested):
    module = nested.node("linkedLoop")
    assert module.module_ref == "linked/child.json"
    assert module.loop.count == 2 and module.instance_names == ["linked-0", "linked-1"]
    assert module.scope == {"resourceGroup": "other-rg"}
    [rt] = module.module.nodes
    assert rt.path == str(FIXTURES / "linked" / "child.json")
    assert rt.line == 9
    assert rt.properties == {"group": "other-rg"}  # resourceGroup() is the target group
    assert isinstance(module.module.parameters["index"], Unknown)  # copyIndex() of the module loop
    assert module.module.parameters["label"] == "fixed"
    assert module.deploys() == ["Microsoft.Network/routeTables"]


def test_uri_links_and_template_specs_stay_unresolved(nested):
    uri, spec = nested.node("fromUri"), nested.node("fromSpec")
    assert uri.module is None and uri.module_ref == "https://example.com/templates/app.json"
    assert uri.unresolved == "linked template at a URI is not fetched: https://example.com/templates/app.json"
    assert spec.module is None and spec.unresolved.startswith("template spec is not fetched")


def test_deploys_lists_types_recursively(nested):
    assert nested.node("innerScoped").deploys() == ["Microsoft.Network/publicIPAddresses"]


def test_subscription_deployment_into_a_resource_group():
    graph = load_graph(str(FIXTURES / "subscription.json"))
    app = graph.node("app")
    assert graph.target_scope == "subscription"
    assert app.scope == {"resourceGroup": "rg-app"}
    assert app.depends_on() == ["rgName"]
    assert app.module.target_scope == "resourceGroup"
    [identity] = app.module.nodes
    assert identity.name == "rg-app-id"
    assert identity.properties == {"rg": "rg-app"}


def test_tenant_deployment_into_a_management_group():
    graph = load_graph(str(FIXTURES / "tenant.json"))
    module = graph.node("mg_policies")
    assert module.scope == {"scope": "Microsoft.Management/managementGroups/platform", "location": "westeurope"}
    assert module.module.target_scope == "managementGroup"
    assignment = module.module.node("policyName_2")
    assert assignment.properties["policyDefinitionId"].startswith(
        "/providers/Microsoft.Management/managementGroups/platform/")
    assert assignment.depends_on() == ["policyName"]


def test_template_computed_by_an_expression_runs_as_its_own_deployment(tmp_path):
    inner = template({"type": "Microsoft.Network/routeTables", "apiVersion": "2023-04-01",
                      "name": "[[parameters('n')]"}, parameters={"n": {"type": "string"}})
    t = template(deployment("computed", {"expressionEvaluationOptions": {"scope": "outer"},
                                         "template": "[variables('tpl')]",
                                         "parameters": {"n": {"value": "rt1"}}}),
                 variables={"tpl": inner})
    [rt] = load_graph(write(tmp_path, t)).node("computed").module.nodes
    assert rt.name == "rt1"


def test_looped_module_parameters_are_unknown_per_iteration(tmp_path):
    inner = template({"type": "Microsoft.Network/routeTables", "apiVersion": "2023-04-01",
                      "name": "[parameters('n')]"}, parameters={"n": {"type": "string"}})
    t = template(deployment("[format('d{0}', copyIndex())]", {
        "expressionEvaluationOptions": {"scope": "inner"}, "template": inner,
        "parameters": {"n": {"value": "[format('rt{0}', copyIndex())]"}}},
        copy={"name": "mods", "count": 3, "mode": "serial", "batchSize": 1}))
    module = load_graph(write(tmp_path, t)).node("mods")
    assert module.instance_names == ["d0", "d1", "d2"]
    assert isinstance(module.module.nodes[0].name, Unknown)


def test_linked_templates_that_include_each_other_are_an_error(tmp_path):
    path = write(tmp_path, template(deployment("self", {"templateLink": {"relativePath": "t.json"}})))
    with pytest.raises(ArmguardError, match="include each other in a cycle"):
        load_graph(path)


def test_missing_linked_file_names_the_file(tmp_path):
    path = write(tmp_path, template(deployment("gone", {"templateLink": {"relativePath": "sub/none.json"}})))
    with pytest.raises(ArmguardError) as info:
        load_graph(path)
    assert info.value.path == str(tmp_path / "sub" / "none.json")
    assert "file not found" in info.value.message


def test_bad_nested_template_names_its_json_path(tmp_path):
    t = template(deployment("bad", {"template": {"$schema": SCHEMA, "resources": [{"name": "x"}]}}))
    with pytest.raises(ArmguardError) as info:
        load_graph(write(tmp_path, t))
    assert info.value.where == "resources[0].properties.template.resources[0]"
    assert info.value.message == "resource has no 'type'"


def test_strict_mode_needs_parameters_of_nested_templates(tmp_path):
    inner = template({"type": "Microsoft.Network/routeTables", "apiVersion": "2023-04-01",
                      "name": "[parameters('n')]"}, parameters={"n": {"type": "string"}})
    path = write(tmp_path, template(deployment("m", {"expressionEvaluationOptions": {"scope": "inner"},
                                                     "template": inner})))
    assert isinstance(load_graph(path).node("m").module.nodes[0].name, Unknown)
    with pytest.raises(ArmguardError) as info:
        load_graph(path, strict=True)
    assert info.value.where == "resources[0].properties.template.parameters.n"


def test_symbolic_module_names_belong_to_their_module(tmp_path):
    inner = {"$schema": SCHEMA, "languageVersion": "2.0", "contentVersion": "1.0.0.0",
             "resources": {"rt": {"type": "Microsoft.Network/routeTables", "apiVersion": "2023-04-01",
                                  "name": "rt"}}}
    outer = {"$schema": SCHEMA, "languageVersion": "2.0", "contentVersion": "1.0.0.0",
             "resources": {"routes": deployment("routes", {"expressionEvaluationOptions": {"scope": "inner"},
                                                           "template": inner})}}
    graph = load_graph(write(tmp_path, outer))
    assert graph.node("routes").module.node("rt").deployment == "routes"


def test_problems_in_nested_templates_are_listed_on_the_top_graph(tmp_path):
    inner = template({"type": "Microsoft.Network/routeTables", "apiVersion": "2023-04-01",
                      "name": "[split(parameters('n'), '/')[0]]"}, parameters={"n": {"type": "string"}})
    path = write(tmp_path, template(deployment("m", {"expressionEvaluationOptions": {"scope": "inner"},
                                                     "template": inner, "parameters": {"n": {"value": None}}})))
    graph = load_graph(path)
    assert [e.severity for e in graph.errors] == ["error"]
    assert graph.errors == graph.node("m").module.errors
    assert "resources[0].properties.template.resources[0].name" in graph.errors[0].message
