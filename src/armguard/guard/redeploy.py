"""How `armguard deploy` changes a template before deploying it again after conflicts.

Redeploying a template as it is collides again: in incremental mode every resource is PUT again,
those that succeeded included, and in the same parallel order. So, for the resource types whose
operations failed on conflicts:

- `serialize_loops`: copy loops that write one of them (directly or through a nested deployment)
  run one at a time (`"mode": "serial", "batchSize": 1`);
- `chain_siblings`: two or more resources of one template level that write one of them run one
  after the other: each gets a `dependsOn` on the one before it (in an order that keeps the
  dependencies the template already has, so no cycle is made).

Both return a changed copy and what they changed; the input is left as it was. Pure: no I/O.
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

_SCOPE_FIELDS = ("scope", "resourceGroup", "subscriptionId")
_DEPLOYMENTS = "microsoft.resources/deployments"


def serialize_loops(template: dict[str, Any], failed_types: set[str]) -> tuple[dict[str, Any], list[str]]:
    """A copy of `template` whose copy loops that write one of `failed_types` (lower-case) run one
    at a time; and the names of the loops changed."""
    copy = json.loads(json.dumps(template))
    changed: list[str] = []

    def walk(resources: Any) -> None:
        for _, r in _members(resources):
            loop = r.get("copy")
            if isinstance(loop, dict) and _writes(r, failed_types) and not (
                    str(loop.get("mode", "")).lower() == "serial" and loop.get("batchSize") == 1):
                loop["mode"], loop["batchSize"] = "serial", 1
                changed.append(str(loop.get("name") or r.get("name")))
            walk(r.get("resources"))
            walk(_inner_resources(r))

    walk(copy.get("resources"))
    return copy, changed


def chain_siblings(template: dict[str, Any], failed_types: set[str]) -> tuple[dict[str, Any], list[str]]:
    """A copy of `template` where the resources of each template level that write one of
    `failed_types` depend each on the one before; and the chains made ('a -> b -> c')."""
    copy = json.loads(json.dumps(template))
    chains: list[str] = []

    def walk(resources: Any) -> None:
        members = _members(resources)
        writers = [(key, r) for key, r in members if _writes(r, failed_types) and _reference(key, r) is not None]
        if len(writers) >= 2:
            ordered = _respecting_dependencies(writers, members)
            added = False
            for (before_key, before), (_, r) in pairwise(ordered):
                deps = r.setdefault("dependsOn", [])
                ref = _reference(before_key, before)
                if isinstance(deps, list) and ref not in deps and not _mentions(r, before_key, before):
                    deps.append(ref)
                    added = True
            if added:
                chains.append(" -> ".join(_label(key, r) for key, r in ordered))
        for _, r in members:
            inner = _inner_resources(r)
            if inner is not None:
                walk(inner)

    walk(copy.get("resources"))
    return copy, chains


# -- template levels ------------------------------------------------------------------------------


def _members(resources: Any) -> list[tuple[str | None, dict[str, Any]]]:
    """(symbol or None, resource) of one level: a symbolic-name template's dict or a classic list."""
    if isinstance(resources, dict):
        return [(k, r) for k, r in resources.items() if isinstance(r, dict) and not r.get("existing")]
    return [(None, r) for r in resources or [] if isinstance(r, dict) and not r.get("existing")]


def _inner_resources(resource: dict[str, Any]) -> Any:
    props = resource.get("properties")
    inner = props.get("template") if isinstance(props, dict) else None
    return inner.get("resources") if isinstance(inner, dict) else None


def _writes(resource: dict[str, Any], failed_types: set[str]) -> bool:
    rtype = resource.get("type")
    if isinstance(rtype, str) and rtype.lower() in failed_types:
        return True
    return any(_writes(r, failed_types) for _, r in _members(_inner_resources(resource)))


# -- references between resources ----------------------------------------------------------------


def _reference(key: str | None, resource: dict[str, Any]) -> str | None:
    """What a `dependsOn` entry names `resource` with: its symbol, its loop's name, a deployment's
    name, else `resourceId(type, name segments...)`; None when it deploys to another scope."""
    if key is not None:
        return key
    loop = resource.get("copy")
    if isinstance(loop, dict):
        return loop.get("name") if isinstance(loop.get("name"), str) else None
    rtype, name = resource.get("type"), resource.get("name")
    if not isinstance(rtype, str) or not isinstance(name, str) or rtype.startswith("["):
        return None
    if rtype.lower() == _DEPLOYMENTS:
        return name
    if any(f in resource for f in _SCOPE_FIELDS):
        return None
    depth = rtype.count("/")
    if name.startswith("[") and name.endswith("]"):
        expr = name[1:-1]
        parts = [expr] if depth == 1 else [f"split({expr}, '/')[{i}]" for i in range(depth)]
    else:
        segments = name.split("/")
        if len(segments) != depth:
            return None
        parts = ["'" + s.replace("'", "''") + "'" for s in segments]
    return f"[resourceId('{rtype}', {', '.join(parts)})]"


def _mentions(resource: dict[str, Any], key: str | None, other: dict[str, Any]) -> bool:
    """Does `resource` already name `other` in its dependsOn, as far as its text shows?"""
    deps = resource.get("dependsOn")
    if not isinstance(deps, list):
        return False
    names = {n for n in (key, _reference(key, other)) if n}
    loop = other.get("copy")
    if isinstance(loop, dict) and isinstance(loop.get("name"), str):
        names.add(loop["name"])
    name = other.get("name")
    leaf = name.rsplit("/", 1)[-1] if isinstance(name, str) and not name.startswith("[") else None
    for entry in deps:
        if not isinstance(entry, str):
            continue
        if entry in names or (name and entry == name) or (leaf and f"'{leaf}'" in entry):
            return True
    return False


def _respecting_dependencies(writers: list[tuple[str | None, dict[str, Any]]],
                             members: list[tuple[str | None, dict[str, Any]]]
                             ) -> list[tuple[str | None, dict[str, Any]]]:
    """The writers in template order, except that one the template makes depend (directly or
    through other resources of the level) on another comes after it."""
    index = {id(r): i for i, (_, r) in enumerate(members)}
    after: dict[int, set[int]] = {i: set() for i in range(len(members))}  # i depends on these
    for i, (_, r) in enumerate(members):
        for j, (k2, other) in enumerate(members):
            if i != j and _mentions(r, k2, other):
                after[i].add(j)

    def reaches(start: int, target: int) -> bool:
        stack, seen = [start], {start}
        while stack:
            for j in after[stack.pop()]:
                if j == target:
                    return True
                if j not in seen:
                    seen.add(j)
                    stack.append(j)
        return False

    ordered: list[tuple[str | None, dict[str, Any]]] = []
    remaining = list(writers)
    while remaining:
        for pos, (_, r) in enumerate(remaining):
            i = index[id(r)]
            if not any(reaches(i, index[id(o)]) for _, o in remaining if o is not r):
                ordered.append(remaining.pop(pos))
                break
        else:  # a cycle the template has already: keep its order
            ordered.extend(remaining)
            break
    return ordered


def _label(key: str | None, resource: dict[str, Any]) -> str:
    if key is not None:
        return key
    loop = resource.get("copy")
    if isinstance(loop, dict) and isinstance(loop.get("name"), str):
        return loop["name"]
    return str(resource.get("name"))
