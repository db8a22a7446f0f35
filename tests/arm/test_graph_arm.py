"""Templates to DeploymentGraph: symbols, loops, conditions, dependencies (armguard.arm.graph)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from armguard.arm import load_graph
from armguard.errors import ArmguardError
from armguard.model import Dependency, Loop, inspect_json
from armguard.values import Unknown

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def write(tmp_path: Path, data: object, name: str = "t.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return str(path)


def template(*resources: dict, **extra: object) -> dict:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", **extra, "resources": list(resources)}


def resource(name: str = "a", rtype: str = "Microsoft.Network/networkSecurityGroups", **extra: object) -> dict:
    return {"type": rtype, "apiVersion": "2023-04-01", "name": name, **extra}


def deps(node) -> list[tuple[str, str]]:
    return [(d.target, d.origin) for d in node.dependencies]


@pytest.fixture(scope="module")
def classic():
    return load_graph(str(FIXTURES / "classic.json"))


@pytest.fixture(scope="module")
def symbolic():
    return load_graph(str(FIXTURES / "symbolic.json"))


# -- classic templates -------------------------------------------------------------------------


def test_classic_symbols_are_readable_and_stable(classic):
    assert [n.symbol for n in classic.nodes] == ["vnetName", "vnetName_extra", "storageLoop", "nsgLoop", "diag", "vm1"]
    assert classic.language == "arm"


def test_classic_nodes_carry_type_name_and_api_version(classic):
    vnet, subnet = classic.node("vnetName"), classic.node("vnetName_extra")
    assert (vnet.type, vnet.api_version, vnet.name, vnet.kind) == (
        "Microsoft.Network/virtualNetworks", "2023-04-01", "demo-vnet", "resource")
    assert (subnet.type, subnet.name) == ("Microsoft.Network/virtualNetworks/subnets", "demo-vnet/extra")
    assert subnet.parent == "vnetName"
    assert deps(subnet) == [("vnetName", "dependsOn"), ("vnetName", "parent")]


def test_property_copy_and_variable_copy_are_expanded(classic):
    subnets = classic.node("vnetName").properties["subnets"]
    assert subnets == [
        {"name": "snet-1", "properties": {"addressPrefix": "10.0.0.0/24"}},
        {"name": "snet-2", "properties": {"addressPrefix": "10.0.1.0/24"}},
    ]
    assert classic.outputs["subnets"] == ["snet-1", "snet-2"]


def test_serial_copy_loop_with_batch_size(classic):
    storage = classic.node("storageLoop")
    assert storage.loop == Loop(name="storageLoop", count=3, mode="serial", batch_size=2)
    assert storage.instance_names == ["demost1", "demost2", "demost3"]
    assert isinstance(storage.name, Unknown) and "loop:storageLoop" in storage.name.deps
    assert deps(storage) == [("vnetName", "dependsOn")]


def test_parallel_copy_loop_has_no_batch_size(classic):
    nsg = classic.node("nsgLoop")
    assert nsg.loop == Loop(name="nsgLoop", count=2, mode="parallel", batch_size=None)
    assert nsg.instance_names == ["demo-nsg-0", "demo-nsg-1"]


def test_condition_and_copy_loop_name_dependency(classic):
    diag = classic.node("diag")
    assert diag.condition is False and diag.conditional
    assert deps(diag) == [("storageLoop", "dependsOn"), ("vnetName", "scope")]
    assert diag.scope == {"scope": "Microsoft.Network/virtualNetworks/demo-vnet"}


def test_reference_creates_implicit_dependencies_but_resource_id_does_not(classic):
    assert deps(classic.node("vm1")) == [("storageLoop", "reference"), ("nsgLoop", "reference")]
    # diag's properties use resourceId() of a storage account: no dependency from that alone
    assert ("storageLoop", "reference") not in deps(classic.node("diag"))


def test_absent_condition_is_none(classic):
    assert classic.node("vm1").condition is None
    assert not classic.node("vm1").conditional


def test_parameters_file_changes_values_and_conditions():
    graph = load_graph(str(FIXTURES / "classic.json"), str(FIXTURES / "classic.parameters.json"))
    assert graph.node("vnetName").name == "prod-vnet"
    assert graph.node("storageLoop").instance_names == ["prodst1", "prodst2"]
    assert graph.node("diag").condition is True
    admin = graph.node("vm1").properties["osProfile"]["adminUsername"]
    assert isinstance(admin, Unknown) and "runtime:keyVault" in admin.deps
    assert graph.outputs["storageNames"] == ["prodst1", "prodst2"]


def test_run_time_values_are_unknown_with_reference_deps(classic):
    uri = classic.node("vm1").properties["diagnosticsProfile"]["bootDiagnostics"]["storageUri"]
    assert isinstance(uri, Unknown)
    assert any(d.startswith("reference:") for d in uri.deps)


def test_location_is_unknown_offline(classic):
    location = classic.parameters["location"]
    assert isinstance(location, Unknown)


def test_instances_expand_known_loops(classic):
    names = [i.name for i in classic.instances() if i.node.symbol in ("storageLoop", "nsgLoop")]
    assert names == ["demost1", "demost2", "demost3", "demo-nsg-0", "demo-nsg-1"]


def test_inspect_json_shape(classic):
    out = inspect_json(classic)
    storage = next(r for r in out["resources"] if r["symbol"] == "storageLoop")
    assert storage["loop"] == {"batchSize": 2, "count": 3, "mode": "serial"}
    assert storage["line"] > 0
    assert out["targetScope"] == "resourceGroup"
    assert out["errors"] == []


# -- languageVersion 2.0 -----------------------------------------------------------------------


def test_symbolic_names_existing_and_parent_chain(symbolic):
    vault, secret = symbolic.node("vault"), symbolic.node("vault::secret")
    assert vault.existing and secret.existing
    assert secret.parent == "vault"
    assert secret.name == "kv-shared/zone-secret"
    assert not symbolic.node("zone").existing


def test_symbolic_references_and_depends_on(symbolic):
    assert deps(symbolic.node("zone")) == [("vault::secret", "reference")]
    assert deps(symbolic.node("links")) == [("zone", "dependsOn"), ("zone", "parent")]
    # reference(format('links[{0}]', copyIndex())) names the loop by symbol
    assert deps(symbolic.node("records")) == [("links", "reference"), ("zone", "parent")]
    assert deps(symbolic.node("lock")) == [("zone", "scope")]


def test_symbolic_loops_and_user_functions():
    graph = load_graph(str(FIXTURES / "symbolic.json"), {"zone": {"name": "corp.local", "links": []}})
    links = graph.node("links")
    assert links.loop == Loop(name="links", count=2, mode="serial", batch_size=1, items=links.loop.items)
    assert links.loop.items is not None and len(links.loop.items) == 2
    assert links.instance_names == ["corp.local/a-x", "corp.local/b-x"]
    assert graph.node("records").instance_names == ["corp.local/rec0", "corp.local/rec1"]
    assert graph.outputs["zoneId"].endswith("/providers/Microsoft.Network/privateDnsZones/corp.local")


def test_symbolic_condition_from_definitions_default(symbolic):
    assert symbolic.node("lock").condition is False


def test_a_nullable_parameter_left_out_is_null_when_deploying_and_unknown_when_linting(symbolic):
    # Linting a module, it is whatever the callers pass (a module may dereference it unguarded, as
    # AVM's disk-encryption-set does with customerManagedKey); deploying without it, it is null.
    assert isinstance(symbolic.parameters["tags"], Unknown)
    deploying = load_graph(str(FIXTURES / "symbolic.json"), {"zone": {"name": "corp.local", "links": []}},
                           strict=True)
    assert deploying.parameters["tags"] is None


# -- loops and conditions in detail ------------------------------------------------------------


def test_copy_count_unknown_gives_none_and_no_instance_names(tmp_path):
    t = template(resource("[format('n{0}', copyIndex())]", copy={"name": "l", "count": "[parameters('n')]"}),
                 parameters={"n": {"type": "int"}})
    node = load_graph(write(tmp_path, t)).nodes[0]
    assert node.loop.count is None and node.instance_names is None
    assert [i.index for i in load_graph(write(tmp_path, t)).instances()] == [None]


def test_serial_without_batch_size_runs_one_at_a_time(tmp_path):
    node = load_graph(write(tmp_path, template(resource(copy={"name": "l", "count": 2, "mode": "Serial"})))).nodes[0]
    assert node.loop == Loop(name="l", count=2, mode="serial", batch_size=1)


def test_batch_size_of_a_parallel_loop_is_ignored(tmp_path):
    node = load_graph(write(tmp_path, template(resource(copy={"name": "l", "count": 2, "batchSize": 5})))).nodes[0]
    assert node.loop.batch_size is None


def test_copy_count_over_the_limit_is_an_error(tmp_path):
    with pytest.raises(ArmguardError) as info:
        load_graph(write(tmp_path, template(resource(copy={"name": "l", "count": "[add(800, 1)]"}))))
    assert info.value.where == "resources[0].copy.count"
    assert "between 0 and 800" in info.value.message


def test_copy_count_must_evaluate_to_an_int(tmp_path):
    with pytest.raises(ArmguardError, match="copy count must be an int, got a string"):
        load_graph(write(tmp_path, template(resource(copy={"name": "l", "count": "[string(2)]"}))))


def test_copy_index_offsets_and_loop_names(tmp_path):
    props = {"first": "[copyIndex()]", "offset": "[copyIndex(10)]", "named": "[copyIndex('l', 1)]"}
    t = template(resource("[concat('n', copyIndex('l', 100))]", copy={"name": "l", "count": 2}, properties=props))
    node = load_graph(write(tmp_path, t)).nodes[0]
    assert node.instance_names == ["n100", "n101"]
    assert all(isinstance(v, Unknown) and "loop:l" in v.deps for v in node.properties.values())


def test_conditions_true_false_and_unknown(tmp_path):
    t = template(resource("a", condition=True), resource("b", condition="[equals(1, 2)]"),
                 resource("c", condition="[parameters('on')]"), parameters={"on": {"type": "bool"}})
    a, b, c = load_graph(write(tmp_path, t)).nodes
    assert (a.condition, b.condition) == (True, False)
    assert c.condition == Unknown("parameters('on')", {"param:on"}) and c.conditional


def test_errors_in_resources_that_may_not_deploy_only_make_values_unknown(tmp_path):
    bad = {"x": "[parameters('o').missing]"}
    t = template(resource("a", condition=False, properties=bad),
                 resource("b", copy={"name": "l", "count": 0}, properties=bad),
                 parameters={"o": {"type": "object", "defaultValue": {}}})
    graph = load_graph(write(tmp_path, t), strict=True)
    assert all(isinstance(n.properties["x"], Unknown) for n in graph.nodes)
    assert graph.errors == []


# -- dependencies in detail --------------------------------------------------------------------


def test_depends_on_forms_resolve_to_symbols(tmp_path):
    t = template(
        resource("vnet1", "Microsoft.Network/virtualNetworks"),
        resource("vnet1/snet", "Microsoft.Network/virtualNetworks/subnets"),
        resource("n1", dependsOn=["vnet1"]),
        resource("n2", dependsOn=["Microsoft.Network/virtualNetworks/vnet1"]),
        resource("n3", dependsOn=["[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet1', 'snet')]"]),
        resource("n4", dependsOn=["[concat('Microsoft.Network/virtualNetworks/', 'vnet1')]"]),
    )
    graph = load_graph(write(tmp_path, t))
    assert graph.node("vnet1_snet").parent == "vnet1"
    assert [graph.node(s).depends_on() for s in ("n1", "n2", "n3", "n4")] == [
        ["vnet1"], ["vnet1"], ["vnet1_snet"], ["vnet1"]]


def test_unknown_names_match_when_written_the_same_way(tmp_path):
    t = template(
        resource("[parameters('vnet')]", "Microsoft.Network/virtualNetworks"),
        resource("[format('{0}/{1}', parameters('vnet'), 'default')]", "Microsoft.Network/virtualNetworks/subnets",
                 dependsOn=["[resourceId('Microsoft.Network/virtualNetworks', parameters('vnet'))]"]),
        resource("nic", "Microsoft.Network/networkInterfaces", properties={
            "subnet": "[reference(resourceId('Microsoft.Network/virtualNetworks/subnets', parameters('vnet'), "
                      "'default')).id]"}),
        parameters={"vnet": {"type": "string"}},
    )
    vnet, subnet, nic = load_graph(write(tmp_path, t)).nodes
    assert subnet.parent == vnet.symbol == "vnet"
    assert deps(subnet) == [("vnet", "dependsOn"), ("vnet", "parent")]
    assert deps(nic) == [(subnet.symbol, "reference")]


def test_list_functions_create_implicit_dependencies(tmp_path):
    t = template(resource("st", "Microsoft.Storage/storageAccounts"),
                 resource("app", "Microsoft.Web/sites", properties={
                     "key": "[listKeys(resourceId('Microsoft.Storage/storageAccounts', 'st'), '2023-01-01').keys[0]]"}))
    assert deps(load_graph(write(tmp_path, t)).node("app")) == [("st", "reference")]


def test_unmatched_known_depends_on_is_a_warning(tmp_path):
    graph = load_graph(write(tmp_path, template(resource("a", dependsOn=["ghost"]))))
    assert graph.nodes[0].dependencies == []
    assert graph.errors[0].severity == "warning"
    assert "dependsOn 'ghost' matches no resource" in graph.errors[0].message


def test_duplicate_derived_symbols_are_numbered(tmp_path):
    t = template(resource("x"), resource("x", "Microsoft.Network/routeTables"), resource("[guid('a')]"))
    assert [n.symbol for n in load_graph(write(tmp_path, t)).nodes] == ["x", "x_2", "networkSecurityGroups"]


def test_circular_depends_on_is_an_error():
    with pytest.raises(ArmguardError) as info:
        load_graph(str(FIXTURES / "circular.json"))
    assert info.value.message == "circular dependency: nsgA -> nsgC -> nsgB -> nsgA"
    assert info.value.where == "resources[0].dependsOn"
    assert info.value.line == 9


def test_self_dependency_is_circular(tmp_path):
    with pytest.raises(ArmguardError, match="circular dependency: a -> a"):
        load_graph(write(tmp_path, template(resource("a", dependsOn=["a"]))))


# -- evaluation errors -------------------------------------------------------------------------


def test_wrong_argument_types_name_the_json_path(tmp_path):
    t = template(resource(), resource("b", properties={"ok": 1, "nested": {"bad": "[length(5)]"}}))
    with pytest.raises(ArmguardError) as info:
        load_graph(write(tmp_path, t))
    assert info.value.where == "resources[1].properties.nested.bad"
    assert "length" in info.value.message
    assert "Traceback" not in str(info.value)


def test_errors_that_depend_on_parameters_are_diagnostics_unless_strict(tmp_path):
    t = template(resource("b", properties={"bad": "[split(parameters('id'), '/')]"}),
                 parameters={"id": {"type": "string", "nullable": True, "defaultValue": None}})
    path = write(tmp_path, t)
    graph = load_graph(path)
    assert isinstance(graph.nodes[0].properties["bad"], Unknown)
    [diag] = graph.errors
    assert diag.severity == "error" and "split" in diag.message and "resources[0].properties.bad" in diag.message
    with pytest.raises(ArmguardError) as info:
        load_graph(path, strict=True)
    assert info.value.where == "resources[0].properties.bad"


def test_dependency_model_is_plain_data(classic):
    assert classic.node("vm1").dependencies[0] == Dependency("storageLoop", "reference")


# -- name segments -----------------------------------------------------------------------------


def test_name_segments_follow_type_segments(classic):
    assert classic.node("vnetName_extra").name_segments == ["demo-vnet", "extra"]
    assert classic.node("storageLoop").instance_segments == [["demost1"], ["demost2"], ["demost3"]]
    [looped] = classic.node("storageLoop").name_segments
    assert isinstance(looped, Unknown) and looped.deps == {"loop:storageLoop"}
    assert classic.node("vm1").instance_segments is None


def test_name_segments_split_on_literal_slashes_around_unknowns(symbolic):
    zone, child = symbolic.node("links").name_segments
    assert zone == Unknown("parameters('zone').name", {"param:zone"})
    assert "loop:links" in child.deps
    assert [segs[1] for segs in symbolic.node("links").instance_segments] == ["a-x", "b-x"]
    assert symbolic.node("records").instance_segments[1][1] == "rec1"


def test_an_unknown_child_name_gets_one_unknown_per_segment(tmp_path):
    t = template(resource("[parameters('full')]", "Microsoft.Network/virtualNetworks/subnets"),
                 parameters={"full": {"type": "string"}})
    vnet, subnet = load_graph(write(tmp_path, t)).nodes[0].name_segments
    assert vnet.text == "split(parameters('full'), '/')[0]" and vnet.deps == {"param:full"}
    assert subnet.text.endswith("[1]")


def test_graph_keeps_the_template_as_syntax(classic):
    assert classic.syntax.path == classic.path
    assert not classic.syntax.symbolic


def test_a_depends_on_with_unknown_names_resolves_to_the_one_resource_of_its_type(tmp_path):
    # The names are the same values written two ways: Resource Manager matches them, so must we.
    params = {"server": {"type": "string"}, "db": {"type": "string"}}
    db_type = "Microsoft.Sql/servers/databases"
    database = resource("[concat(string(parameters('server')), '/', string(parameters('db')))]", db_type)
    extension = resource("[concat(parameters('server'), '/', parameters('db'), '/Import')]",
                         "Microsoft.Sql/servers/databases/extensions",
                         dependsOn=["[resourceId('Microsoft.Sql/servers/databases', parameters('server'), "
                                    "parameters('db'))]"])
    graph = load_graph(write(tmp_path, template(database, extension, parameters=params)))
    ext = graph.nodes[1]
    assert (graph.nodes[0].symbol, "dependsOn") in deps(ext)
    # With two databases it could be either: nothing is made up.
    other = resource("[concat(parameters('server'), '/other')]", db_type)
    graph = load_graph(write(tmp_path, template(database, other, extension, parameters=params), name="two.json"))
    assert [d for d in deps(graph.nodes[2]) if d[1] == "dependsOn"] == []


def test_what_resource_managers_reader_takes_lint_reads_too(tmp_path):
    # A deployment script written over several lines, a linked-template parent building its child's
    # URI on templateLink (there only when deployed from a URI), and the 1.9-experimental symbolic form.
    body = json.dumps(template(resource("s", "Microsoft.Resources/deploymentScripts", kind="AzureCLI",
                                        properties={"scriptContent": "@SCRIPT@"})))
    script = body.replace("@SCRIPT@", "\n  echo one\n  echo two\n")  # raw line breaks inside the string
    path = tmp_path / "script.json"
    path.write_text(script, encoding="utf-8")
    assert load_graph(str(path)).nodes[0].properties["scriptContent"] == "\n  echo one\n  echo two\n"

    link = resource("child", "Microsoft.Resources/deployments", properties={
        "mode": "Incremental",
        "templateLink": {"uri": "[uri(deployment().properties.templateLink.uri, 'child.json')]"}})
    graph = load_graph(write(tmp_path, template(link), name="parent.json"))
    assert graph.errors == [] and graph.nodes[0].kind == "module"

    symbolic = {"$schema": SCHEMA, "languageVersion": "1.9-experimental", "contentVersion": "1.0.0.0",
                "resources": {"nsg": resource("nsg")}}
    assert [n.symbol for n in load_graph(write(tmp_path, symbolic, name="preview.json")).nodes] == ["nsg"]
