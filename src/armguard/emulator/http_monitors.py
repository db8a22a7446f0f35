"""Long-running operations over HTTP: the monitor URLs ARM hands out and what they answer.

A long-running write answers with `Azure-AsyncOperation` (the status URL from the state's
`status_uri_path`), `Location` (the same path with `operations` made `operationResults`) and a
poll interval (`Retry-After`, or `retry-after-ms` below one real second: see `http_shapes`). As
azure-mgmt-core's ARMPolling expects, the status URL answers 200 with `{"status": "InProgress" |
"Succeeded" | "Failed" | "Canceled", ...}`, and the Location URL 202 while running, then 200 with
the resource (writes), 204 (deletes) or the operation's error. Pure: no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from armguard.emulator.errors import ArmError
from armguard.emulator.http_calls import Call, Reply, allow
from armguard.emulator.http_shapes import poll_headers as poll_interval_headers

if TYPE_CHECKING:
    from armguard.emulator.state import ArmState

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "canceled"})
DEFAULT_RETRY_SECONDS = 10.0


class OperationMonitors:
    """The monitor routes and headers (mixed into `ArmHandlers`)."""

    state: ArmState

    def operation_status(self, call: Call) -> Reply:
        """The Azure-AsyncOperation URL: 200 with `{"status": ...}` throughout."""
        allow(call, "GET")
        operation = self.state.operation(call.route.operation_id)
        headers = {} if is_done(operation) else self.poll_headers(operation)
        return Reply(200, operation.status_body(), headers)

    def operation_result(self, call: Call) -> Reply:
        """The Location URL: 202 while running; when done the resource (200), nothing (204) or the error."""
        allow(call, "GET")
        operation = self.state.operation(call.route.operation_id)
        if not is_done(operation):
            headers = {"Location": call.base_url + self.result_path(operation), **self.poll_headers(operation)}
            return Reply(202, None, headers)
        body = operation.status_body()
        status = str(body.get("status", "")).lower()
        if status != "succeeded":
            error = body.get("error") or {"code": "OperationFailed", "message": f"The operation {status}."}
            return Reply(failure_status(status), {"error": error})
        rid = getattr(operation, "resource_id", None)
        if rid and "delete" not in str(getattr(operation, "kind", "") or "").lower():
            try:
                return Reply(200, self.state.get_resource(rid))  # groups and deployments too
            except ArmError as error:
                if error.status != 404:
                    raise
        return Reply(204)

    # -- helpers -----------------------------------------------------------------------------

    def accepted_write(self, call: Call, status: int, body: object, operation: object | None, *,
                       location: bool = True) -> Reply:
        if operation is None:
            return Reply(status, body)
        headers = self.monitor_headers(call, operation) if location else {
            "Azure-AsyncOperation": call.base_url + self.status_path(operation), **self.poll_headers(operation)}
        return Reply(status, body, headers)

    def monitor_headers(self, call: Call, operation: object) -> dict[str, str]:
        status_path = self.state.status_uri_path(operation)
        return {"Azure-AsyncOperation": call.base_url + with_api_version(status_path),
                "Location": call.base_url + self.result_path(operation, status_path),
                **self.poll_headers(operation)}

    def status_path(self, operation: object) -> str:
        return with_api_version(self.state.status_uri_path(operation))

    def result_path(self, operation: object, status_path: str | None = None) -> str:
        """The Location monitor: the status path with its last `operations` word made `operationResults`."""
        path, query = split_query(status_path or self.state.status_uri_path(operation))
        head, sep, tail = path.rpartition("/operations/")
        if sep and "/" not in tail:
            return with_api_version(f"{head}/operationResults/{tail}{query}")
        segments = path.split("/")
        for index in range(len(segments) - 2, -1, -1):
            if segments[index].lower() in ("operations", "operationstatuses", "asyncoperations"):
                segments[index] = "operationResults"
                return with_api_version("/".join(segments) + query)
        sub = path.split("/")[2] if path.lower().startswith("/subscriptions/") else ""
        return with_api_version(f"/subscriptions/{sub}/operationresults/{operation_id(operation)}")

    def result_url(self, call: Call, operation: object) -> str:
        return call.base_url + self.result_path(operation)

    def poll_headers(self, operation: object) -> dict[str, str]:
        seconds = getattr(operation, "retry_after", None) or DEFAULT_RETRY_SECONDS
        return poll_interval_headers(self.state.clock.to_real(float(seconds)))


MONITOR_API_VERSION = "2020-06-01"


def with_api_version(path: str) -> str:
    return path if "api-version=" in path else f"{path}{'&' if '?' in path else '?'}api-version={MONITOR_API_VERSION}"


def split_query(path: str) -> tuple[str, str]:
    base, sep, query = path.partition("?")
    return base, sep + query


def operation_id(operation: object) -> str:
    return str(getattr(operation, "id", None) or getattr(operation, "operation_id", ""))


def is_done(operation: object) -> bool:
    return str(getattr(operation, "status", "")).lower() in TERMINAL_STATUSES


def failure_status(status: str) -> int:
    """The HTTP status a Location monitor answers for a canceled (409) or failed (400) operation:
    a 4xx, so that clients raise the error at once instead of retrying the GET as they do a 5xx."""
    return 409 if status == "canceled" else 400
