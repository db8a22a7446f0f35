"""parse_error on printed errors, one or more fixtures per tool format (tests/guard/fixtures/errors/).

The fixtures are written in the exact layouts of /work/shared/research/runtime-evidence.md ("How tools
print them"); the az ones are rendered with azure-mgmt-core's own ARMErrorFormat.__str__, so the tab-glued
detail layout is byte-for-byte what az prints. fixtures/errors/README.md says where each wording comes from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from armguard.guard import ArmErrorInfo, parse_error

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "errors"
SUB = "3f2a8c1e-7b4d-4e29-9a61-0c5d2e8f4b17"
RG = f"/subscriptions/{SUB}/resourceGroups"
OPS = f"https://management.azure.com/subscriptions/{SUB}/providers/Microsoft.Network/locations"


def load(name: str) -> str:
    """A fixture exactly as written (CRLF and escape bytes kept)."""
    return (FIXTURES / name).read_bytes().decode("utf-8")


def parse(name: str) -> ArmErrorInfo:
    info = parse_error(load(name))
    assert info is not None, name
    return info


# fixture -> the fields it must produce (fields not listed are checked elsewhere or free)
EXPECTED: dict[str, dict[str, object]] = {
    # ---------------------------------------------------------------- az CLI
    "az/another_operation_in_progress.txt": dict(
        code="AnotherOperationInProgress", outer_code="AnotherOperationInProgress", category="wait",
        retryable=True, source_format="az",
        status_uri=f"{OPS}/westeurope/operations/8e1c2b7a-4f3d-4c9e-b6a2-1d5e7f9a0c34?api-version=2024-05-01"),
    "az/retryable_error_nested.txt": dict(
        code="ReferencedResourceNotProvisioned", outer_code="RetryableError",
        codes=("RetryableError", "ReferencedResourceNotProvisioned"), category="wait", source_format="az",
        blocking_operation="PutSubnetOperation",
        resource_id=f"{RG}/rg-spoke-weu/providers/Microsoft.Network/virtualNetworks/vnet-spoke-weu/subnets/snet-app"),
    "az/invalid_template_deployment_multi.txt": dict(
        code="RequestDisallowedByPolicy", outer_code="InvalidTemplateDeployment",
        codes=("InvalidTemplateDeployment", "RequestDisallowedByPolicy", "InvalidResourceReference"),
        category="fatal", retryable=False, target="stappweu01", deployment_name="main-20240611T0915",
        source_format="az"),
    "az/aks_operation_not_allowed.txt": dict(
        code="OperationNotAllowed", category="wait", blocking_operation="nodepool1 - Updating", source_format="az"),
    "az/aks_managed_cluster_in_progress.txt": dict(
        code="OperationNotAllowed", category="wait", blocking_operation="update managed cluster",
        blocking_operation_id="e375d315-218c-4dff-b806-7ab63b0bb63a", blocking_started="2026-05-22T07:19:23Z"),
    "az/deployment_active.txt": dict(
        code="DeploymentActive", category="wait", deployment_name="hub-network",
        blocking_started="6/11/2024 9:14:52 AM", source_format="az"),
    "az/scope_locked.txt": dict(
        code="ScopeLocked", category="fatal", retryable=False,
        resource_id=f"{RG}/rg-hub-weu/providers/Microsoft.Network/virtualNetworks/vnet-hub-weu"),
    "az/authorization_failed.txt": dict(
        code="AuthorizationFailed", category="fatal",
        resource_id=f"{RG}/rg-hub-weu/providers/Microsoft.Network/virtualNetworks/vnet-hub-weu/subnets/snet-app"),
    "az/debug_log_retryable.txt": dict(
        code="ReferencedResourceNotProvisioned", outer_code="RetryableError", category="wait", status_code=429,
        retry_after=10, correlation_id="6a91d3f0-4c2e-4b78-9e15-d8f07a3c2b64",
        request_id="2b7e41c9-8d3a-4f6e-a1c5-93d0e7b2f846", source_format="az",
        resource_id=f"{RG}/rg-spoke-weu/providers/Microsoft.Network/networkInterfaces/nic-app-01"),
    "az/deployment_group_create_nested.txt": dict(
        code="AnotherOperationInProgress", outer_code="DeploymentFailed",
        codes=("DeploymentFailed", "Conflict", "ResourceDeploymentFailure", "AnotherOperationInProgress"),
        category="wait", deployment_name="bgp-peer-3", source_format="az",
        resource_id=f"{RG}/rg-vwan-weu/providers/Microsoft.Network/virtualHubs/hub-weu/bgpConnections/peer-nva-3",
        status_uri=f"{OPS}/westeurope/operations/a61f0d3e-7c28-4b95-8e4a-2d9c1b7f0e53?api-version=2024-05-01"),
    "az/deployment_multiple_details.txt": dict(
        code="Conflict", outer_code="DeploymentFailed", codes=("DeploymentFailed", "BadRequest", "Conflict"),
        category="wait", blocking_operation="Create", blocking_operation_id="e2440937-ae53-41f4-b013-09884e027c45",
        blocking_started="6/11/2024 9:20:41 AM", deployment_name="app-stack",
        resource_id=f"{RG}/rg-app-weu/providers/Microsoft.Web/serverfarms/asp-weu-01"),
    "az/validation_inner_errors.txt": dict(
        code="SkuNotAvailable", outer_code="InvalidTemplateDeployment",
        codes=("InvalidTemplateDeployment", "PreflightValidationCheckFailed", "SkuNotAvailable"),
        category="fatal", deployment_name="main", target="vm-build-01", source_format="az"),
    "az/legacy_deployment_failed.txt": dict(
        code="ConflictingConcurrentWriteNotAllowed", outer_code="ResourceDeploymentFailure", category="wait",
        correlation_id="3d28b2ac-65e1-4de2-b09e-c6503fe1d447", source_format="az"),
    "az/legacy_deployment_active.txt": dict(
        code=None, category="wait", correlation_id="9c4e7a21-0f3b-4d68-8e52-b1a7d6c0f394",
        deployment_name="hub-network", blocking_started="6/11/2024 9:14:52 AM", source_format="az"),
    # ---------------------------------------------------------------- Terraform azurerm (go-azure-sdk)
    "terraform/subnet_another_operation.txt": dict(
        code="AnotherOperationInProgress", category="wait", status_code=409, source_format="terraform",
        resource_id=f"{RG}/rg-hub-weu/providers/Microsoft.Network/virtualNetworks/vnet-hub-weu/subnets/snet-host",
        status_uri=f"https://westeurope.network.azure.com/subscriptions/{SUB}/providers/Microsoft.Network/locations/"
                   "westeurope/operations/4c7d2e91-0b5a-4f38-9e6c-a2d81f3b7e05?api-version=2024-05-01"),
    "terraform/vnet_polling_canceled.txt": dict(
        code="CanceledAndSupersededDueToAnotherOperation", outer_code="Canceled",
        codes=("Canceled", "CanceledAndSupersededDueToAnotherOperation"), category="wait", status_code=None,
        blocking_operation="PutSubnetOperation", blocking_operation_id="61bd0cca-ed54-4358-8325-42eda91d18c1",
        resource_id=f"{RG}/rg-spoke-weu/providers/Microsoft.Network/virtualNetworks/vnet-spoke-weu",
        source_format="terraform"),
    "terraform/hub_bgp_polling_failed.txt": dict(
        code="HubBgpConnectionParentHubMustHaveProvisionedRoutingState", category="wait", source_format="terraform",
        codes=("HubBgpConnectionParentHubMustHaveProvisionedRoutingState",),
        resource_id=f"{RG}/rg-vwan-weu/providers/Microsoft.Network/virtualHubs/hub-weu/bgpConnections/peer-nva-2",
        status_uri=f"{OPS}/westeurope/operations/b3a9c7e1-2d4f-4a86-9e0b-5c1f7d3a8e62?api-version=2024-05-01"),
    "terraform/apply_json.jsonl": dict(
        code="AnotherOperationInProgress", category="wait", status_code=409, source_format="terraform",
        resource_id=f"{RG}/rg-hub-eus/providers/Microsoft.Network/virtualNetworks/vnet-hub-eus/subnets/snet-jumphost"),
    "terraform/multiple_errors.txt": dict(
        code="AnotherOperationInProgress", codes=("SecurityRuleInvalidPortRange", "AnotherOperationInProgress"),
        category="wait", status_code=409, source_format="terraform",
        resource_id=f"{RG}/rg-spoke-weu/providers/Microsoft.Network/routeTables/rt-spoke-weu/routes/to-firewall",
        status_uri=f"{OPS}/westeurope/operations/d1e7f0a3-6b2c-4e95-8a47-3c9b0e5f2d18?api-version=2024-05-01"),
    # ---------------------------------------------------------------- legacy autorest
    "autorest/azurerm2_subnet.txt": dict(
        code="AnotherOperationInProgress", category="wait", status_code=None, source_format="autorest",
        status_uri=f"{OPS}/westeurope/operations/0e6a1f4c-93b7-4d2a-8c51-7f2e9d0b3a68?api-version=2020-05-01"),
    "autorest/pulumi_retryable.txt": dict(
        code="ReferencedResourceNotProvisioned", outer_code="RetryableError", category="wait", status_code=429,
        blocking_operation="PutSubnetOperation", source_format="autorest"),
    "autorest/peering_400.txt": dict(
        code="ReferencedResourceNotProvisioned", category="wait", status_code=400, source_format="autorest",
        blocking_operation="PutSubnetOperation"),
    "autorest/lb_canceled.txt": dict(
        code="CanceledAndSupersededDueToAnotherOperation", outer_code="Canceled", category="wait",
        blocking_operation="PutLoadBalancerOperation", blocking_operation_id="bb71e36a-3f38-4762-b28e-1cc2fbb44ca9",
        source_format="autorest"),
    # ---------------------------------------------------------------- azcore (azapi, azd)
    "azcore/azapi_subnet.txt": dict(
        code="AnotherOperationInProgress", category="wait", status_code=409, source_format="azcore",
        resource_id=f"{RG}/rg-hub-weu/providers/Microsoft.Network/virtualNetworks/vnet-hub-weu/subnets/snet-data",
        status_uri=f"{OPS}/westeurope/operations/439c7509-2b5f-44ff-bb7f-762324d7f275?api-version=2024-05-01"),
    "azcore/azd_deployment_active.txt": dict(
        code="DeploymentActive", category="wait", status_code=409, source_format="azcore",
        deployment_name="rg-app-dev-1718097291", blocking_started="6/11/2024 9:14:52 AM", resource_id=None),
    "azcore/azd_deployment_error_details.txt": dict(
        code="Conflict", outer_code="DeploymentFailed", category="wait", blocking_operation="Create",
        source_format="azcore"),
    # ---------------------------------------------------------------- Azure PowerShell
    "powershell/set_vnet_conflict_ps51.txt": dict(
        code="AnotherOperationInProgress", category="wait", status_code=409, source_format="powershell",
        request_id="7f3e1a92-6c4b-4d05-8e2f-b19a0c7d5e36",
        status_uri=f"{OPS}/westeurope/operations/5b8e2c17-94d0-4f3a-b6e1-0a7d3c9f2e48?api-version=2023-09-01"),
    "powershell/gateway_connection_lro.txt": dict(
        code="AnotherOperationInProgress", category="wait", status_code=None, source_format="powershell",
        request_id="1b6d4e80-3a2f-4c97-b5e8-6f0d9a2c7b13"),
    "powershell/deployment_conciseview.txt": dict(
        code="AnotherOperationInProgress", category="wait", deployment_name="hub-bgp", source_format="powershell",
        correlation_id="0f7a3c5e-9d21-4b68-a4e0-2c8f1b6d7e93",
        status_uri=f"{OPS}/westeurope/operations/5b8e2c17-94d0-4f3a-b6e1-0a7d3c9f2e48?api-version=2023-09-01"),
    "powershell/deployment_details_ps51.txt": dict(
        code="CanceledAndSupersededDueToAnotherOperation", outer_code="ResourceDeploymentFailure",
        codes=("ResourceDeploymentFailure", "Canceled", "CanceledAndSupersededDueToAnotherOperation"),
        category="wait", deployment_name="spoke-nsg", correlation_id="2d6f9b14-7e3a-4c85-b0d2-9a1e5c7f3b60",
        blocking_operation="PutNetworkSecurityGroupOperation", source_format="powershell"),
    "powershell/aks_quota.txt": dict(
        code="OperationNotAllowed", category="fatal", retryable=False, source_format="powershell",
        request_id="4e1c7a93-0d5b-4f28-9c6e-b8a2f3d07e51"),
    # ---------------------------------------------------------------- raw JSON
    "json/lro_status_canceled.json": dict(
        code="CanceledAndSupersededDueToAnotherOperation", outer_code="Canceled", category="wait",
        blocking_operation="PutVirtualNetworkOperation", blocking_operation_id="7d2e4f90-1a3b-4c5d-9e8f-0a1b2c3d4e5f",
        source_format="json"),
    "json/deployment_operations.json": dict(
        code="AnotherOperationInProgress", category="wait", source_format="json",
        resource_id=f"{RG}/rg-vwan-weu/providers/Microsoft.Network/virtualHubs/hub-weu/bgpConnections/peer-nva-2"),
    "json/app_service_conflict.json": dict(
        code="Conflict", category="wait", blocking_operation="Create", blocking_started="6/11/2024 9:20:41 AM",
        source_format="json"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    info = parse(name)
    for field, expected in EXPECTED[name].items():
        assert getattr(info, field) == expected, f"{name}: {field} = {getattr(info, field)!r}, want {expected!r}"
    assert info.retryable is {"wait": True, "fatal": False, "unknown": None}[info.category]


def test_every_fixture_is_expected() -> None:
    files = {str(p.relative_to(FIXTURES)).replace("\\", "/") for p in FIXTURES.rglob("*") if p.is_file()}
    assert files - {"README.md", ".gitattributes"} == set(EXPECTED)


def test_nested_escaped_json_two_levels_deep_is_decoded() -> None:
    text = load("az/deployment_group_create_nested.txt")
    assert '\\\\\\"AnotherOperationInProgress\\\\\\"' in text   # really escaped twice in the fixture
    info = parse("az/deployment_group_create_nested.txt")
    assert info.message.startswith("Another operation on this or dependent resource is in progress.")
    assert "\\" not in info.message


def test_az_colours_are_stripped() -> None:
    text = load("az/another_operation_in_progress.txt")
    assert "\x1b[91mERROR:" in text
    info = parse("az/another_operation_in_progress.txt")
    assert "\x1b" not in info.message and info.message.endswith("api-version=2024-05-01.")


def test_terraform_frame_and_colours() -> None:
    text = load("terraform/subnet_another_operation.txt")
    assert "│" in text and "\x1b[31m" in text
    info = parse("terraform/subnet_another_operation.txt")
    assert "│" not in info.message and not info.message.endswith("│")


def test_crlf_fixtures_are_crlf() -> None:
    for name in ("az/aks_operation_not_allowed.txt", "terraform/vnet_polling_canceled.txt",
                 "powershell/set_vnet_conflict_ps51.txt", "az/deployment_multiple_details.txt"):
        assert "\r\n" in load(name)
        assert "\r" not in (parse(name).message or "")


def test_windows_paths_around_powershell_errors() -> None:
    text = load("powershell/set_vnet_conflict_ps51.txt")
    assert "C:\\Users\\deploy" in text
    assert parse("powershell/set_vnet_conflict_ps51.txt").resource_id is None


def test_terraform_reports_the_conflict_not_the_validation_error_and_its_own_resource() -> None:
    info = parse("terraform/multiple_errors.txt")
    assert info.code == "AnotherOperationInProgress"
    assert "networkSecurityGroups" not in (info.resource_id or "")


def test_terraform_polling_message_is_go_unquoted() -> None:
    info = parse("terraform/vnet_polling_canceled.txt")
    assert info.message == ("Operation PutVirtualNetworkOperation (86e6c142-553b-4ef6-bc21-c002c012f9c4) was "
                            "canceled and superseded by operation PutSubnetOperation "
                            "(61bd0cca-ed54-4358-8325-42eda91d18c1).")


def test_powershell_wrapped_message_is_rejoined() -> None:
    info = parse("powershell/deployment_conciseview.txt")
    assert info.message.startswith("Another operation on this or dependent resource is in progress. To retrieve")
    assert "\n" not in info.message and "|" not in info.message


def test_az_layout_three_levels_of_glued_details() -> None:
    """Siblings glued onto the last line of a deeper detail ("...Message: m\t(Sibling) ...") land at the right
    level; multi-line messages, Target, Inner error and Additional Information are consumed; the next error
    block and the log lines around stay separate."""
    exceptions = pytest.importorskip("azure.mgmt.core.exceptions")
    body = {"error": {
        "code": "DeploymentFailed", "message": "At least one resource deployment operation failed.",
        "target": f"{RG}/rg-a/providers/Microsoft.Resources/deployments/outer",
        "innererror": {"code": "Internal", "trace": "line1\nline2"},
        "additionalInfo": [{"type": "ActivityId", "info": {"activityId": "4f1d2c3b-5a6e-4b7c-8d9e-0f1a2b3c4d5e"}}],
        "details": [
            {"code": "ResourceDeploymentFailure", "message": "The resource write operation failed.\nSecond line.",
             "target": f"{RG}/rg-a/providers/Microsoft.Network/virtualNetworks/vnet-a",
             "details": [{"code": "Canceled", "message": "Operation was canceled.", "details": [
                 {"code": "CanceledAndSupersededDueToAnotherOperation", "message": "Operation PutSubnetOperation "
                  "(a1) was canceled and superseded by operation PutVirtualNetworkOperation (b2)."}]},
                 {"code": "SiblingError", "message": "multi\nline\nmessage"}]},
            {"code": "InvalidParameter", "message": "bad", "target": "x"}]}}
    text = (f"ERROR: {exceptions.ARMErrorFormat(body)}\nsome trailing log line\n"
            f"ERROR: {exceptions.ARMErrorFormat({'error': {'code': 'ScopeLocked', 'message': 'locked'}})}\nbye\n")
    info = parse_error(text)
    assert info.codes == ("DeploymentFailed", "ResourceDeploymentFailure", "Canceled",
                          "CanceledAndSupersededDueToAnotherOperation", "SiblingError", "InvalidParameter", "ScopeLocked")
    assert (info.code, info.outer_code, info.blocking_operation) == (
        "CanceledAndSupersededDueToAnotherOperation", "DeploymentFailed", "PutVirtualNetworkOperation")
    assert info.resource_id == f"{RG}/rg-a/providers/Microsoft.Network/virtualNetworks/vnet-a"
    assert info.deployment_name == "outer"
    assert info.correlation_id == "4f1d2c3b-5a6e-4b7c-8d9e-0f1a2b3c4d5e"        # additionalInfo ActivityId


def test_az_error_line_cut_short_still_parses() -> None:
    uri = ("https://management.azure.com/subscriptions/s/providers/Microsoft.Network/locations/westeurope/"
           "operations/1b6f5c4e-0000-4000-8000-000000000001?api-version=2020-05-01")
    one_line = ("ERROR: (AnotherOperationInProgress) Another operation on this or dependent resource is in "
                f"progress. To retrieve status of the operation use uri: {uri}.")
    info = parse_error(one_line)
    assert info is not None and (info.code, info.status_uri, info.source_format) == (
        "AnotherOperationInProgress", uri, "az")
    cut = parse_error(one_line + "\nCode: AnotherOperationInProgress\n")
    assert cut is not None and cut.status_uri == uri
    assert parse_error("ERROR: (ScopeLocked) The scope is locked.").category == "fatal"
