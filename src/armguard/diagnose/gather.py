"""Reading Resource Manager for a diagnosis: everything read-only, through the azure-mgmt clients (and
one authenticated GET for the status URI), into `Facts`.

The reads stand for the az commands an engineer would run: `deployment list` and `deployment operation
list`, `resource show` (target and parent) and `group show`, the status URI, `monitor activity-log
list` and `lock list`. A read that fails (403, 404, a throttled call) is recorded in `Facts.gaps`
and the diagnosis goes on without it; an unreachable endpoint or a failed login is one error line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from armguard.catalog.api_versions import DEFAULT_API_VERSION
from armguard.errors import ArmguardError
from armguard.guard import parse_error
from armguard.guard.connection import ArmConnection
from armguard.guard.probes import ApiVersions, ResourceRef

from .facts import (
    Deployment,
    ErrorFacts,
    Facts,
    Lock,
    Operation,
    OperationStatus,
    ResourceState,
    is_terminal,
    key,
    parse_time,
)
from .relate import RESOURCE_GROUP_TYPE, parent_of, type_of
from .timeline import Event, group_events

MAX_DEPLOYMENT_OPERATION_LISTS = 20
MAX_ACTIVITY_EVENTS = 5000
ACTIVITY_FIELDS = "eventTimestamp,operationName,status,subStatus,resourceId,caller,correlationId,operationId,properties"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_MASKED_SUBSCRIPTION = re.compile(r"(?i)(/subscriptions/)(\*+|<[^/>]*>|x{3,}|\{[^/}]*\})(?=/|$)")
_DURATION = re.compile(r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$")

T = TypeVar("T")


@dataclass(frozen=True)
class Request:
    """What the user asked about."""

    resource_group: str | None = None
    resource_id: str | None = None
    error_text: str | None = None
    window_seconds: float = 7200.0


@dataclass(frozen=True)
class Scope:
    subscription: str | None
    resource_group: str | None
    target_id: str | None
    deployment_name: str | None


def read_error(text: str | None) -> ErrorFacts | None:
    """The error in `text` (any format `parse_error` reads), or None for empty or unreadable text."""
    if not text or not text.strip():
        return None
    info = parse_error(text)
    if info is None:
        return None
    return ErrorFacts(code=info.code, message=info.message, status_uri=info.status_uri,
                      resource_id=info.resource_id, correlation_id=info.correlation_id,
                      deployment_name=info.deployment_name, blocking_operation=info.blocking_operation,
                      status_code=info.status_code, category=info.category, source_format=info.source_format)


def resolve_scope(request: Request, error: ErrorFacts | None) -> Scope:
    """Subscription, resource group and target from the options, else from the error; raises one line
    when neither names a resource group or a resource."""
    target = request.resource_id or (error.resource_id if error else None)
    deployment = error.deployment_name if error else None
    if target and "/providers/microsoft.resources/deployments/" in key(target):
        deployment = deployment or target.rstrip("/").rsplit("/", 1)[-1]
    group = request.resource_group or _group_of(target)
    if group is None and target is None:
        raise ArmguardError("no scope to diagnose: give -g RESOURCE_GROUP or --id RESOURCE_ID (the error text "
                            "names no resource group or resource)")
    subscription = _subscription_of(target) or _subscription_of(error.status_uri if error else None)
    return Scope(subscription, group, target.rstrip("/") if target else None, deployment)


def gather(conn: ArmConnection, request: Request, error: ErrorFacts | None, scope: Scope) -> Facts:
    """Everything `decide` needs, read from Resource Manager."""
    reader = _Reader(conn, request, error, scope)
    return reader.run()


@dataclass
class _Reader:
    conn: ArmConnection
    request: Request
    error: ErrorFacts | None
    scope: Scope
    gaps: list[str] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    clocks: list[dt.datetime] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict)
    _versions: ApiVersions | None = None

    def run(self) -> Facts:
        subscription = self.conn.subscription or self.scope.subscription or self.conn.subscription_id()
        self.conn.subscription = subscription
        target = _unmask(self.scope.target_id, subscription)
        group = self.scope.resource_group
        started = dt.datetime.now(dt.UTC)
        resources = self._resources(subscription, group, target)
        status = self._status()
        deployments = self._deployments(group)
        events = self._activity(group, target, started)
        operations = tuple(group_events([e for e in events if _is_write(e.operation_name)]))
        locks = self._locks(subscription, group, target, events)
        for dep in deployments:
            if dep.running and dep.timestamp:
                self.clocks.append(dep.timestamp)
            self.clocks += [op.started for op in dep.operations if op.in_flight and op.started]
        self.clocks += [e.timestamp for e in events if e.timestamp]
        deployments = _with_callers(deployments, operations)
        server_now = max(self.clocks) if self.clocks else None
        return Facts(subscription=subscription, resource_group=group, target_id=target,
                     window_seconds=self.request.window_seconds, error=self.error, status=status,
                     deployments=tuple(deployments), resources=tuple(resources), operations=operations,
                     locks=tuple(locks), server_now=server_now, gaps=tuple(self.gaps), read=tuple(self.read))

    # -- plumbing ----------------------------------------------------------------------------

    def client(self, name: str) -> Any:
        if name not in self._clients:
            if name == "resources":
                from azure.mgmt.resource.resources import ResourceManagementClient as cls
            elif name == "deployments":
                from azure.mgmt.resource.deployments import DeploymentsMgmtClient as cls  # type: ignore[no-redef]
            elif name == "locks":
                from azure.mgmt.resource.locks import ManagementLockClient as cls  # type: ignore[no-redef]
            else:
                from azure.mgmt.monitor import MonitorManagementClient as cls  # type: ignore[no-redef]
            self._clients[name] = self.conn.client(cls)
        return self._clients[name]

    def attempt(self, source: str, read: Callable[[], T], default: T) -> T:
        """`read()`, or `default` with the failure noted as a gap; transport and login errors propagate."""
        from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

        try:
            result = read()
        except (ServiceRequestError, ClientAuthenticationError):
            raise
        except HttpResponseError as error:
            self.gaps.append(f"{source}: {_http_reason(error)}")
            return default
        if source not in self.read:
            self.read.append(source)
        return result

    def note_date(self, headers: Any) -> None:
        value = headers.get("Date") if headers is not None else None
        if value:
            with contextlib.suppress(TypeError, ValueError):
                self.clocks.append(parsedate_to_datetime(value).astimezone(dt.UTC))

    # -- resource show -----------------------------------------------------------------------

    def _resources(self, subscription: str, group: str | None, target: str | None) -> list[ResourceState]:
        states: list[ResourceState] = []
        if group:
            states.append(self._group_state(subscription, group))
        if target and type_of(target) != RESOURCE_GROUP_TYPE:
            states.append(self._resource_state(target, "target"))
            parent = parent_of(target)
            if parent and type_of(parent) != RESOURCE_GROUP_TYPE:
                states.append(self._resource_state(parent, "parent"))
        return [s for s in states if s is not None]

    def _group_state(self, subscription: str, group: str) -> ResourceState:
        from azure.core.exceptions import ResourceNotFoundError

        rid = f"/subscriptions/{subscription}/resourceGroups/{group}"

        def read() -> ResourceState:
            try:
                found, headers = self.client("resources").resource_groups.get(
                    group, cls=lambda response, body, _: (body, response.http_response.headers))
            except ResourceNotFoundError:
                raise ArmguardError(f"resource group '{group}' not found in subscription {subscription}") from None
            self.note_date(headers)
            state = found.properties.provisioning_state if found.properties else None
            return ResourceState(found.id or rid, "resource group", True, state)

        return self.attempt("resource show", read, ResourceState(rid, "resource group", True, None))

    def _resource_state(self, resource_id: str, role: str) -> ResourceState:
        from azure.core.exceptions import ResourceNotFoundError

        def read() -> ResourceState:
            version = self.api_version(resource_id)
            try:
                found = self.client("resources").resources.get_by_id(resource_id, api_version=version)
            except ResourceNotFoundError:
                return ResourceState(resource_id, role, False)
            props = found.properties if isinstance(found.properties, dict) else {}
            return ResourceState(found.id or resource_id, role, True, props.get("provisioningState"))

        return self.attempt("resource show", read, ResourceState(resource_id, role, True, None))

    def api_version(self, resource_id: str) -> str:
        """The newest stable api-version the provider lists for the type (cached per type), else the
        guard's fallback table."""
        if self._versions is None:
            self._versions = ApiVersions(self.conn)
        try:
            return self._versions.for_type(ResourceRef.parse(resource_id))
        except ArmguardError:
            return DEFAULT_API_VERSION

    # -- status URI --------------------------------------------------------------------------

    def _status(self) -> OperationStatus | None:
        uri = self.error.status_uri if self.error else None
        if not uri:
            return None
        parts = urlsplit(uri)
        # Polled on the configured endpoint: the URI came from pasted text and must not receive our token
        # at another host; Resource Manager serves the same path for every provider's operations.
        path = _unmask(parts.path, self.conn.subscription_id()) + (f"?{parts.query}" if parts.query else "")

        def read() -> OperationStatus:
            response = self.conn.get(path)
            self.note_date(response.headers)
            body = response.body if isinstance(response.body, dict) else {}
            error = body.get("error") if isinstance(body.get("error"), dict) else {}
            status = body.get("status") if response.status < 300 else None
            if response.status == 202 and status is None:
                status = "InProgress"
            return OperationStatus(uri=uri, http_status=response.status, status=status,
                                   started=parse_time(body.get("startTime")), ended=parse_time(body.get("endTime")),
                                   error_code=error.get("code"), error_message=error.get("message"),
                                   polled=None if response.url == uri else response.url)

        return self.attempt("status URI", read, None)

    # -- deployments -------------------------------------------------------------------------

    def _deployments(self, group: str | None) -> list[Deployment]:
        client = self.client("deployments")

        def read() -> list[Any]:
            pages = client.deployments.list_by_resource_group(group) if group else \
                client.deployments.list_at_subscription_scope()
            return list(pages)

        found = [_deployment(d) for d in self.attempt("deployment list", read, [])]
        wanted = self._deployments_to_open(found)
        out = []
        for dep in found:
            if key(dep.id) in wanted:
                ops = self.attempt("deployment operation list", lambda d=dep: self._operations(d), ())
                dep = replace(dep, operations=ops)
            out.append(dep)
        return out

    def _deployments_to_open(self, found: list[Deployment]) -> set[str]:
        """Running deployments, the one the error names, the newest finished one, and their modules."""
        error = self.error
        names = {key(self.scope.deployment_name)} if self.scope.deployment_name else set()
        corr = (error.correlation_id or "").lower() if error else ""
        chosen = [d for d in found if d.running or key(d.name) in names
                  or (corr and (d.correlation_id or "").lower() == corr)]
        finished = sorted((d for d in found if not d.running and d.timestamp), key=lambda d: d.timestamp,
                          reverse=True)  # type: ignore[arg-type, return-value]
        if finished and not chosen:
            chosen.append(finished[0])
        runs = {(d.correlation_id or "").lower() for d in chosen if d.correlation_id}
        chosen += [d for d in found if (d.correlation_id or "").lower() in runs]
        return {key(d.id) for d in chosen[:MAX_DEPLOYMENT_OPERATION_LISTS]}

    def _operations(self, dep: Deployment) -> tuple[Operation, ...]:
        client = self.client("deployments")
        group = dep.resource_group
        pages = client.deployment_operations.list(group, dep.name) if group else \
            client.deployment_operations.list_at_subscription_scope(dep.name)
        return tuple(op for op in (_deployment_op(raw, dep) for raw in pages) if op is not None)

    # -- activity log ------------------------------------------------------------------------

    def _activity(self, group: str | None, target: str | None, started: dt.datetime) -> list[Event]:
        since = started - dt.timedelta(seconds=self.request.window_seconds)
        where = f"eventTimestamp ge '{since.strftime('%Y-%m-%dT%H:%M:%SZ')}'"
        if group:
            where += f" and resourceGroupName eq '{group}'"
        elif target:
            where += f" and resourceUri eq '{target}'"

        def read() -> list[Event]:
            events = []
            for raw in self.client("monitor").activity_logs.list(filter=where, select=ACTIVITY_FIELDS):
                events.append(_event(raw))
                if len(events) >= MAX_ACTIVITY_EVENTS:
                    break
            return events

        return self.attempt("activity log", read, [])

    # -- locks -------------------------------------------------------------------------------

    def _locks(self, subscription: str, group: str | None, target: str | None, events: list[Event]) -> list[Lock]:
        scope = target or (f"/subscriptions/{subscription}/resourceGroups/{group}" if group else
                           f"/subscriptions/{subscription}")

        def read() -> list[Any]:
            client = self.client("locks").management_locks
            # atScope(): the locks at and above the scope (inherited); unfiltered: at and below it.
            return [*client.list_by_scope(scope, filter="atScope()"), *client.list_by_scope(scope)]

        locks: dict[str, Lock] = {}
        for raw in self.attempt("lock list", read, []):
            lock = _lock(raw, events)
            locks.setdefault(key(lock.id), lock)
        return list(locks.values())


# --------------------------------------------------------------------------------------------
# Converting SDK models


def _plain(value: Any) -> Any:
    """An SDK model as plain JSON-like data."""
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        try:
            return as_dict()
        except TypeError:
            pass
    try:
        return dict(value)
    except (TypeError, ValueError):
        return str(value)


def iso_seconds(text: str | None) -> float | None:
    """Seconds of an ISO 8601 duration ('PT1M30.5S')."""
    match = _DURATION.match((text or "").strip().upper())
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _started(timestamp: dt.datetime | None, duration_text: str | None) -> dt.datetime | None:
    seconds = iso_seconds(duration_text)
    if timestamp is None or seconds is None:
        return None
    return parse_time(timestamp) - dt.timedelta(seconds=seconds)  # type: ignore[operator]


def _deployment(raw: Any) -> Deployment:
    props = raw.properties
    timestamp = parse_time(getattr(props, "timestamp", None)) if props else None
    error = getattr(props, "error", None) if props else None
    error_code = getattr(error, "code", None) or (getattr(getattr(error, "error", None), "code", None))
    return Deployment(id=raw.id or "", name=raw.name or "", state=_text(props.provisioning_state if props else None)
                      or "Unknown", started=_started(timestamp, getattr(props, "duration", None)),
                      timestamp=timestamp, correlation_id=getattr(props, "correlation_id", None),
                      error_code=error_code)


def _deployment_op(raw: Any, dep: Deployment) -> Operation | None:
    props = raw.properties
    target = getattr(props, "target_resource", None) if props else None
    rid = getattr(target, "id", None) if target else None
    if not rid:
        return None
    rtype = getattr(target, "resource_type", None) or type_of(rid)
    action = (_text(getattr(props, "provisioning_operation", None)) or "").lower()
    verb = "delete" if action == "delete" else ("action" if action == "action" else "write")
    timestamp = parse_time(props.timestamp)
    state = _op_state(_text(props.provisioning_state))
    started = _started(timestamp, props.duration)
    error_code = None
    if state == "Failed":
        info = parse_error(_plain(props.status_message)) if props.status_message is not None else None
        error_code = (info.code if info else None) or _text(props.status_code)
    return Operation(resource_id=rid, operation=f"{rtype}/{verb}", state=state, started=started,
                     ended=None if state == "Running" else timestamp, correlation_id=dep.correlation_id,
                     deployment=dep.name, error_code=error_code, source="deployment operation list")


def _op_state(state: str | None) -> str:
    if state is None:
        return "Running"
    if is_terminal(state):
        return {"succeeded": "Succeeded", "failed": "Failed"}.get(state.lower(), "Canceled")
    return "Running"


def _event(raw: Any) -> Event:
    props = raw.properties if isinstance(getattr(raw, "properties", None), dict) else {}
    error_code = None
    message = props.get("statusMessage")
    if message:
        info = parse_error(message)
        error_code = info.code if info else None
    return Event(timestamp=parse_time(raw.event_timestamp), operation_name=_value(raw.operation_name) or "",
                 status=_value(raw.status) or "", resource_id=raw.resource_id or "", caller=raw.caller,
                 correlation_id=raw.correlation_id, operation_id=raw.operation_id,
                 sub_status=_value(raw.sub_status) or None, error_code=error_code or props.get("statusCode"))


def _text(value: Any) -> str | None:
    """An SDK enum member or string as its wire value ('Running', not 'ProvisioningState.RUNNING')."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _value(localizable: Any) -> str | None:
    return getattr(localizable, "value", None) if localizable is not None else None


def _is_write(operation_name: str) -> bool:
    low = operation_name.lower()
    return low.endswith(("/write", "/delete")) and not low.startswith("microsoft.authorization/locks/")


def _lock(raw: Any, events: list[Event]) -> Lock:
    lock_id = raw.id or ""
    marker = lock_id.lower().rfind("/providers/microsoft.authorization/locks/")
    scope = lock_id[:marker] if marker >= 0 else lock_id
    created = caller = None
    for event in events:
        if key(event.resource_id) == key(lock_id) and event.operation_name.lower().endswith("locks/write") \
                and event.status.lower() == "succeeded":
            if created is None or (event.timestamp and event.timestamp > created):
                created, caller = event.timestamp, event.caller
    return Lock(id=lock_id, name=raw.name or lock_id.rsplit("/", 1)[-1], level=_text(raw.level) or "",
                scope=scope, notes=raw.notes, created=created, caller=caller)


def _with_callers(deployments: Iterable[Deployment], operations: tuple[Operation, ...]) -> list[Deployment]:
    """Who started each deployment: the caller of its write in the activity log."""
    out = []
    for dep in deployments:
        caller = next((op.caller for op in operations if key(op.resource_id) == key(dep.id) and op.caller
                       and (not dep.correlation_id or (op.correlation_id or "").lower()
                            == dep.correlation_id.lower())), None)
        out.append(replace(dep, caller=caller) if caller else dep)
    return out


def _http_reason(error: Any) -> str:
    status = getattr(error, "status_code", None)
    inner = getattr(error, "error", None)
    code = getattr(inner, "code", None)
    text = (getattr(inner, "message", None) or str(error)).strip().splitlines()[0]
    head = " ".join(str(p) for p in (status, code) if p)
    return f"{head}: {text}" if head else text


def _group_of(resource_id: str | None) -> str | None:
    parts = (resource_id or "").split("/")
    return parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" and parts[4] else None


def _subscription_of(resource_id: str | None) -> str | None:
    if not resource_id:
        return None
    path = urlsplit(resource_id).path if "://" in resource_id else resource_id
    parts = path.split("/")
    if len(parts) > 2 and parts[1].lower() == "subscriptions" and _GUID.match(parts[2]):
        return parts[2]
    return None


def _unmask(resource_id: str | None, subscription: str) -> str | None:
    """A masked subscription in pasted CI output (`/subscriptions/***/...`) replaced by the real one."""
    if not resource_id:
        return resource_id
    return _MASKED_SUBSCRIPTION.sub(lambda m: m.group(1) + subscription, resource_id)
