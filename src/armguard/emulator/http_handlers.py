"""What each route does: calls into the `ArmState` and the reply ARM would give.

A handler takes a `Call` (the parsed request) and returns a `Reply` (status, JSON body, headers);
errors are raised as the state's `ArmError` and rendered by the HTTP layer. Long-running writes
answer 201 (create) / 200 (update) / 202 (delete) with `Azure-AsyncOperation`, `Location` and
`Retry-After`; the operation monitors answer as azure-mgmt-core's ARMPolling expects: the
Azure-AsyncOperation URL gives `{"status": ...}` (200), the Location URL gives 202 while running
and 200 (with the resource) or 204 when done. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from armguard.emulator.errors import ArmError
from armguard.emulator.http_filter import parse_activity_filter
from armguard.emulator.http_routes import Route
from armguard.emulator.http_shapes import (
    DEFAULT_TENANT,
    location_bodies,
    retry_after_value,
    subscription_body,
    tenant_body,
    value_list,
)

if TYPE_CHECKING:
    from armguard.emulator.state import ArmState

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "canceled"})
DEFAULT_RETRY_SECONDS = 10.0


@dataclass(slots=True)
class Call:
    """One request as the handlers see it."""

    method: str
    route: Route
    query: Mapping[str, str]
    body: object | None
    caller: str
    correlation_id: str
    base_url: str
    api_version: str


@dataclass(slots=True)
class Reply:
    status: int
    body: object | None = None
    headers: dict[str, str] = field(default_factory=dict)


class ArmHandlers:
    """The route handlers over one `ArmState`."""

    def __init__(self, state: ArmState, *, subscriptions: tuple[str, ...], tenant_id: str = DEFAULT_TENANT):
        self.state = state
        self.tenant_id = tenant_id
        self.subscriptions: list[str] = list(subscriptions)
        self._table: dict[str, Callable[[Call], Reply]] = {
            "tenants": self.tenants,
            "subscriptions": self.list_subscriptions,
            "subscription": self.subscription,
            "locations": self.locations,
            "resource_groups": self.resource_groups,
            "resource_group": self.resource_group,
            "group_resources": self.listed_resources,
            "subscription_resources": self.listed_resources,
            "resource": self.resource,
            "resource_collection": self.resource_collection,
            "deployments": self.deployments,
            "deployment": self.deployment,
            "deployment_action": self.deployment_action,
            "deployment_operations": self.deployment_operations,
            "deployment_operation": self.deployment_operation,
            "locks": self.locks,
            "lock": self.lock,
            "activity_log": self.activity_log,
            "operation_status": self.operation_status,
            "operation_result": self.operation_result,
        }

    def handle(self, call: Call) -> Reply:
        handler = self._table.get(call.route.kind)
        if handler is None:
            raise not_found_route()
        if call.route.subscription and call.method in ("PUT", "PATCH", "POST", "DELETE"):
            self.remember_subscription(call.route.subscription)
        return handler(call)

    def remember_subscription(self, subscription: str) -> None:
        if subscription.lower() not in (s.lower() for s in self.subscriptions):
            self.subscriptions.append(subscription)

    # -- tenants, subscriptions, locations -------------------------------------------------

    def tenants(self, call: Call) -> Reply:
        allow(call, "GET")
        return Reply(200, value_list([tenant_body(self.tenant_id)]))

    def list_subscriptions(self, call: Call) -> Reply:
        allow(call, "GET")
        subs = [subscription_body(s, self.tenant_id) for s in self.subscriptions]
        return Reply(200, {"value": subs, "count": {"type": "Total", "value": len(subs)}})

    def subscription(self, call: Call) -> Reply:
        allow(call, "GET")
        return Reply(200, subscription_body(call.route.subscription or "", self.tenant_id))

    def locations(self, call: Call) -> Reply:
        allow(call, "GET")
        return Reply(200, value_list(location_bodies(call.route.subscription or "")))

    # -- resource groups ---------------------------------------------------------------------

    def resource_groups(self, call: Call) -> Reply:
        allow(call, "GET")
        return Reply(200, value_list(self.state.list_resource_groups(call.route.subscription)))

    def resource_group(self, call: Call) -> Reply:
        sub, name = call.route.subscription, call.route.name
        if call.method == "GET":
            return Reply(200, self.state.get_resource_group(sub, name))
        if call.method == "HEAD":
            return Reply(204 if self._group_exists(sub, name) else 404)
        if call.method in ("PUT", "PATCH"):
            existed = self._group_exists(sub, name)
            body = require_object(call.body)
            if call.method == "PATCH":
                if not existed:
                    return Reply(200, self.state.get_resource_group(sub, name))  # raises the 404
                body = merge_patch(self.state.get_resource_group(sub, name), body)
            group = self.state.put_resource_group(sub, name, body, **self._who(call))
            group = group[0] if isinstance(group, tuple) else group
            return Reply(200 if existed or call.method == "PATCH" else 201, group)
        if call.method == "DELETE":
            operation = self.state.delete_resource_group(sub, name, **self._who(call))
            if operation is None:
                return Reply(200)
            # Resource Manager answers a group delete with a Location monitor only.
            headers = {"Location": self.result_url(call, operation),
                       "Retry-After": self.retry_after(operation)}
            return Reply(202, None, headers)
        raise method_not_allowed(call.method)

    def _group_exists(self, sub: str | None, name: str | None) -> bool:
        try:
            self.state.get_resource_group(sub, name)
        except ArmError as error:
            if error.status == 404:
                return False
            raise
        return True

    # -- generic resources -----------------------------------------------------------------

    def listed_resources(self, call: Call) -> Reply:
        allow(call, "GET")
        items = self.state.list_resources(call.route.subscription, call.route.resource_group,
                                          filter=call.query.get("$filter"))
        return Reply(200, value_list(items))

    def resource_collection(self, call: Call) -> Reply:
        """`GET .../providers/{ns}/{type}` (or a child collection): resources directly under it."""
        allow(call, "GET")
        collection = (call.route.resource_id or "").lower()
        items = self.state.list_resources(call.route.subscription, call.route.resource_group)
        return Reply(200, value_list(r for r in items
                                     if str(r.get("id", "")).lower().rsplit("/", 1)[0] == collection))

    def resource(self, call: Call) -> Reply:
        rid = call.route.resource_id
        if call.method == "GET":
            return Reply(200, self.state.get_resource(rid))
        if call.method == "HEAD":
            return Reply(204 if self._resource_exists(rid) else 404)
        if call.method == "PUT":
            existed = self._resource_exists(rid)
            resource, operation = self.state.put_resource(rid, require_object(call.body),
                                                          api_version=call.api_version, **self._who(call))
            return self.accepted_write(call, 200 if existed else 201, resource, operation)
        if call.method == "PATCH":
            resource, operation = self.state.patch_resource(rid, require_object(call.body),
                                                            api_version=call.api_version, **self._who(call))
            return self.accepted_write(call, 200, resource, operation)
        if call.method == "DELETE":
            try:
                operation = self.state.delete_resource(rid, **self._who(call))
            except ArmError as error:
                if error.status == 404 and error.code == "ResourceNotFound":
                    return Reply(204)  # deleting what is not there succeeds, as in ARM
                raise
            if operation is None:
                return Reply(200)
            return Reply(202, None, self.monitor_headers(call, operation))
        raise method_not_allowed(call.method)

    def _resource_exists(self, rid: str | None) -> bool:
        try:
            self.state.get_resource(rid)
        except ArmError as error:
            if error.status == 404:
                return False
            raise
        return True

    # -- deployments -------------------------------------------------------------------------

    def deployments(self, call: Call) -> Reply:
        allow(call, "GET")
        return Reply(200, value_list(self.state.list_deployments(call.route.scope)))

    def deployment(self, call: Call) -> Reply:
        scope, name = call.route.scope, call.route.name
        if call.method == "GET":
            return Reply(200, self.state.get_deployment(scope, name))
        if call.method == "HEAD":
            return Reply(204 if self._deployment_exists(scope, name) else 404)
        if call.method == "PUT":
            existed = self._deployment_exists(scope, name)
            deployment, operation = self.state.put_deployment(scope, name, require_object(call.body),
                                                              **self._who(call))
            return self.accepted_write(call, 200 if existed else 201, deployment, operation, location=False)
        if call.method == "DELETE":
            operation = self.state.delete_deployment(scope, name, **self._who(call))
            if operation is None:
                return Reply(204)
            headers = {"Location": self.result_url(call, operation),
                       "Retry-After": self.retry_after(operation)}
            return Reply(202, None, headers)
        raise method_not_allowed(call.method)

    def _deployment_exists(self, scope: str | None, name: str | None) -> bool:
        try:
            self.state.get_deployment(scope, name)
        except ArmError as error:
            if error.status == 404:
                return False
            raise
        return True

    def deployment_action(self, call: Call) -> Reply:
        allow(call, "POST")
        scope, name, action = call.route.scope, call.route.name, call.route.action
        if action == "cancel":
            self.state.cancel_deployment(scope, name, **self._who(call))
            return Reply(204)
        if action == "validate":
            result = self.state.validate_deployment(scope, name, require_object(call.body))
            if isinstance(result, dict) and result.get("error"):
                return Reply(400, result)
            return Reply(200, result)
        raise ArmError(400, "UnsupportedAction",
                       f"The deployment action '{action}' is not supported by the armguard emulator.")

    def deployment_operations(self, call: Call) -> Reply:
        allow(call, "GET")
        return Reply(200, value_list(self.state.list_deployment_operations(call.route.scope, call.route.name)))

    def deployment_operation(self, call: Call) -> Reply:
        allow(call, "GET")
        wanted = (call.route.operation_id or "").lower()
        for item in self.state.list_deployment_operations(call.route.scope, call.route.name):
            if str(item.get("operationId", "")).lower() == wanted:
                return Reply(200, item)
        raise ArmError(404, "DeploymentOperationNotFound",
                       f"Deployment operation '{call.route.operation_id}' could not be found.")

    # -- locks -----------------------------------------------------------------------------

    def locks(self, call: Call) -> Reply:
        allow(call, "GET")
        return Reply(200, value_list(self.state.list_locks(call.route.scope)))

    def lock(self, call: Call) -> Reply:
        scope, name = call.route.scope, call.route.name
        if call.method == "GET":
            return Reply(200, self.state.get_lock(scope, name))
        if call.method == "PUT":
            existed = self._lock_exists(scope, name)
            lock = self.state.put_lock(scope, name, require_object(call.body), **self._who(call))
            return Reply(200 if existed else 201, lock)
        if call.method == "DELETE":
            if not self._lock_exists(scope, name):
                return Reply(204)
            self.state.delete_lock(scope, name, **self._who(call))
            return Reply(200)
        raise method_not_allowed(call.method)

    def _lock_exists(self, scope: str | None, name: str | None) -> bool:
        try:
            self.state.get_lock(scope, name)
        except ArmError as error:
            if error.status == 404:
                return False
            raise
        return True

    # -- activity log ------------------------------------------------------------------------

    def activity_log(self, call: Call) -> Reply:
        allow(call, "GET")
        wanted = parse_activity_filter(call.query.get("$filter"))
        events = self.state.activity_log(call.route.subscription, wanted.start, wanted.end,
                                         resource_group=wanted.resource_group)
        events = [e for e in events if wanted.matches(e)]
        select = call.query.get("$select")
        if select:
            fields = {f.strip().lower() for f in select.split(",") if f.strip()}
            events = [{k: v for k, v in e.items() if k.lower() in fields} for e in events]
        return Reply(200, value_list(events))

    # -- operation monitors ------------------------------------------------------------------

    def operation_status(self, call: Call) -> Reply:
        """The Azure-AsyncOperation URL: 200 with `{"status": ...}` throughout."""
        allow(call, "GET")
        operation = self.state.operation(call.route.operation_id)
        headers = {} if is_done(operation) else {"Retry-After": self.retry_after(operation)}
        return Reply(200, operation.status_body(), headers)

    def operation_result(self, call: Call) -> Reply:
        """The Location URL: 202 while running; when done the resource (200), nothing (204) or the error."""
        allow(call, "GET")
        operation = self.state.operation(call.route.operation_id)
        if not is_done(operation):
            headers = {"Location": call.base_url + self.result_path(operation),
                       "Retry-After": self.retry_after(operation)}
            return Reply(202, None, headers)
        body = operation.status_body()
        status = str(body.get("status", "")).lower()
        if status != "succeeded":
            error = body.get("error") or {"code": "OperationFailed", "message": f"The operation {status}."}
            return Reply(operation_error_status(operation), {"error": error})
        rid = getattr(operation, "resource_id", None)
        if rid and "delete" not in str(getattr(operation, "kind", "") or "").lower():
            try:
                return Reply(200, self._get_any(rid))
            except ArmError as error:
                if error.status != 404:
                    raise
        return Reply(204)

    def _get_any(self, rid: str) -> object:
        lowered = rid.lower()
        if "/providers/microsoft.resources/deployments/" in lowered:
            scope, _, name = rid.rpartition("/providers/Microsoft.Resources/deployments/")
            if not name:
                scope, name = rid[:lowered.rindex("/providers/")], rid.rsplit("/", 1)[1]
            return self.state.get_deployment(scope, name)
        parts = rid.strip("/").split("/")
        if len(parts) == 4 and parts[2].lower() == "resourcegroups":
            return self.state.get_resource_group(parts[1], parts[3])
        return self.state.get_resource(rid)

    # -- helpers -----------------------------------------------------------------------------

    def accepted_write(self, call: Call, status: int, body: object, operation: object | None, *,
                       location: bool = True) -> Reply:
        if operation is None:
            return Reply(status, body)
        headers = self.monitor_headers(call, operation) if location else {
            "Azure-AsyncOperation": call.base_url + self.status_path(operation),
            "Retry-After": self.retry_after(operation)}
        return Reply(status, body, headers)

    def monitor_headers(self, call: Call, operation: object) -> dict[str, str]:
        return {"Azure-AsyncOperation": call.base_url + self.status_path(operation),
                "Location": self.result_url(call, operation),
                "Retry-After": self.retry_after(operation)}

    def status_path(self, operation: object) -> str:
        return with_api_version(self.state.status_uri_path(operation))

    def result_path(self, operation: object) -> str:
        """The Location monitor: the status path with its last `operations` word made `operationResults`."""
        path, query = split_query(self.state.status_uri_path(operation))
        segments = path.split("/")
        for index in range(len(segments) - 2, -1, -1):
            if segments[index].lower() in ("operations", "operationstatuses", "asyncoperations"):
                segments[index] = "operationResults"
                return with_api_version("/".join(segments) + query)
        sub = path.split("/")[2] if path.lower().startswith("/subscriptions/") else ""
        return with_api_version(f"/subscriptions/{sub}/operationresults/{operation_id(operation)}")

    def result_url(self, call: Call, operation: object) -> str:
        return call.base_url + self.result_path(operation)

    def retry_after(self, operation: object) -> str:
        seconds = getattr(operation, "retry_after", None) or DEFAULT_RETRY_SECONDS
        return retry_after_value(self.state.clock.to_real(float(seconds)))

    @staticmethod
    def _who(call: Call) -> dict[str, str]:
        return {"caller": call.caller, "correlation_id": call.correlation_id}


# -- shared helpers ------------------------------------------------------------------------------

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


def operation_error_status(operation: object) -> int:
    status = getattr(operation, "http_status", None)
    return status if isinstance(status, int) and status >= 400 else 500


def allow(call: Call, *methods: str) -> None:
    if call.method not in methods:
        raise method_not_allowed(call.method)


def method_not_allowed(method: str) -> ArmError:
    return ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")


def not_found_route() -> ArmError:
    return ArmError(404, "InvalidResourceType", "The resource type could not be found: the request path names "
                    "no route of Azure Resource Manager that the armguard emulator serves.")


def require_object(body: object | None) -> dict:
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent",
                       "The request content was invalid and could not be deserialized: "
                       "expected a JSON object.")
    return body


def merge_patch(current: dict, patch: dict) -> dict:
    """RFC 7396 merge of `patch` into `current` (ARM's PATCH semantics for tags and properties)."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged
