"""Loading and validating deploymentTemplate files (armguard.arm.template)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from armguard.arm.loader import load_graph, load_template_file
from armguard.arm.template import JsonLocator, format_path, schema_scope
from armguard.errors import ArmguardError

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def write(tmp_path: Path, data: object, name: str = "t.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2), encoding="utf-8")
    return str(path)


def template(*resources: dict, **extra: object) -> dict:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", **extra, "resources": list(resources)}


def resource(name: str = "a", rtype: str = "Microsoft.Network/networkSecurityGroups", **extra: object) -> dict:
    return {"type": rtype, "apiVersion": "2023-04-01", "name": name, **extra}


def error_of(path: str, **kwargs: object) -> ArmguardError:
    with pytest.raises(ArmguardError) as info:
        load_graph(path, **kwargs)
    return info.value


# -- shapes ------------------------------------------------------------------------------------


def test_classic_template_lists_nested_children_with_full_types():
    t = load_template_file(FIXTURES / "classic.json")
    assert not t.symbolic
    assert t.target_scope == "resourceGroup"
    types = [r.type for r in t.resources]
    assert types[:2] == ["Microsoft.Network/virtualNetworks", "Microsoft.Network/virtualNetworks/subnets"]
    assert t.resources[1].parent is t.resources[0]
    assert t.resources[1].path == ("resources", 0, "resources", 0)


def test_symbolic_template_keys_resources_by_name():
    t = load_template_file(FIXTURES / "symbolic.json")
    assert t.symbolic
    assert [r.symbol for r in t.resources] == ["vault", "vault::secret", "zone", "links", "records", "lock"]
    assert t.resources[0].path == ("resources", "vault")


@pytest.mark.parametrize(("schema", "scope"), [
    ("https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "resourceGroup"),
    ("https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#", "subscription"),
    ("https://schema.management.azure.com/schemas/2019-08-01/managementGroupDeploymentTemplate.json#",
     "managementGroup"),
    ("https://schema.management.azure.com/schemas/2019-08-01/tenantDeploymentTemplate.json#", "tenant"),
    ("https://example.com/other.json", None),
])
def test_schema_names_the_deployment_scope(schema, scope):
    assert schema_scope(schema) == scope


@pytest.mark.parametrize(("fixture", "scope"), [
    ("classic.json", "resourceGroup"), ("subscription.json", "subscription"),
    ("management_group.json", "managementGroup"), ("tenant.json", "tenant"),
])
def test_graph_target_scope_comes_from_schema(fixture, scope):
    assert load_graph(str(FIXTURES / fixture)).target_scope == scope


def test_comments_are_allowed_as_in_resource_manager(tmp_path):
    text = json.dumps(template(resource("nsg1")), indent=2)
    text = text.replace('"resources"', '// the resources\n  /* block\n comment */ "resources"', 1)
    graph = load_graph(write(tmp_path, text))
    assert graph.nodes[0].name == "nsg1"
    assert graph.nodes[0].line == text.splitlines().index("    {") + 1


def test_resource_spans_point_at_the_resource_object():
    text = (FIXTURES / "classic.json").read_text().splitlines()
    graph = load_graph(str(FIXTURES / "classic.json"))
    for node in graph.nodes:
        line = text[node.line - 1]
        assert line[node.column - 1] == "{"
        following = "\n".join(text[node.line - 1: node.line + 8])
        assert '"type"' in following or '"condition"' in following


def test_spans_count_bytes_for_non_ascii_text(tmp_path):
    t = template(resource("ünïcode"), resource("b"))
    path = write(tmp_path, json.dumps(t, indent=2, ensure_ascii=False))
    graph = load_graph(path)
    data = Path(path).read_bytes()
    second = graph.nodes[1].span
    assert data[second.start_byte:second.start_byte + 1] == b"{"
    assert data[second.end_byte - 1:second.end_byte] == b"}"


def test_json_locator_finds_nested_paths_and_nearest_ancestor():
    text = '{"a": [1, {"b": "x"}], "c": {"d": null}}'
    loc = JsonLocator(text)
    start, end = loc.offsets(("a", 1, "b"))
    assert text[start:end] == '"x"'
    assert loc.offsets(("a", 5)) is None
    start, end = loc.nearest(("c", "missing"))
    assert text[start:end] == '{"d": null}'


def test_format_path_reads_like_javascript():
    assert format_path(("resources", 3, "copy", "count")) == "resources[3].copy.count"
    assert format_path(("resources", "kv::key", "name")) == "resources['kv::key'].name"


# -- bad input ---------------------------------------------------------------------------------


def test_invalid_json_names_line_and_column(tmp_path):
    path = write(tmp_path, '{\n  "$schema": "x",\n  "resources": [,]\n}')
    err = error_of(path)
    assert (err.line, err.column) == (3, 17)
    assert str(err).startswith(f"{path}:3:17: error: invalid JSON")


def test_a_file_without_schema_or_resources_is_not_a_template(tmp_path):
    err = error_of(write(tmp_path, {"name": "x"}))
    assert "not an ARM template" in err.message


def test_a_json_array_is_not_a_template(tmp_path):
    assert "expected a JSON object" in error_of(write(tmp_path, [1, 2])).message


def test_other_schema_without_resources_is_rejected(tmp_path):
    err = error_of(write(tmp_path, {"$schema": "https://json.schemastore.org/package.json"}))
    assert "not an ARM deployment template" in err.message


def test_a_parameters_file_is_not_a_template():
    err = error_of(str(FIXTURES / "classic.parameters.json"))
    assert "deploymentParameters file, not a template" in err.message


def test_resources_object_needs_language_version_2(tmp_path):
    t = {"$schema": SCHEMA, "resources": {"a": resource()}}
    err = error_of(write(tmp_path, t))
    assert "languageVersion 2.0" in err.message
    assert err.where == "resources"


def test_resource_without_type_names_its_path(tmp_path):
    bad = resource("b")
    del bad["type"]
    err = error_of(write(tmp_path, template(resource(), bad)))
    assert err.message == "resource has no 'type'"
    assert err.where == "resources[1]"


def test_copy_count_of_wrong_json_type_names_its_path(tmp_path):
    t = template(resource(), resource(), resource(), resource(copy={"name": "l", "count": True}))
    err = error_of(write(tmp_path, t))
    assert err.where == "resources[3].copy.count"
    assert "copy 'count' must be an int or an expression" in err.message
    assert err.line is not None


def test_copy_mode_must_be_parallel_or_serial(tmp_path):
    err = error_of(write(tmp_path, template(resource(copy={"name": "l", "count": 2, "mode": "fast"}))))
    assert err.where == "resources[0].copy.mode"


def test_depends_on_must_be_an_array_of_strings(tmp_path):
    err = error_of(write(tmp_path, template(resource(dependsOn=["x", 3]))))
    assert err.where == "resources[0].dependsOn[1]"


def test_unknown_function_is_an_error_even_where_not_deployed(tmp_path):
    r = resource(condition=False, properties={"x": {"y": "[frobnicate('a')]"}})
    err = error_of(write(tmp_path, template(resource(), r)))
    assert err.message == "unknown function 'frobnicate'"
    assert err.where == "resources[1].properties.x.y"
    assert str(err).count("\n") == 0


def test_malformed_expression_is_an_error(tmp_path):
    err = error_of(write(tmp_path, template(resource(name="[concat('a', ]"))))
    assert err.message.startswith("invalid expression")
    assert err.where == "resources[0].name"


def test_escaped_brackets_are_literals(tmp_path):
    graph = load_graph(write(tmp_path, template(resource(name="[[not-an-expression]"))))
    assert graph.nodes[0].name == "[not-an-expression]"


def test_missing_file_is_a_one_line_error(tmp_path):
    err = error_of(str(tmp_path / "nope.json"))
    assert "file not found" in str(err)


# -- robustness --------------------------------------------------------------------------------

_ODD_VALUES = [None, True, 0, -1, 801, "", "[", "[]", "[concat(]", "[parameters('nope')]", "[copyIndex()]",
               "[length(1)]", [], {}, [1], {"a": 1}, "[resourceId('a')]", "[if(true(), 1)]", "[[x]",
               "[format('{0}', copyIndex('nope'))]", "Microsoft.Network/x"]


def _paths(value: object, path: tuple = ()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


def test_mangled_templates_give_one_line_errors_never_crashes(tmp_path):
    import random

    rng = random.Random(7)
    sources = ["classic.json", "symbolic.json", "nested.json", "subscription.json", "tenant.json"]
    (tmp_path / "linked").mkdir()
    for name in ("linked/child.json", "management_group.json"):
        (tmp_path / name).write_text((FIXTURES / name).read_text())
    for _ in range(150):
        data = json.loads((FIXTURES / rng.choice(sources)).read_text())
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(list(_paths(data))[1:])
            parent = data
            for key in path[:-1]:
                parent = parent[key]
            if rng.random() < 0.3:
                del parent[path[-1]]
            else:
                parent[path[-1]] = rng.choice(_ODD_VALUES)
        target = write(tmp_path, data, "m.json")
        for strict in (False, True):
            try:
                load_graph(target, strict=strict)
            except ArmguardError as e:
                assert "\n" not in str(e)
