"""ARM JSON templates get the same rules through the shared graph: classic and languageVersion 2.0,
copy loops serial and parallel, nested deployments, and the JSON fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from textwrap import dedent

from click.testing import CliRunner

from armguard.cli import cli
from armguard.lint import lint_file
from armguard.lint.runner import FileResult

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CLASSIC = FIXTURES / "arm" / "classic.json"
SYMBOLIC = FIXTURES / "arm" / "symbolic.json"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def lint(path: Path) -> FileResult:
    result = lint_file(str(path))
    assert result.errors == [], result.errors
    assert result.language == "arm"
    return result


def by_rule(result: FileResult) -> set[tuple[str, str | None]]:
    return {(f.rule, f.symbol) for f in result.findings}


def fix(path: Path) -> int:
    result = CliRunner().invoke(cli, ["lint", "--fix", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code


def copy_of(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copyfile(src, dst)
    return dst


def write_template(tmp_path: Path, resources: list[dict] | dict, name: str = "azuredeploy.json", **extra) -> Path:
    data = {"$schema": SCHEMA, "contentVersion": "1.0.0.0", **extra, "resources": resources}
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


# -------------------------------------------------------------------- classic

def test_classic_parallel_copy_into_one_zone_is_ag101_at_the_resource_object():
    result = lint(CLASSIC)
    f = {f.symbol: f for f in result.findings}["spokeLinks"]
    assert (f.rule, f.level, f.line, f.column) == ("AG101", "warning", 11, 5)
    assert f.domain == "Microsoft.Network/privateDnsZones 'zone.example.com'"
    assert f.members == ["zone.example.com/link-spoke1", "zone.example.com/link-spoke2", "zone.example.com/link-spoke3"]
    assert f.fix is not None


def test_classic_copy_rules_serial_parallel_batched_distinct_and_safe():
    found = by_rule(lint(CLASSIC))
    assert ("AG101", "serialLinks") not in found  # serial, batchSize 1
    assert ("AG101", "hubLinks") not in found  # one zone per iteration
    assert ("AG101", "batchedLinks") in found  # serial but 2 at a time
    assert ("AG101", "accounts") not in found  # safe type
    assert not any(rule == "AG202" for rule, _ in found)  # JSON has no comments to ask for
    assert found == {("AG101", "spokeLinks"), ("AG101", "batchedLinks")}


def test_classic_fix_sets_serial_mode_and_batch_size_one(tmp_path):
    path = copy_of(CLASSIC, tmp_path)
    before = path.read_text("utf-8")
    assert fix(path) == 0
    after = path.read_text("utf-8")
    data = json.loads(after)
    copies = {r["copy"]["name"]: r["copy"] for r in data["resources"]}
    assert copies["spokeLinks"] == {"name": "spokeLinks", "count": "[length(parameters('spokes'))]",
                                    "mode": "serial", "batchSize": 1}
    assert copies["batchedLinks"]["batchSize"] == 1
    assert copies["hubLinks"] == {"name": "hubLinks", "count": 3}  # untouched
    # only the copy objects changed, and in the file's own layout
    assert '        "count": "[length(parameters(\'spokes\'))]",\n        "mode": "serial",\n        "batchSize": 1\n      },' in after
    assert '"copy": {"name": "batchedLinks", "count": 4, "mode": "serial", "batchSize": 1},' in after
    assert len(after.splitlines()) == len(before.splitlines()) + 2
    assert by_rule(lint(path)) == set()
    assert fix(path) == 0
    assert path.read_text("utf-8") == after  # a second run changes nothing


def test_classic_fix_keeps_crlf(tmp_path):
    path = tmp_path / "azuredeploy.json"
    path.write_bytes(CLASSIC.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    fix(path)
    after = path.read_bytes()
    assert b'"mode": "serial",\r\n        "batchSize": 1\r\n' in after
    assert after.count(b"\n") == after.count(b"\r\n")


# ------------------------------------------------------------ languageVersion 2.0

def test_symbolic_rules():
    result = lint(SYMBOLIC)
    found = {f.symbol: f for f in result.findings}
    assert by_rule(result) == {("AG101", "subnets"), ("AG201", "accounts"), ("AG102", "dataSubnet"),
                               ("AG102", "opsSubnet")}
    assert found["subnets"].domain == "Microsoft.Network/virtualNetworks 'vnet-hub'"
    assert found["subnets"].line == 12
    assert found["dataSubnet"].domain == "Microsoft.Network/virtualNetworks 'vnet-app'"
    assert found["dataSubnet"].members == ["appSubnet", "dataSubnet", "opsSubnet"]
    assert "'appSubnet'" in found["opsSubnet"].message  # ordered after dataSubnet, not after appSubnet
    assert found["accounts"].level == "info"


def test_symbolic_fix_sets_serial_mode(tmp_path):
    path = copy_of(SYMBOLIC, tmp_path)
    fix(path)
    data = json.loads(path.read_text("utf-8"))
    assert data["resources"]["subnets"]["copy"] == {"name": "subnets", "count": 3, "mode": "serial", "batchSize": 1}
    assert ("AG101", "subnets") not in by_rule(lint(path))


# ---------------------------------------------------------- nested deployments

def nested_deployment(name: str, copy: dict, hub: str) -> dict:
    return {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": name,
        "copy": copy,
        "properties": {
            "mode": "Incremental",
            "expressionEvaluationOptions": {"scope": "inner"},
            "parameters": {"peerName": {"value": "[format('p{0}', copyIndex())]"}},
            "template": {
                "$schema": SCHEMA,
                "contentVersion": "1.0.0.0",
                "parameters": {"peerName": {"type": "string"}},
                "resources": [{
                    "type": "Microsoft.Network/virtualHubs/bgpConnections",
                    "apiVersion": "2024-05-01",
                    "name": f"[format('{hub}/{{0}}', parameters('peerName'))]",
                    "properties": {"peerAsn": 65001, "peerIp": "10.0.0.4"},
                }],
            },
        },
    }


def test_nested_deployment_loop_is_judged_by_what_it_deploys(tmp_path):
    path = write_template(tmp_path, [
        nested_deployment("[format('peer-{0}-{1}', deployment().name, copyIndex())]", {"name": "peers", "count": 3},
                          "hub-1"),
    ])
    f = {f.rule: f for f in lint(path).findings}["AG101"]
    assert f.symbol == "peers"
    assert f.domain == "Microsoft.Network/virtualHubs 'hub-1'"
    assert "through module resource" in f.message


def test_nested_deployment_name_using_deployment_name_and_copy_index_is_not_ag301(tmp_path):
    # BUG: the ARM evaluator gives deployment() a concrete placeholder name, so the name carries no
    # "runtime:deployment" dependency and AG301 says it is not unique per parent deployment; every
    # compiled Bicep module loop named '${uniqueString(deployment().name)}-...-${i}' gets this info.
    path = write_template(tmp_path, [
        nested_deployment("[format('{0}-peer-{1}', uniqueString(deployment().name), copyIndex())]",
                          {"name": "peers", "count": 2, "mode": "serial", "batchSize": 1}, "hub-1"),
    ])
    assert [f.rule for f in lint(path).findings if f.rule == "AG301"] == []


def test_nested_deployment_loop_with_a_constant_name_is_ag301_error(tmp_path):
    path = write_template(tmp_path, [
        nested_deployment("peer", {"name": "peers", "count": 2, "mode": "serial", "batchSize": 1}, "hub-1"),
    ])
    found = {(f.rule, f.level) for f in lint(path).findings}
    assert found == {("AG301", "error")}


# -------------------------------------------------------------- harness, parity

def test_compiled_test_harness_loop_is_not_ag201(tmp_path):
    # BUG: the ARM front end does not record the loop's items, so is_test_harness() never recognizes the
    # compiled form of `@batchSize(1) ... for iteration in ['init', 'idem']` and AG201 fires on it.
    path = write_template(tmp_path, {
        "testDeployment": {
            "copy": {"name": "testDeployment", "count": "[length(createArray('init', 'idem'))]",
                     "mode": "serial", "batchSize": 1},
            "type": "Microsoft.Storage/storageAccounts",
            "apiVersion": "2023-01-01",
            "name": "[format('stg{0}', createArray('init', 'idem')[copyIndex()])]",
            "location": "westeurope",
            "kind": "StorageV2",
            "sku": {"name": "Standard_LRS"},
        },
    }, languageVersion="2.0")
    assert lint(path).findings == []


def test_bicep_and_equivalent_arm_json_give_the_same_findings(tmp_path):
    bicep = tmp_path / "bicep" / "main.bicep"
    bicep.parent.mkdir()
    bicep.write_text(dedent("""\
        resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for i in range(0, 3): {
          name: 'zone.example.com/link-${i}'
          location: 'global'
        }]
        resource s1 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {
          name: 'vnet1/s1'
        }
        resource s2 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {
          name: 'vnet1/s2'
        }
        // Sequential on purpose.
        @batchSize(1)
        resource accounts 'Microsoft.Storage/storageAccounts@2023-01-01' = [for i in range(0, 2): {
          name: 'stg${i}'
          location: 'westeurope'
          kind: 'StorageV2'
          sku: {
            name: 'Standard_LRS'
          }
        }]
        """), encoding="utf-8")
    arm = write_template(tmp_path, {
        "links": {"copy": {"name": "links", "count": "[length(range(0, 3))]"},
                  "type": "Microsoft.Network/privateDnsZones/virtualNetworkLinks", "apiVersion": "2024-06-01",
                  "name": "[format('zone.example.com/link-{0}', range(0, 3)[copyIndex()])]", "location": "global"},
        "s1": {"type": "Microsoft.Network/virtualNetworks/subnets", "apiVersion": "2023-09-01", "name": "vnet1/s1"},
        "s2": {"type": "Microsoft.Network/virtualNetworks/subnets", "apiVersion": "2023-09-01", "name": "vnet1/s2"},
        "accounts": {"copy": {"name": "accounts", "count": "[length(range(0, 2))]", "mode": "serial",
                              "batchSize": 1},
                     "type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01",
                     "name": "[format('stg{0}', range(0, 2)[copyIndex()])]", "location": "westeurope",
                     "kind": "StorageV2", "sku": {"name": "Standard_LRS"}},
    }, languageVersion="2.0")

    def summary(result: FileResult) -> set[tuple]:
        return {(f.rule, f.level, f.symbol, f.domain, tuple(f.members)) for f in result.findings}

    from_bicep = summary(lint_file(str(bicep)))
    from_arm = summary(lint(arm))
    assert from_bicep == from_arm
    assert {r for r, *_ in from_arm} == {"AG101", "AG102", "AG201"}


# ------------------------------------------------ loops inside nested inline templates

def wrapper(name: str, resources: list[dict]) -> dict:
    """A nested deployment whose inline template deploys `resources` (inner scope, no parameters)."""
    return {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": name,
            "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                           "template": {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources}}}


def parallel_peers(hub: str, count: int = 3) -> dict:
    return {"type": "Microsoft.Network/virtualHubs/bgpConnections", "apiVersion": "2024-05-01",
            "name": f"[format('{hub}/p{{0}}', copyIndex())]", "copy": {"name": "peers", "count": count},
            "properties": {"peerAsn": 65001, "peerIp": "10.0.0.4"}}


def test_loops_inside_nested_inline_templates_are_checked_where_they_are_written(tmp_path):
    # A compiled Bicep file holds every module this way: the loop that fails the deployment is two
    # nested deployments deep, and the finding points at it in this file.
    safe_serial = {"type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2024-05-01",
                   "name": "[format('nsg{0}', copyIndex())]", "location": "westeurope",
                   "copy": {"name": "nsgs", "count": 2, "mode": "serial", "batchSize": 1}}
    hygiene = {**wrapper("[format('{0}-n{1}', uniqueString(resourceGroup().id), copyIndex())]", []),
               "copy": {"name": "named", "count": 2}}  # not unique per parent deployment: info
    same_name = {**wrapper("same", []), "copy": {"name": "clash", "count": 2}}  # DeploymentActive: error
    path = write_template(tmp_path, [wrapper("outer", [wrapper("inner", [parallel_peers("hub-1"), safe_serial]),
                                                       hygiene, same_name])])
    result = lint(path)
    lines = path.read_text().splitlines()
    # Inside nested templates only what fails the deployment: no AG201 (cost) nor info AG301 (naming).
    assert sorted((f.rule, f.level, f.symbol) for f in result.findings) == [
        ("AG101", "warning", "peers"), ("AG301", "error", "clash")]
    f = {f.rule: f for f in result.findings}["AG101"]
    assert f.domain == "Microsoft.Network/virtualHubs 'hub-1'"
    assert lines[f.line - 1][f.column - 1] == "{" and "bgpConnections" in lines[f.line]

    assert fix(path) == 1  # the AG301 error has no JSON fix and stays
    data = json.loads(path.read_text())
    inner = data["resources"][0]["properties"]["template"]["resources"][0]["properties"]["template"]
    assert inner["resources"][0]["copy"] == {"name": "peers", "count": 3, "mode": "serial", "batchSize": 1}
    assert [f.rule for f in lint(path).findings] == ["AG301"]


def test_a_nested_template_deployed_twice_reports_each_copy_once(tmp_path):
    path = write_template(tmp_path, [wrapper("a", [parallel_peers("hub-1")]), wrapper("b", [parallel_peers("hub-2")])])
    found = sorted((f.rule, f.domain, f.line) for f in lint(path).findings)
    assert [(r, d) for r, d, _ in found] == [("AG101", "Microsoft.Network/virtualHubs 'hub-1'"),
                                            ("AG101", "Microsoft.Network/virtualHubs 'hub-2'")]
    assert len({line for _, _, line in found}) == 2


def peers_over(param: str) -> dict:
    return {"type": "Microsoft.Network/virtualHubs/bgpConnections", "apiVersion": "2024-05-01",
            "name": f"[format('hub-1/{{0}}', coalesce(parameters('{param}'), createArray())[copyIndex()])]",
            "copy": {"name": "peers", "count": f"[length(coalesce(parameters('{param}'), createArray()))]"},
            "properties": {"peerAsn": 65001, "peerIp": "10.0.0.4"}}


def test_a_nullable_parameter_is_what_callers_pass_but_a_nested_call_site_passes_all_there_is(tmp_path):
    nullable = {"peerNames": {"type": "array", "nullable": True}}
    # The file's own nullable parameter: callers may pass any list, so the loop may collide.
    top = write_template(tmp_path, [peers_over("peerNames")], name="top.json", parameters=nullable)
    assert [f.rule for f in lint(top).findings] == ["AG101"]
    # A nested deployment whose call site leaves it out deploys no peer at all.
    nested = wrapper("peering", [peers_over("peerNames")])
    nested["properties"]["template"]["parameters"] = nullable
    assert lint(write_template(tmp_path, [nested], name="nested.json")).findings == []
    nested["properties"]["parameters"] = {"peerNames": {"value": ["a", "b"]}}
    assert [f.rule for f in lint(write_template(tmp_path, [nested], name="given.json")).findings] == ["AG101"]
