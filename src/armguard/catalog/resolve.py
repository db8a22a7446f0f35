"""Turning an entry's lock domains into the resource ids a concrete write holds.

A domain is identified at run time by the id of the resource that owns the shared control plane:
the parent (`/.../virtualHubs/hub1` for `/.../virtualHubs/hub1/bgpConnections/peer1`), the nearest
ancestor of a type, the resource an id-valued property points at, or the scope of an extension
resource (`/.../storageAccounts/sa1` for `/.../storageAccounts/sa1/providers/Microsoft.Authorization/
roleAssignments/x`). Ids are compared case-insensitively: `lock_key` gives the comparable form.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Domain, Entry, normalize_type


@dataclass(frozen=True, slots=True)
class ResolvedDomain:
    """One domain of one write: the ids it names (several for '*' paths), or none if unresolved."""

    domain: Domain
    ids: tuple[str, ...]

    @property
    def resolved(self) -> bool:
        return bool(self.ids)


def lock_key(resource_id: str) -> str:
    """The comparable form of a resource id (case-insensitive, no trailing '/')."""
    return resource_id.strip().rstrip("/").lower()


def _segments(resource_id: str) -> list[str]:
    return [s for s in resource_id.strip().split("/") if s]


def _last_provider(segs: list[str]) -> int:
    """Index of the last 'providers' segment, or -1."""
    for i in range(len(segs) - 1, -1, -1):
        if segs[i].lower() == "providers":
            return i
    return -1


def _join(segs: list[str]) -> str:
    return "/" + "/".join(segs)


def resource_type_of(resource_id: str) -> str | None:
    """The full type of the resource an id names ("Microsoft.Network/virtualHubs/bgpConnections")."""
    segs = _segments(resource_id)
    p = _last_provider(segs)
    if p < 0 or p + 3 > len(segs):
        return None
    rest = segs[p + 1:]
    namespace, pairs = rest[0], rest[1:]
    if len(pairs) % 2:
        return None
    return "/".join([namespace, *pairs[0::2]])


def parent_id(resource_id: str) -> str | None:
    """The direct parent of a child resource; None for a top-level (or unparsable) resource."""
    segs = _segments(resource_id)
    p = _last_provider(segs)
    if p < 0:
        return None
    pairs = segs[p + 2:]
    if len(pairs) < 4 or len(pairs) % 2:
        return None
    return _join(segs[:-2])


def ancestor_id(resource_id: str, type_name: str) -> str | None:
    """The nearest ancestor (excluding the resource itself) of the given type."""
    want = normalize_type(type_name)
    current = parent_id(resource_id)
    while current is not None:
        t = resource_type_of(current)
        if t is not None and t.lower() == want:
            return current
        current = parent_id(current)
    return None


def scope_id(resource_id: str) -> str | None:
    """The resource an extension resource applies to (the part before its '/providers/')."""
    segs = _segments(resource_id)
    p = _last_provider(segs)
    if p <= 0:
        return None
    scope = segs[:p]
    # Scope must itself name something: a subscription, resource group, or a resource.
    return _join(scope) if scope else None


def property_ids(body: object, path: tuple[str, ...]) -> tuple[str, ...]:
    """The string values at `path` in a resource body ('*' walks every element of a list).

    Anything that is not a plain string (missing keys, unknown values) is left out.
    """
    found: list[str] = []

    def walk(value: object, rest: tuple[str, ...]) -> None:
        if not rest:
            if isinstance(value, str) and value.strip():
                found.append(value.strip())
            return
        head, tail = rest[0], rest[1:]
        if head == "*":
            if isinstance(value, list):
                for item in value:
                    walk(item, tail)
            return
        if isinstance(value, dict):
            # ARM property names are case-insensitive.
            for k, v in value.items():
                if isinstance(k, str) and k.lower() == head.lower():
                    walk(v, tail)
                    return

    walk(body, path)
    return tuple(dict.fromkeys(found))


def resolve_domain(domain: Domain, resource_id: str, body: object = None) -> ResolvedDomain:
    if domain.kind == "parent":
        rid = parent_id(resource_id)
        ids = (rid,) if rid else ()
    elif domain.kind == "ancestor":
        rid = ancestor_id(resource_id, domain.arg or "")
        ids = (rid,) if rid else ()
    elif domain.kind == "scope":
        rid = scope_id(resource_id)
        ids = (rid,) if rid else ()
    else:
        ids = property_ids(body, domain.path)
    return ResolvedDomain(domain, ids)


def resolve_domains(entry: Entry, resource_id: str, body: object = None) -> tuple[ResolvedDomain, ...]:
    """Each of the entry's domains for one write of `resource_id` with resource body `body`."""
    return tuple(resolve_domain(d, resource_id, body) for d in entry.domains)


def lock_keys(entry: Entry, resource_id: str, body: object = None) -> frozenset[str]:
    """Everything one write holds: the resource itself plus every resolved domain (as lock keys)."""
    keys = {lock_key(resource_id)}
    for rd in resolve_domains(entry, resource_id, body):
        keys.update(lock_key(i) for i in rd.ids)
    return frozenset(keys)
