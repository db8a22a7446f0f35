"""Which Resource Manager route a request path names.

ARM matches its fixed path words case-insensitively (`resourcegroups` = `resourceGroups`) and keeps
names as the client spelled them. `match_route` turns a path into a `Route`: its kind and the
parts the handler needs. Resource ids handed on are rebuilt with canonical spelling of the fixed
words (`subscriptions`, `resourceGroups`, `providers`) and the client's spelling of everything else.
Pure: no I/O. Every route needs `?api-version=` (any value is accepted).

| path (`{s}` subscription, `{rg}` group, `{scope}` = `/subscriptions/{s}[/resourceGroups/{rg}]`) | methods |
|---|---|
| `/tenants`, `/subscriptions`, `/subscriptions/{s}`, `/subscriptions/{s}/locations` | GET |
| `/subscriptions/{s}/providers`, `/subscriptions/{s}/providers/{ns}` | GET (provider registrations) |
| `/subscriptions/{s}/providers/{ns}/register`, `.../unregister` | POST |
| `/subscriptions/{s}/resourcegroups` | GET (list) |
| `/subscriptions/{s}/resourcegroups/{rg}` | PUT, PATCH, GET, HEAD, DELETE (202 + Location) |
| `/subscriptions/{s}/resources`, `/subscriptions/{s}/resourceGroups/{rg}/resources` | GET (`$filter` resourceType/name/location eq) |
| `{scope}/providers/{ns}/{type}/{name}[/{type}/{name}...]` (and `.../providers/{ns}/...` extension hops) | PUT (201/200 + Azure-AsyncOperation, Location, Retry-After), PATCH, GET, HEAD, DELETE (202 / 200 / 204) |
| `{scope}/providers/{ns}/{type}[/{name}/{childType}]` (a collection) | GET (list) |
| `{scope}/providers/Microsoft.Resources/deployments` | GET (list) |
| `{scope}/providers/Microsoft.Resources/deployments/{name}` | PUT (201/200 + Azure-AsyncOperation), GET, HEAD, DELETE |
| `{scope}/providers/Microsoft.Resources/deployments/{name}/cancel`, `/validate`, `/whatIf` | POST |
| `{scope}/providers/Microsoft.Resources/deployments/{name}/operations[/{id}]` (also `.../resourcegroups/{rg}/deployments/{name}/operations`) | GET |
| `{scope or resource id}/providers/Microsoft.Authorization/locks[/{name}]` | GET (list); PUT, GET, DELETE |
| `/subscriptions/{s}/providers/Microsoft.Insights/eventtypes/management/values?$filter=...` | GET (activity log) |
| `/subscriptions/{s}/providers/{ns}[/locations/{region}]/operations/{id}`, `.../deployments/{name}/operationStatuses/{id}` (Azure-AsyncOperation) | GET: 200 `{"status": ...}` |
| `/subscriptions/{s}/providers/{ns}[/locations/{region}]/operationResults/{id}`, `/subscriptions/{s}/operationresults/{id}` (Location) | GET: 202 while running, then 200 / 204 / the error |
| anything else | 404 `InvalidResourceType` |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RouteKind = Literal[
    "tenants", "subscriptions", "subscription", "locations",
    "resource_groups", "resource_group", "group_resources", "subscription_resources",
    "resource", "resource_collection",
    "deployments", "deployment", "deployment_action", "deployment_operations", "deployment_operation",
    "locks", "lock", "activity_log", "operation_status", "operation_result", "providers", "provider",
    "provider_action", "unknown",
]

# Segments after `providers/{ns}/locations/{region}/` that name an operation monitor.
OPERATION_WORDS = ("operations", "operationresults", "operationstatuses", "asyncoperations")
DEPLOYMENT_ACTIONS = ("cancel", "validate", "whatif", "exporttemplate")


@dataclass(frozen=True, slots=True)
class Route:
    """A matched route. `scope` is the ARM scope path ("/subscriptions/s[/resourceGroups/g[/...]]")."""

    kind: RouteKind
    subscription: str | None = None
    resource_group: str | None = None
    name: str | None = None
    scope: str | None = None
    resource_id: str | None = None
    action: str | None = None
    operation_id: str | None = None


UNKNOWN = Route("unknown")


def match_route(path: str) -> Route:
    """The route of a request path (already percent-decoded)."""
    segs = [s for s in path.split("/") if s]
    low = [s.lower() for s in segs]
    if low == ["tenants"]:
        return Route("tenants")
    if not low or low[0] != "subscriptions":
        return UNKNOWN
    if len(segs) == 1:
        return Route("subscriptions")
    sub = segs[1]
    rest, lrest = segs[2:], low[2:]
    base = f"/subscriptions/{sub}"
    if not rest:
        return Route("subscription", subscription=sub, scope=base)
    if lrest == ["locations"]:
        return Route("locations", subscription=sub)
    if lrest == ["resources"]:
        return Route("subscription_resources", subscription=sub, scope=base)
    if len(lrest) == 2 and lrest[0] == "operationresults":
        return Route("operation_result", subscription=sub, operation_id=rest[1])
    if lrest[0] == "resourcegroups":
        return _match_group_path(sub, rest, lrest)
    if lrest[0] == "providers":
        if len(lrest) == 1:
            return Route("providers", subscription=sub)
        if len(lrest) == 2:
            return Route("provider", subscription=sub, name=rest[1])
        if len(lrest) == 3 and lrest[2] in ("register", "unregister"):
            return Route("provider_action", subscription=sub, name=rest[1], action=lrest[2])
        return _match_provider_path(sub, None, base, rest[1:], lrest[1:])
    return UNKNOWN


def _match_group_path(sub: str, rest: list[str], lrest: list[str]) -> Route:
    if len(rest) == 1:
        return Route("resource_groups", subscription=sub)
    group = rest[1]
    scope = f"/subscriptions/{sub}/resourceGroups/{group}"
    tail, ltail = rest[2:], lrest[2:]
    if not tail:
        return Route("resource_group", subscription=sub, resource_group=group, name=group, scope=scope)
    if ltail == ["resources"]:
        return Route("group_resources", subscription=sub, resource_group=group, scope=scope)
    # The deployment-operations list also answers without `providers/Microsoft.Resources`.
    if ltail[0] == "deployments" and len(ltail) >= 3 and ltail[2] == "operations":
        return _match_deployment(sub, group, scope, tail[1:], ltail[1:])
    if ltail[0] == "providers":
        return _match_provider_path(sub, group, scope, tail[1:], ltail[1:])
    return UNKNOWN


def _match_provider_path(sub: str, group: str | None, scope: str, after: list[str],
                         lafter: list[str]) -> Route:
    """`after` follows the first `providers` of a subscription or resource-group scope."""
    if not after:
        return UNKNOWN
    ns = lafter[0]
    if ns == "microsoft.resources" and len(lafter) >= 2 and lafter[1] == "deployments":
        return _match_deployment(sub, group, scope, after[2:], lafter[2:])
    if ns == "microsoft.authorization" and len(lafter) >= 2 and lafter[1] == "locks":
        return _match_lock(sub, group, scope, after[2:])
    if (group is None and lafter[1:] == ["eventtypes", "management", "values"]
            and ns == "microsoft.insights"):
        return Route("activity_log", subscription=sub, scope=scope)
    # Operation monitors: providers/{ns}[/locations/{region}]/operations|operationResults/{id}
    if group is None and len(lafter) in (3, 5) and lafter[-2] in OPERATION_WORDS and (
            len(lafter) == 3 or lafter[1] == "locations"):
        kind: RouteKind = "operation_result" if lafter[-2] == "operationresults" else "operation_status"
        return Route(kind, subscription=sub, operation_id=after[-1])
    return _match_resource(sub, group, scope, after, lafter)


def _match_resource(sub: str, group: str | None, scope: str, after: list[str],
                    lafter: list[str]) -> Route:
    """`{ns}/{type}/{name}[/{type}/{name}...]`, then `providers/{ns}/...` hops for extension resources.

    An odd number of type/name segments in the last hop names a collection (a list request).
    """
    hops: list[tuple[int, int]] = []  # (start, end) of each hop's namespace and segments in `after`
    index = 0
    while True:
        if index >= len(after):
            return UNKNOWN
        start = index
        index += 1  # the namespace
        count = 0
        while index < len(after) and not (count and count % 2 == 0 and lafter[index] == "providers"):
            index += 1
            count += 1
        if not count:
            return UNKNOWN
        hops.append((start, index))
        if index >= len(after):
            break
        index += 1  # the next `providers`
    last_start, last_end = hops[-1]
    if len(hops) > 1 and lafter[last_start] == "microsoft.authorization" and lafter[last_start + 1] == "locks":
        owner = scope + "/providers/" + "/".join(after[:last_start - 1])
        return _match_lock(sub, group, owner, after[last_start + 2:last_end])
    resource_path = scope + "/providers/" + "/".join(
        "providers" if lafter[i] == "providers" and _is_hop_start(hops, i + 1) else after[i]
        for i in range(len(after)))
    kind: RouteKind = "resource_collection" if (last_end - last_start - 1) % 2 else "resource"
    return Route(kind, subscription=sub, resource_group=group, scope=scope, resource_id=resource_path)


def _is_hop_start(hops: list[tuple[int, int]], index: int) -> bool:
    return any(start == index for start, _ in hops[1:])


def _match_deployment(sub: str, group: str | None, scope: str, tail: list[str],
                      ltail: list[str]) -> Route:
    """`tail` follows `.../deployments`."""
    common = {"subscription": sub, "resource_group": group, "scope": scope}
    if not tail:
        return Route("deployments", **common)
    name = tail[0]
    if len(tail) == 1:
        return Route("deployment", name=name, **common)
    if len(tail) == 2 and ltail[1] in DEPLOYMENT_ACTIONS:
        return Route("deployment_action", name=name, action=ltail[1], **common)
    if len(tail) == 2 and ltail[1] == "operations":
        return Route("deployment_operations", name=name, **common)
    if len(tail) == 3 and ltail[1] == "operations":
        return Route("deployment_operation", name=name, operation_id=tail[2], **common)
    if len(tail) == 3 and ltail[1] in OPERATION_WORDS:
        kind: RouteKind = "operation_result" if ltail[1] == "operationresults" else "operation_status"
        return Route(kind, name=name, operation_id=tail[2], **common)
    return UNKNOWN


def _match_lock(sub: str, group: str | None, scope: str, tail: list[str]) -> Route:
    if not tail:
        return Route("locks", subscription=sub, resource_group=group, scope=scope)
    if len(tail) == 1:
        return Route("lock", subscription=sub, resource_group=group, scope=scope, name=tail[0],
                     resource_id=f"{scope}/providers/Microsoft.Authorization/locks/{tail[0]}")
    return UNKNOWN
