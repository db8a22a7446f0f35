"""Lock domains of in-flight writes: who holds what, and does a new write conflict?

A mutating operation holds, until it reaches a terminal state:

- EXCLUSIVE keys: its own resource id, plus the ids its catalog entry's lock domains resolve to
  (`parent`, `ancestor:<type>`, `property:<path>`, `scope`) when the type is `serial` (an `unknown`
  type counts as `safe` unless the state was built with `unknown_as="serial"`);
- SHARED keys: the ids of its ancestors within the provider path (parent, grandparent, ...), but
  not its resource group: resource groups are not locked by the writes inside them.

Two writes conflict iff one's exclusive keys meet the other's exclusive or shared keys. So
siblings under a `safe` parent do not conflict, a parent write conflicts with an in-flight child
write, and two BGP connections of one hub (serial, domain `parent`) conflict. Keys are lower-cased
ids (`catalog.lock_key`).
"""

from __future__ import annotations

from typing import Any

from armguard.catalog import Catalog, Entry
from armguard.catalog.resolve import property_ids, resolve_domain
from armguard.emulator.ids import ResourceId, ancestors, try_parse


class DomainResolver:
    """Computes the exclusive and shared keys of a write, with per-type caches."""

    __slots__ = ("_entries", "_static", "by_id", "catalog", "unknown_as")

    def __init__(self, catalog: Catalog, unknown_as: str = "safe"):
        if unknown_as not in ("safe", "serial"):
            raise ValueError("unknown_as must be 'safe' or 'serial'")
        self.catalog = catalog
        self.unknown_as = unknown_as
        self._entries: dict[str, Entry] = {}
        # type key -> (serial?, has property domains?)
        self._static: dict[str, tuple[bool, bool]] = {}
        # id key -> keys, for types whose keys do not depend on the body (read it first: a hit
        # needs no call of `keys`)
        self.by_id: dict[str, tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]] = {}

    def entry(self, type_key: str) -> Entry:
        found = self._entries.get(type_key)
        if found is None:
            found = self._entries[type_key] = self.catalog.get(type_key)
        return found

    def is_serial(self, type_key: str) -> bool:
        entry = self.entry(type_key)
        return entry.serial == "serial" or (entry.serial == "unknown" and self.unknown_as == "serial")

    def keys(self, resource_id: str, id_key: str, type_key: str, body: Any) -> tuple[tuple[str, ...],
                                                                                    tuple[str, ...],
                                                                                    frozenset[str]]:
        """(exclusive, shared, referenced): referenced are the exclusive keys that came from
        `property:` domains (resources the body points at)."""
        cached = self.by_id.get(id_key)
        if cached is not None:
            return cached
        static = self._static.get(type_key)
        entry = self.entry(type_key)
        if static is None:
            serial = self.is_serial(type_key)
            static = self._static[type_key] = (serial, any(d.kind == "property" for d in entry.domains))
        serial, has_property = static
        exclusive = [id_key]
        referenced: set[str] = set()
        if serial and entry.domains:
            parsed = _plain_id(resource_id)
            for domain in entry.domains:
                if parsed is not None and domain.kind == "parent":
                    ids: tuple[str, ...] = (parsed.parent,) if parsed.parent else ()
                elif parsed is not None and domain.kind == "scope":
                    ids = (parsed.scope,) if parsed.scope else ()
                else:
                    ids = resolve_domain(domain, resource_id, body if has_property else None).ids
                for rid in ids:
                    k = rid.strip().rstrip("/").lower()
                    if k not in exclusive:
                        exclusive.append(k)
                    if domain.kind == "property":
                        referenced.add(k)
        shared = []
        for ancestor in ancestors(resource_id):
            k = ancestor.lower()
            if k not in exclusive:
                shared.append(k)
        result = (tuple(exclusive), tuple(shared), frozenset(referenced) if referenced else _NONE)
        if not has_property:
            if len(self.by_id) > 100_000:
                self.by_id.clear()
            self.by_id[id_key] = result
        return result


_NONE: frozenset[str] = frozenset()


def _plain_id(resource_id: str) -> ResourceId | None:
    """The parsed id when its parent and scope are exactly what `catalog.resolve` computes from the
    text (ASCII, no empty segments, no trailing 'providers' segment), else None."""
    parsed = try_parse(resource_id)
    if parsed is None or parsed.id != resource_id or not resource_id.isascii() or "//" in resource_id \
            or parsed.key.endswith("/providers"):
        return None
    return parsed


class LockTable:
    """In-flight operations by the keys they hold."""

    __slots__ = ("exclusive", "shared")

    def __init__(self) -> None:
        self.exclusive: dict[str, Any] = {}
        self.shared: dict[str, dict[int, Any]] = {}

    def conflict(self, exclusive: tuple[str, ...], shared: tuple[str, ...]) -> tuple[Any, str] | None:
        """The first in-flight operation a write with these keys conflicts with, and the key."""
        ex_map = self.exclusive
        sh_map = self.shared
        for k in exclusive:
            holder = ex_map.get(k)
            if holder is not None:
                return holder, k
            holders = sh_map.get(k)
            if holders:
                return next(iter(holders.values())), k
        for k in shared:
            holder = ex_map.get(k)
            if holder is not None:
                return holder, k
        return None

    def all_conflicts(self, exclusive: tuple[str, ...], shared: tuple[str, ...]) -> list[tuple[Any, str]]:
        out: list[tuple[Any, str]] = []
        seen: set[int] = set()
        for k in exclusive:
            holder = self.exclusive.get(k)
            if holder is not None and id(holder) not in seen:
                seen.add(id(holder))
                out.append((holder, k))
            for h in (self.shared.get(k) or {}).values():
                if id(h) not in seen:
                    seen.add(id(h))
                    out.append((h, k))
        for k in shared:
            holder = self.exclusive.get(k)
            if holder is not None and id(holder) not in seen:
                seen.add(id(holder))
                out.append((holder, k))
        return out

    def acquire(self, op: Any) -> None:
        for k in op.exclusive:
            self.exclusive[k] = op
        self.acquire_shared(op)

    def acquire_shared(self, op: Any) -> None:
        for k in op.shared:
            holders = self.shared.get(k)
            if holders is None:
                self.shared[k] = {op.seq: op}
            else:
                holders[op.seq] = op

    def release(self, op: Any) -> None:
        ex_map = self.exclusive
        for k in op.exclusive:
            if ex_map.get(k) is op:
                del ex_map[k]
        self.release_shared(op)

    def release_shared(self, op: Any) -> None:
        for k in op.shared:
            holders = self.shared.get(k)
            if holders is not None:
                holders.pop(op.seq, None)
                if not holders:
                    del self.shared[k]

    def holder_of(self, key: str) -> Any:
        """The operation holding `key` exclusively, if any."""
        return self.exclusive.get(key)


_ID_KEYS = frozenset({"id", "Id", "iD", "ID"})


def referenced_ids(body: Any) -> list[str]:
    """Resource ids a body points at: every string under a key named 'id' inside `properties`
    (breadth first, in document order within each level)."""
    props = body.get("properties") if type(body) is dict else None
    if not props or type(props) is not dict:
        return []
    found: list[str] = []
    queue: list[Any] = [props]
    for value in queue:  # the queue grows while it is walked
        if type(value) is dict:
            for k, v in value.items():
                kind = type(v)
                if kind is str:
                    if k in _ID_KEYS and v.startswith("/subscriptions/"):
                        found.append(v)
                elif kind is dict or kind is list:
                    queue.append(v)
        else:
            for v in value:
                kind = type(v)
                if kind is dict or kind is list:
                    queue.append(v)
    return found


__all__ = ["DomainResolver", "LockTable", "property_ids", "referenced_ids"]
