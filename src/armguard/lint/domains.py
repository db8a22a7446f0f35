"""Lock domains of declarations: which shared control plane a write holds.

A domain is identified by the resource that owns the control plane (the hub of a BGP connection,
the zone of a VNet link, the remote VNet of a peering). Identities are tuples of name segments;
segments that cannot be known offline are `Unknown` values, equal when they come from the same
expression. A domain that depends on a loop variable differs per iteration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from armguard.catalog import Domain, Entry
from armguard.errors import one_line
from armguard.model import Node
from armguard.values import Unknown, unknown_deps


@dataclass(frozen=True, slots=True)
class DomainKey:
    owner_type: str  # e.g. "Microsoft.Network/virtualHubs"; "" when unknown
    identity: tuple[Any, ...]
    kind: str  # the catalog domain kind that produced it

    def depends_on_loop(self, loop_symbol: str) -> bool:
        dep = f"loop:{loop_symbol}"
        return any(dep in unknown_deps(v) for v in self.identity)

    def name(self) -> str:
        return "/".join(_show(v) for v in self.identity)

    def describe(self) -> str:
        return f"{self.owner_type} '{self.name()}'" if self.owner_type else f"'{self.name()}'"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    text = one_line(getattr(value, "text", value))
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    if "${" in text:
        return text  # already a template of known text and unknown holes
    return "${" + text + "}"


def split_type(rtype: str) -> tuple[str, list[str]]:
    """'Microsoft.Network/virtualHubs/bgpConnections' -> ('Microsoft.Network', ['virtualHubs', 'bgpConnections'])."""
    parts = rtype.split("/")
    return parts[0], parts[1:]


def parent_type(rtype: str) -> str | None:
    ns, segs = split_type(rtype)
    if len(segs) < 2:
        return None
    return "/".join([ns, *segs[:-1]])


def normalize(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def domain_keys(node: Node, entry: Entry, segments: list[Any] | None = None) -> list[DomainKey]:
    """The lock domains a write of `node` holds per the catalog (besides the resource itself)."""
    segs = segments if segments is not None else node.name_segments
    keys: list[DomainKey] = []
    for d in entry.domains:
        key = _domain_key(node, d, segs)
        if key is not None:
            keys.append(key)
    return keys


def self_key(node: Node, segments: list[Any] | None = None) -> DomainKey | None:
    segs = segments if segments is not None else node.name_segments
    if not segs:
        return None
    return DomainKey(node.type, tuple(normalize(v) for v in segs), "self")


def _domain_key(node: Node, domain: Domain, segs: list[Any] | None) -> DomainKey | None:
    kind = domain.kind
    if kind == "parent":
        ptype = parent_type(node.type)
        if ptype is None or not segs or len(segs) < 2:
            return None
        return DomainKey(ptype, tuple(normalize(v) for v in segs[:-1]), kind)
    if kind == "ancestor":
        target = (domain.arg or "").lower()
        ns, own = split_type(node.type)
        for depth in range(len(own) - 1, 0, -1):
            candidate = "/".join([ns, *own[:depth]])
            if candidate.lower() == target:
                if not segs or len(segs) < depth:
                    return None
                return DomainKey(candidate, tuple(normalize(v) for v in segs[:depth]), kind)
        return None
    if kind == "property":
        values = _at_path(node.properties, (domain.arg or "").split("."))
        keys = [k for k in (_reference_key(v, kind) for v in values) if k is not None]
        if not keys:
            return None
        if len(keys) == 1:
            return keys[0]
        return DomainKey(keys[0].owner_type, tuple(v for k in keys for v in k.identity), kind)
    if kind == "scope":
        if node.scope is None:
            return DomainKey("", ("<deployment scope>",), kind)
        return _reference_key(node.scope, kind)
    return None


def _reference_key(value: Any, kind: str) -> DomainKey | None:
    if isinstance(value, str):
        return DomainKey(_type_of_id(value), (value.lower().rstrip("/"),), kind)
    if isinstance(value, Unknown):
        return DomainKey("", (value,), kind)
    return None


def _type_of_id(resource_id: str) -> str:
    """The resource type named by a resource id, '' when it is not one."""
    parts = [p for p in resource_id.split("/") if p]
    try:
        i = max(i for i, p in enumerate(parts) if p.lower() == "providers")
    except ValueError:
        return ""
    rest = parts[i + 1:]
    if len(rest) < 3:
        return ""
    types = [rest[0], *rest[1::2]]
    return "/".join(types)


def _at_path(value: Any, path: list[str]) -> list[Any]:
    """The values at a dotted path ('*' walks every element of an array); keys are case-insensitive."""
    if not path:
        return [] if value is None else [value]
    head, rest = path[0], path[1:]
    if isinstance(value, Unknown):
        return [value]
    if head == "*":
        if isinstance(value, list):
            return [v for item in value for v in _at_path(item, rest)]
        return []
    if isinstance(value, dict):
        low = head.lower()
        for k, v in value.items():
            if k.lower() == low:
                return _at_path(v, rest)
    return []
