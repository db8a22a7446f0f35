"""What `armguard diagnose` read from Resource Manager, as plain values (no clients, no I/O).

`gather` fills a `Facts`; `decide` reads it. Times are timezone-aware UTC datetimes; ids are kept
as Resource Manager spelled them and compared case-insensitively (`key`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from armguard.guard.wait_core import is_terminal


def key(resource_id: str | None) -> str:
    """The comparable form of an id: lower case, no trailing slash."""
    return (resource_id or "").strip().rstrip("/").lower()


def parse_time(value: object) -> dt.datetime | None:
    """A UTC datetime from an ISO 8601 string (7 fractional digits and 'Z' allowed) or a datetime."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class ErrorFacts:
    """The error the user gave, as `armguard.guard.parse_error` read it."""

    code: str | None = None
    message: str | None = None
    status_uri: str | None = None
    resource_id: str | None = None
    correlation_id: str | None = None
    deployment_name: str | None = None
    blocking_operation: str | None = None
    """What the message says holds the resource (PutSubnetOperation, 'nodepool1 - Updating')."""
    status_code: int | None = None
    category: str = "unknown"
    source_format: str = "json"


@dataclass(frozen=True)
class OperationStatus:
    """The status URI's answer now."""

    uri: str
    http_status: int
    status: str | None = None
    started: dt.datetime | None = None
    ended: dt.datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    polled: str | None = None
    """The URL actually read: the URI's path on the configured endpoint (None: `uri` itself)."""

    @property
    def url(self) -> str:
        return self.polled or self.uri

    @property
    def operation_id(self) -> str:
        """The last path segment of the URI (the operation's guid)."""
        return self.uri.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]

    @property
    def running(self) -> bool:
        return self.http_status < 300 and self.status is not None and not is_terminal(self.status)


@dataclass(frozen=True)
class Operation:
    """One write on one resource, from the activity log or from a deployment's operation list."""

    resource_id: str
    operation: str
    """'Microsoft.Network/virtualNetworks/subnets/write' (activity log style), '.../delete' for deletes."""
    state: str
    """'Running' while in flight, else 'Succeeded', 'Failed' or 'Canceled'."""
    started: dt.datetime | None = None
    ended: dt.datetime | None = None
    caller: str | None = None
    correlation_id: str | None = None
    operation_id: str | None = None
    deployment: str | None = None
    """The name of the deployment that issued it (from its operation list)."""
    error_code: str | None = None
    source: str = "activity log"

    @property
    def in_flight(self) -> bool:
        return not is_terminal(self.state)


@dataclass(frozen=True)
class Deployment:
    id: str
    name: str
    state: str
    started: dt.datetime | None = None
    timestamp: dt.datetime | None = None
    correlation_id: str | None = None
    caller: str | None = None
    error_code: str | None = None
    operations: tuple[Operation, ...] = ()
    parent: str | None = None
    """The name of the deployment that started this one (a module), when known."""

    @property
    def running(self) -> bool:
        return not is_terminal(self.state)

    @property
    def resource_group(self) -> str | None:
        parts = self.id.split("/")
        return parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else None


@dataclass(frozen=True)
class ResourceState:
    """`provisioningState` of the target, its parent or its resource group; found False when 404."""

    id: str
    role: str
    """'target', 'parent' or 'resource group'."""
    found: bool
    provisioning_state: str | None = None


@dataclass(frozen=True)
class Lock:
    id: str
    name: str
    level: str
    scope: str
    notes: str | None = None
    created: dt.datetime | None = None
    caller: str | None = None


@dataclass(frozen=True)
class Facts:
    """Everything gathered for one diagnosis."""

    subscription: str
    resource_group: str | None = None
    target_id: str | None = None
    window_seconds: float = 7200.0
    error: ErrorFacts | None = None
    status: OperationStatus | None = None
    deployments: tuple[Deployment, ...] = ()
    resources: tuple[ResourceState, ...] = ()
    operations: tuple[Operation, ...] = ()
    """From the activity log: one per operation, newest first."""
    locks: tuple[Lock, ...] = ()
    server_now: dt.datetime | None = None
    gaps: tuple[str, ...] = field(default=())
    """'source: why' for each read that failed (the diagnosis says what it could not see)."""
    read: tuple[str, ...] = field(default=())
    """The sources that were read (so an empty answer can be told from one not asked)."""

    @property
    def scope(self) -> str:
        if self.resource_group:
            return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
        return f"/subscriptions/{self.subscription}"
