"""The error-code tables and `classify`: is an ARM error worth waiting out, fatal, or unknown?

All codes and message patterns live here, in one place. Sources:

- /work/shared/research/runtime-evidence.md ("Real error codes and messages"): the wait codes and the
  message wording they are recognised by (Azure/azure-rest-api-specs#10391, hashicorp/terraform#7986,
  hashicorp/terraform-provider-azurerm#21293, microsoft/AzureTRE#3177, Azure/azure-workload-identity#417,
  Azure/modern-web-app-pattern-dotnet#143, Azure/azure-sdk-for-java#1827, pulumi/pulumi-azure-native#4765,
  azurerm network/private_endpoint_resource.go, Azure/terraform-provider-azapi#402,
  Azure/azure-sdk-for-net#43219, azure-docs request-limits-and-throttling.md).
- Azure/azure-service-operator v2/internal/reconcilers/arm/errorclassification/error_classifier.go: prior
  art for which validation, authorization and not-found codes are hopeless (read, not copied: its
  "retryable" means "reconcile again later", ours means "the holder of the lock will finish").
- learn.microsoft.com azure-resource-manager/troubleshooting/common-deployment-errors: the codes ARM
  deployments report (InvalidTemplate, InvalidTemplateDeployment, DeploymentQuotaExceeded, SkuNotAvailable...).
- Public issue texts read while writing the parser: AKS "in progress ... managed cluster operation
  (operation ID: ...) ... started on UTC ..." (Azure/azure-cli-extensions#9855), Container Apps
  ManagedEnvironmentOperationInProgress (microsoft/azure-container-apps#701), ReferencedResourceNotProvisioned
  returned with HTTP 400 by peerings (azurerm quickstart logs).

`ResourceUpdateConflict` was not found in any public source; it is listed because the design asks for it.
"""

from __future__ import annotations

import re

WAIT = "wait"
FATAL = "fatal"
UNKNOWN = "unknown"

# The holder of the lock (another operation, deployment, or the throttling window) will finish: wait
# for it (the operation URI, Retry-After, or the resource back in Succeeded), then retry.
WAIT_CODES: frozenset[str] = frozenset({
    "AnotherOperationInProgress",                # 409, Network and others; "use uri: .../operations/<guid>"
    "RetryableError",                            # 429, Network; detail ReferencedResourceNotProvisioned
    "RetryableErrorDueToAnotherOperation",       # 429, Network RP: target locked by another operation
    "ReferencedResourceNotProvisioned",          # 400/429, "... is not in Succeeded state ... PutSubnetOperation"
    "CanceledAndSupersededDueToAnotherOperation",  # LRO Canceled, superseded by a later operation
    "DeploymentActive",                          # 409, same deployment name at the same scope still running
    "ConflictingConcurrentWriteNotAllowed",      # 409, concurrent writes to tags
    "RequestConflict",                           # Cognitive Services: operation on the parent resource
    "StorageAccountOperationInProgress",         # retried by azurerm private endpoint
    "HubBgpConnectionParentHubMustHaveProvisionedRoutingState",  # 400, hub routingState not Provisioned
    "ResourceUpdateConflict",                    # not seen publicly; listed by design
    "ManagedEnvironmentOperationInProgress",     # Container Apps environment busy
    # Throttling (429 + Retry-After), azure-docs request-limits-and-throttling.md
    "TooManyRequests",
    "SubscriptionRequestsThrottled",
    "ResourceRequestsThrottled",
    "ResourceCollectionRequestsThrottled",
})

# Waiting does not help: fix the template, the request, the permissions, the quota or the lock.
FATAL_CODES: frozenset[str] = frozenset({
    # locks and policy
    "ScopeLocked", "RequestDisallowedByPolicy", "RequestDisallowedByAzure",
    # templates and deployments
    "InvalidTemplate", "InvalidTemplateDeployment", "InvalidDeploymentName", "DeploymentQuotaExceeded",
    "InvalidTemplateDeploymentParameterValue",
    # validation
    "BadRequest", "BadRequestFormat", "InvalidRequestContent", "InvalidRequestFormat", "InvalidParameter",
    "InvalidParameterValue", "InvalidValuesForRequestParameters", "MissingRequiredParameter",
    "InvalidResourceReference", "InvalidResourceType", "InvalidResourceName", "InvalidResourceNamespace",
    "InvalidResourceLocation", "InvalidResourceGroupLocation", "InvalidApiVersionParameter",
    "LocationRequired", "NoRegisteredProviderFound", "PropertyChangeNotAllowed", "ValidationError",
    "AccountNameInvalid", "PrivateIPAddressNotInSubnet", "PrivateIPAddressInReservedRange",
    "ReservedResourceName", "MethodNotAllowed",
    # authentication and authorization
    "AuthorizationFailed", "LinkedAuthorizationFailed", "InvalidAuthenticationToken",
    "InvalidAuthenticationTokenTenant", "ExpiredAuthenticationToken", "AuthenticationFailed",
    # not found (the thing waited for does not exist: not a wait case)
    "ResourceNotFound", "ParentResourceNotFound", "ResourceGroupNotFound", "NotFound", "SubscriptionNotFound",
    "MissingSubscriptionRegistration",
    # capacity
    "QuotaExceeded", "ResourceQuotaExceeded", "SkuNotAvailable", "RegionIsOfferRestricted",
})

# Wait or fatal depending on the message: AKS says OperationNotAllowed both for "another operation is in
# progress" (wait) and for "exceeding approved ... quota" (fatal); anything else stays unknown.
BY_MESSAGE_CODES: frozenset[str] = frozenset({"OperationNotAllowed"})

# Codes that only say "something inside failed": the parser prefers the detail below them.
WRAPPER_CODES: frozenset[str] = frozenset({
    "DeploymentFailed", "ResourceDeploymentFailure", "MultipleErrorsOccurred", "Failed",
    "ResourceOperationFailure", "DeploymentOperationFailed", "PreflightValidationCheckFailed",
})
# ... and these only when they carry coded details (then the details say more).
WRAPPER_WHEN_NESTED: frozenset[str] = frozenset({
    "Conflict", "BadRequest", "Canceled", "InvalidTemplateDeployment", "InternalServerError",
    "OperationNotAllowed", "InvalidTemplate",
})

_WAIT_LOWER = frozenset(c.lower() for c in WAIT_CODES)
_FATAL_LOWER = frozenset(c.lower() for c in FATAL_CODES)
_BY_MESSAGE_LOWER = frozenset(c.lower() for c in BY_MESSAGE_CODES)
_WRAPPER_LOWER = frozenset(c.lower() for c in WRAPPER_CODES)
_WRAPPER_NESTED_LOWER = frozenset(c.lower() for c in WRAPPER_WHEN_NESTED)

# Messages that say another operation holds the resource (wording from the sources above).
IN_PROGRESS_MESSAGE = re.compile(
    r"another\s+(?:[\w-]+\s+){0,3}operation\b.{0,120}?\bis\s+(?:still\s+)?in\s+progress"  # Network, AKS, App Service
    r"|\bin\s+progress\s+\w+(?:\s+\w+){0,4}?\s+operation\b"                              # AKS managed cluster
    r"|another\s+operation\s+is\s+being\s+performed"                                     # RequestConflict
    r"|canceled\s+and\s+superseded\s+by\s+(?:another\s+)?operation"                      # Network LRO
    r"|\bis\s+not\s+in\s+succeeded\s+state"                                              # ReferencedResourceNotProvisioned
    r"|previous\s+deployment\s+from\s+.{0,80}?\s+is\s+still\s+active"                    # DeploymentActive
    r"|conflicting\s+concurrent\s+write"                                                 # tags
    r"|locked\s+by\s+another\s+operation"                                                # RetryableErrorDueToAnotherOperation
    r"|please\s+wait\s+for\s+(?:it|the\s+\w+\s+operation)\s+to\s+(?:finish|complete)",
    re.IGNORECASE | re.DOTALL,
)

QUOTA_MESSAGE = re.compile(
    r"\bquota\b|\bcurrent\s+limit\b|exceed(?:s|ed|ing)?\s+(?:the\s+)?(?:\w+\s+){0,4}?limit",
    re.IGNORECASE,
)


def code_in(code: str | None, table: frozenset[str]) -> bool:
    """Case-insensitive membership of `code` in one of the lower-cased tables above."""
    return bool(code) and code.strip().lower() in table  # type: ignore[union-attr]


def is_specific_wait(code: str | None) -> bool:
    """A code that by itself says "wait": the wait table, or any `...OperationInProgress`."""
    if not code:
        return False
    low = code.strip().lower()
    return low in _WAIT_LOWER or low.endswith("operationinprogress")


def is_wrapper(code: str | None, has_coded_details: bool) -> bool:
    """A code that only wraps its details (DeploymentFailed; Conflict around a nested error...)."""
    if not code:
        return False
    low = code.strip().lower()
    return low in _WRAPPER_LOWER or (has_coded_details and low in _WRAPPER_NESTED_LOWER)


def classify(code: str | None, message: str | None = None, *, status_code: int | None = None) -> str:
    """'wait', 'fatal' or 'unknown' for an ARM error code and its message.

    'wait': another operation, deployment or throttling window holds the resource and will finish;
    'fatal': waiting will not help; 'unknown': neither is known. `status_code` (optional) decides codes
    the tables do not know: 429 is throttling (wait), 400/401/403/404 are fatal.
    """
    msg = message if isinstance(message, str) else ""
    code = code.strip() if isinstance(code, str) else ""
    low = code.lower()
    if is_specific_wait(code):
        return WAIT
    if low in _BY_MESSAGE_LOWER:
        if IN_PROGRESS_MESSAGE.search(msg):
            return WAIT
        if QUOTA_MESSAGE.search(msg):
            return FATAL
        return UNKNOWN
    if low in _FATAL_LOWER:
        return FATAL
    if msg and IN_PROGRESS_MESSAGE.search(msg):
        return WAIT
    if isinstance(status_code, int) and not isinstance(status_code, bool):
        if status_code == 429:
            return WAIT
        if status_code in (400, 401, 403, 404) and low not in _WRAPPER_LOWER:
            return FATAL
    return UNKNOWN
