"""Resource Manager's errors, with the codes and messages the real service returns.

Sources are in shared/research/runtime-evidence.md unless noted; "emulator-defined" marks texts for
which no public record of the real wording was found.

| situation | HTTP | code | message |
|---|---|---|---|
| write while another write holds the resource, or a sibling/child holds a shared lock domain (Microsoft.Network) | 409 | AnotherOperationInProgress | Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: {status uri}. |
| Microsoft.Network write whose referenced or parent resource is itself being written (or is held by the write named in the message) | 429 | RetryableError, detail ReferencedResourceNotProvisioned | Cannot proceed with operation because resource {ref} used by resource {id} is not in Succeeded state. Resource is in {state} state and the last operation that updated/is updating the resource is {PutSubnetOperation}. |
| App Service (Microsoft.Web) | 409 | Conflict | Cannot modify this {site / web hosting plan} because another operation is in progress. Details: Id: {guid}, OperationName: {Create/Update/Delete}, CreatedTime: {M/d/yyyy h:mm:ss tt}, RequestId: {guid}, EntityType: {3/1} |
| Cognitive Services | 409 | RequestConflict | Another operation is being performed on the parent resource '{parent id}'. Please try again later. |
| AKS (Microsoft.ContainerService) | 409 | OperationNotAllowed | Operation is not allowed: Another operation ({name} - {state}) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details |
| Storage | 409 | StorageAccountOperationInProgress | An operation is currently performing on this storage account that requires exclusive access. |
| any other provider (emulator-defined) | 409 | Conflict | Another operation is in progress on '{held id}'. To retrieve status of the operation use uri: {status uri}. |
| deployment of the same name still running in the scope | 409 | DeploymentActive | Unable to edit or replace deployment '{name}': previous deployment from '{M/d/yyyy h:mm:ss tt}' is still active (expiration time is '{start + 7 days}'). Please see https://aka.ms/arm-deploy for usage details. |
| write under a ReadOnly lock, delete under any lock | 409 | ScopeLocked | The scope '{scope}' cannot perform {write/delete} operation because following scope(s) are locked: '{lock scope}'. Please remove the lock and try again. |
| in-flight operation canceled by a later write (fault `superseded`) | async Canceled | Canceled, detail CanceledAndSupersededDueToAnotherOperation | Operation was canceled. / Operation {PutSubnetOperation} ({guid}) was canceled and superseded by operation {PutVirtualNetworkOperation} ({guid}). |
| stuck operation reaching its timeout (fault `stuck`; emulator-defined text) | async Failed | OperationTimedOut | The operation '{PutXOperation}' ({guid}) on resource '{id}' did not complete within {n} seconds. |
| missing resource / group / parent / deployment | 404 | ResourceNotFound / ResourceGroupNotFound / ParentResourceNotFound / DeploymentNotFound | see the functions below |
| write into a group being deleted | 409 | ResourceGroupBeingDeleted | The resource group '{name}' is in deprovisioning state and cannot perform this operation. |
| deployment failure (deployment error) | - | DeploymentFailed | At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details. |
"""

from __future__ import annotations

import json
from typing import Any

REASONS: dict[int, str] = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "NoContent", 400: "BadRequest", 404: "NotFound",
    409: "Conflict", 412: "PreconditionFailed", 429: "TooManyRequests", 500: "InternalServerError",
    502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout",
}


def reason(status: int) -> str:
    return REASONS.get(status, str(status))


class ArmError(Exception):
    """An error response: HTTP status, ARM error code and message, optional details and Retry-After."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None,
                 retry_after: float | None = None, target: str | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after
        self.target = target

    def error(self) -> dict[str, Any]:
        """The inner `{"code", "message", "target"?, "details"?}` object."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            out["target"] = self.target
        if self.details:
            out["details"] = self.details
        return out

    def body(self) -> dict[str, Any]:
        """ARM's error response body `{"error": {...}}`."""
        return {"error": self.error()}

    def __repr__(self) -> str:
        return f"ArmError({self.status}, {self.code!r}, {self.message!r})"


def as_json_text(body: Any) -> str:
    """A body as Resource Manager embeds it in deployment errors: indented JSON with CRLF."""
    return json.dumps(body, indent=2).replace("\n", "\r\n")


# --------------------------------------------------------------------------------------------
# 400 / 404


def invalid_resource_id(text: str) -> ArmError:
    return ArmError(400, "InvalidResourceId", f"The resource id '{text}' is not a valid resource id.")


def resource_not_found(provider_path: str, group: str | None) -> ArmError:
    where = f"under resource group '{group}'" if group else "in the subscription"
    return ArmError(404, "ResourceNotFound",
                    f"The Resource '{provider_path}' {where} was not found. For more details please go to "
                    "https://aka.ms/ARMResourceNotFoundFix")


def parent_not_found(parent_name: str) -> ArmError:
    return ArmError(404, "ParentResourceNotFound",
                    f"Can not perform requested operation on nested resource. Parent resource '{parent_name}' "
                    "not found.")


def group_not_found(group: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")


def group_being_deleted(group: str) -> ArmError:
    return ArmError(409, "ResourceGroupBeingDeleted",
                    f"The resource group '{group}' is in deprovisioning state and cannot perform this operation.")


def deployment_not_found(name: str) -> ArmError:
    return ArmError(404, "DeploymentNotFound", f"Deployment '{name}' could not be found.")


def operation_not_found(operation_id: str) -> ArmError:
    return ArmError(404, "NotFound", f"The operation '{operation_id}' could not be found.")


def lock_not_found(name: str) -> ArmError:
    return ArmError(404, "LockNotFound", f"The lock '{name}' could not be found.")


def location_required() -> ArmError:
    return ArmError(400, "LocationRequired", "The location property is required for this definition.")


def invalid_group_location(new: str, old: str) -> ArmError:
    return ArmError(409, "InvalidResourceGroupLocation",
                    f"Invalid resource group location '{new}'. The Resource group already exists in location "
                    f"'{old}'.")


def invalid_request(message: str) -> ArmError:
    return ArmError(400, "InvalidRequestContent", message)


def invalid_template(message: str) -> ArmError:
    return ArmError(400, "InvalidTemplate", message)


def segment_mismatch(name: str, rtype: str) -> ArmError:
    return invalid_template(
        f"Deployment template validation failed: 'The template resource '{name}' for type '{rtype}' has "
        "incorrect segment lengths. A nested resource type must have identical number of segments as its "
        "resource name. A root resource type must have segment length one greater than its resource name.'")


# --------------------------------------------------------------------------------------------
# 409: locks, deployments


def scope_locked(scope: str, lock_scopes: list[str], action: str) -> ArmError:
    listed = "', '".join(lock_scopes)
    return ArmError(409, "ScopeLocked",
                    f"The scope '{scope}' cannot perform {action} operation because following scope(s) are "
                    f"locked: '{listed}'. Please remove the lock and try again.")


def deployment_active(name: str, since: str, expires: str) -> ArmError:
    return ArmError(409, "DeploymentActive",
                    f"Unable to edit or replace deployment '{name}': previous deployment from '{since}' is still "
                    f"active (expiration time is '{expires}'). Please see https://aka.ms/arm-deploy for usage "
                    "details.")


def deployment_not_cancellable(name: str, state: str) -> ArmError:
    # Emulator-defined wording.
    return ArmError(409, "DeploymentCannotBeCancelled",
                    f"The deployment '{name}' cannot be cancelled because it is in the terminal state '{state}'.")


DEPLOYMENT_FAILED_MESSAGE = ("At least one resource deployment operation failed. Please list deployment operations "
                             "for details. Please see https://aka.ms/arm-deployment-operations for usage details.")


def resource_deployment_failure(target: str, state: str, inner: dict[str, Any] | None) -> dict[str, Any]:
    """The detail a deployment reports for a resource whose long-running operation failed."""
    out: dict[str, Any] = {
        "code": "ResourceDeploymentFailure",
        "target": target,
        "message": "The resource write operation failed to complete successfully, because it reached terminal "
                   f"provisioning state '{state}'.",
    }
    if inner:
        out["details"] = [inner]
    return out


# --------------------------------------------------------------------------------------------
# Conflicts: which error a provider answers with when a lock domain is held


def another_operation_in_progress(status_uri: str) -> ArmError:
    return ArmError(409, "AnotherOperationInProgress",
                    "Another operation on this or dependent resource is in progress. To retrieve status of the "
                    f"operation use uri: {status_uri}.")


def referenced_not_provisioned(referenced: str, resource: str, state: str, last_operation: str,
                               retry_after: float = 10.0) -> ArmError:
    message = (f"Cannot proceed with operation because resource {referenced} used by resource {resource} is not "
               f"in Succeeded state. Resource is in {state} state and the last operation that updated/is updating "
               f"the resource is {last_operation}.")
    return ArmError(429, "RetryableError", message,
                    details=[{"code": "ReferencedResourceNotProvisioned", "message": message}],
                    retry_after=retry_after)


def app_service_conflict(entity: str, entity_type: int, op_id: str, op_kind: str, created: str,
                         request_id: str) -> ArmError:
    return ArmError(409, "Conflict",
                    f"Cannot modify this {entity} because another operation is in progress. Details: Id: {op_id}, "
                    f"OperationName: {op_kind}, CreatedTime: {created}, RequestId: {request_id}, "
                    f"EntityType: {entity_type}")


def request_conflict(parent: str) -> ArmError:
    return ArmError(409, "RequestConflict",
                    f"Another operation is being performed on the parent resource '{parent}'. Please try again "
                    "later.")


def aks_operation_not_allowed(name: str, state: str) -> ArmError:
    return ArmError(409, "OperationNotAllowed",
                    f"Operation is not allowed: Another operation ({name} - {state}) is in progress, please wait "
                    "for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation "
                    "for more details")


def storage_operation_in_progress() -> ArmError:
    return ArmError(409, "StorageAccountOperationInProgress",
                    "An operation is currently performing on this storage account that requires exclusive access.")


def generic_conflict(held: str, status_uri: str) -> ArmError:
    # Emulator-defined wording.
    return ArmError(409, "Conflict",
                    f"Another operation is in progress on '{held}'. To retrieve status of the operation use uri: "
                    f"{status_uri}.")


# --------------------------------------------------------------------------------------------
# Asynchronous failures (status bodies)


def superseded(victim_name: str, victim_id: str, by_name: str, by_id: str) -> dict[str, Any]:
    return {
        "code": "Canceled",
        "message": "Operation was canceled.",
        "details": [{
            "code": "CanceledAndSupersededDueToAnotherOperation",
            "message": f"Operation {victim_name} ({victim_id}) was canceled and superseded by operation {by_name} "
                       f"({by_id}).",
        }],
    }


def timed_out(op_name: str, op_id: str, resource_id: str, seconds: float) -> dict[str, Any]:
    # Emulator-defined wording.
    return {"code": "OperationTimedOut",
            "message": f"The operation '{op_name}' ({op_id}) on resource '{resource_id}' did not complete within "
                       f"{seconds:g} seconds."}


def missing_subscription_registration(namespace: str) -> ArmError:
    """A write into a namespace the subscription is not registered for (it was unregistered)."""
    message = (f"The subscription is not registered to use namespace '{namespace}'. See "
               "https://aka.ms/rps-not-found for how to register subscriptions.")
    return ArmError(409, "MissingSubscriptionRegistration", message,
                    details=[{"code": "MissingSubscriptionRegistration", "target": namespace, "message": message}])
