"""AG201 (over-serialized loop, with its cost) and AG202 (@batchSize(1) without a comment saying why)."""

from __future__ import annotations

import shutil
from pathlib import Path
from textwrap import dedent

from armguard.lint import lint_file
from armguard.lint.runner import FileResult

MODULES = Path(__file__).resolve().parent / "fixtures" / "modules"

ACCOUNTS = """\
resource accounts 'Microsoft.Storage/storageAccounts@2023-01-01' = [for i in range(0, 4): {
  name: 'stg${i}'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
}]
"""

SUBNETS = """\
resource vnet 'Microsoft.Network/virtualNetworks@2023-09-01' existing = {
  name: 'vnet1'
}
DECORATORS
resource subnets 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = [for i in range(0, 3): {
  parent: vnet
  name: 'snet-${i}'
}]
"""


def lint(tmp_path: Path, text: str) -> FileResult:
    if not (tmp_path / "modules").exists():
        shutil.copytree(MODULES, tmp_path / "modules")
    path = tmp_path / "main.bicep"
    path.write_text(dedent(text), encoding="utf-8")
    result = lint_file(str(path))
    assert result.errors == [], result.errors
    return result


def rules(result: FileResult, rule: str) -> dict[str, object]:
    return {f.symbol: f for f in result.findings if f.rule == rule}


def subnets(decorators: str) -> str:
    return SUBNETS.replace("DECORATORS\n", decorators)


# ---------------------------------------------------------------------- AG201

def test_serial_loop_of_safe_types_is_ag201_info_naming_the_types(tmp_path):
    result = lint(tmp_path, "// Sequential on purpose.\n@batchSize(1)\n" + ACCOUNTS)
    f = rules(result, "AG201")["accounts"]
    assert (f.level, f.line, f.column) == ("info", 3, 1)
    assert "Microsoft.Storage/storageAccounts" in f.message
    assert "serial takes" not in f.message  # no duration in the catalog for storage accounts


def test_serial_loop_whose_iterations_write_distinct_hubs_is_ag201_with_the_cost(tmp_path):
    result = lint(tmp_path, """\
// Sequential: one hub each.
@batchSize(1)
resource bgps 'Microsoft.Network/virtualHubs/bgpConnections@2024-05-01' = [for h in ['hub-a', 'hub-b', 'hub-c']: {
  name: '${h}/peer'
  properties: {
    peerAsn: 65001
    peerIp: '10.0.0.4'
  }
}]
""")
    f = rules(result, "AG201")["bgps"]
    assert "different lock domain in every iteration" in f.message
    assert "3 x 90 s" in f.message  # count x the catalog's typical duration of a BGP connection


def test_ag201_cost_uses_durations_from_the_config_catalog(tmp_path):
    (tmp_path / "armguard.toml").write_text(dedent("""\
        [catalog.types."Microsoft.Storage/storageAccounts"]
        typical_seconds = 30
        sources = ["user config"]
        """), encoding="utf-8")
    result = lint(tmp_path, "// Sequential on purpose.\n@batchSize(1)\n" + ACCOUNTS)
    f = rules(result, "AG201")["accounts"]
    assert "4 x 30 s = 2 min instead of 30 s" in f.message


def test_serial_module_loop_of_safe_types_is_ag201(tmp_path):
    result = lint(tmp_path, """\
// Sequential on purpose.
@batchSize(1)
module accounts 'modules/storage.bicep' = [for n in ['a', 'b']: {
  name: '${uniqueString(deployment().name)}-${n}'
  params: {
    accountName: 'stg${n}'
  }
}]
""")
    assert "accounts" in rules(result, "AG201")


def test_serial_module_loop_over_distinct_hubs_is_ag201(tmp_path):
    result = lint(tmp_path, """\
// Sequential on purpose.
@batchSize(1)
module peers 'modules/bgp.bicep' = [for h in ['hub-a', 'hub-b']: {
  name: '${uniqueString(deployment().name)}-${h}'
  params: {
    hubName: h
    peerName: 'peer'
  }
}]
""")
    assert "different lock domain" in rules(result, "AG201")["peers"].message


def test_needed_serialization_is_not_ag201(tmp_path):
    result = lint(tmp_path, subnets("// Serial: one VNet.\n@batchSize(1)\n"))
    assert result.findings == []


def test_batch_size_above_one_is_not_ag201(tmp_path):
    result = lint(tmp_path, "@batchSize(2)\n" + ACCOUNTS)
    assert result.findings == []


def test_serial_loop_of_unknown_types_is_not_ag201(tmp_path):
    result = lint(tmp_path, """\
// Sequential on purpose.
@batchSize(1)
resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for i in range(0, 3): {
  name: guid('x', string(i))
  properties: {
    roleDefinitionId: 'x'
    principalId: 'p${i}'
  }
}]
""")
    assert result.findings == []


def test_test_harness_loop_is_neither_ag201_nor_ag202(tmp_path):
    result = lint(tmp_path, """\
@batchSize(1)
module testDeployment 'modules/storage.bicep' = [for iteration in ['init', 'idem']: {
  name: '${uniqueString(deployment().name)}-test-${iteration}'
  params: {
    accountName: 'stgtest'
  }
}]
@batchSize(1)
resource harnessAccounts 'Microsoft.Storage/storageAccounts@2023-01-01' = [for iteration in ['init', 'idem']: {
  name: 'stg${iteration}'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
}]
""")
    assert result.findings == []


# ---------------------------------------------------------------------- AG202

def test_batch_size_one_without_a_comment_is_ag202(tmp_path):
    result = lint(tmp_path, subnets("@batchSize(1)\n"))
    (f,) = result.findings
    assert (f.rule, f.level, f.symbol, f.line, f.column) == ("AG202", "info", "subnets", 5, 1)


def test_comment_on_the_line_above_the_decorators_documents_the_loop(tmp_path):
    result = lint(tmp_path, subnets("// Serial: one VNet.\n@description('x')\n@batchSize(1)\n"))
    assert result.findings == []


def test_comment_among_the_decorators_documents_the_loop(tmp_path):
    result = lint(tmp_path, subnets("@batchSize(1)\n// Serial: one VNet.\n"))
    assert result.findings == []


def test_block_comment_ending_on_the_line_above_documents_the_loop(tmp_path):
    result = lint(tmp_path, subnets("/* Serial:\n   one VNet. */\n@batchSize(1)\n"))
    assert result.findings == []


def test_comment_separated_by_a_blank_line_does_not_document_the_loop(tmp_path):
    result = lint(tmp_path, subnets("// Something unrelated.\n\n@batchSize(1)\n"))
    assert [f.rule for f in result.findings] == ["AG202"]


def test_batch_size_two_needs_no_comment(tmp_path):
    result = lint(tmp_path, "@batchSize(2)\n" + ACCOUNTS)
    assert rules(result, "AG202") == {}
