"""Records of subscriptions, resource groups and resources, and the JSON views the API returns.

A resource keeps the body of its last accepted PUT (or PATCH merge) and its provisioningState:
Creating, Updating or Deleting while an operation runs on it, then Succeeded, Failed or Canceled.
Views are fresh copies (callers may mutate them); the casing of the first PUT is kept.
"""

from __future__ import annotations

from typing import Any

from armguard.emulator.clock import iso

CREATING, UPDATING, DELETING = "Creating", "Updating", "Deleting"
SUCCEEDED, FAILED, CANCELED = "Succeeded", "Failed", "Canceled"
TENANT_ID = "72f988bf-0000-0000-0000-00000000a4b1"

# Top-level fields of a resource body that are not stored (the id says them).
_IDENTITY_FIELDS = frozenset({"id", "name", "type"})


def copy_json(value: Any) -> Any:
    """A deep copy of plain JSON data (faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {k: copy_json(v) if isinstance(v, dict | list) else v for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) if isinstance(v, dict | list) else v for v in value]
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
    out = {k: copy_json(v) for k, v in body.items() if k.lower() not in _IDENTITY_FIELDS}
    props = out.get("properties")
    if isinstance(props, dict) and "provisioningState" in props:
        props.pop("provisioningState")
    return out


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
        props: dict[str, Any] = {}
        for k, v in self.body.items():
            if k == "properties" and isinstance(v, dict):
                props = copy_json(v)
            else:
                out[k] = copy_json(v)
        props["provisioningState"] = state or self.state
        out["properties"] = props
        return out

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
