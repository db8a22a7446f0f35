"""Does a write on one resource block a write on another? Lock domains from the catalog, plus ARM's
own rule that a write holds the resource's ancestors and descendants ("this or dependent resource").
"""

from __future__ import annotations

from armguard.catalog import Catalog, Entry, lock_keys
from armguard.catalog.resolve import parent_id, resource_type_of

from .facts import key
from .texts import short_id

RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups"
SUBSCRIPTION_TYPE = "Microsoft.Resources/subscriptions"


def type_of(resource_id: str) -> str:
    """The resource type an id names; resource groups and subscriptions included."""
    found = resource_type_of(resource_id)
    if found:
        return found
    parts = [p for p in resource_id.split("/") if p]
    if len(parts) == 4 and parts[2].lower() == "resourcegroups":
        return RESOURCE_GROUP_TYPE
    if len(parts) == 2 and parts[0].lower() == "subscriptions":
        return SUBSCRIPTION_TYPE
    return "unknown"


def entry_for(catalog: Catalog, resource_id: str) -> Entry:
    return catalog.get(type_of(resource_id))


def parent_of(resource_id: str) -> str | None:
    """The parent resource, or the resource group of a top-level resource."""
    found = parent_id(resource_id)
    if found:
        return found
    parts = [p for p in resource_id.split("/") if p]
    if len(parts) > 4 and parts[2].lower() == "resourcegroups":
        return "/" + "/".join(parts[:4])
    return None


def is_ancestor(ancestor: str, descendant: str) -> bool:
    a, d = key(ancestor), key(descendant)
    return bool(a) and d.startswith(a + "/")


def held_keys(catalog: Catalog, resource_id: str) -> frozenset[str]:
    """What a write on `resource_id` holds: itself and its catalog lock domains."""
    return lock_keys(entry_for(catalog, resource_id), resource_id)


def relation(catalog: Catalog, holder: str, target: str) -> str | None:
    """Why a write on `holder` blocks a write on `target`, in a few words; None when it does not.

    Resource groups and subscriptions count only when the holder is one (a group being deleted
    blocks everything in it); being in the same group is no conflict.
    """
    h, t = key(holder), key(target)
    if not h or not t:
        return None
    if h == t:
        return "the same resource"
    if is_ancestor(holder, target):
        return "its parent" if key(parent_of(target)) == h else "its ancestor"
    if is_ancestor(target, holder) and type_of(target) not in (RESOURCE_GROUP_TYPE, SUBSCRIPTION_TYPE):
        return "its child"
    shared = (held_keys(catalog, holder) & held_keys(catalog, target)) - {h, t}
    if shared:
        return f"the same lock domain: {short_id(shared_domain(catalog, holder, target))}"
    if h in held_keys(catalog, target) or t in held_keys(catalog, holder):
        return "a resource it references"
    return None


def shared_domain(catalog: Catalog, a: str, b: str) -> str | None:
    """The id (as written in `a`'s domains) both writes hold, if any: the hub of two BGP connections."""
    shared = held_keys(catalog, a) & held_keys(catalog, b)
    if not shared:
        return None
    candidates = [parent_of(a) or "", a, b]
    for candidate in candidates:
        if key(candidate) in shared:
            return candidate
    return sorted(shared)[0]
