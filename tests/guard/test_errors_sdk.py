"""parse_error on real Azure SDK for Python exceptions.

Responses are built the way azure-core's own tests build them: an http.client.HTTPResponse read from raw
bytes, wrapped in azure-core's RestHttpClientTransportResponse; or a subclass of the public legacy
azure.core.pipeline.transport.HttpResponse. The LRO case runs azure-mgmt-core's ARMPolling over a scripted
transport, so the exception is the one a generated client's poller.result() raises.
"""

from __future__ import annotations

import http.client
import io
import json
import subprocess
import warnings

import pytest

pytest.importorskip("azure.core")
pytest.importorskip("azure.mgmt.core")

from azure.core.configuration import Configuration
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ODataV4Format,
    ResourceExistsError,
    ResourceNotFoundError,
    map_error,
)
from azure.core.pipeline.transport import HttpRequest as LegacyHttpRequest
from azure.core.pipeline.transport import HttpResponse as LegacyHttpResponse
from azure.core.pipeline.transport import HttpTransport
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest
from azure.core.rest._http_response_impl import RestHttpClientTransportResponse
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.core.polling.arm_polling import ARMPolling

from armguard.guard import parse_error

SUB = "3f2a8c1e-7b4d-4e29-9a61-0c5d2e8f4b17"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-hub-weu"
SUBNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/vnet-hub-weu/subnets/snet-app"
SUBNET_URL = f"https://management.azure.com{SUBNET}?api-version=2024-05-01"
OP = (f"https://management.azure.com/subscriptions/{SUB}/providers/Microsoft.Network/locations/westeurope/operations/"
      "8e1c2b7a-4f3d-4c9e-b6a2-1d5e7f9a0c34?api-version=2024-05-01")
CORRELATION = "6a91d3f0-4c2e-4b78-9e15-d8f07a3c2b64"
REQUEST = "2b7e41c9-8d3a-4f6e-a1c5-93d0e7b2f846"
AOIP = {"error": {"code": "AnotherOperationInProgress", "message": "Another operation on this or dependent resource "
                  f"is in progress. To retrieve status of the operation use uri: {OP}.", "details": []}}


class _Socket:
    def __init__(self, data: bytes):
        self._file = io.BytesIO(data)

    def makefile(self, *args, **kwargs):
        return self._file


def response(method: str, url: str, status: int, reason: str, body: str | bytes = b"",
             headers: dict[str, str] | None = None, read: bool = True,
             request: HttpRequest | None = None) -> RestHttpClientTransportResponse:
    """An azure.core.rest response over a real http.client.HTTPResponse parsed from raw bytes."""
    data = body.encode() if isinstance(body, str) else body
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    raw = http.client.HTTPResponse(_Socket(head.encode() + f"Content-Length: {len(data)}\r\n\r\n".encode() + data))
    raw.begin()
    wrapped = RestHttpClientTransportResponse(request=request or HttpRequest(method, url), internal_response=raw)
    if read:
        wrapped.read()
    return wrapped


class LegacyResponse(LegacyHttpResponse):
    """The public legacy transport response, completed the way azure-core's tests complete it."""

    def __init__(self, request, status: int, reason: str, body: bytes, headers: dict[str, str]):
        super().__init__(request, None)
        self.status_code = status
        self.reason = reason
        self.headers = headers
        self._body = body

    def body(self) -> bytes:
        return self._body


ARM_HEADERS = {"Content-Type": "application/json; charset=utf-8", "x-ms-correlation-request-id": CORRELATION,
               "x-ms-request-id": REQUEST}


def raise_mapped(status: int, resp) -> HttpResponseError:
    """What a generated mgmt client does with an error response: map_error, else HttpResponseError."""
    try:
        map_error(status_code=status, response=resp, error_map={401: ClientAuthenticationError,
                                                               404: ResourceNotFoundError, 409: ResourceExistsError})
        raise HttpResponseError(response=resp, error_format=ARMErrorFormat)
    except HttpResponseError as error:
        return error


def test_resource_exists_error_another_operation_in_progress() -> None:
    resp = response("PUT", SUBNET_URL, 409, "Conflict", json.dumps(AOIP), {**ARM_HEADERS, "Retry-After": "10"})
    error = raise_mapped(409, resp)
    assert type(error) is ResourceExistsError
    info = parse_error(error)
    assert info is not None
    assert (info.code, info.category, info.retryable, info.source_format) == (
        "AnotherOperationInProgress", "wait", True, "sdk")
    assert (info.status_code, info.retry_after, info.status_uri) == (409, 10, OP)
    assert (info.correlation_id, info.request_id, info.resource_id) == (CORRELATION, REQUEST, SUBNET)


def test_http_response_error_with_arm_error_format_details() -> None:
    body = {"error": {"code": "RetryableError", "message": "A retryable error occurred.", "details": [
        {"code": "ReferencedResourceNotProvisioned", "message": f"Cannot proceed with operation because resource "
         f"{SUBNET} used by resource {RG}/providers/Microsoft.Network/networkInterfaces/nic-app-01 is not in "
         "Succeeded state. Resource is in Updating state and the last operation that updated/is updating the "
         "resource is PutSubnetOperation."}]}}
    nic_url = f"https://management.azure.com{RG}/providers/Microsoft.Network/networkInterfaces/nic-app-01?api-version=2024-05-01"
    error = HttpResponseError(response=response("PUT", nic_url, 429, "Too Many Requests", json.dumps(body),
                                                {**ARM_HEADERS, "Retry-After": "10"}), error_format=ARMErrorFormat)
    assert error.error.details[0].code == "ReferencedResourceNotProvisioned"
    info = parse_error(error)
    assert (info.code, info.outer_code, info.codes) == (
        "ReferencedResourceNotProvisioned", "RetryableError", ("RetryableError", "ReferencedResourceNotProvisioned"))
    assert (info.category, info.status_code, info.retry_after) == ("wait", 429, 10)
    assert info.blocking_operation == "PutSubnetOperation"
    assert info.resource_id == f"{RG}/providers/Microsoft.Network/networkInterfaces/nic-app-01"  # the request URL


class ScriptedTransport(HttpTransport):
    """Answers each request with the next scripted (status, reason, headers, body)."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[tuple[str, str]] = []

    def __enter__(self):
        return self

    def __exit__(self, *args):
        pass

    def open(self):
        pass

    def close(self):
        pass

    def send(self, request, **kwargs):
        self.requests.append((request.method, request.url))
        status, reason, headers, body = self.script.pop(0)
        return response(request.method, request.url, status, reason, body, headers, request=request)


def test_lro_failure_raised_by_arm_polling() -> None:
    op = OP.replace("8e1c2b7a-4f3d-4c9e-b6a2-1d5e7f9a0c34", "61bd0cca-ed54-4358-8325-42eda91d18c1")
    failed = {"status": "Canceled", "error": {"code": "Canceled", "message": "Operation was canceled.", "details": [
        {"code": "CanceledAndSupersededDueToAnotherOperation", "message": "Operation PutSubnetOperation "
         "(61bd0cca-ed54-4358-8325-42eda91d18c1) was canceled and superseded by operation PutVirtualNetworkOperation "
         "(7d2e4f90-1a3b-4c5d-9e8f-0a1b2c3d4e5f)."}]}}
    transport = ScriptedTransport([
        (201, "Created", {**ARM_HEADERS, "Azure-AsyncOperation": op, "Retry-After": "0"},
         json.dumps({"id": SUBNET, "properties": {"provisioningState": "Updating"}})),
        (200, "OK", ARM_HEADERS, json.dumps(failed)),
    ])
    client = ARMPipelineClient(base_url="https://management.azure.com", config=Configuration(), transport=transport)
    initial = client._pipeline.run(HttpRequest("PUT", SUBNET_URL, json={"properties": {}}))
    poller = LROPoller(client, initial, lambda pipeline_response: None, ARMPolling(0))
    with pytest.raises(HttpResponseError) as raised:
        poller.result()
    assert transport.requests[-1] == ("GET", op)
    info = parse_error(raised.value)
    assert (info.code, info.outer_code, info.category) == (
        "CanceledAndSupersededDueToAnotherOperation", "Canceled", "wait")
    assert info.status_uri == op                     # the poll request's URL: the operation to watch
    assert info.status_code is None                  # the poll itself answered 200
    assert (info.blocking_operation, info.blocking_operation_id) == (
        "PutVirtualNetworkOperation", "7d2e4f90-1a3b-4c5d-9e8f-0a1b2c3d4e5f")
    assert info.correlation_id == CORRELATION


def test_legacy_transport_response_lro_status_body() -> None:
    body = {"status": "Failed", "error": {"code": "DeploymentActive", "message": "Unable to edit or replace deployment "
            "'hub-network': previous deployment from '6/11/2024 9:14:52 AM' is still active (expiration time is "
            "'6/18/2024 9:14:51 AM'). Please see https://aka.ms/arm-deploy for usage details."}}
    url = f"https://management.azure.com{RG}/providers/Microsoft.Resources/deployments/hub-network?api-version=2024-03-01"
    request = LegacyHttpRequest("PUT", url)
    resp = LegacyResponse(request, 409, "Conflict", json.dumps(body).encode(), {"x-ms-correlation-request-id": CORRELATION})
    info = parse_error(raise_mapped(409, resp))
    assert (info.code, info.category, info.deployment_name, info.blocking_started) == (
        "DeploymentActive", "wait", "hub-network", "6/11/2024 9:14:52 AM")
    assert info.resource_id is None and info.status_code == 409 and info.correlation_id == CORRELATION


def test_app_service_pascal_case_body_that_odatav4_cannot_read() -> None:
    body = {"Code": "Conflict", "Message": "Cannot modify this site because another operation is in progress. Details: "
            "Id: 472ad74a-12b4-4686-8ac2-3132a46411d9, OperationName: StopContainerAppOperation, CreatedTime: "
            "10/27/2024 9:27:40 PM, RequestId: 5506e854-5cac-4e18-810e-aac558bfcc5d, EntityType: 3", "Target": None,
            "Details": [{"Message": "Cannot modify this site because another operation is in progress."},
                        {"Code": "Conflict"}], "Innererror": None}
    site = f"https://management.azure.com{RG}/providers/Microsoft.Web/sites/func-weu-01?api-version=2023-12-01"
    error = raise_mapped(409, response("PUT", site, 409, "Conflict", json.dumps(body), ARM_HEADERS))
    assert error.error is None                           # azure-core's ODataV4Format wants lower-case keys
    info = parse_error(error)
    assert (info.code, info.category, info.blocking_operation) == ("Conflict", "wait", "StopContainerAppOperation")
    assert (info.blocking_operation_id, info.blocking_started) == (
        "472ad74a-12b4-4686-8ac2-3132a46411d9", "10/27/2024 9:27:40 PM")
    assert info.resource_id == f"{RG}/providers/Microsoft.Web/sites/func-weu-01"


@pytest.mark.parametrize(("status", "reason", "code", "error_type"), [
    (401, "Unauthorized", "InvalidAuthenticationToken", ClientAuthenticationError),
    (404, "Not Found", "ResourceNotFound", ResourceNotFoundError),
    (404, "Not Found", "ParentResourceNotFound", ResourceNotFoundError),
    (409, "Conflict", "ScopeLocked", ResourceExistsError),
    (403, "Forbidden", "AuthorizationFailed", HttpResponseError),
    (400, "Bad Request", "InvalidTemplate", HttpResponseError),
])
def test_fatal_sdk_errors(status: int, reason: str, code: str, error_type: type) -> None:
    body = {"error": {"code": code, "message": f"The request failed with {code}."}}
    error = raise_mapped(status, response("PUT", SUBNET_URL, status, reason, json.dumps(body), ARM_HEADERS))
    assert type(error) is error_type
    info = parse_error(error)
    assert (info.code, info.category, info.retryable, info.status_code) == (code, "fatal", False, status)


def test_throttled_without_json_body_uses_status_and_retry_after() -> None:
    resp = response("PUT", SUBNET_URL, 429, "Too Many Requests", "<html><body>Too Many Requests</body></html>",
                    {"Content-Type": "text/html", "Retry-After": "Wed, 12 Jun 2024 09:31:20 GMT",
                     "Date": "Wed, 12 Jun 2024 09:30:50 GMT"})
    info = parse_error(HttpResponseError(response=resp))
    assert (info.code, info.category, info.status_code, info.retry_after) == (None, "wait", 429, 30)


def test_retry_after_ms_header() -> None:
    resp = response("PUT", SUBNET_URL, 429, "Too Many Requests", json.dumps(
        {"error": {"code": "TooManyRequests", "message": "The request is being throttled."}}),
        {**ARM_HEADERS, "retry-after-ms": "2500"})
    assert parse_error(HttpResponseError(response=resp)).retry_after == 3


def test_response_body_not_read_is_not_read() -> None:
    resp = response("PUT", SUBNET_URL, 409, "Conflict", json.dumps(AOIP), ARM_HEADERS, read=False)
    info = parse_error(HttpResponseError(response=resp))
    assert info is not None and info.code is None
    assert (info.status_code, info.correlation_id, info.category) == (409, CORRELATION, "unknown")
    assert resp.internal_response.fp is not None and not resp.is_stream_consumed   # no network read


def test_message_only_exception_is_parsed_as_text() -> None:
    error = HttpResponseError(message=str(ODataV4Format(AOIP)))
    info = parse_error(error)
    assert (info.code, info.source_format, info.status_uri) == ("AnotherOperationInProgress", "sdk", OP)


def test_odatav4format_object_directly() -> None:
    info = parse_error(ARMErrorFormat(AOIP))
    assert (info.code, info.status_uri) == ("AnotherOperationInProgress", OP)


def test_wrapped_exception_is_followed() -> None:
    error = raise_mapped(409, response("PUT", SUBNET_URL, 409, "Conflict", json.dumps(AOIP), ARM_HEADERS))
    try:
        try:
            raise error
        except HttpResponseError as inner:
            raise RuntimeError("provisioning the hub failed") from inner
    except RuntimeError as outer:
        info = parse_error(outer)
    assert info.code == "AnotherOperationInProgress" and info.source_format == "sdk"


def test_called_process_error_with_az_stderr() -> None:
    stderr = (b"ERROR: (DeploymentActive) Unable to edit or replace deployment 'hub': previous deployment from "
              b"'6/11/2024 9:14:52 AM' is still active (expiration time is '6/18/2024 9:14:51 AM').\r\n"
              b"Code: DeploymentActive\r\nMessage: Unable to edit or replace deployment 'hub': previous deployment "
              b"from '6/11/2024 9:14:52 AM' is still active (expiration time is '6/18/2024 9:14:51 AM').\r\n")
    error = subprocess.CalledProcessError(1, ["az", "deployment", "group", "create"], output=b"", stderr=stderr)
    info = parse_error(error)
    assert (info.code, info.source_format, info.deployment_name) == ("DeploymentActive", "az", "hub")


def test_msrestazure_style_cloud_error() -> None:
    class CloudErrorData:           # msrestazure keeps the code in .error
        def __init__(self):
            self.error = "AnotherOperationInProgress"
            self.message = AOIP["error"]["message"]
            self.target = None
            self.details = []

    class CloudError(Exception):
        def __init__(self):
            super().__init__("Azure Error: AnotherOperationInProgress")
            self.error = CloudErrorData()
            self.status_code = 409
            self.response = None

    info = parse_error(CloudError())
    assert (info.code, info.status_code, info.status_uri) == ("AnotherOperationInProgress", 409, OP)


def test_no_deprecation_warnings_from_odatav4() -> None:
    error = raise_mapped(409, response("PUT", SUBNET_URL, 409, "Conflict", json.dumps(AOIP), ARM_HEADERS))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_error(error).code == "AnotherOperationInProgress"
        assert parse_error(error.error).code == "AnotherOperationInProgress"
