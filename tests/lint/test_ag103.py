"""AG103: a resource written while another declaration, with nothing ordering them, writes it again
or writes a child of it."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

from click.testing import CliRunner

from armguard.cli import cli
from armguard.lint import lint_file
from armguard.lint.runner import FileResult

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"

QUEUES_MODULE = """\
param accountName string
param queueName string
resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: accountName
  resource queueService 'queueServices' existing = {
    name: 'default'
  }
}
resource queue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: account::queueService
  name: queueName
}
"""

IDENTITY_MODULE = """\
param identityName string
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: 'westeurope'
}
"""

OWN_NAME_MODULE = """\
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'msi-${uniqueString(deployment().name)}'
  location: 'westeurope'
}
"""

QUEUE_SERVICE = """\
param accountName string
resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: accountName
}
resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}
"""


def lint(tmp_path: Path, text: str, name: str = "main.bicep") -> FileResult:
    for module, body in (("queues.bicep", QUEUES_MODULE), ("identity.bicep", IDENTITY_MODULE), ("own-name.bicep", OWN_NAME_MODULE)):
        (tmp_path / module).write_text(body, encoding="utf-8")
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    result = lint_file(str(path))
    assert result.errors == [], result.errors
    return result


def ag103(result: FileResult) -> dict[str, object]:
    return {f.symbol: f for f in result.findings if f.rule == "AG103"}


def test_a_module_writing_children_of_a_resource_by_its_name_alone_is_unordered(tmp_path):
    # The AVM queue-service pattern: the module gets the account's name, not `queueService.name`,
    # so nothing makes it wait for the queue service the file is writing.
    result = lint(tmp_path, QUEUE_SERVICE + """\
module queues 'queues.bicep' = {
  name: 'queues'
  params: {
    accountName: accountName
    queueName: 'q1'
  }
}
""")
    f = ag103(result)["queues"]
    assert (f.level, f.line, f.members) == ("warning", 9, ["queueService", "queues"])
    assert f.domain == "Microsoft.Storage/storageAccounts/queueServices '${accountName}/default'"
    assert "a child of" in f.message and "make 'queues' depend on 'queueService'" in f.message
    assert f.fix is not None and "dependsOn" in f.fix.description


def test_a_module_given_the_resource_itself_waits_for_it(tmp_path):
    result = lint(tmp_path, QUEUE_SERVICE + """\
module queues 'queues.bicep' = {
  name: 'queues'
  params: {
    accountName: queueService.name == 'default' ? accountName : accountName
    queueName: 'q1'
  }
}
""")
    assert ag103(result) == {}


def test_a_dependency_through_a_variable_orders_them(tmp_path):
    result = lint(tmp_path, QUEUE_SERVICE + """\
var serviceName = queueService.name
module queues 'queues.bicep' = {
  name: 'queues'
  params: {
    accountName: serviceName == 'default' ? accountName : accountName
    queueName: 'q1'
  }
}
""")
    assert ag103(result) == {}


def test_the_fix_adds_the_dependency_and_a_second_run_finds_nothing(tmp_path):
    text = QUEUE_SERVICE + """\
module queues 'queues.bicep' = {
  name: 'queues'
  params: {
    accountName: accountName
    queueName: 'q1'
  }
}
"""
    lint(tmp_path, text)
    path = tmp_path / "main.bicep"
    assert CliRunner().invoke(cli, ["lint", "--fix", str(path)]).exit_code == 0
    assert path.read_text().endswith("    queueName: 'q1'\n  }\n  dependsOn: [\n    queueService\n  ]\n}\n")
    assert ag103(lint_file(str(path))) == {}


def test_one_resource_declared_twice_with_nothing_ordering_them(tmp_path):
    # The file creates the identity, and a module writes it again (to update it).
    result = lint(tmp_path, """\
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'msi-app'
  location: 'westeurope'
}
module again 'identity.bicep' = {
  name: 'again'
  params: { identityName: 'msi-app' }
}
module other 'identity.bicep' = {
  name: 'other'
  params: { identityName: 'msi-other' }
}
""")
    found = ag103(result)
    assert sorted(found) == ["again"]
    assert found["again"].domain == "Microsoft.ManagedIdentity/userAssignedIdentities 'msi-app'"


def test_two_modules_deploying_one_type_are_not_compared(tmp_path):
    # Inside a module the name is the module's business: AG103 compares what the file writes
    # itself with what modules write, and modules with modules only as parent and child.
    result = lint(tmp_path, """\
module first 'identity.bicep' = {
  name: 'first'
  params: { identityName: 'msi-app' }
}
module second 'identity.bicep' = {
  name: 'second'
  params: { identityName: 'msi-app' }
}
""")
    assert ag103(result) == {}


def test_the_same_resource_in_two_scopes_is_two_resources(tmp_path):
    result = lint(tmp_path, """\
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'msi-app'
  location: 'westeurope'
}
module elsewhere 'identity.bicep' = {
  name: 'elsewhere'
  scope: resourceGroup('rg-b')
  params: { identityName: 'msi-app' }
}
""")
    assert ag103(result) == {}


def test_names_a_module_computes_are_not_taken_for_one_resource(tmp_path):
    # The module names its identity from its own deployment's name, which the file's identity
    # (the same text) is not: only values passed in as they are identify one resource.
    result = lint(tmp_path, """\
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'msi-${uniqueString(deployment().name)}'
  location: 'westeurope'
}
module own 'own-name.bicep' = {
  name: 'own'
}
""")
    assert ag103(result) == {}


def test_declarations_only_one_of_which_deploys_do_not_collide(tmp_path):
    result = lint(tmp_path, """\
param kind string
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = if (kind == 'a') {
  name: 'msi-app'
  location: 'westeurope'
}
module second 'identity.bicep' = if (kind != 'a') {
  name: 'second'
  params: { identityName: 'msi-app' }
}
""")
    assert ag103(result) == {}


def write_json(tmp_path: Path, resources: list[dict], name: str = "azuredeploy.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources}, indent=2),
                    encoding="utf-8")
    return path


def container(depends: list[str] | None = None) -> dict:
    out = {"type": "Microsoft.Storage/storageAccounts/blobServices/containers", "apiVersion": "2023-05-01",
           "name": "stdata/default/logs", "properties": {}}
    if depends is not None:
        out["dependsOn"] = depends
    return out


ACCOUNT = {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01", "name": "stdata",
           "location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}


def test_arm_json_child_declared_by_name_without_depends_on_its_parent(tmp_path):
    # Resource Manager starts both at once: the container's PUT meets an account being created.
    result = lint_file(str(write_json(tmp_path, [ACCOUNT, container()])))
    [f] = [f for f in result.findings if f.rule == "AG103"]
    assert f.domain == "Microsoft.Storage/storageAccounts 'stdata'"
    lines = (tmp_path / "azuredeploy.json").read_text().splitlines()
    assert lines[f.line - 1].strip() == "{" and "blobServices/containers" in lines[f.line]
    ordered = lint_file(str(write_json(tmp_path, [ACCOUNT, container(["[resourceId('Microsoft.Storage/"
                                                                      "storageAccounts', 'stdata')]"])],
                                       name="ordered.json")))
    assert [f.rule for f in ordered.findings] == []
