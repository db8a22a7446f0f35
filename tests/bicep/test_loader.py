"""load_graph / load_params: loops and their counts, conditions, node fields, parameter files
(.bicepparam with extends, ARM parameters JSON, dicts) and robustness of the I/O edge."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from armguard.bicep import load_graph, load_params
from armguard.errors import ArmguardError
from armguard.model import DeploymentGraph
from armguard.values import Unknown

SNIPPETS = Path(__file__).resolve().parent / "fixtures" / "snippets"
LOOPS = SNIPPETS / "loops"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def load_text(tmp_path: Path, text: str, params=None) -> DeploymentGraph:
    return load_graph(write(tmp_path, "main.bicep", text), params)


@pytest.fixture(scope="module")
def loops() -> DeploymentGraph:
    g = load_graph(LOOPS / "main.bicep")
    assert g.errors == []
    return g


@pytest.fixture(scope="module")
def loops_with_bicepparam() -> DeploymentGraph:
    g = load_graph(LOOPS / "main.bicepparam")
    assert g.errors == []
    return g


# ------------------------------------------------------------------- graph

def test_graph_basics(loops):
    assert loops.language == "bicep" and loops.target_scope == "resourceGroup"
    assert loops.path == str(LOOPS / "main.bicep")
    assert [n.symbol for n in loops.nodes] == [
        "literal", "fromRange", "fromParamDefault", "fromParamFile", "fromVar", "filtered", "conditional", "mods"]


def test_node_fields(loops):
    n = loops.node("literal")
    assert (n.kind, n.type, n.api_version) == ("resource", "Microsoft.Storage/storageAccounts", "2023-01-01")
    assert n.path == str(LOOPS / "main.bicep")
    assert (n.line, n.column) == (14, 1)  # the `resource` keyword
    assert not n.existing and n.parent is None and n.dependencies == []
    assert loops.node("nothing") is None


def test_graph_parameters(loops):
    assert loops.parameters["count"] == 2 and loops.parameters["prefix"] == "st"
    assert isinstance(loops.parameters["regions"], Unknown)
    assert loops.parameters["regions"].deps == {"param:regions"}


# -------------------------------------------------------------------- loops

def test_loop_over_literal_array(loops):
    loop = loops.node("literal").loop
    assert (loop.count, loop.item, loop.index, loop.items) == (4, "name", None, ["a", "b", "c", "d"])
    assert (loop.mode, loop.batch_size, loop.effective_batch_size, loop.filtered) == ("parallel", None, None, False)


def test_loop_over_range_with_batch_size(loops):
    loop = loops.node("fromRange").loop
    assert loop.count == 3 and loop.items == [0, 1, 2]
    assert (loop.mode, loop.batch_size, loop.effective_batch_size) == ("serial", 1, 1)


def test_loop_count_from_param_default_and_namespaced_batch_size(loops):
    loop = loops.node("fromParamDefault").loop
    assert (loop.count, loop.item, loop.index) == (2, "n", "i")
    assert (loop.mode, loop.batch_size) == ("serial", 2)


def test_loop_over_param_without_value_has_unknown_count(loops):
    loop = loops.node("fromParamFile").loop
    assert loop.count is None and loop.items is None
    name = loops.node("fromParamFile").name
    assert isinstance(name, Unknown) and name.depends_on("loop:fromParamFile")


def test_loop_count_from_variable(loops):
    assert loops.node("fromVar").loop.count == 4


def test_filtered_loop_count(loops):
    n = loops.node("filtered")
    assert n.loop.filtered and n.loop.count == 2
    assert n.conditional


def test_filtered_loop_instance_names_are_the_kept_items(loops):
    n = loops.node("filtered")
    names = [i.name for i in loops.instances() if i.node is n]
    assert names == ["alpha", "gamma"]


def test_module_loop(loops):
    n = loops.node("mods")
    assert n.kind == "module" and n.loop.count == 3
    assert n.instance_names == ["deploy-alpha", "deploy-beta", "deploy-gamma"]
    assert n.deploys() == ["Microsoft.Storage/storageAccounts"]


def test_instance_names_of_known_loop(loops):
    assert loops.node("fromRange").instance_names == ["st0", "st1", "st2"]


def test_instances_expand_known_loops(loops):
    by_symbol: dict[str, list] = {}
    for inst in loops.instances():
        by_symbol.setdefault(inst.node.symbol, []).append(inst)
    assert [(i.index, i.name) for i in by_symbol["fromRange"]] == [(0, "st0"), (1, "st1"), (2, "st2")]
    (unknown,) = by_symbol["fromParamFile"]
    assert unknown.index is None and isinstance(unknown.name, Unknown)
    assert unknown.name.deps == {"loop:fromParamFile"}
    (cond,) = by_symbol["conditional"]
    assert (cond.index, cond.name) == (None, "cond")


def test_loop_name_uses_loop_dep(loops):
    name = loops.node("fromRange").name
    assert isinstance(name, Unknown) and name.deps == {"loop:fromRange"}


def test_loop_with_unknown_filter_has_unknown_count(tmp_path):
    g = load_text(tmp_path, "param skip string\nresource r 'A.B/c@1' = [for x in ['a', 'b']: if (x != skip) {\n"
                            "  name: x\n}]\n")
    assert g.node("r").loop.count is None and g.node("r").loop.filtered


def test_loop_over_object_items(tmp_path):
    g = load_text(tmp_path, "var m = {\n  a: 1\n  b: 2\n}\nresource r 'A.B/c@1' = [for kv in items(m): {\n"
                            "  name: kv.key\n}]\n")
    assert g.node("r").loop.count == 2 and g.node("r").instance_names == ["a", "b"]


def test_loop_over_nested_for_expression(tmp_path):
    g = load_text(tmp_path, "var xs = [for i in range(0, 5): if (i % 2 == 0) 'x${i}']\n"
                            "resource r 'A.B/c@1' = [for x in xs: {\n  name: x\n}]\n")
    assert g.node("r").loop.count == 3 and g.node("r").instance_names == ["x0", "x2", "x4"]


def test_batch_size_from_param(tmp_path):
    g = load_text(tmp_path, "param b int = 3\n@batchSize(b)\nresource r 'A.B/c@1' = [for i in range(0, 9): {\n"
                            "  name: 'r${i}'\n}]\n")
    assert (g.node("r").loop.mode, g.node("r").loop.batch_size) == ("serial", 3)


def test_nested_child_loop(tmp_path):
    g = load_text(tmp_path, "resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {\n  name: 'v'\n"
                            "  @batchSize(1)\n  resource subnets 'subnets' = [for i in range(0, 2): {\n"
                            "    name: 's${i}'\n  }]\n}\n")
    n = g.node("vnet::subnets")
    assert n.type == "Microsoft.Network/virtualNetworks/subnets" and n.api_version == "2024-05-01"
    assert (n.loop.count, n.loop.batch_size, n.parent) == (2, 1, "vnet")


# --------------------------------------------------------------- conditions

def test_condition_known_true_is_still_conditional(loops):
    """`conditional` means the declaration has an `if`, even when its value is known."""
    n = loops.node("conditional")
    assert n.condition is True and n.conditional


def test_condition_known_false_is_conditional(tmp_path):
    g = load_text(tmp_path, "resource r 'A.B/c@1' = if (1 > 2) {\n  name: 'r'\n}\n")
    assert g.node("r").condition is False and g.node("r").conditional


def test_unknown_condition(tmp_path):
    g = load_text(tmp_path, "param deploy bool\nresource r 'A.B/c@1' = if (deploy) {\n  name: 'r'\n}\n")
    n = g.node("r")
    assert n.conditional and isinstance(n.condition, Unknown) and n.condition.deps == {"param:deploy"}


def test_unconditional_resource(tmp_path):
    g = load_text(tmp_path, "resource r 'A.B/c@1' = {\n  name: 'r'\n}\n")
    assert g.node("r").condition is None and not g.node("r").conditional


def test_nested_child_inherits_the_parent_condition(tmp_path):
    """The compiler gives a nested child its parent's condition, and-ed with its own
    (NestedResources sample: conditionParent::conditionChild)."""
    g = load_text(tmp_path, """param createParent bool
param createChild bool
resource p 'My.Rp/parentType@2020-12-01' = if (createParent) {
  name: 'p'
  resource plain 'childType' = {
    name: 'c'
  }
  resource own 'childType' = if (createChild) {
    name: 'c2'
  }
}
""")
    plain = g.node("p::plain")
    assert plain.conditional
    assert isinstance(plain.condition, Unknown) and plain.condition.depends_on("param:createParent")
    own = g.node("p::own")
    assert isinstance(own.condition, Unknown)
    assert own.condition.depends_on("param:createParent") and own.condition.depends_on("param:createChild")


def test_nested_child_of_a_never_deployed_parent_is_never_deployed(tmp_path):
    g = load_text(tmp_path, "resource q 'My.Rp/parentType@2020-12-01' = if (false) {\n  name: 'q'\n"
                            "  resource c 'childType' = {\n    name: 'c'\n  }\n}\n")
    assert g.node("q::c").condition is False and g.node("q::c").conditional


# -------------------------------------------------------- names and values

def test_resource_name_values(tmp_path):
    g = load_text(tmp_path, """param p string
param loc string = 'we'
resource known 'A.B/c@1' = {
  name: 'n-${loc}'
}
resource fromParam 'A.B/c@1' = {
  name: '${p}-x'
}
resource fromRes 'A.B/c@1' = {
  name: '${known.properties.x}'
}
resource fromName 'A.B/c@1' = {
  name: known.name
}
resource runtime 'A.B/c@1' = {
  name: '${resourceGroup().name}-r'
}
""")
    assert g.node("known").name == "n-we"
    assert g.node("fromParam").name.deps == {"param:p"}
    assert g.node("fromRes").name.deps == {"resource:known"}
    assert g.node("fromName").name == "n-we"
    assert g.node("runtime").name.depends_on("runtime:")


def test_properties_are_evaluated_without_name_and_dependson(tmp_path):
    g = load_text(tmp_path, "resource a 'A.B/c@1' = {\n  name: 'a'\n}\nresource r 'A.B/c@1' = {\n  name: 'r'\n"
                            "  location: 'we'\n  properties: {\n    x: [1, 2]\n  }\n  dependsOn: [\n    a\n  ]\n}\n")
    assert g.node("r").properties == {"location": "we", "properties": {"x": [1, 2]}}


def test_existing_parent_and_scope_fields(tmp_path):
    g = load_text(tmp_path, """resource kv 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: 'kv'
}
resource s 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: kv
  name: 's'
}
resource lock 'Microsoft.Authorization/locks@2020-05-01' = {
  name: 'l'
  scope: kv
}
""")
    assert g.node("kv").existing and not g.node("s").existing
    assert g.node("s").parent == "kv"
    assert isinstance(g.node("lock").scope, Unknown) and g.node("lock").scope.deps == {"resource:kv"}


def test_target_scope(tmp_path):
    g = load_text(tmp_path, "targetScope = 'subscription'\nresource rg 'Microsoft.Resources/resourceGroups@2022-09-01' = {\n"
                            "  name: 'rg'\n  location: 'we'\n}\n")
    assert g.target_scope == "subscription"


def test_span_of_a_node_starts_at_its_keyword(tmp_path):
    g = load_text(tmp_path, "// c\n@description('x')\nresource r 'A.B/c@1' = {\n  name: 'r'\n}\n")
    span = g.node("r").span
    assert (span.line, span.column, span.end_line, span.end_column) == (3, 1, 5, 2)


def test_span_of_a_nested_node(tmp_path):
    g = load_text(tmp_path, "resource p 'A.B/c@1' = {\n  name: 'p'\n  @batchSize(1)\n  resource k 'd' = {\n"
                            "    name: 'k'\n  }\n}\n")
    span = g.node("p::k").span
    assert (span.line, span.column, span.end_line, span.end_column) == (4, 3, 6, 4)


def test_parse_cache_notices_a_rewritten_file_with_the_same_size_and_mtime(tmp_path):
    """Files are parsed once per process while unchanged. A file rewritten with the same size and
    the same modification time (coarse file-system clocks, `cp -p`, tar/rsync restores) is changed
    all the same and must not be served from the cache."""
    import os

    p = write(tmp_path, "main.bicep", "resource r 'A.B/c@1' = {\n  name: 'aaaa'\n}\n")
    assert load_graph(p).node("r").name == "aaaa"
    stat = p.stat()
    p.write_text("resource r 'A.B/c@1' = {\n  name: 'bbbb'\n}\n", encoding="utf-8")
    os.utime(p, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert load_graph(p).node("r").name == "bbbb"


def test_interpolating_a_resource_symbol_does_not_crash(tmp_path):
    """`'${a}'` interpolates a resource object; the loader must not raise an internal error."""
    g = load_text(tmp_path, "resource a 'A.B/c@1' = {\n  name: 'a'\n}\nresource b 'A.B/c@1' = {\n  name: '${a}'\n}\n")
    assert g.node("b") is not None


def test_interpolating_a_lambda_variable_does_not_crash(tmp_path):
    g = load_text(tmp_path, "var l = x => x\nresource b 'A.B/c@1' = {\n  name: 'b-${l}'\n}\n")
    assert g.node("b") is not None


def test_load_functions_read_relative_files(tmp_path):
    write(tmp_path, "names.json", json.dumps({"names": ["x", "y"]}))
    write(tmp_path, "name.txt", "from-file")
    g = load_text(tmp_path, "var cfg = loadJsonContent('names.json')\nvar n = loadTextContent('name.txt')\n"
                            "resource r 'A.B/c@1' = [for x in cfg.names: {\n  name: '${n}-${x}'\n}]\n")
    assert g.node("r").loop.count == 2
    assert g.node("r").instance_names == ["from-file-x", "from-file-y"]


def test_load_function_on_missing_file_is_unknown(tmp_path):
    g = load_text(tmp_path, "resource r 'A.B/c@1' = {\n  name: loadTextContent('missing.txt')\n}\n")
    assert isinstance(g.node("r").name, Unknown)


def test_load_functions_do_not_read_absolute_paths(tmp_path):
    """Bicep rejects absolute paths in load*Content (BCP051); armguard must not read them either
    (think of loadTextContent('/dev/zero'))."""
    secret = write(tmp_path / "elsewhere", "secret.txt", "do-not-read")
    g = load_text(tmp_path / "proj", f"resource r 'A.B/c@1' = {{\n  name: loadTextContent('{secret.as_posix()}')\n}}\n")
    assert g.node("r").name != "do-not-read"


# -------------------------------------------------------------- params input

def test_bicepparam_values_and_extends(loops_with_bicepparam):
    g = loops_with_bicepparam
    assert g.path == str(LOOPS / "main.bicep")
    assert g.parameters["count"] == 5 and g.parameters["prefix"] == "base"
    assert g.parameters["regions"] == ["westeurope", "northeurope"]


def test_loop_counts_from_bicepparam(loops_with_bicepparam):
    g = loops_with_bicepparam
    assert g.node("fromParamDefault").loop.count == 5
    assert g.node("fromParamFile").loop.count == 2
    assert g.node("fromParamFile").instance_names == ["vnet-westeurope", "vnet-northeurope"]
    assert g.node("fromRange").instance_names == ["base0", "base1", "base2"]


def test_template_with_bicepparam_as_params_argument():
    g = load_graph(LOOPS / "main.bicep", LOOPS / "main.bicepparam")
    assert g.node("fromParamFile").loop.count == 2


def test_template_with_arm_parameters_json():
    g = load_graph(LOOPS / "main.bicep", LOOPS / "main.parameters.json")
    assert g.parameters["count"] == 4 and g.parameters["enabled"] is False
    assert isinstance(g.parameters["prefix"], Unknown)  # a Key Vault reference
    assert g.node("fromParamFile").loop.count == 1
    assert g.node("conditional").condition is False


def test_template_with_params_dict():
    g = load_graph(LOOPS / "main.bicep", {"count": 1, "regions": []})
    assert g.node("fromParamDefault").loop.count == 1
    assert g.node("fromParamFile").loop.count == 0


def test_load_params_returns_values_and_template():
    values, template = load_params(LOOPS / "main.bicepparam")
    assert values == {"prefix": "base", "count": 5, "regions": ["westeurope", "northeurope"]}
    assert template == LOOPS / "main.bicep"


def test_load_params_using_none():
    values, template = load_params(LOOPS / "base.bicepparam")
    assert values == {"prefix": "base"} and template is None


def test_bicepparam_using_none_cannot_be_inspected():
    with pytest.raises(ArmguardError, match="using"):
        load_graph(LOOPS / "base.bicepparam")


def test_bicepparam_with_syntax_error(tmp_path):
    p = write(tmp_path, "bad.bicepparam", "using 'main.bicep'\nparam x = \n")
    with pytest.raises(ArmguardError) as info:
        load_params(p)
    assert info.value.line == 2


def test_bicepparam_value_from_environment_is_unknown(tmp_path):
    write(tmp_path, "main.bicep", "param n int\nresource r 'A.B/c@1' = [for i in range(0, n): {\n  name: 'r${i}'\n}]\n")
    p = write(tmp_path, "main.bicepparam", "using 'main.bicep'\nparam n = int(readEnvironmentVariable('N', '2'))\n")
    g = load_graph(p)
    assert g.node("r").loop.count is None


def test_params_json_without_parameters_object(tmp_path):
    write(tmp_path, "main.bicep", "param n int\n")
    bad = write(tmp_path, "p.json", "{\"x\": 1}")
    with pytest.raises(ArmguardError, match="parameters"):
        load_graph(tmp_path / "main.bicep", bad)


def test_params_json_that_is_not_json(tmp_path):
    write(tmp_path, "main.bicep", "param n int\n")
    bad = write(tmp_path, "p.json", "{ not json")
    with pytest.raises(ArmguardError, match="invalid JSON"):
        load_graph(tmp_path / "main.bicep", bad)


def test_bicepparam_extends_cycle_is_a_clear_error(tmp_path):
    write(tmp_path, "main.bicep", "param n int\n")
    write(tmp_path, "a.bicepparam", "using 'main.bicep'\nextends 'b.bicepparam'\nparam n = 1\n")
    write(tmp_path, "b.bicepparam", "using none\nextends 'a.bicepparam'\n")
    with pytest.raises(ArmguardError) as info:
        load_graph(tmp_path / "a.bicepparam")
    message = info.value.message.lower()
    assert "cycle" in message or "extends" in message, message


def test_bicepparam_extending_itself_is_a_clear_error(tmp_path):
    write(tmp_path, "main.bicep", "param n int\n")
    write(tmp_path, "self.bicepparam", "using none\nextends 'self.bicepparam'\n")
    with pytest.raises(ArmguardError):
        load_graph(tmp_path / "main.bicep", tmp_path / "self.bicepparam")


def test_bicepparam_using_an_arm_json_template(tmp_path):
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"n": {"type": "int"}},
        "resources": [{"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01",
                       "name": "[format('st{0}', copyIndex())]", "copy": {"name": "st", "count": "[parameters('n')]"}}],
    }
    write(tmp_path, "main.json", json.dumps(template))
    p = write(tmp_path, "main.bicepparam", "using 'main.json'\nparam n = 2\n")
    g = load_graph(p)
    assert g.errors == [], [str(e) for e in g.errors]
    assert [n.type for n in g.nodes] == ["Microsoft.Storage/storageAccounts"]


def test_missing_template_file():
    with pytest.raises(ArmguardError, match="file not found"):
        load_graph(LOOPS / "does-not-exist.bicep")


def test_fixture_copy_loads_the_same(tmp_path):
    shutil.copytree(LOOPS, tmp_path / "copy")
    g = load_graph(tmp_path / "copy" / "main.bicepparam")
    assert g.node("fromParamDefault").loop.count == 5


def test_bicepparam_extension_is_case_insensitive(tmp_path):
    """The CLI accepts `.BICEPPARAM` (it lower-cases the suffix); the loader must then treat the file
    as a parameters file too, not as an empty template."""
    shutil.copy(LOOPS / "main.bicep", tmp_path / "main.bicep")
    shutil.copy(LOOPS / "child.bicep", tmp_path / "child.bicep")
    shutil.copy(LOOPS / "base.bicepparam", tmp_path / "base.bicepparam")
    shutil.copy(LOOPS / "main.bicepparam", tmp_path / "MAIN.BICEPPARAM")
    g = load_graph(tmp_path / "MAIN.BICEPPARAM")
    assert g.node("fromParamFile") is not None and g.node("fromParamFile").loop.count == 2


def test_bicepparam_path_with_extra_params_overrides(tmp_path):
    g = load_graph(LOOPS / "main.bicepparam", {"count": 1})
    assert g.node("fromParamDefault").loop.count == 1
    assert g.node("fromParamFile").loop.count == 2


# ------------------------------------------------------------ deferred fields

DEFERRED = """param names array = ['a', 'b']
param unused object = {k: 'v'}
resource r 'Microsoft.Network/virtualNetworks/subnets@2024-01-01' = [for n in names: if (n != 'x') {
  name: 'vnet/${n}'
}]
"""


def test_node_fields_that_take_evaluating_are_computed_on_first_read(tmp_path, monkeypatch):
    from armguard.bicep.evaluate import Evaluator

    calls = []
    real_eval = Evaluator.eval
    monkeypatch.setattr(Evaluator, "eval", lambda self, e, env: calls.append(e) or real_eval(self, e, env))
    graph = load_text(tmp_path, DEFERRED)
    (node,) = graph.nodes
    before = len(calls)  # the loop's items, evaluated for its count
    assert node.loop is not None and node.loop.count == 2
    assert node.name_segments == ["vnet", Unknown("${n}", {"loop:r"})]
    assert node.instance_names == ["vnet/a", "vnet/b"]
    assert node.instance_segments == [["vnet", "a"], ["vnet", "b"]]
    assert node.condition == Unknown("n != 'x'", {"loop:r"})
    assert node.span is not None and node.span.line == 3
    assert len(calls) > before
    reads = len(calls)
    assert node.instance_names == ["vnet/a", "vnet/b"]  # a second read evaluates nothing
    assert len(calls) == reads


def test_a_deferred_field_set_before_it_is_read_keeps_the_value_set(tmp_path):
    (node,) = load_text(tmp_path, DEFERRED).nodes
    node.name_segments = ["mine"]
    assert node.name_segments == ["mine"]
    with pytest.raises(AttributeError, match="no attribute 'nmae_segments'"):
        _ = node.nmae_segments


def test_graph_parameters_are_evaluated_on_first_read(tmp_path):
    graph = load_text(tmp_path, DEFERRED)
    assert "parameters" in graph._deferred
    assert graph.parameters == {"names": ["a", "b"], "unused": {"k": "v"}}
    assert "parameters" not in graph._deferred
