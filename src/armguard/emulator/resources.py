"""Records of subscriptions, resource groups and resources, and the JSON views the API returns.

A resource keeps the body of its last accepted PUT (or PATCH merge) and its provisioningState:
Creating, Updating or Deleting while an operation runs on it, then Succeeded, Failed or Canceled.
Views are fresh copies (callers may mutate them); the casing of the first PUT is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from armguard.emulator.clock import iso

CREATING, UPDATING, DELETING = "Creating", "Updating", "Deleting"
SUCCEEDED, FAILED, CANCELED = "Succeeded", "Failed", "Canceled"
TENANT_ID = "72f988bf-0000-0000-0000-00000000a4b1"

# Top-level fields of a resource body that are not stored (the id says them).
_IDENTITY_FIELDS = frozenset({"id", "name", "type"})
# Common top-level fields known to be kept (saves lower-casing them).
_KEPT_FIELDS = frozenset({"location", "properties", "tags", "sku", "kind", "identity", "zones", "etag",
                          "extendedLocation", "plan", "managedBy"})


# Types copy_json returns as they are (exact types: subclasses take the general path).
_ATOMS = frozenset({str, int, float, bool, type(None)})


def copy_json(value: Any) -> Any:
    """A deep copy of plain JSON data (faster than copy.deepcopy; dict and list subclasses come
    back as plain dicts and lists)."""
    kind = type(value)
    if kind is dict:
        out = value.copy()
        for k, v in value.items():
            if type(v) not in _ATOMS:
                out[k] = copy_json(v)
        return out
    if kind is list:
        atoms = _ATOMS
        return [v if type(v) in atoms else copy_json(v) for v in value]
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy_json(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def stored_body(body: Any) -> dict[str, Any]:
    """What a resource keeps of a request body: everything but id/name/type, provisioningState."""
    if not isinstance(body, dict):
        return {}
    out = {}
    atoms = _ATOMS
    identity = _IDENTITY_FIELDS
    for k, v in body.items():
        if k in _KEPT_FIELDS or k.lower() not in identity:
            kind = type(v)
            if kind in atoms:
                out[k] = v
            elif kind is dict:  # copy_json(v), inlined for a dict of plain values (tags, most properties)
                copied = v.copy()
                for x in v.values():
                    if type(x) not in atoms:
                        copied = copy_json(v)
                        break
                out[k] = copied
            else:
                out[k] = copy_json(v)
    props = out.get("properties")
    if isinstance(props, dict) and "provisioningState" in props:
        props.pop("provisioningState")
    return out


def stored_body_and_view(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`stored_body(body)` and, made in the same walk of `body`, the view of a resource that stores
    it, less what only the resource knows: "id", "name" and "type" are None and the properties lack
    their provisioningState until `Resource.fill_view` sets them. (A PUT both stores its body and
    answers with the view: one walk instead of two.)"""
    out: dict[str, Any] = {}
    view: dict[str, Any] = {"id": None, "name": None, "type": None}
    view_props: dict[str, Any] | None = None
    atoms = _ATOMS
    identity = _IDENTITY_FIELDS
    for k, v in body.items():
        if k in _KEPT_FIELDS or k.lower() not in identity:
            kind = type(v)
            if kind in atoms:
                out[k] = v
                view[k] = v
                continue
            if kind is dict:  # copy_json(v) twice, inlined for a dict of plain values
                stored = v.copy()
                shown = v.copy()
                for x in v.values():
                    if type(x) not in atoms:
                        stored = copy_json(v)
                        shown = copy_json(v)
                        break
            else:
                stored = copy_json(v)
                shown = copy_json(v)
            out[k] = stored
            if k == "properties" and isinstance(v, dict):
                view_props = shown  # it goes last (as in Resource.view)
            else:
                view[k] = shown
    props = out.get("properties")
    if isinstance(props, dict) and "provisioningState" in props:
        props.pop("provisioningState")
    if view_props is None:
        view_props = {}
    elif "provisioningState" in view_props:
        view_props.pop("provisioningState")
    view["properties"] = view_props
    return out, view


class Resource:
    __slots__ = ("api_version", "body", "changed", "created", "group_key", "id", "key", "op", "state", "type",
                 "type_key")

    def __init__(self, resource_id: str, key: str, rtype: str, body: dict[str, Any], state: str, now: float,
                 group_key: str | None, api_version: str | None = None, type_key: str | None = None):
        self.id = resource_id
        self.key = key
        self.type = rtype
        self.type_key = type_key or rtype.lower()
        self.body = body
        self.state = state
        self.created = now
        self.changed = now
        self.group_key = group_key
        self.api_version = api_version
        self.op: Any = None  # the operation in flight on it, if any

    @property
    def name(self) -> str:
        return self.id.rsplit("/", 1)[-1]

    @property
    def location(self) -> str | None:
        loc = self.body.get("location")
        return loc if isinstance(loc, str) else None

    def view(self, state: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        props: dict[str, Any] | None = None
        atoms = _ATOMS
        for k, v in self.body.items():
            kind = type(v)
            if kind in atoms:
                out[k] = v
                continue
            if kind is dict:  # copy_json(v), inlined for a dict of plain values (tags, most properties)
                copied = v.copy()
                for x in v.values():
                    if type(x) not in atoms:
                        copied = copy_json(v)
                        break
            else:
                copied = copy_json(v)
            if k == "properties" and isinstance(v, dict):
                props = copied
            else:
                out[k] = copied
        if props is None:
            props = {}
        props["provisioningState"] = state or self.state
        out["properties"] = props
        return out

    def fill_view(self, view: dict[str, Any]) -> dict[str, Any]:
        """Complete a view made by `stored_body_and_view` of this resource's body."""
        view["id"] = self.id
        view["name"] = self.name
        view["type"] = self.type
        view["properties"]["provisioningState"] = self.state
        return view

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "body": self.body, "state": self.state, "created": self.created,
                "changed": self.changed, "api_version": self.api_version,
                "op": self.op.id if self.op is not None else None}


class ResourceGroup:
    __slots__ = ("delete_op", "id", "key", "location", "managed_by", "name", "state", "subscription", "tags")

    def __init__(self, subscription: str, name: str, location: str, tags: dict[str, Any] | None = None,
                 managed_by: str | None = None):
        self.subscription = subscription
        self.name = name
        self.id = f"/subscriptions/{subscription}/resourceGroups/{name}"
        self.key = self.id.lower()
        self.location = location
        self.tags = tags or {}
        self.state = SUCCEEDED
        self.managed_by = managed_by
        self.delete_op: Any = None

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "type": "Microsoft.Resources/resourceGroups",
                               "location": self.location, "properties": {"provisioningState": self.state}}
        if self.tags:
            out["tags"] = dict(self.tags)
        if self.managed_by:
            out["managedBy"] = self.managed_by
        return out

    def to_json(self) -> dict[str, Any]:
        return {"subscription": self.subscription, "name": self.name, "location": self.location,
                "tags": self.tags, "state": self.state, "managed_by": self.managed_by,
                "delete_op": self.delete_op.id if self.delete_op is not None else None}


class Subscription:
    __slots__ = ("display_name", "id", "tenant_id")

    def __init__(self, subscription_id: str, display_name: str | None = None, tenant_id: str = TENANT_ID):
        self.id = subscription_id
        self.display_name = display_name or "armguard emulator"
        self.tenant_id = tenant_id

    def view(self) -> dict[str, Any]:
        return {"id": f"/subscriptions/{self.id}", "subscriptionId": self.id, "displayName": self.display_name,
                "state": "Enabled", "tenantId": self.tenant_id,
                "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "Internal_2014-09-01",
                                         "spendingLimit": "Off"}}

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "display_name": self.display_name, "tenant_id": self.tenant_id}


def timestamps(epoch: Any, created: float, changed: float) -> dict[str, str]:
    return {"createdTime": iso(epoch, created), "changedTime": iso(epoch, changed)}


USER_ASSIGNED_IDENTITY_TYPE = "microsoft.managedidentity/userassignedidentities"


def add_identity_ids(type_key: str, body: dict[str, Any], previous: dict[str, Any] | None, tenant: str,
                     new_guid: Callable[[], str], assigned_ids: Callable[[str], tuple[str, str] | None]) -> None:
    """What Azure fills in when it creates a managed identity, in place: a user-assigned identity's
    `properties.principalId/clientId/tenantId`, and `identity.principalId/tenantId` (system-assigned)
    and each `identity.userAssignedIdentities[id].principalId/clientId` of a resource that has one
    (templates read them: `reference(id).principalId`, `...identity.principalId`).

    Ids the resource had (`previous`, its stored body) stay; new ones are `new_guid()`; a
    user-assigned identity's are its own (`assigned_ids(id)`) when the emulator holds it."""
    if type_key == USER_ASSIGNED_IDENTITY_TYPE:
        props = body.get("properties")
        if not isinstance(props, dict):
            props = body["properties"] = {}
        old = previous.get("properties") if previous is not None else None
        old = old if isinstance(old, dict) else {}
        props["tenantId"] = tenant
        props["principalId"] = old.get("principalId") or new_guid()
        props["clientId"] = old.get("clientId") or new_guid()
    identity = body.get("identity")
    if not isinstance(identity, dict):
        return
    old_identity = previous.get("identity") if previous is not None else None
    old_identity = old_identity if isinstance(old_identity, dict) else {}
    kind = str(identity.get("type") or "").lower()
    if "systemassigned" in kind:
        identity.update(principalId=old_identity.get("principalId") or new_guid(), tenantId=tenant)
    assigned = identity.get("userAssignedIdentities")
    if "userassigned" in kind and isinstance(assigned, dict):
        old_assigned = old_identity.get("userAssignedIdentities")
        old_assigned = old_assigned if isinstance(old_assigned, dict) else {}
        for uai in assigned:
            ids = assigned_ids(str(uai))
            if ids is None:
                was = old_assigned.get(uai)
                ids = ((was["principalId"], was["clientId"]) if isinstance(was, dict) and "principalId" in was
                       and "clientId" in was else (new_guid(), new_guid()))
            assigned[uai] = {"principalId": ids[0], "clientId": ids[1]}
