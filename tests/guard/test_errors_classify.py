"""classify() per code, and every code of the research table read back from every printed format."""

from __future__ import annotations

import json

import pytest

from armguard.guard import classify, parse_error
from armguard.guard.errors_codes import FATAL_CODES, WAIT_CODES

SUB = "9b0e4d72-15c3-4a8f-b2e6-7d41c9a05e83"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-net-neu"
OP = (f"https://northeurope.network.azure.com/subscriptions/{SUB}/providers/Microsoft.Network/locations/northeurope"
      "/operations/f3b1c6d8-2a4e-4b7c-9d05-8e6f1a2b3c4d?api-version=2024-05-01")

# The research file's table (runtime-evidence.md, "Real error codes and messages"), message wording as printed
# there; entries without a published message use a reconstruction (see fixtures/errors/README.md).
TABLE: list[tuple[str, str, int | None]] = [
    ("AnotherOperationInProgress",
     f"Another operation on this or dependent resource is in progress. To retrieve status of the operation use "
     f"uri: {OP}.", 409),
    ("RetryableError", "A retryable error occurred.", 429),
    ("ReferencedResourceNotProvisioned",
     f"Cannot proceed with operation because resource {RG}/providers/Microsoft.Network/virtualNetworks/vnet-neu/"
     f"subnets/snet-a used by resource {RG}/providers/Microsoft.Network/networkInterfaces/nic-a is not in Succeeded "
     "state. Resource is in Updating state and the last operation that updated/is updating the resource is "
     "PutSubnetOperation.", 429),
    ("RetryableErrorDueToAnotherOperation",
     "Operation on the target resource could not be performed because it is locked by another operation.", 429),
    ("CanceledAndSupersededDueToAnotherOperation",
     "Operation PutSubnetOperation (a1b2c3d4-0000-4000-8000-000000000001) was canceled and superseded by operation "
     "PutVirtualNetworkOperation (a1b2c3d4-0000-4000-8000-000000000002).", None),
    ("OperationNotAllowed",
     "Operation is not allowed: Another operation (nodepool1 - Updating) is in progress, please wait for it to "
     "finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details", 409),
    ("DeploymentActive",
     "Unable to edit or replace deployment 'net': previous deployment from '6/11/2024 9:14:52 AM' is still active "
     "(expiration time is '6/18/2024 9:14:51 AM'). Please see https://aka.ms/arm-deploy for usage details.", 409),
    ("Conflict",
     "Cannot modify this web hosting plan because another operation is in progress. Details: Id: "
     "e2440937-ae53-41f4-b013-09884e027c45, OperationName: Create, CreatedTime: 7/20/2017 8:01:21 PM, RequestId: "
     "c4bcc3d5-418b-4ca3-b9e3-ac601e74ee49, EntityType: 9", 409),
    ("ConflictingConcurrentWriteNotAllowed",
     "The operation was interrupted by a conflicting concurrent write on the same entity. Please retry later.", 409),
    ("StorageAccountOperationInProgress",
     "An operation is currently performing on this storage account that requires exclusive access.", 409),
    ("HubBgpConnectionParentHubMustHaveProvisionedRoutingState",
     "Hub BGP connection cannot be created because its parent virtual hub does not have a Provisioned routing "
     "state.", 400),
    ("RequestConflict", "Another operation is being performed on the parent resource", 409),
    ("ResourceUpdateConflict", "The resource is being updated by another request.", 409),
]


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render(fmt: str, code: str, message: str, status: int | None) -> str:
    """(code, message) printed the way each tool prints it (layouts from the research file)."""
    status = status or 409
    body = {"error": {"code": code, "message": message}}
    if fmt == "json":
        return json.dumps(body)
    if fmt == "lro":
        return json.dumps({"status": "Failed", "error": body["error"]})
    if fmt == "az":
        return f"ERROR: ({code}) {message}\nCode: {code}\nMessage: {message}\n"
    if fmt == "az-deployment":
        outer = {"status": "Failed", "error": {"code": "DeploymentFailed", "message": "At least one resource "
                 "deployment operation failed. Please list deployment operations for details. Please see "
                 "https://aka.ms/arm-deployment-operations for usage details.",
                 "details": [{"code": "Conflict", "message": json.dumps(body, indent=2)}]}}
        return "ERROR: " + json.dumps(outer, separators=(",", ":")) + "\n"
    if fmt == "terraform":
        return ("╷\n│ Error: creating Subnet (Subscription: \"" + SUB + "\"\n│ Resource Group Name: \"rg-net-neu\"\n"
                "│ Virtual Network Name: \"vnet-neu\"\n│ Subnet Name: \"snet-a\"): performing CreateOrUpdate: "
                f"unexpected status {status} (409 Conflict) with error: {code}: {message}\n│\n"
                "│   with azurerm_subnet.a,\n│   on main.tf line 9, in resource \"azurerm_subnet\" \"a\":\n"
                "│    9: resource \"azurerm_subnet\" \"a\" {\n│\n╵\n")
    if fmt == "terraform-lro":
        return ("Error: creating Subnet (Subscription: \"" + SUB + "\"\nResource Group Name: \"rg-net-neu\"\n"
                "Virtual Network Name: \"vnet-neu\"\nSubnet Name: \"snet-a\"): polling after CreateOrUpdate: polling "
                "failed: the Azure API returned the following error:\n\n"
                f"Status: \"Failed\"\nCode: {_go_quote(code)}\nMessage: {_go_quote(message)}\nActivity Id: \"\"\n\n"
                "---\n\nAPI Response:\n\n----[start]----\n"
                + json.dumps({"status": "Failed", "error": body["error"]}) + "\n-----[end]-----\n")
    if fmt == "autorest":
        return ("network.SubnetsClient#CreateOrUpdate: Failure sending request: StatusCode=0 -- Original Error: "
                f"autorest/azure: Service returned an error. Status=<nil> Code={_go_quote(code)} "
                f"Message={_go_quote(message)} Details=[]\n")
    if fmt == "azcore":
        rule = "-" * 80
        return (f"PUT https://management.azure.com{RG}/providers/Microsoft.Network/virtualNetworks/vnet-neu/subnets/"
                f"snet-a\n{rule}\nRESPONSE {status}: {status} Conflict\nERROR CODE: {code}\n{rule}\n"
                f"{json.dumps(body, indent=2)}\n{rule}\n")
    if fmt == "powershell":
        return (f"Set-AzVirtualNetwork: {message}\nErrorCode: {code}\nErrorMessage: {message}\nErrorTarget: \n"
                f"StatusCode: {status}\nReasonPhrase: Conflict\nOperationID : 0d6b7a58-3c1e-4f92-8a7d-5e2b9c4f1a03\n")
    if fmt == "powershell-deployment":
        return ("New-AzResourceGroupDeployment: 9:31:07 AM - The deployment 'net' failed with error(s). Showing 1 "
                f"out of 1 error(s).\nStatus Message: {message} (Code:{code})\n"
                "CorrelationId: 6c0e2b9a-1f47-4d3e-b8a5-92d7e0c4f316\n")
    raise AssertionError(fmt)


FORMATS = ["json", "lro", "az", "az-deployment", "terraform", "terraform-lro", "autorest", "azcore", "powershell",
           "powershell-deployment"]
SOURCE = {"json": "json", "lro": "json", "az": "az", "az-deployment": "az", "terraform": "terraform",
          "terraform-lro": "terraform", "autorest": "autorest", "azcore": "azcore", "powershell": "powershell",
          "powershell-deployment": "powershell"}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("code", "message", "status"), TABLE, ids=[row[0] for row in TABLE])
def test_table_code_in_every_format(fmt: str, code: str, message: str, status: int | None) -> None:
    info = parse_error(render(fmt, code, message, status))
    assert info is not None
    assert info.code == code
    assert info.category == "wait" and info.retryable is True
    assert info.source_format == SOURCE[fmt]
    if code == "AnotherOperationInProgress":
        assert info.status_uri == OP
    if code == "ReferencedResourceNotProvisioned":
        assert info.blocking_operation == "PutSubnetOperation"
    if code == "CanceledAndSupersededDueToAnotherOperation":
        assert info.blocking_operation == "PutVirtualNetworkOperation"
    if fmt == "az-deployment":
        assert info.outer_code == "DeploymentFailed"
        assert info.codes == tuple(dict.fromkeys(("DeploymentFailed", "Conflict", code)))


@pytest.mark.parametrize("code", sorted(WAIT_CODES))
def test_wait_codes(code: str) -> None:
    assert classify(code, "") == "wait"
    assert classify(code.lower(), None) == "wait"


@pytest.mark.parametrize("code", sorted(FATAL_CODES))
def test_fatal_codes(code: str) -> None:
    assert classify(code, "The request failed.") == "fatal"
    info = parse_error(json.dumps({"error": {"code": code, "message": "The request failed."}}))
    assert info is not None and info.category == "fatal" and info.retryable is False


@pytest.mark.parametrize(("code", "message", "expected"), [
    # AKS says OperationNotAllowed for both
    ("OperationNotAllowed", "Operation is not allowed: Another agentpool operation (nodepool1 - Creating) is in "
     "progress, please wait for it to finish before starting a new operation.", "wait"),
    ("OperationNotAllowed", "Operation is not allowed because there's an in progress update managed cluster "
     "operation (operation ID: e375d315-218c-4dff-b806-7ab63b0bb63a) on the managed cluster started on UTC "
     "2026-05-22T07:19:23Z.", "wait"),
    ("OperationNotAllowed", "Operation could not be completed as it results in exceeding approved Total Regional "
     "Cores quota. Additional details - Deployment Model: Resource Manager, Location: westus2, Current Limit: 10, "
     "Current Usage: 6, Additional Required: 6, (Minimum) New Limit Required: 12.", "fatal"),
    ("OperationNotAllowed", "The OS Rolling Upgrade API cannot be used on a Virtual Machine Scale Set unless the "
     "Virtual Machine Scale Set has some unprotected instances which have imageReference.version set to latest.",
     "unknown"),
    # Conflict is only a wait when the message says another operation holds the resource
    ("Conflict", "Cannot modify this site because another operation is in progress. Details: Id: "
     "472ad74a-12b4-4686-8ac2-3132a46411d9, OperationName: StopContainerAppOperation", "wait"),
    ("Conflict", "The subscription 'xxxxxxxx' is not registered to use microsoft.insights.", "unknown"),
    ("Canceled", "Operation was canceled.", "unknown"),
    ("Canceled", "Operation PutLoadBalancerOperation (52037801-74e8-4660-b359-39055aa02d7c) was canceled and "
     "superseded by operation InternalOperation (bb71e36a-3f38-4762-b28e-1cc2fbb44ca9).", "wait"),
    (None, "Unable to edit or replace deployment 'x': previous deployment from '5/30/2023 8:01:53 PM' is still "
     "active (expiration time is '6/6/2023 8:01:52 PM').", "wait"),
    ("ManagedEnvironmentOperationInProgress", "Cannot modify Container Apps environment cae-dev because another "
     "operation is in progress.", "wait"),
    ("SomeFutureOperationInProgress", "", "wait"),
    ("InternalServerError", "Encountered internal server error. Please try again.", "unknown"),
    ("DeploymentFailed", "At least one resource deployment operation failed.", "unknown"),
    ("", "", "unknown"),
    (None, None, "unknown"),
])
def test_classify_by_message(code: str | None, message: str | None, expected: str) -> None:
    assert classify(code, message) == expected


def test_classify_by_status_for_unknown_codes() -> None:
    assert classify("SomethingNew", "x", status_code=429) == "wait"
    assert classify("SomethingNew", "x", status_code=404) == "fatal"
    assert classify("SomethingNew", "x", status_code=409) == "unknown"
    assert classify("DeploymentFailed", "x", status_code=400) == "unknown"
    assert classify("ReferencedResourceNotProvisioned", "x", status_code=400) == "wait"


def test_throttling_429_with_retry_after_is_wait() -> None:
    text = ("Response status: 429\n    'Retry-After': '17'\n"
            'ERROR: (TooManyRequests) The request is being throttled as the limit has been reached for operation type'
            " - Write_ObservationWindow_00:05:00. For more information, see - https://aka.ms/srpthrottlinglimits\n"
            "Code: TooManyRequests\nMessage: The request is being throttled as the limit has been reached for "
            "operation type - Write_ObservationWindow_00:05:00. For more information, see - "
            "https://aka.ms/srpthrottlinglimits\n")
    info = parse_error(text)
    assert (info.code, info.category, info.status_code, info.retry_after) == ("TooManyRequests", "wait", 429, 17)


def test_unknown_code_under_fatal_wrapper_is_fatal() -> None:
    body = {"error": {"code": "InvalidTemplateDeployment", "message": "The template deployment 'main' is not valid "
                      "according to the validation procedure.", "details": [
                          {"code": "AccountNameInvalid", "message": "st-1 is not a valid storage account name."}]}}
    info = parse_error(json.dumps(body))
    assert (info.code, info.outer_code, info.category) == ("AccountNameInvalid", "InvalidTemplateDeployment", "fatal")
    assert info.deployment_name == "main"


def test_masked_subscription_in_operation_uri() -> None:
    masked = ("https://westeurope.network.azure.com/subscriptions/***/providers/Microsoft.Network/locations/westeurope"
              "/operations/5c1a0e2f-3b7d-4e98-a6c4-1f0d9e8b7a65?api-version=2020-05-01")
    info = parse_error(f"ERROR: (AnotherOperationInProgress) Another operation on this or dependent resource is in "
                       f"progress. To retrieve status of the operation use uri: {masked}.\nCode: "
                       f"AnotherOperationInProgress\nMessage: Another operation on this or dependent resource is in "
                       f"progress. To retrieve status of the operation use uri: {masked}.\n")
    assert info.status_uri == masked
