"""One look at something we wait on: an async operation, a resource, a deployment, a resource group.

Each probe does one or a few read-only GETs through an `ArmConnection` and returns an `Observation`.
A resource counts as ready when it and its parent resources are terminal and the catalog's
readiness rule holds (a virtual hub's `routingState` must be Provisioned before its BGP connections
can be written); a readiness property the service does not return counts as satisfied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from armguard.catalog.api_versions import api_version_for
from armguard.errors import ArmguardError
from armguard.guard.connection import ArmConnection, RawResponse
from armguard.guard.wait_core import Observation, is_success, is_terminal, parse_retry_after, short_id

DEPLOYMENTS_API_VERSION = "2024-03-01"
PROVIDERS_API_VERSION = "2021-04-01"
GROUPS_API_VERSION = "2024-03-01"
_SUPPORTED = re.compile(r"supported api-versions are '([^']+)'", re.I)


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """A resource id split into what probing needs."""

    id: str
    namespace: str
    type: str
    """Full type, 'Microsoft.Network/virtualHubs/bgpConnections'."""
    parent_id: str | None
    """The parent resource (a child type's owner), or None for a top-level resource."""

    @classmethod
    def parse(cls, resource_id: str) -> ResourceRef:
        parts = [p for p in resource_id.strip().split("/") if p]
        lower = [p.lower() for p in parts]
        if len(parts) < 2 or lower[0] != "subscriptions":
            raise ArmguardError(f"not a resource id: {resource_id!r} (expected /subscriptions/...)")
        if "providers" not in lower[2:]:
            if len(parts) == 4 and lower[2] == "resourcegroups":
                return cls("/" + "/".join(parts), "Microsoft.Resources", "Microsoft.Resources/resourceGroups", None)
            raise ArmguardError(f"not a resource id: {resource_id!r} (no /providers/ segment)")
        index = len(lower) - 1 - lower[::-1].index("providers")
        tail = parts[index + 1:]
        if len(tail) < 3 or len(tail) % 2 == 0:
            raise ArmguardError(f"not a resource id: {resource_id!r} (expected providers/<namespace>/<type>/<name>)")
        namespace = tail[0]
        type_parts = [namespace, *tail[1::2]]
        parent = None
        if len(tail) > 3:
            parent = "/" + "/".join(parts[:len(parts) - 2])
        return cls("/" + "/".join(parts), namespace, "/".join(type_parts), parent)

    @property
    def subscription(self) -> str:
        return self.id.split("/")[2]


@dataclass
class ApiVersions:
    """API versions per resource type: from the provider's registration, else a fallback table."""

    conn: ArmConnection
    _known: dict[str, str] = field(default_factory=dict)
    _providers_read: set[str] = field(default_factory=set)

    def for_type(self, ref: ResourceRef) -> str:
        key = ref.type.lower()
        if key not in self._known and ref.namespace.lower() not in self._providers_read:
            self._read_provider(ref)
        if key in self._known:
            return self._known[key]
        return api_version_for(ref.type)

    def learn_from_error(self, ref: ResourceRef, response: RawResponse) -> bool:
        """Pick the newest stable version a 400 'supported api-versions are ...' names; True if learnt."""
        message = _error_message(response.body)
        found = _SUPPORTED.search(message or "")
        if not found:
            return False
        versions = sorted(v.strip() for v in found.group(1).split(",") if v.strip())
        stable = [v for v in versions if "preview" not in v] or versions
        if not stable or self._known.get(ref.type.lower()) == stable[-1]:
            return False
        self._known[ref.type.lower()] = stable[-1]
        return True

    def _read_provider(self, ref: ResourceRef) -> None:
        self._providers_read.add(ref.namespace.lower())
        try:
            response = self.conn.get(f"/subscriptions/{ref.subscription}/providers/{ref.namespace}",
                                     api_version=PROVIDERS_API_VERSION)
        except ArmguardError:
            return
        if response.status != 200 or not isinstance(response.body, dict):
            return
        for entry in response.body.get("resourceTypes") or []:
            versions = [v for v in entry.get("apiVersions") or [] if "preview" not in v] or entry.get("apiVersions")
            if entry.get("resourceType") and versions:
                self._known[f"{ref.namespace}/{entry['resourceType']}".lower()] = max(versions)


def retry_after_of(response: RawResponse) -> float | None:
    """The server's poll advice in seconds: retry-after-ms / x-ms-retry-after-ms (as azure-core reads
    them, for waits below a second), else Retry-After."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        millis = parse_retry_after(response.header(name))
        if millis is not None:
            return millis / 1000.0
    return parse_retry_after(response.header("Retry-After"))


def _error_message(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or "")
    return None


def _error_text(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return f"{err.get('code')}: {err.get('message')}"
    return None


def _fail(response: RawResponse, what: str) -> ArmguardError:
    reason = _error_text(response.body) or f"HTTP {response.status}"
    return ArmguardError(f"cannot read {what}: {reason}")


def probe_operation(conn: ArmConnection, url: str) -> Observation:
    """An async operation's status URI (Azure-AsyncOperation or Location semantics)."""
    return operation_observation(url, conn.get(url))


def operation_observation(url: str, response: RawResponse) -> Observation:
    """What a status URI's response says (pure)."""
    retry_after = retry_after_of(response)
    what = "operation " + _operation_label(url)
    if response.status == 202:
        return Observation(what, "InProgress", False, retry_after=retry_after)
    if response.status == 404:
        return Observation(what, "NotFound", True, True, detail="the service no longer knows this operation")
    if response.status >= 400:
        raise _fail(response, what)
    body = response.body if isinstance(response.body, dict) else {}
    status = body.get("status")
    if not isinstance(status, str):  # Location semantics: 200/201/204 once done
        return Observation(what, "Succeeded", True, True)
    detail = _error_text({"error": body["error"]}) if isinstance(body.get("error"), dict) else None
    return Observation(what, status, is_terminal(status), is_success(status), retry_after=retry_after,
                       started=body.get("startTime"), detail=detail)


def _operation_label(url: str) -> str:
    path = url.split("?", 1)[0].rstrip("/")
    return path.rsplit("/", 1)[-1] or url


def _provisioning_state(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    props = body.get("properties")
    if isinstance(props, dict) and isinstance(props.get("provisioningState"), str):
        return props["provisioningState"]
    state = body.get("provisioningState")
    return state if isinstance(state, str) else None


def _dig(body: Any, path: str) -> Any:
    node = body
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def resource_observation(resource_id: str, response: RawResponse) -> Observation:
    """What a GET of the resource says about its own provisioningState (pure)."""
    what = short_id(resource_id)
    retry_after = retry_after_of(response)
    if response.status == 404:
        return Observation(what, "NotFound", True, True, detail="the resource does not exist")
    if response.status >= 400:
        raise _fail(response, what)
    state = _provisioning_state(response.body) or "Succeeded"
    if not is_terminal(state):
        return Observation(what, state, False, retry_after=retry_after)
    if not is_success(state):
        return Observation(what, state, True, False, detail=f"provisioningState {state}")
    return Observation(what, state, True, True)


@dataclass
class ResourceProber:
    """Probes resources, remembering API versions per type across polls."""

    conn: ArmConnection
    catalog: Any = None
    versions: ApiVersions | None = None

    def __post_init__(self) -> None:
        if self.versions is None:
            self.versions = ApiVersions(self.conn)
        if self.catalog is None:
            from armguard.catalog import default_catalog

            self.catalog = default_catalog()

    def get(self, ref: ResourceRef) -> RawResponse:
        assert self.versions is not None
        response = self.conn.get(ref.id, api_version=self.versions.for_type(ref))
        if response.status == 400 and self.versions.learn_from_error(ref, response):
            response = self.conn.get(ref.id, api_version=self.versions.for_type(ref))
        return response

    def probe(self, resource_id: str) -> Observation:
        ref = ResourceRef.parse(resource_id)
        response = self.get(ref)
        obs = resource_observation(ref.id, response)
        if not (obs.done and obs.ok and response.status == 200):
            return obs
        pending = self._pending_beyond_state(ref, response.body)
        if pending:
            return Observation(obs.what, obs.state, False, retry_after=obs.retry_after, detail=pending)
        return obs

    def _pending_beyond_state(self, ref: ResourceRef, body: Any) -> str | None:
        """What still blocks writes once the resource itself is Succeeded: a running parent, readiness."""
        parent_body: Any = None
        if ref.parent_id is not None:
            parent_ref = ResourceRef.parse(ref.parent_id)
            response = self.get(parent_ref)
            if response.status == 200:
                parent_body = response.body
                parent_state = _provisioning_state(parent_body)
                if parent_state and not is_terminal(parent_state):
                    return f"parent {short_id(parent_ref.id)} is {parent_state}"
        rule = self.catalog.get(ref.type).readiness_rule if self.catalog is not None else None
        if rule is None:
            return None
        if rule.target is None:
            subject, label = body, "its"
        elif rule.target.kind == "parent" and ref.parent_id is not None:
            subject, label = parent_body, f"parent {short_id(ref.parent_id)}'s"
        else:
            return None
        value = _dig(subject, rule.path)
        if value is None or str(value).lower() == rule.value.lower():
            return None
        return f"{label} {rule.path.rsplit('.', 1)[-1]} is {value}, waiting for {rule.value}"


def deployment_path(scope: str, name: str) -> str:
    return f"{scope.rstrip('/')}/providers/Microsoft.Resources/deployments/{name}"


def probe_deployment(conn: ArmConnection, scope: str, name: str) -> Observation:
    what = f"deployment {name}"
    response = conn.get(deployment_path(scope, name), api_version=DEPLOYMENTS_API_VERSION)
    if response.status == 404:
        return Observation(what, "NotFound", True, True, detail="no such deployment")
    if response.status >= 400:
        raise _fail(response, what)
    props = (response.body or {}).get("properties") or {}
    state = props.get("provisioningState") or "Unknown"
    detail = _error_text({"error": props["error"]}) if isinstance(props.get("error"), dict) else None
    return Observation(what, state, is_terminal(state), is_success(state),
                       retry_after=retry_after_of(response),
                       started=props.get("timestamp"), detail=detail)


def list_all(conn: ArmConnection, path: str, api_version: str) -> list[dict[str, Any]]:
    """Every item of a paged ARM list (following nextLink)."""
    items: list[dict[str, Any]] = []
    response = conn.get(path, api_version=api_version)
    pages = 0
    while True:
        if response.status >= 400:
            raise _fail(response, path)
        body = response.body if isinstance(response.body, dict) else {}
        items.extend(v for v in body.get("value") or [] if isinstance(v, dict))
        next_link = body.get("nextLink")
        pages += 1
        if not next_link or pages > 1000:
            return items
        response = conn.get(next_link)


def running_deployments(conn: ArmConnection, scope: str) -> list[dict[str, Any]]:
    deployments = list_all(conn, f"{scope.rstrip('/')}/providers/Microsoft.Resources/deployments",
                           DEPLOYMENTS_API_VERSION)
    return [d for d in deployments if not is_terminal((d.get("properties") or {}).get("provisioningState"))]


def probe_group(conn: ArmConnection, subscription: str, group: str) -> Observation:
    """A resource group is quiet when none of its deployments is in a non-terminal state."""
    scope = f"/subscriptions/{subscription}/resourceGroups/{group}"
    response = conn.get(scope, api_version=GROUPS_API_VERSION)
    if response.status == 404:
        raise ArmguardError(f"resource group {group!r} not found in subscription {subscription}")
    if response.status >= 400:
        raise _fail(response, f"resource group {group}")
    running = running_deployments(conn, scope)
    if not running:
        return Observation(f"resource group {group}", "no running deployment", True, True)
    names = ", ".join(f"{d.get('name')} ({(d.get('properties') or {}).get('provisioningState')})"
                      for d in running[:3])
    more = f" and {len(running) - 3} more" if len(running) > 3 else ""
    first = (running[0].get("properties") or {}).get("timestamp")
    return Observation(f"resource group {group}", f"{len(running)} running deployment(s)", False,
                       started=first, detail=names + more)
