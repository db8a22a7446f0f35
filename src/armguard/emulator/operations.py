"""Long-running operations: one per accepted PUT/PATCH/DELETE, group delete or deployment.

An operation is InProgress from `start` until `end` (its planned end, absolute virtual time), then
Succeeded, Failed or Canceled. Its status body is what `Azure-AsyncOperation` URIs return:

    {"id", "name", "status", "startTime", "endTime"?, "percentComplete", "error"?}
"""

from __future__ import annotations

from typing import Any

from armguard.emulator.clock import iso
from armguard.emulator.ids import parse, singular

IN_PROGRESS = "InProgress"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
CANCELED = "Canceled"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELED})

# Suggested polling interval (virtual seconds) for Retry-After on long-running responses.
POLL_SECONDS = 10.0

_FIELDS = ("id", "kind", "method", "resource_id", "type", "location", "api_version", "start", "end", "status",
           "finished", "error", "outcome", "caller", "correlation_id", "exclusive", "shared", "creating",
           "supersedable", "deployment", "step", "seq")
_DERIVED = ("namespace", "subscription")  # saved for readers of the state file, worked out on load


def _guid_text(slot: str) -> Any:
    """A GUID read as text. The slot holds the text, or the number a lazy GUID of the owning state
    stands for (see ArmState._lazy_guid), made into text when first read."""

    def get(op: Operation) -> str:
        value = getattr(op, slot)
        if type(value) is int:
            value = op._state.guid_text(value)
            setattr(op, slot, value)
        return value

    def put(op: Operation, value: str) -> None:
        setattr(op, slot, value)

    return property(get, put)


class Operation:
    """One asynchronous operation and its (eventual) outcome."""

    __slots__ = (*(f for f in _FIELDS if f not in ("id", "correlation_id")), "_corr", "_dep", "_id", "_key", "_state")

    def __init__(self, id: str | int, kind: str, method: str, resource_id: str, type: str, start: float, end: float,
                 caller: str = "", correlation_id: str | int = "", seq: int = 0, exclusive: tuple[str, ...] = (),
                 shared: tuple[str, ...] = (), creating: bool = False, deployment: str | None = None,
                 step: int | None = None, state: Any = None, api_version: str | None = None,
                 location: str | None = None, key: str | None = None):
        self._id = id  # or a lazy GUID of `state`, like the correlation id
        self.kind = kind  # "write", "delete", "group_delete", "deployment"
        self.method = method  # "PUT", "PATCH", "DELETE"
        self.resource_id = resource_id
        self.type = type
        self.location = location  # None: worked out when a status URI needs it
        self.api_version = api_version
        self.start = start
        self.end = end
        self.status = IN_PROGRESS
        self.finished: float | None = None
        self.error: dict[str, Any] | None = None
        # What happens at `end`: None to succeed, else the error it fails with.
        self.outcome: dict[str, Any] | None = None
        self.caller = caller
        self._corr = correlation_id  # or a lazy GUID of `state` (see ArmState._lazy_guid)
        self.exclusive = exclusive
        self.shared = shared
        self.creating = creating
        self.supersedable = False
        self.deployment = deployment  # ref of the deployment that issued it
        self.step = step  # its step index in that deployment
        self.seq = seq
        self._state: Any = state  # the owning ArmState (clock, base URL), not persisted
        self._dep: Any = None  # the Deployment that issued it, not persisted
        self._key = key  # resource_id lower-cased (None: worked out when asked for)

    # -- derived -----------------------------------------------------------------------------

    id = _guid_text("_id")
    correlation_id = _guid_text("_corr")

    @property
    def namespace(self) -> str:
        return self.type.split("/", 1)[0]

    @property
    def subscription(self) -> str:
        return parse(self.resource_id).subscription or ""

    @property
    def key(self) -> str:
        """The lower-cased resource id (the resource's key in the state)."""
        key = self._key
        if key is None:
            key = self._key = self.resource_id.lower()
        return key

    @property
    def name(self) -> str:
        """Resource provider style operation name: 'PutSubnetOperation', 'DeleteVirtualHubOperation'."""
        leaf = self.type.rsplit("/", 1)[-1]
        noun = singular(leaf)
        noun = noun[:1].upper() + noun[1:]
        verb = "Delete" if self.method == "DELETE" else "Put"
        return f"{verb}{noun}Operation"

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def retry_after(self) -> float:
        """Suggested Retry-After (virtual seconds) while in progress."""
        return POLL_SECONDS

    def holds(self) -> bool:
        return bool(self.exclusive or self.shared)

    def percent_complete(self, now: float) -> float:
        if self.status in TERMINAL:
            return 100.0
        span = self.end - self.start
        if span <= 0:
            return 99.0
        return float(min(99, max(0, int((now - self.start) * 100 / span))))

    def status_body(self, now: float | None = None) -> dict[str, Any]:
        """The async status body; `now` defaults to the owning state's clock."""
        state = self._state
        if now is None:
            now = state.clock.now() if state is not None else self.start
        epoch = state.clock.epoch if state is not None else _default_epoch()
        body: dict[str, Any] = {
            "id": state.status_uri_path(self) if state is not None else self.id,
            "name": self.id,
            "status": self.status,
            "startTime": iso(epoch, self.start),
            "percentComplete": self.percent_complete(now),
        }
        if self.finished is not None:
            body["endTime"] = iso(epoch, self.finished)
        if self.error is not None and self.status in (FAILED, CANCELED):
            body["error"] = self.error
        return body

    # -- persistence -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        data = {f: getattr(self, f) for f in (*_FIELDS, *_DERIVED)}
        data["exclusive"] = list(self.exclusive)
        data["shared"] = list(self.shared)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Operation:
        op = cls.__new__(cls)
        for f in _FIELDS:
            setattr(op, f, data.get(f))
        op.exclusive = tuple(data.get("exclusive") or ())
        op.shared = tuple(data.get("shared") or ())
        op._state = None
        op._dep = None
        op._key = None
        return op

    def __repr__(self) -> str:
        return (f"Operation({self.name} {self.id[:8]} {self.status} {self.resource_id} "
                f"[{self.start:g}, {self.end:g}])")


def _default_epoch():
    from armguard.emulator.clock import VIRTUAL_EPOCH

    return VIRTUAL_EPOCH

