"""The emulated Resource Manager: a pure state machine over an injectable clock.

    state = ArmState(seed=1)                              # VirtualClock, shipped catalog
    state.put_resource_group(sub, "rg", {"location": "westeurope"})
    view, op = state.put_resource(hub_id + "/bgpConnections/p1", body)
    state.put_resource(hub_id + "/bgpConnections/p2", body)   # ArmError 409 AnotherOperationInProgress
    state.run_until_idle()                                # virtual time: event by event

Every public method first applies everything due up to `clock.now()` (`settle()`), so a server on
a `WallClock` needs no background thread. Nothing here does I/O.

API (mutating methods take `caller=` and `correlation_id=`): resources (`put_resource`,
`patch_resource`, `get_resource`, `delete_resource`, `list_resources`, `resource_exists`), groups
(`put_resource_group`, `get_resource_group`, `delete_resource_group`, `list_resource_groups`),
subscriptions (`ensure_subscription`, `get_subscription`, `list_subscriptions`), deployments
(`put_deployment`, `deploy_graph`, `get_deployment`, `list_deployments`, `cancel_deployment`,
`delete_deployment`, `validate_deployment`, `list_deployment_operations`; see `deployments`),
management locks (`put_lock`, `get_lock`, `delete_lock`, `list_locks`), `operation(id)`,
`status_uri_path(op)` / `status_uri(op)` (with `base_url`), `activity_log`, time (`settle`,
`next_event_time`, `run_until_idle`), faults (`inject`, `clear_faults`), persistence (`to_json`,
`from_json`). Rejections raise `errors.ArmError`.

Operations hold lock domains (see `locks`) until they are terminal; a conflicting write is rejected,
never queued, with the provider's real error (see `errors`). Durations come from the catalog (see
`durations`); faults from `inject` (see `faults`); deployments from `deployments`, `plan`,
`plan_bicep` and `engine`; the clocks and timestamp epochs from `clock`.
"""

from __future__ import annotations

import gc
import math
import random
from heapq import heappop, heappush
from typing import Any

from armguard.catalog import Catalog, default_catalog
from armguard.emulator import errors as E
from armguard.emulator.activity import ActivityLog
from armguard.emulator.clock import VirtualClock, WallClock, parse_time
from armguard.emulator.deployments import DeploymentsMixin
from armguard.emulator.durations import SYNC_TYPES, Durations
from armguard.emulator.errors import ArmError
from armguard.emulator.faults import Fault, FaultSet
from armguard.emulator.ids import ResourceId, ancestors, parse
from armguard.emulator.locks import DomainResolver, LockTable, referenced_ids
from armguard.emulator.operations import CANCELED, FAILED, IN_PROGRESS, SUCCEEDED, Operation
from armguard.emulator.providers import (
    CORE_NAMESPACES,
    REGISTERED,
    UNREGISTERED,
    check_namespace,
    provider_types,
    provider_view,
)
from armguard.emulator.regions import DISPLAY_NAMES
from armguard.emulator.resources import (
    CREATING,
    DELETING,
    TENANT_ID,
    UPDATING,
    USER_ASSIGNED_IDENTITY_TYPE,
    Resource,
    ResourceGroup,
    Subscription,
    add_identity_ids,
    merge_patch,
    stored_body,
    stored_body_and_view,
)
from armguard.emulator.scope_locks import LOCK_TYPE, LockStore, ManagementLock, parse_level

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
DEFAULT_CALLER = "armguard@emulator.local"
DEFAULT_BASE_URL = "https://127.0.0.1"
NETWORK_API_VERSION = "2024-05-01"
RESOURCES_API_VERSION = "2024-03-01"
GROUP_DELETE_MIN_SECONDS = 5.0

_GROUPS_TYPE = "Microsoft.Resources/resourceGroups"
_GUID_STEP, _GUID_MASK = 0x9E3779B97F4B, 0xFFFFFFFFFFFF
_GUID_INVERSE = pow(_GUID_STEP, -1, _GUID_MASK + 1)
_DEPLOYMENTS_TYPE_KEY = "microsoft.resources/deployments"
_LOCKS_TYPE_KEY = LOCK_TYPE.lower()
_ROUTED_TYPE_KEYS = frozenset({"", _LOCKS_TYPE_KEY, _DEPLOYMENTS_TYPE_KEY})  # "": a group or subscription id


def _registration_key(subscription_id: str, namespace: str) -> str:
    """Where `ArmState.registrations` keeps a namespace's registration in a subscription."""
    return f"{subscription_id}|{namespace}".lower()


class ArmState(DeploymentsMixin):
    """All emulated state: subscriptions, groups, resources, locks, operations, deployments, events."""

    # Slots make every `self.x` on the hot paths a specialized slot read.
    __slots__ = ("_events", "_fault_rng", "_guid_prefix", "_guid_tail", "_id_rng",
                 "_known_subscriptions", "_operations", "_order_rng", "_rng", "_runs", "_seq", "_unindexed",
                 "activity", "base_url", "by_group", "catalog", "children", "clock", "default_caller",
                 "default_subscription", "deployments", "domains", "durations", "faults", "groups", "locks",
                 "registrations", "resources", "scope_locks", "seed", "subscriptions", "unknown_as")

    def __init__(self, catalog: Catalog | None = None, clock: VirtualClock | WallClock | None = None,
                 seed: int = 0, unknown_as: str = "safe"):
        self.catalog = catalog if catalog is not None else default_catalog()
        self.clock = clock if clock is not None else VirtualClock()
        self.seed = seed
        self.unknown_as = unknown_as
        self.base_url = DEFAULT_BASE_URL
        self.default_subscription = DEFAULT_SUBSCRIPTION
        self.default_caller = DEFAULT_CALLER
        self._rng = random.Random(seed)  # durations
        self._fault_rng = random.Random(f"faults:{seed}")
        self._id_rng = random.Random(f"ids:{seed}")
        h = f"{self._id_rng.getrandbits(128):032x}"
        self._guid_prefix = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-"
        self._guid_tail = 0
        self._order_rng = random.Random(f"order:{seed}")  # start order of steps ready together
        self.domains = DomainResolver(self.catalog, unknown_as)
        self.durations = Durations(self.domains, self._rng)
        self.locks = LockTable()
        self.scope_locks = LockStore()
        self.faults = FaultSet()
        self.activity = ActivityLog(seed)
        self.subscriptions: dict[str, Subscription] = {}
        self._known_subscriptions: set[str] = set()  # subscription ids as written, seen before
        self.groups: dict[str, ResourceGroup] = {}
        self.resources: dict[str, Resource] = {}
        self.children: dict[str, dict[str, None]] = {}
        self.by_group: dict[str, dict[str, None]] = {}
        self._operations: dict[str, Operation] = {}
        self._unindexed: list[Operation] = []  # made since `operations` was last read (ids still numbers)
        # `_registration_key(subscription, namespace)` -> (namespace as registered, "Registered" | "Unregistered")
        self.registrations: dict[str, tuple[str, str]] = {}
        # (time, sequence, kind, ref): "op" events carry the Operation, others a deployment ref
        self._events: list[tuple[float, int, str, Any]] = []
        self._seq = 0
        self._init_deployments()

    @property
    def operations(self) -> dict[str, Operation]:
        """Every operation by id. A write's operation is indexed when this is next read, and only then
        is its id (a lazy GUID) written out: most are never looked up by id."""
        pending = self._unindexed
        if pending:
            index = self._operations
            for op in pending:
                index[op.id] = op
            pending.clear()
        return self._operations

    # =========================================================================================
    # Time

    def settle(self) -> None:
        """Apply every event due up to `clock.now()`, in time order (ties: first scheduled first)."""
        events = self._events
        if events:
            now = self.clock.now()
            if events[0][0] <= now:
                self._apply_due(now)

    def next_event_time(self) -> float | None:
        return self._events[0][0] if self._events else None

    def run_until_idle(self, max_time: float | None = None) -> float:
        """Advance a VirtualClock event by event until nothing is scheduled (or `max_time`).

        Returns the clock's time. With a WallClock this only settles what is due.
        """
        clock = self.clock
        if not isinstance(clock, VirtualClock):
            self.settle()
            return clock.now()
        # Automatic garbage collection waits until the run is over: applying events makes no
        # reference cycles, and each collection would rescan all of the emulated state.
        collecting = gc.isenabled()
        if collecting:
            gc.disable()
        try:
            self._apply_due(max_time if max_time is not None else math.inf, clock)
        finally:
            if collecting:
                gc.enable()
        if max_time is not None and clock._now < max_time:
            clock.advance_to(max_time)
        return clock.now()

    def _apply_due(self, until: float, clock: VirtualClock | None = None) -> None:
        """Apply, in order, every event due at or before `until`, including those scheduled
        meanwhile; with a `clock`, move it to each event's time first (`run_until_idle`)."""
        events = self._events
        while events and events[0][0] <= until:
            t, _, kind, ref = heappop(events)
            if clock is not None and t > clock._now:
                clock._now = t
            if kind == "op" and ref.kind != "group_delete":  # the common case, inlined from _dispatch
                if ref.status == IN_PROGRESS and ref.end == t:
                    error = ref.outcome
                    self._finish(ref, t, FAILED if error else SUCCEEDED, error, True)  # direct
            else:
                self._dispatch(t, kind, ref)

    def _schedule(self, t: float, kind: str, ref: str) -> None:
        self._seq += 1
        heappush(self._events, (t, self._seq, kind, ref))

    def _dispatch(self, t: float, kind: str, ref: Any) -> None:
        if kind == "op":  # `ref` is the Operation itself
            op = ref
            if op.status == IN_PROGRESS and op.end == t:
                if op.kind == "group_delete":
                    self._finish_group_delete(op, t)
                else:
                    error = op.outcome
                    self._finish(op, t, FAILED if error else SUCCEEDED, error, True)  # direct
        else:
            self._dispatch_deployment(t, kind, ref)

    # =========================================================================================
    # Ids, names, URIs

    def _new_guid(self) -> str:
        """A GUID: a per-state prefix drawn from the seed, then a bijective scramble of a counter
        (unique, deterministic, and cheap: operations are made by the hundred thousand)."""
        self._guid_tail = tail = (self._guid_tail + _GUID_STEP) & _GUID_MASK  # == count * step, masked
        return self._guid_prefix + "%012x" % tail  # noqa: UP031 (the fastest way to format it)

    @property
    def _guid_count(self) -> int:
        """How many GUIDs were made (the step is odd, so the counter is the tail times its inverse)."""
        return (self._guid_tail * _GUID_INVERSE) & _GUID_MASK

    def _restore_guids(self, count: int) -> None:
        """Continue the GUID sequence after `count` GUIDs (loading saved state)."""
        self._guid_tail = (count * _GUID_STEP) & _GUID_MASK

    def _lazy_guid(self) -> int:
        """The next GUID as the number its text is made of (`guid_text` makes the text): what a
        correlation id starts as, since most are never read."""
        self._guid_tail = tail = (self._guid_tail + _GUID_STEP) & _GUID_MASK
        return tail

    def guid_text(self, guid: str | int) -> str:
        """A GUID's text: `guid` itself, or the text of a number from `_lazy_guid`."""
        return self._guid_prefix + "%012x" % guid if type(guid) is int else guid  # noqa: UP031

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def status_uri_path(self, operation: Operation) -> str:
        """Path of an operation's status resource (the HTTP layer adds the base URL and api-version)."""
        if operation.namespace.lower() == "microsoft.network":
            if operation.location is None:
                operation.location = self._op_location(parse(operation.resource_id))
            return (f"/subscriptions/{operation.subscription}/providers/Microsoft.Network/locations/"
                    f"{operation.location}/operations/{operation.id}")
        return f"/subscriptions/{operation.subscription}/providers/Microsoft.Resources/operations/{operation.id}"

    def status_uri(self, operation: Operation) -> str:
        """The full status URI, as quoted in AnotherOperationInProgress messages."""
        if operation.namespace.lower() == "microsoft.network":
            version = operation.api_version or NETWORK_API_VERSION
        else:
            version = RESOURCES_API_VERSION
        return f"{self.base_url.rstrip('/')}{self.status_uri_path(operation)}?api-version={version}"

    def _who(self, caller: str | None, correlation_id: str | None) -> tuple[str, str]:
        return caller or self.default_caller, correlation_id or self._new_guid()

    # =========================================================================================
    # Subscriptions

    def ensure_subscription(self, subscription_id: str | None = None) -> Subscription:
        """The subscription, created on first use (None: the default subscription)."""
        sid = subscription_id or self.default_subscription
        found = self.subscriptions.get(sid.lower())
        if found is None:
            found = self.subscriptions[sid.lower()] = Subscription(sid)
        return found

    def get_subscription(self, subscription_id: str) -> dict[str, Any]:
        self.settle()
        return self.ensure_subscription(subscription_id).view()

    def list_subscriptions(self) -> list[dict[str, Any]]:
        self.settle()
        self.ensure_subscription()
        return [s.view() for s in self.subscriptions.values()]

    # =========================================================================================
    # Resource groups

    def put_resource_group(self, subscription_id: str, name: str, body: dict[str, Any], *,
                           caller: str | None = None, correlation_id: str | None = None) -> dict[str, Any]:
        self.settle()
        return self._put_group(subscription_id, name, body, self.clock.now(), *self._who(caller, correlation_id))

    def _put_group(self, subscription_id: str, name: str, body: dict[str, Any], now: float, caller: str,
                   corr: str) -> dict[str, Any]:
        self.ensure_subscription(subscription_id)
        gid = f"/subscriptions/{subscription_id}/resourceGroups/{name}"
        key = gid.lower()
        opname = "Microsoft.Resources/subscriptions/resourceGroups/write"
        existing = self.groups.get(key)
        body = body if isinstance(body, dict) else {}
        location = body.get("location")
        try:
            if existing is not None and existing.state == DELETING:
                raise E.group_being_deleted(existing.name)
            self.scope_locks.check_write(existing.id if existing else gid)
            if existing is None and not isinstance(location, str):
                raise E.location_required()
            if existing is not None and isinstance(location, str) and _norm_location(location) != \
                    _norm_location(existing.location):
                raise E.invalid_group_location(location, existing.location)
        except ArmError as e:
            self._log_rejected(now, opname, gid, subscription_id, name, caller, corr, e)
            raise
        tags = body.get("tags")
        if existing is None:
            existing = ResourceGroup(subscription_id, name, location, dict(tags) if isinstance(tags, dict) else None,
                                     body.get("managedBy"))
            self.groups[key] = existing
            self.by_group.setdefault(key, {})
            status = 201
        else:
            if isinstance(tags, dict):
                existing.tags = dict(tags)
            status = 200
        op_id = self._new_guid()
        self.activity.add(now, opname, "Started", None, caller, corr, existing.id, subscription_id, existing.name,
                          op_id)
        self.activity.add(now, opname, "Succeeded", status, caller, corr, existing.id, subscription_id,
                          existing.name, op_id)
        return existing.view()

    def get_resource_group(self, subscription_id: str, name: str) -> dict[str, Any]:
        self.settle()
        return self._group(subscription_id, name).view()

    def _group(self, subscription_id: str, name: str) -> ResourceGroup:
        found = self.groups.get(f"/subscriptions/{subscription_id}/resourcegroups/{name}".lower())
        if found is None:
            raise E.group_not_found(name)
        return found

    def list_resource_groups(self, subscription_id: str) -> list[dict[str, Any]]:
        self.settle()
        prefix = f"/subscriptions/{subscription_id}/".lower()
        return [g.view() for k, g in self.groups.items() if k.startswith(prefix)]

    def delete_resource_group(self, subscription_id: str, name: str, *, caller: str | None = None,
                              correlation_id: str | None = None) -> Operation:
        """Long-running: waits for operations in flight inside the group, then deletes everything in it."""
        self.settle()
        now = self.clock.now()
        caller, corr = self._who(caller, correlation_id)
        opname = "Microsoft.Resources/subscriptions/resourceGroups/delete"
        gid = f"/subscriptions/{subscription_id}/resourceGroups/{name}"
        try:
            group = self._group(subscription_id, name)
            if group.delete_op is not None and group.delete_op.status == IN_PROGRESS:
                return group.delete_op
            self.scope_locks.check_delete(group.id)
        except ArmError as e:
            self._log_rejected(now, opname, gid, subscription_id, name, caller, corr, e)
            raise
        group.state = DELETING
        start_at = now
        longest = GROUP_DELETE_MIN_SECONDS
        for key in self.by_group.get(group.key, {}):
            res = self.resources[key]
            if res.op is not None and res.op.status == IN_PROGRESS:
                start_at = max(start_at, res.op.end)
            if parse(res.id).parent is None:
                longest = max(longest, self.durations.draw(res.type_key, "delete"))
        op = Operation(self._new_guid(), "group_delete", "DELETE", group.id, _GROUPS_TYPE, now, start_at + longest,
                       caller, corr, self._next_seq(), state=self, location=group.location)
        group.delete_op = op
        self.operations[op.id] = op
        self._seq += 1
        heappush(self._events, (op.end, self._seq, "op", op))
        self.activity.add(now, opname, "Started", None, caller, corr, group.id, subscription_id, group.name, op.id)
        self.activity.add(now, opname, "Accepted", 202, caller, corr, group.id, subscription_id, group.name, op.id)
        return op

    def _finish_group_delete(self, op: Operation, t: float) -> None:
        group = self.groups.get(op.resource_id.lower())
        op.status = SUCCEEDED
        op.finished = t
        if group is not None:
            for key in list(self.by_group.get(group.key, {})):
                res = self.resources.get(key)
                if res is not None and res.op is not None and res.op.status == IN_PROGRESS:
                    self._finish(res.op, t, CANCELED, {"code": "Canceled", "message": "Operation was canceled."})
                self._remove_resource(key)
            prefix = group.key + "/"
            for lk in [k for k, lock in self.scope_locks.locks.items()
                       if lock.scope_key == group.key or lock.scope_key.startswith(prefix)]:
                del self.scope_locks.locks[lk]
            self._drop_group_deployments(group.key)
            del self.groups[group.key]
            self.by_group.pop(group.key, None)
        self.activity.add(t, "Microsoft.Resources/subscriptions/resourceGroups/delete", SUCCEEDED, 200, op.caller,
                          op.correlation_id, op.resource_id, op.subscription, parse(op.resource_id).resource_group,
                          op.id)

    # =========================================================================================
    # Resources

    def put_resource(self, resource_id: str, body: dict[str, Any], *, api_version: str | None = None,
                     caller: str | None = None, correlation_id: str | None = None
                     ) -> tuple[dict[str, Any], Operation | None]:
        """Create or replace a resource. Returns its view and the long-running operation (None:
        completed synchronously). Raises ArmError for rejections (conflicts, locks, 404s, faults)."""
        now = self.clock.now()
        events = self._events
        if events and events[0][0] <= now:  # settle(), inlined: most calls have nothing due
            self.settle()
            now = self.clock.now()
        caller = caller or self.default_caller
        corr = correlation_id or self._lazy_guid()
        rid = parse(resource_id)
        if rid.type_key in _ROUTED_TYPE_KEYS:  # groups, locks, deployments
            return self._route_write("PUT", resource_id, body, now, caller, corr, api_version)
        return self._write("PUT", rid, body, now, caller, corr, api_version)

    def patch_resource(self, resource_id: str, body: dict[str, Any], *, api_version: str | None = None,
                       caller: str | None = None, correlation_id: str | None = None
                       ) -> tuple[dict[str, Any], Operation | None]:
        """Update a resource with a JSON merge patch of its body (same conflict rules as PUT)."""
        self.settle()
        return self._route_write("PATCH", resource_id, body, self.clock.now(), caller or self.default_caller,
                                 correlation_id or self._lazy_guid(), api_version)

    def delete_resource(self, resource_id: str, *, api_version: str | None = None, caller: str | None = None,
                        correlation_id: str | None = None) -> Operation | None:
        """Delete a resource and its children. None when there was nothing to delete (HTTP 204) or it
        completed synchronously."""
        events = self._events
        if events and events[0][0] <= self.clock.now():
            self.settle()
        caller, corr = self._who(caller, correlation_id)
        rid = parse(resource_id)
        if rid.type is None and rid.resource_group is not None:
            return self.delete_resource_group(rid.subscription or "", rid.resource_group, caller=caller,
                                              correlation_id=corr)
        if rid.type_key == _LOCKS_TYPE_KEY:
            self.delete_lock(rid.scope or "", rid.name or "")
            return None
        if rid.type_key == _DEPLOYMENTS_TYPE_KEY:
            self.delete_deployment(rid.scope or "", rid.name or "")
            return None
        _, op = self._write("DELETE", rid, None, self.clock.now(), caller, corr, api_version)
        return op

    def get_resource(self, resource_id: str) -> dict[str, Any]:
        """The resource's view; 404 ResourceNotFound when it does not exist."""
        self.settle()
        rid = parse(resource_id)
        if rid.type is None and rid.resource_group is not None:
            return self.get_resource_group(rid.subscription or "", rid.resource_group)
        if rid.type_key == _LOCKS_TYPE_KEY:
            return self.get_lock(rid.scope or "", rid.name or "")
        if rid.type_key == _DEPLOYMENTS_TYPE_KEY:
            return self.get_deployment(rid.scope or "", rid.name or "")
        res = self.resources.get(rid.key)
        if res is None:
            raise E.resource_not_found(rid.provider_path, rid.resource_group)
        return res.view(self._shown_state(res))

    def resource_exists(self, resource_id: str) -> bool:
        self.settle()
        rid = parse(resource_id)
        return rid.key in self.resources

    def list_resources(self, subscription_id: str, resource_group: str | None = None,
                       filter: str | None = None) -> list[dict[str, Any]]:
        """Top-level resources of a group or subscription (child resources are not listed, as in ARM).

        `filter` understands ARM's `resourceType eq '...'` and `name eq '...'` joined by `and`.
        """
        self.settle()
        conditions = _parse_resource_filter(filter)
        if resource_group is not None:
            group = self._group(subscription_id, resource_group)
            keys: Any = self.by_group.get(group.key, {})
        else:
            prefix = f"/subscriptions/{subscription_id}/".lower()
            keys = [k for k in self.resources if k.startswith(prefix)]
        out = []
        for key in keys:
            res = self.resources[key]
            rid = parse(res.id)
            if rid.parent is not None or rid.scope is None or rid.scope.count("/") > 4:
                continue
            if not all(_filter_match(res, f, v) for f, v in conditions):
                continue
            out.append(res.view(self._shown_state(res)))
        return out

    def _shown_state(self, res: Resource) -> str:
        """A Succeeded resource held as the lock domain of another resource's write shows Updating
        (a subnet write leaves its VNet Updating)."""
        if res.state == SUCCEEDED and res.op is None:
            holder = self.locks.exclusive.get(res.key)
            if holder is not None and holder.status == IN_PROGRESS:
                return UPDATING
        return res.state

    def _route_write(self, method: str, resource_id: str, body: Any, now: float, caller: str, corr: str | int,
                     api_version: str | None) -> tuple[dict[str, Any], Operation | None]:
        rid = parse(resource_id)
        if rid.type_key not in _ROUTED_TYPE_KEYS:
            return self._write(method, rid, body, now, caller, corr, api_version)
        corr = self.guid_text(corr)
        if rid.type is None:
            if rid.resource_group is not None and method == "PUT":
                return self._put_group(rid.subscription or "", rid.resource_group, body, now, caller, corr), None
            raise E.invalid_resource_id(resource_id)
        if rid.type_key == _LOCKS_TYPE_KEY and method == "PUT":
            return self._put_lock(rid.scope or "", rid.name or "", body, now, caller, corr), None
        if rid.type_key == _DEPLOYMENTS_TYPE_KEY and method == "PUT":
            view, op = self._put_deployment(rid.scope or "", rid.name or "", body, now, caller, corr)
            return view, op
        return self._write(method, rid, body, now, caller, corr, api_version)

    def _write(self, method: str, rid: ResourceId, body: Any, now: float, caller: str, corr: str | int,
               api_version: str | None, deployment: str | None = None, step: int | None = None,
               view: bool = True, owned: bool = False, refs: list[str] | None = None
               ) -> tuple[dict[str, Any] | None, Operation | None]:
        """The one path every mutation takes (API requests and deployment steps alike).

        `view=False` skips building the returned view (deployments do not need it); `owned=True`
        says the body is a fresh dict nobody else holds (no defensive copy); `refs`, the ids it
        references when already known. `corr` may be a lazy GUID (see `_lazy_guid`).
        """
        tkey = rid.type_key
        try:
            existing, new_body, shown, ex, sh, victims = self._admit(method, rid, body, tkey, owned, view, refs)
        except ArmError as e:
            opname = f"{rid.type}/delete" if method == "DELETE" else f"{rid.type}/write"
            self._log_rejected(now, opname, rid.id, rid.subscription, rid.resource_group, caller,
                               self.guid_text(corr), e)
            raise
        deleting = method == "DELETE"
        if existing is None and deleting:
            return {}, None  # nothing to delete: 204
        op_id = self._lazy_guid()
        if victims:
            for victim in victims:
                self._supersede(victim, now, rid, method, self.guid_text(op_id))
        if not deleting and (tkey == USER_ASSIGNED_IDENTITY_TYPE or "identity" in new_body):
            self._add_identity_ids(rid, tkey, new_body, shown, existing)
        # -- resource record
        if existing is None:
            res = Resource(rid.id, rid.key, rid.type, new_body, CREATING, now, rid.group_key, api_version,
                           tkey)
            self._add_resource(res, rid)
            kind = "create"
        elif deleting:
            existing.state = DELETING
            res = existing
            kind = "delete"
        else:
            noop = method == "PUT" and existing.state == SUCCEEDED and existing.body == new_body
            existing.body = new_body
            existing.state = UPDATING
            existing.changed = now
            if api_version:
                existing.api_version = api_version
            res = existing
            kind = "noop" if noop else "update"
        display_id = res.id
        # -- synchronous types complete at once and hold nothing
        if tkey in SYNC_TYPES:
            opname = f"{rid.type}/delete" if deleting else f"{rid.type}/write"
            corr = self.guid_text(corr)
            op_id = self.guid_text(op_id)
            self.activity.add(now, opname, "Started", None, caller, corr, display_id, rid.subscription,
                              rid.resource_group, op_id)
            self.activity.add(now, opname, SUCCEEDED, 200 if kind != "create" else 201, caller, corr, display_id,
                              rid.subscription, rid.resource_group, op_id)
            if deleting:
                self._remove_resource(res.key)
                return {}, None
            res.state = SUCCEEDED
            if shown is not None:
                return res.fill_view(shown), None
            return (res.view() if view else None), None
        # -- asynchronous: draw the duration, apply start faults
        duration = self.durations.draw(tkey, kind)
        seq = self._seq + 1
        self._seq = seq + 1  # one for the operation, one for its event
        op = Operation(op_id, "delete" if deleting else "write", method, display_id, res.type, now, now + duration,
                       caller, corr, seq, ex, sh, kind == "create", deployment, step, self, api_version, None, res.key)
        if self.faults.faults:
            self._start_faults(op, tkey, rid.key, duration)
        end = op.end
        res.op = op
        locks = self.locks
        for k in ex:  # LockTable.acquire(op), inlined
            locks.exclusive[k] = op
        if sh:
            locks.acquire_shared(op)
        self._unindexed.append(op)
        heappush(self._events, (end, seq + 1, "op", op))
        self.activity.events.append(op)  # stands for its Started, Accepted and end events
        if deleting:
            return {}, op
        if shown is not None:
            return res.fill_view(shown), op
        return (res.view() if view else None), op

    def _start_faults(self, op: Operation, tkey: str, key: str, duration: float) -> None:
        """Faults that fire when an accepted operation starts: slow, stuck, fail, superseded."""
        for f in self.faults.firing("start", tkey, key, op.method, self._fault_rng):
            if f.kind == "slow":
                duration *= f.multiplier
            elif f.kind == "superseded":
                op.supersedable = True
            elif f.kind == "fail" and op.outcome is None:
                op.outcome = {"code": f.code or "InternalServerError", "message": f.message or "The operation failed."}
            elif f.kind == "stuck":
                duration = f.timeout if f.timeout is not None else self.durations.timeout(tkey)
                op.outcome = E.timed_out(op.name, op.id, op.resource_id, duration)
        op.end = op.start + duration

    def _add_identity_ids(self, rid: ResourceId, tkey: str, body: dict[str, Any], view: dict[str, Any] | None,
                          existing: Resource | None) -> None:
        found = self.subscriptions.get((rid.subscription or "").lower())
        tenant = found.tenant_id if found is not None else TENANT_ID
        add_identity_ids(tkey, body, existing.body if existing is not None else None, tenant, self._new_guid,
                         self._assigned_ids)
        if view is not None:  # the answer shows the same ids
            add_identity_ids(tkey, view, body, tenant, self._new_guid, self._assigned_ids)

    def _assigned_ids(self, uai_id: str) -> tuple[str, str] | None:
        """(principalId, clientId) of a user-assigned identity the emulator holds."""
        uai = self.resources.get(uai_id.strip().rstrip("/").lower())
        props = uai.body.get("properties") if uai is not None else None
        if isinstance(props, dict) and "principalId" in props and "clientId" in props:
            return props["principalId"], props["clientId"]
        return None

    def _admit(self, method: str, rid: ResourceId, body: Any, tkey: str, owned: bool = False, view: bool = False,
               refs: list[str] | None = None):
        """Every check a write passes before it is accepted; raises the ArmError that rejects it.

        Returns (existing resource, new body, the view's draft (a PUT with `view`, see
        `stored_body_and_view`; else None), exclusive keys, shared keys, operations to supersede).
        """
        sub = rid.subscription
        if sub not in self._known_subscriptions and sub is not None:
            self.ensure_subscription(sub)
            self._known_subscriptions.add(sub)
        gkey = rid.group_key
        if gkey is not None:
            group = self.groups.get(gkey)
            if group is None:
                raise E.group_not_found(rid.resource_group or "")
            if group.state == DELETING:
                raise E.group_being_deleted(group.name)
        if self.registrations and method != "DELETE":
            registered = self.registrations.get(_registration_key(sub or "", rid.namespace or ""))
            if registered is not None and registered[1] == UNREGISTERED:
                raise E.missing_subscription_registration(registered[0])
        resources = self.resources
        existing = resources.get(rid.key)
        shown = None
        if method == "DELETE":
            if existing is None:
                return None, None, None, (), (), ()
            new_body = existing.body
        elif method == "PATCH":
            if existing is None:
                raise E.resource_not_found(rid.provider_path, rid.resource_group)
            new_body = merge_patch(existing.body, stored_body(body))
        else:
            if not isinstance(body, dict):
                raise E.invalid_request("The request content was invalid and could not be deserialized.")
            if owned:
                new_body = body
            elif view:
                new_body, shown = stored_body_and_view(body)
            else:
                new_body = stored_body(body)
        if rid.parent_key is not None and method != "DELETE" and rid.parent_key not in resources:
            raise E.parent_not_found(parse(rid.parent).name or rid.parent)
        if self.scope_locks.locks:
            if method == "DELETE":
                self.scope_locks.check_delete(existing.id if existing else rid.id)
            else:
                self.scope_locks.check_write(rid.id)
        if self.faults.faults:
            for f in self.faults.firing("request", tkey, rid.key, method, self._fault_rng):
                raise self._fault_error(f, rid, new_body)
        ex, sh, referenced = self.domains.by_id.get(rid.key) or self.domains.keys(rid.id, rid.key, tkey, new_body)
        victims: tuple[Operation, ...] = ()
        locks = self.locks
        held, held_shared = locks.exclusive, locks.shared
        hit = None
        for k in ex:  # a quick look first: most writes meet nothing
            if k in held or k in held_shared:
                hit = locks.conflict(ex, sh)
                break
        else:
            for k in sh:
                if k in held:
                    hit = locks.conflict(ex, sh)
                    break
        if hit is not None:
            if hit[0].supersedable and hit[0].kind == "write":  # else _supersede_candidates finds none
                victims = self._supersede_candidates(rid, ex, sh)
            if not victims:
                raise self._conflict_error(rid, hit[0], hit[1], referenced)
        if method != "DELETE" and tkey.startswith("microsoft.network/"):
            if refs is None:
                refs = referenced_ids(new_body)
            if refs:
                own = {rid.key, *(a.lower() for a in ancestors(rid.id))}
                for ref in refs:
                    k = ref.strip().rstrip("/").lower()
                    if k in own:
                        continue
                    target = resources.get(k)
                    if target is not None and target.op is not None and target.op.status == IN_PROGRESS:
                        raise E.referenced_not_provisioned(target.id, rid.id, target.state, target.op.name)
        return existing, new_body, shown, ex, sh, victims

    def _supersede_candidates(self, rid: ResourceId, ex: tuple[str, ...], sh: tuple[str, ...]
                              ) -> tuple[Operation, ...]:
        """In-flight operations this write may cancel instead of being rejected: all conflicting
        ones must be `superseded`-faulted operations on this resource or one of its descendants."""
        conflicts = self.locks.all_conflicts(ex, sh)
        victims = []
        for holder, _ in conflicts:
            target = holder.resource_id.lower()
            if not holder.supersedable or holder.kind != "write":
                return ()
            if target != rid.key and rid.key not in (a.lower() for a in ancestors(holder.resource_id)):
                return ()
            victims.append(holder)
        return tuple(victims)

    def _supersede(self, victim: Operation, now: float, rid: ResourceId, method: str, new_op_id: str) -> None:
        verb = "Delete" if method == "DELETE" else "Put"
        from armguard.emulator.ids import singular

        leaf = singular(rid.type.rsplit("/", 1)[-1]) if rid.type else "Resource"
        by_name = f"{verb}{leaf[:1].upper()}{leaf[1:]}Operation"
        self._finish(victim, now, CANCELED, E.superseded(victim.name, victim.id, by_name, new_op_id))

    def _conflict_error(self, rid: ResourceId, holder: Operation, key: str, referenced: frozenset[str]) -> ArmError:
        ns = (rid.namespace or "").lower()
        held = self.resources.get(key)
        held_id = held.id if held is not None else key
        if ns == "microsoft.network":
            if key != rid.key:
                is_ancestor = key in (a.lower() for a in ancestors(rid.id))
                on_key = holder.resource_id.lower() == key
                if key in referenced or (is_ancestor and on_key):
                    state = held.state if held is not None and held.op is holder else UPDATING
                    if state not in (CREATING, UPDATING, DELETING):
                        state = UPDATING
                    return E.referenced_not_provisioned(held_id, rid.id, state, holder.name)
            return E.another_operation_in_progress(self.status_uri(holder))
        if ns == "microsoft.web":
            farm = (holder.type.lower().startswith("microsoft.web/serverfarms"))
            kind = "Create" if holder.creating else ("Delete" if holder.method == "DELETE" else "Update")
            from armguard.emulator.clock import us_time

            return E.app_service_conflict("web hosting plan" if farm else "site", 1 if farm else 3, holder.id, kind,
                                          us_time(self.clock.epoch, holder.start), holder.correlation_id)
        if ns == "microsoft.cognitiveservices":
            parent = rid.parent or held_id
            parent_res = self.resources.get(parent.lower())
            return E.request_conflict(parent_res.id if parent_res else parent)
        if ns == "microsoft.containerservice":
            target = self.resources.get(holder.resource_id.lower())
            state = target.state if target is not None else UPDATING
            return E.aks_operation_not_allowed(parse(holder.resource_id).name or "", state)
        if ns == "microsoft.storage":
            return E.storage_operation_in_progress()
        return E.generic_conflict(held_id, self.status_uri(holder))

    def _fault_error(self, f: Fault, rid: ResourceId, body: Any) -> ArmError:
        if f.kind == "throttle":
            retry = f.retry_after if f.retry_after is not None else 10.0
            if f.code is not None:
                return ArmError(f.status or 429, f.code, f.message or "The request is being throttled.",
                                retry_after=retry)
            refs = [r for r in referenced_ids(body) if r.lower() != rid.key]
            referenced = refs[0] if refs else (rid.parent or rid.id)
            ref_type = parse(referenced).type if parse(referenced).type else rid.type
            from armguard.emulator.ids import singular

            leaf = singular((ref_type or "Resource").rsplit("/", 1)[-1])
            return E.referenced_not_provisioned(referenced, rid.id, UPDATING,
                                                f"Put{leaf[:1].upper()}{leaf[1:]}Operation", retry)
        if f.kind == "server_error":
            status = f.status or 503
            code = f.code or ("ServiceUnavailable" if status == 503 else "InternalServerError")
            message = f.message or ("The service is unavailable, try again later." if status == 503
                                    else "The server encountered an internal error. Please retry the request.")
            return ArmError(status, code, message, retry_after=f.retry_after if f.retry_after is not None else 5.0)
        return ArmError(f.status or 400, f.code or "InternalServerError", f.message or "The operation failed.",
                        retry_after=f.retry_after)

    def _op_location(self, rid: ResourceId) -> str:
        """The region of the resource (or its nearest located ancestor, or its group)."""
        res = self.resources.get(rid.key)
        loc = res.location if res is not None else None
        if loc is None:
            for a in ancestors(rid.id):
                parent = self.resources.get(a.lower())
                if parent is not None and parent.location:
                    loc = parent.location
                    break
        if loc is None and rid.group_key is not None:
            group = self.groups.get(rid.group_key)
            loc = group.location if group is not None else None
        return _norm_location(loc or "global")

    def _add_resource(self, res: Resource, rid: ResourceId) -> None:
        key = res.key
        self.resources[key] = res
        if rid.parent is not None:
            siblings = self.children.get(rid.parent_key)  # type: ignore[arg-type]
            if siblings is None:
                self.children[rid.parent_key] = {key: None}  # type: ignore[index]
            else:
                siblings[key] = None
        if res.group_key is not None:
            members = self.by_group.get(res.group_key)
            if members is None:
                self.by_group[res.group_key] = {key: None}
            else:
                members[key] = None

    def _remove_resource(self, key: str) -> None:
        res = self.resources.pop(key, None)
        if res is None:
            return
        for child in list(self.children.pop(key, {})):
            self._remove_resource(child)
        parent = parse(res.id).parent
        if parent is not None:
            siblings = self.children.get(parent.lower())
            if siblings is not None:
                siblings.pop(key, None)
        if res.group_key is not None:
            members = self.by_group.get(res.group_key)
            if members is not None:
                members.pop(key, None)
        if self.scope_locks:
            prefix = key + "/"
            for lk in [k for k, lock in self.scope_locks.locks.items()
                       if lock.scope_key == key or lock.scope_key.startswith(prefix)]:
                del self.scope_locks.locks[lk]

    def _finish(self, op: Operation, t: float, status: str, error: dict[str, Any] | None,
                direct: bool = False) -> None:
        """An operation reaches a terminal state: release its locks, update its resource, log, notify
        its deployment (`direct`: now, from an event; otherwise through an event at `t`)."""
        op.status = status
        op.finished = t
        op.error = error
        ex_map = self.locks.exclusive
        for k in op.exclusive:  # LockTable.release(op), inlined
            if ex_map.get(k) is op:
                del ex_map[k]
        if op.shared:
            self.locks.release_shared(op)
        key = op._key or op.key  # the attribute first: set by _write, it saves the property call
        res = self.resources.get(key)
        if res is not None and res.op is op:
            res.op = None
            res.changed = t
            if status == SUCCEEDED:
                if op.method == "DELETE":
                    self._remove_resource(key)
                else:
                    res.state = SUCCEEDED
            else:
                res.state = FAILED if status == FAILED else CANCELED
        if op.deployment is not None:
            if direct:
                self._step_done(op.deployment, op.step, op, t)  # type: ignore[arg-type]
            else:
                self._operation_done(op, t, False)

    def _log_rejected(self, now: float, opname: str, resource_id: str, subscription: str | None,
                      group: str | None, caller: str, corr: str, e: ArmError) -> None:
        op_id = self._new_guid()
        self.activity.add(now, opname, "Started", None, caller, corr, resource_id, subscription, group, op_id)
        self.activity.add(now, opname, FAILED, e.status, caller, corr, resource_id, subscription, group, op_id,
                          e.error())

    # =========================================================================================
    # Operations and the activity log

    def operation(self, operation_id: str) -> Operation:
        self.settle()
        op = self.operations.get(operation_id) or self.operations.get(operation_id.lower())
        if op is None:
            raise E.operation_not_found(operation_id)
        return op

    def activity_log(self, subscription_id: str, start: Any = None, end: Any = None,
                     resource_group: str | None = None) -> list[dict[str, Any]]:
        """Events with start <= eventTimestamp <= end (virtual seconds, datetimes or ISO strings),
        newest first, as Azure Monitor returns them."""
        self.settle()
        epoch = self.clock.epoch
        return self.activity.query(epoch, subscription_id, parse_time(epoch, start), parse_time(epoch, end),
                                   resource_group)

    # =========================================================================================
    # Management locks

    def put_lock(self, scope: str, name: str, body: dict[str, Any], *, caller: str | None = None,
                 correlation_id: str | None = None) -> dict[str, Any]:
        self.settle()
        return self._put_lock(scope, name, body, self.clock.now(), *self._who(caller, correlation_id))

    def _put_lock(self, scope: str, name: str, body: Any, now: float, caller: str, corr: str) -> dict[str, Any]:
        scope = scope.rstrip("/")
        lock_id = f"{scope}/providers/{LOCK_TYPE}/{name}"
        opname = f"{LOCK_TYPE}/write"
        try:
            target = parse(scope)
            self.ensure_subscription(target.subscription)
            self._require_scope(target)
            level, notes, owners = parse_level(body)
        except ArmError as e:
            self._log_rejected(now, opname, lock_id, _sub_of(scope), _group_of(scope), caller, corr, e)
            raise
        existing = self.scope_locks.locks.get(lock_id.lower())
        lock = ManagementLock(existing.scope if existing else scope, existing.name if existing else name, level,
                              notes, owners)
        self.scope_locks.locks[lock.key] = lock
        op_id = self._new_guid()
        self.activity.add(now, opname, "Started", None, caller, corr, lock.id, target.subscription,
                          target.resource_group, op_id)
        self.activity.add(now, opname, SUCCEEDED, 200 if existing else 201, caller, corr, lock.id, target.subscription,
                          target.resource_group, op_id)
        return lock.view()

    def _require_scope(self, target: ResourceId) -> None:
        if target.type is None and target.resource_group is not None:
            group = self.groups.get(target.key)
            if group is None:
                raise E.group_not_found(target.resource_group)
        elif target.type is not None and target.key not in self.resources:
            raise E.resource_not_found(target.provider_path, target.resource_group)

    def get_lock(self, scope: str, name: str) -> dict[str, Any]:
        self.settle()
        lock = self.scope_locks.locks.get(f"{scope.rstrip('/')}/providers/{LOCK_TYPE}/{name}".lower())
        if lock is None:
            raise E.lock_not_found(name)
        return lock.view()

    def delete_lock(self, scope: str, name: str, *, caller: str | None = None,
                    correlation_id: str | None = None) -> None:
        self.settle()
        now = self.clock.now()
        caller, corr = self._who(caller, correlation_id)
        lock = self.scope_locks.locks.pop(f"{scope.rstrip('/')}/providers/{LOCK_TYPE}/{name}".lower(), None)
        if lock is not None:
            op_id = self._new_guid()
            opname = f"{LOCK_TYPE}/delete"
            self.activity.add(now, opname, "Started", None, caller, corr, lock.id, _sub_of(scope), _group_of(scope),
                              op_id)
            self.activity.add(now, opname, SUCCEEDED, 200, caller, corr, lock.id, _sub_of(scope), _group_of(scope),
                              op_id)

    def list_locks(self, scope: str, at_scope: bool = False) -> list[dict[str, Any]]:
        """Locks at and above the scope (inherited) and below it, as ARM's list calls return them;
        `at_scope` (`$filter=atScope()`): at and above only, the locks that apply to the scope."""
        self.settle()
        key = scope.rstrip("/").lower()
        found = self.scope_locks.at_or_above(key) + ([] if at_scope else self.scope_locks.below(key))
        return [lk.view() for lk in dict.fromkeys(found)]

    # =========================================================================================
    # Resource providers

    def get_provider(self, subscription_id: str, namespace: str) -> dict[str, Any]:
        self.ensure_subscription(subscription_id)
        check_namespace(namespace)
        known = self._provider_types().get(namespace.lower())
        return provider_view(subscription_id, namespace, known, self._registration(subscription_id, namespace),
                             DISPLAY_NAMES)

    def list_providers(self, subscription_id: str) -> list[dict[str, Any]]:
        """The catalog's namespaces, those written in, registered ones and the core ones."""
        self.ensure_subscription(subscription_id)
        types = self._provider_types()
        names = {ns.lower(): ns for ns in CORE_NAMESPACES}
        names.update({k: v["namespace"] for k, v in types.items()})
        prefix = f"{subscription_id.lower()}|"
        for key, (spelling, _) in self.registrations.items():
            if key.startswith(prefix):
                names.setdefault(spelling.lower(), spelling)
        return [provider_view(subscription_id, ns, types.get(key), self._registration(subscription_id, ns),
                              DISPLAY_NAMES) for key, ns in sorted(names.items())]

    def register_provider(self, subscription_id: str, namespace: str, registered: bool = True) -> dict[str, Any]:
        self.ensure_subscription(subscription_id)
        check_namespace(namespace)
        self.registrations[_registration_key(subscription_id, namespace)] = (
            namespace, REGISTERED if registered else UNREGISTERED)
        return self.get_provider(subscription_id, namespace)

    def _registration(self, subscription_id: str, namespace: str) -> str:
        found = self.registrations.get(_registration_key(subscription_id, namespace))
        return found[1] if found else REGISTERED

    def _provider_types(self) -> dict[str, dict[str, Any]]:
        written = ((res.type, res.api_version) for res in self.resources.values())
        return provider_types([*((e.type, None) for e in self.catalog), *written])

    # =========================================================================================
    # Faults

    def inject(self, fault: Fault) -> None:
        self.faults.add(fault)

    def clear_faults(self) -> None:
        self.faults.clear()

    # =========================================================================================
    # Persistence

    def to_json(self) -> dict[str, Any]:
        from armguard.emulator.persistence import dump

        self.settle()
        return dump(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], clock: VirtualClock | WallClock | None = None,
                  catalog: Catalog | None = None) -> ArmState:
        from armguard.emulator.persistence import load

        return load(cls, data, clock, catalog)


def _norm_location(location: str) -> str:
    return location.replace(" ", "").lower()


def _sub_of(scope: str) -> str | None:
    parts = scope.strip("/").split("/")
    return parts[1] if len(parts) >= 2 and parts[0].lower() == "subscriptions" else None


def _group_of(scope: str) -> str | None:
    parts = scope.strip("/").split("/")
    return parts[3] if len(parts) >= 4 and parts[2].lower() == "resourcegroups" else None


def _parse_resource_filter(text: str | None) -> list[tuple[str, str]]:
    if not text or not text.strip():
        return []
    out = []
    for clause in text.split(" and "):
        parts = clause.strip().split(None, 2)
        if len(parts) != 3 or parts[1].lower() != "eq":
            raise E.invalid_request(f"Unsupported $filter '{text}'. Supported: resourceType eq '<type>', "
                                    "name eq '<name>', joined by 'and'.")
        field, _, value = parts
        value = value.strip()
        if value.startswith("'") and value.endswith("'"):
            value = value[1:-1].replace("''", "'")
        if field.lower() not in ("resourcetype", "name", "location"):
            raise E.invalid_request(f"Unsupported $filter field '{field}'.")
        out.append((field.lower(), value))
    return out


def _filter_match(res: Resource, field: str, value: str) -> bool:
    if field == "resourcetype":
        return res.type.lower() == value.lower()
    if field == "name":
        return res.name.lower() == value.lower()
    return _norm_location(res.location or "") == _norm_location(value)
