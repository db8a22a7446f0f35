"""What each route does: calls into the `ArmState` and the reply ARM would give.

A handler takes a `Call` (the parsed request) and returns a `Reply` (status, JSON body, headers);
errors are raised as the state's `ArmError` and rendered by the HTTP layer. Writes answer 201
(create) / 200 (update) / 202 (delete), long-running ones with the monitor headers of
`http_monitors`. Deleting what is not there answers 204, as ARM does. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from armguard.emulator.errors import ArmError
from armguard.emulator.http_calls import (
    Call,
    Reply,
    allow,
    merge_patch,
    method_not_allowed,
    not_found_route,
    require_object,
)
from armguard.emulator.http_filter import parse_activity_filter
from armguard.emulator.http_monitors import OperationMonitors
from armguard.emulator.http_shapes import DEFAULT_TENANT, location_bodies, tenant_body, value_list

if TYPE_CHECKING:
    from armguard.emulator.state import ArmState


class ArmHandlers(OperationMonitors):
    """The route handlers over one `ArmState`."""

    def __init__(self, state: ArmState, *, tenant_id: str = DEFAULT_TENANT):
        self.state = state
        self.tenant_id = tenant_id
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
            "providers": self.providers,
            "provider": self.provider,
            "provider_action": self.provider_action,
        }

    def handle(self, call: Call) -> Reply:
        handler = self._table.get(call.route.kind)
        if handler is None:
            raise not_found_route()
        return handler(call)

    # -- tenants, subscriptions, locations -------------------------------------------------

    def tenants(self, call: Call) -> Reply:
        allow(call, "GET")
        return Reply(200, value_list([tenant_body(self.tenant_id)]))

    def list_subscriptions(self, call: Call) -> Reply:
        allow(call, "GET")
        subs = self.state.list_subscriptions()
        return Reply(200, {"value": subs, "count": {"type": "Total", "value": len(subs)}})

    def subscription(self, call: Call) -> Reply:
        allow(call, "GET")
        return Reply(200, self.state.get_subscription(call.route.subscription or ""))

    def locations(self, call: Call) -> Reply:
        allow(call, "GET")
        return Reply(200, value_list(location_bodies(call.route.subscription or "")))

    # -- resource providers ------------------------------------------------------------------

    def providers(self, call: Call) -> Reply:
        allow(call, "GET")
        return Reply(200, value_list(self.state.list_providers(call.route.subscription or "")))

    def provider(self, call: Call) -> Reply:
        allow(call, "GET")
        return Reply(200, self.state.get_provider(call.route.subscription or "", call.route.name or ""))

    def provider_action(self, call: Call) -> Reply:
        allow(call, "POST")
        registered = call.route.action == "register"
        return Reply(200, self.state.register_provider(call.route.subscription or "", call.route.name or "",
                                                       registered))

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
            headers = {"Location": self.result_url(call, operation), **self.poll_headers(operation)}
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
        """`GET .../providers/{ns}/{type}` or a child collection (`.../virtualNetworks/v/subnets`)."""
        allow(call, "GET")
        collection = call.route.resource_id or ""
        parent, _, leaf = collection.rpartition("/")
        head, _, ns = parent.rpartition("/")
        if head.lower().endswith("/providers"):  # a top-level type: list the group's or subscription's
            wanted = f"{ns}/{leaf}".lower()
            items = self.state.list_resources(call.route.subscription, call.route.resource_group)
            return Reply(200, value_list(r for r in items if str(r.get("type", "")).lower() == wanted))
        self.state.get_resource(parent)  # 404 when the parent is missing
        prefix = collection.lower() + "/"
        children = getattr(self.state, "children", {}).get(parent.lower(), {})
        items = [self.state.get_resource(key) for key in children
                 if key.startswith(prefix) and "/" not in key[len(prefix):]]
        return Reply(200, value_list(items))

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
            existed = self._resource_exists(rid)
            operation = self.state.delete_resource(rid, api_version=call.api_version, **self._who(call))
            if operation is None:
                return Reply(200 if existed else 204)  # deleting what is not there succeeds, as in ARM
            return Reply(202, None, self.monitor_headers(call, operation))
        raise method_not_allowed(call.method)

    def _resource_exists(self, rid: str | None) -> bool:
        return self.state.resource_exists(rid)

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
            if not self._deployment_exists(scope, name):
                return Reply(204)
            operation = self.state.delete_deployment(scope, name, **self._who(call))
            if operation is None:
                return Reply(204)
            headers = {"Location": self.result_url(call, operation), **self.poll_headers(operation)}
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
        if action == "whatif":
            return Reply(200, self.state.what_if(scope, name, require_object(call.body)))
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
        wanted = (call.query.get("$filter") or "").replace(" ", "").lower()
        if wanted not in ("", "atscope()"):
            raise ArmError(400, "InvalidFilter", f"The filter '{call.query.get('$filter')}' is not supported for "
                                                 "management locks; supported: atScope().")
        return Reply(200, value_list(self.state.list_locks(call.route.scope, at_scope=wanted == "atscope()")))

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

    @staticmethod
    def _who(call: Call) -> dict[str, str]:
        return {"caller": call.caller, "correlation_id": call.correlation_id}
