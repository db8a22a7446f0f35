"""From a deployment graph to the operations a deployment runs and the lock domains each one holds.

`expand(graph, catalog)` walks the graph once and builds a tree: a `Scope` per template instance
(the top level, and one per module iteration), a `Unit` per declaration in it, an `Inst` per loop
iteration. Every resource iteration that is written becomes an `Op` with a duration (the catalog's
`typical_seconds`, or an assumed default) and the lock domains it holds.

Lock domains come from lint's `domain_keys` (parent, ancestor, property, scope, per the catalog)
for types the catalog marks serial, plus the resource itself for every write whose name is known:
Resource Manager rejects a second write to a resource (or into a domain) while one is in flight.
Keys are compared as (owner type, name segments): a property key that is a resource id
('/subscriptions/../virtualNetworks/vnet-hub') or a reference to a declaration (`hubVnet.id`)
becomes the owner's name segments, so a peering's remote VNet and a subnet's parent VNet meet.
Values that cannot be known stay `Unknown`: equal when they come from the same expression, and
distinct per iteration when they depend on the variable of a loop being expanded. Domains that
only one operation holds are dropped.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from armguard.catalog import Catalog
from armguard.lint.domains import DomainKey, domain_keys, self_key
from armguard.model import DEPLOYMENTS_TYPE, DeploymentGraph, Node
from armguard.values import Unknown

DEFAULT_SECONDS = 60.0
MAX_DEPTH = 32


@dataclass(slots=True)
class Op:
    """One write: a resource iteration that is deployed."""

    id: str  # 'bgpPeers[2]/bgp': module iterations, then the symbol and index
    symbol: str
    type: str
    name: str
    duration: float
    assumed: bool  # duration not in the catalog: the default was used
    domains: tuple[int, ...]
    unit: Unit
    index: int | None


@dataclass(slots=True, eq=False)
class Inst:
    """One iteration of a declaration: a resource write (`op`) or a module deployment (`scope`)."""

    index: int | None
    label: str
    op: int | None = None
    scope: Scope | None = None
    domains: frozenset[int] = frozenset()
    item: Any = None


@dataclass(slots=True, eq=False)
class Unit:
    """One declaration in one template instance."""

    scope: Scope
    node: Node
    deps: list[str]
    skip: bool  # existing, or condition false: deploys nothing, takes no time
    instances: list[Inst] = field(default_factory=list)
    batch: int | None = None  # iterations at once as written (None: all)
    uid: int = 0

    @property
    def symbol(self) -> str:
        return self.node.symbol

    @property
    def is_loop(self) -> bool:
        return self.node.loop is not None

    @property
    def key(self) -> tuple[str, str]:
        return (self.scope.file_key, self.node.symbol)


@dataclass(slots=True, eq=False)
class Scope:
    """One template instance: the top level, or one module iteration."""

    graph: DeploymentGraph
    label: str  # prefix of op ids ('' at the top, 'bgpPeers[2]/' inside)
    parent: Unit | None
    loops: tuple[tuple[str, int], ...]  # (symbol, index) of the loops expanded to reach here
    units: list[Unit] = field(default_factory=list)
    by_symbol: dict[str, Unit] = field(default_factory=dict)
    depth: int = 0
    nodes: dict[str, Node] = field(default_factory=dict)
    index: int | None = None  # the iteration of `parent` this scope is

    file_key: str = ""  # the file, as a comparable absolute path

    @property
    def path(self) -> str:
        return self.graph.path


def file_key(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


@dataclass(slots=True)
class Domain:
    key: tuple[Any, ...]
    describe: str
    owner_type: str
    members: list[int] = field(default_factory=list)


def frames(op: Op) -> list[tuple[Unit, int | None]]:
    """(declaration, iteration) from the top-level template down to the write."""
    out: list[tuple[Unit, int | None]] = [(op.unit, op.index)]
    sc = op.unit.scope
    while sc.parent is not None:
        out.append((sc.parent, sc.index))
        sc = sc.parent.scope
    out.reverse()
    return out


@dataclass
class Expansion:
    graph: DeploymentGraph
    root: Scope
    ops: list[Op]
    domains: list[Domain]
    units: list[Unit]
    scopes: list[Scope]
    assumptions: list[str]
    default_seconds: float


class _Expander:
    def __init__(self, catalog: Catalog, *, default_seconds: float, assume_count: int | None):
        self.catalog = catalog
        self.default_seconds = default_seconds
        self.assume_count = assume_count
        self.ops: list[Op] = []
        self.units: list[Unit] = []
        self.scopes: list[Scope] = []
        self.domain_index: dict[tuple[Any, ...], int] = {}
        self.domains: list[Domain] = []
        self.notes: dict[str, None] = {}
        self.assumed_types: dict[str, int] = {}
        self._entries: dict[str, Any] = {}
        self._files: dict[str, str] = {}

    def file_key(self, path: str) -> str:
        found = self._files.get(path)
        if found is None:
            found = self._files[path] = file_key(path)
        return found

    def entry(self, rtype: str) -> Any:
        e = self._entries.get(rtype)
        if e is None:
            e = self._entries[rtype] = self.catalog.get(rtype)
        return e

    def note(self, text: str) -> None:
        self.notes.setdefault(text, None)

    # ------------------------------------------------------------------ tree

    def scope(self, graph: DeploymentGraph, label: str, parent: Unit | None,
              loops: tuple[tuple[str, int], ...], depth: int) -> Scope:
        sc = Scope(graph, label, parent, loops, depth=depth)
        sc.file_key = self.file_key(graph.path)
        sc.nodes = {n.symbol: n for n in graph.nodes}
        self.scopes.append(sc)
        for node in graph.nodes:
            unit = self.unit(sc, node)
            sc.units.append(unit)
            sc.by_symbol[node.symbol] = unit
        return sc

    def unit(self, sc: Scope, node: Node) -> Unit:
        skip = node.existing or node.condition is False
        u = Unit(sc, node, node.depends_on(), skip, uid=len(self.units))
        self.units.append(u)
        if skip:
            return u
        if node.condition is not None and node.condition is not True:
            self.note(f"condition of '{sc.label}{node.symbol}' is not known before deployment: assumed true")
        loop = node.loop
        if loop is None:
            u.instances.append(self.instance(u, None, sc.label + node.symbol, None))
            return u
        if loop.mode == "serial":
            u.batch = loop.batch_size if loop.batch_size is not None else 1
        count = loop.count
        if count is None:
            if self.assume_count is not None:
                count = self.assume_count
                self.note(f"loop '{sc.label}{node.symbol}': count not known before deployment, "
                          f"assumed {count} (--assume-count)")
            else:
                self.note(f"loop '{sc.label}{node.symbol}': count not known before deployment, planned as "
                          "one iteration (use --assume-count N)")
                u.instances.append(self.instance(u, None, f"{sc.label}{node.symbol}[*]", None))
                return u
        items = loop.items if isinstance(loop.items, list) and len(loop.items) == count else None
        for i in range(count):
            u.instances.append(self.instance(u, i, f"{sc.label}{node.symbol}[{i}]",
                                             items[i] if items is not None else None))
        return u

    def instance(self, u: Unit, index: int | None, label: str, item: Any) -> Inst:
        node = u.node
        sc = u.scope
        loops = sc.loops if index is None else (*sc.loops, (node.symbol, index))
        if node.kind == "module":
            graph = None
            if index is not None and node.loop is not None:
                per = node.instance_modules
                if per is not None and index < len(per):
                    graph = per[index]
                elif index == 0 and len(u.instances) == 0 and (node.loop.count or 0) > 1:
                    self.note(f"module loop '{sc.label}{node.symbol}': the front end evaluates the module per "
                              "iteration only for short loops, so lock domains that differ per iteration are "
                              "not known here and collisions between its iterations may be missed")
            if graph is None:
                graph = node.module
            if graph is not None and sc.depth < MAX_DEPTH:
                inner = self.scope(graph, label + "/", u, loops, sc.depth + 1)
                inner.index = index
                doms: set[int] = set()
                for iu in inner.units:
                    for ii in iu.instances:
                        doms.update(ii.domains)
                return Inst(index, label, scope=inner, domains=frozenset(doms), item=item)
            self.note(f"module '{label}' could not be followed: planned as one deployment of "
                      f"{self.default_seconds:g} s with no lock domains")
            op = self.op(u, index, label, DEPLOYMENTS_TYPE, label, None, loops)
            return Inst(index, label, op=op, domains=frozenset(self.ops[op].domains), item=item)
        segs = None
        if index is not None and node.instance_segments is not None and index < len(node.instance_segments):
            segs = node.instance_segments[index]
        name = _show_name(node, index)
        op = self.op(u, index, label, node.type, name, segs, loops)
        return Inst(index, label, op=op, domains=frozenset(self.ops[op].domains), item=item)

    def op(self, u: Unit, index: int | None, label: str, rtype: str, name: str,
           segs: list[Any] | None, loops: tuple[tuple[str, int], ...]) -> int:
        node = u.node
        entry = self.entry(rtype)
        seconds = entry.typical_seconds
        assumed = seconds is None
        if assumed:
            seconds = self.default_seconds
            self.assumed_types[rtype] = self.assumed_types.get(rtype, 0) + 1
        keys: list[DomainKey] = []
        if node.kind == "resource":
            if entry.serial == "serial":
                keys.extend(domain_keys(node, entry, segs))
            own = self_key(node, segs)
            if own is not None:
                keys.append(own)
        doms: list[int] = []
        n = len(self.ops)
        for k in keys:
            d = self.domain(k, u.scope, loops, node, index)
            if d is not None and d not in doms:
                doms.append(d)
                self.domains[d].members.append(n)
        self.ops.append(Op(label, node.symbol, rtype, name, float(seconds), assumed, tuple(doms), u, index))
        return n

    # --------------------------------------------------------------- domains

    def domain(self, key: DomainKey, sc: Scope, loops: tuple[tuple[str, int], ...], node: Node,
               index: int | None) -> int | None:
        owner, ident = _canonical(key, sc, node, index)
        if not ident:
            return None
        loop_index = dict(loops)
        parts: list[Any] = []
        shown: list[Any] = []
        for v in ident:
            if isinstance(v, Unknown):
                tags = tuple(sorted((d[5:], loop_index[d[5:]]) for d in v.deps
                                    if d.startswith("loop:") and d[5:] in loop_index))
                if key.kind == "self" and not tags:
                    return None  # an unknown name: cannot tell which resource it is
                parts.append((v.text, v.deps, tags))
                shown.append(_tagged(v, tags))
            else:
                parts.append(v)
                shown.append(v)
        ckey = (owner.lower(), tuple(parts))
        d = self.domain_index.get(ckey)
        if d is None:
            d = self.domain_index[ckey] = len(self.domains)
            desc = DomainKey(owner, tuple(shown), key.kind).describe()
            self.domains.append(Domain(ckey, desc, owner))
        elif self.domains[d].owner_type.islower() and not owner.islower():
            # ids are compared in lower case: show the type as a declaration spells it
            self.domains[d] = Domain(ckey, DomainKey(owner, tuple(shown), key.kind).describe(), owner,
                                     self.domains[d].members)
        return d

    # ------------------------------------------------------------ assumptions

    def assumptions(self) -> list[str]:
        out = []
        if self.assumed_types:
            kinds = ", ".join(f"{t} ({n})" for t, n in sorted(self.assumed_types.items()))
            out.append(f"no typical duration in the catalog, assumed {self.default_seconds:g} s: {kinds}")
        out.extend(self.notes)
        return out


def _tagged(v: Unknown, tags: tuple[tuple[str, int], ...]) -> Any:
    if not tags:
        return v
    return Unknown(v.text + "".join(f"[{s}={i}]" for s, i in tags), v.deps)


def _show_name(node: Node, index: int | None) -> str:
    names = node.instance_names
    value = names[index] if index is not None and names is not None and index < len(names) else node.name
    if isinstance(value, str):
        return value
    if isinstance(value, Unknown):
        return value.text
    return node.symbol


_REF = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[([A-Za-z0-9_]+)\])?\.id$")


def _canonical(key: DomainKey, sc: Scope, node: Node, index: int | None) -> tuple[str, tuple[Any, ...]]:
    """(owner type, name segments) of a key; resource ids and `symbol.id` / `symbol[i].id`
    references (a literal index, or the index variable of the loop being expanded) resolved."""
    if key.kind in ("property", "scope") and len(key.identity) == 1:
        v = key.identity[0]
        if isinstance(v, str):
            parsed = _parse_id(v)
            if parsed is not None:
                return parsed
        elif isinstance(v, Unknown):
            m = _REF.match(v.text.strip())
            if m:
                target = sc.nodes.get(m.group(1))
                if target is not None:
                    segs = target.name_segments
                    sub = m.group(2)
                    if sub is not None:
                        i: int | None = None
                        if sub.isdigit():
                            i = int(sub)
                        elif node.loop is not None and sub == node.loop.index and index is not None:
                            i = index
                        segs = target.instance_segments[i] if (
                            i is not None and target.instance_segments and i < len(target.instance_segments)) else None
                    elif target.loop is not None:
                        segs = None
                    if segs and all(isinstance(x, str) for x in segs):
                        return target.type, tuple(x.lower() for x in segs)
    return key.owner_type, tuple(key.identity)


def _parse_id(resource_id: str) -> tuple[str, tuple[str, ...]] | None:
    parts = [p for p in resource_id.split("/") if p]
    idx = [i for i, p in enumerate(parts) if p.lower() == "providers"]
    if not idx:
        return None
    rest = parts[idx[-1] + 1:]
    if len(rest) < 3 or len(rest) % 2 == 0:
        return None
    types = [rest[0], *rest[1::2]]
    names = tuple(n.lower() for n in rest[2::2])
    return "/".join(types), names


def expand(graph: DeploymentGraph, catalog: Catalog, *, default_seconds: float = DEFAULT_SECONDS,
           assume_count: int | None = None) -> Expansion:
    """The operations of deploying `graph`, with durations and lock domains."""
    ex = _Expander(catalog, default_seconds=default_seconds, assume_count=assume_count)
    root = ex.scope(graph, "", None, (), 0)
    # Keep only domains that two or more writes hold; renumber.
    keep = [d for d in ex.domains if len(d.members) > 1]
    remap = {id(d): i for i, d in enumerate(keep)}
    old_to_new = {i: remap[id(d)] for i, d in enumerate(ex.domains) if id(d) in remap}
    for op in ex.ops:
        op.domains = tuple(old_to_new[d] for d in op.domains if d in old_to_new)
    for sc in ex.scopes:
        for u in sc.units:
            for inst in u.instances:
                inst.domains = frozenset(old_to_new[d] for d in inst.domains if d in old_to_new)
    return Expansion(graph, root, ex.ops, keep, ex.units, ex.scopes, ex.assumptions(), default_seconds)
