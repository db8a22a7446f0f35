"""The precedence graph Resource Manager follows, built from an expansion and template changes.

Nodes 0..n_ops-1 are the writes (`Expansion.ops`, same numbering in every DAG); the rest take no
time and only order things: the start and end of each module iteration (a module iteration starts
when its dependencies are done, its contents start with it, and it ends when all of them have
ended), the completion of a loop (a dependency on a loop waits for every iteration), the barrier
between batches of a serial loop (batch k starts when every member of batch k-1 has finished), and
declarations that deploy nothing (existing, condition false) passing their dependencies on.

`Overrides` describe template changes without editing text: a loop's batch size, the order of its
items, extra dependsOn, and "chain by domain" (each iteration waits for the previous iteration that
shares a lock domain with it: what splitting a loop into one serial module per domain achieves).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from armguard.errors import ArmguardError
from armguard.plan.expand import Expansion, Inst, Scope, Unit

UnitKey = tuple[str, str]  # (file key, symbol)

_UNSET = object()


@dataclass
class Overrides:
    batch: dict[UnitKey, int | None] = field(default_factory=dict)  # None: parallel
    order: dict[UnitKey, list[int]] = field(default_factory=dict)
    deps: dict[UnitKey, list[str]] = field(default_factory=dict)
    chain: set[UnitKey] = field(default_factory=set)
    ignore_batches: bool = False  # drop the template's batch sizes (the optimal schedule)

    def copy(self) -> Overrides:
        return Overrides(dict(self.batch), {k: list(v) for k, v in self.order.items()},
                         {k: list(v) for k, v in self.deps.items()}, set(self.chain), self.ignore_batches)

    def batch_of(self, unit: Unit) -> int | None:
        if self.ignore_batches:
            return None
        found = self.batch.get(unit.key, _UNSET)
        return unit.batch if found is _UNSET else found  # type: ignore[return-value]


@dataclass
class Dag:
    n_ops: int
    preds: list[list[int]]
    dur: list[float]
    doms: list[tuple[int, ...]]  # per node; () for the structural ones
    modules: list[tuple[str, int, int]]  # (label, start node, end node) of module iterations
    _topo: list[int] | None = None
    _succ: list[list[int]] | None = None

    def __len__(self) -> int:
        return len(self.preds)

    @property
    def succ(self) -> list[list[int]]:
        if self._succ is None:
            succ: list[list[int]] = [[] for _ in self.preds]
            for v, ps in enumerate(self.preds):
                for p in ps:
                    succ[p].append(v)
            self._succ = succ
        return self._succ

    @property
    def topo(self) -> list[int]:
        """The nodes in an order where every node comes after its predecessors."""
        if self._topo is None:
            succ = self.succ
            indeg = [len(p) for p in self.preds]
            order = [v for v, k in enumerate(indeg) if k == 0]
            i = 0
            while i < len(order):
                v = order[i]
                i += 1
                for s in succ[v]:
                    indeg[s] -= 1
                    if indeg[s] == 0:
                        order.append(s)
            if len(order) != len(self.preds):
                raise ArmguardError("the template's dependencies form a cycle; cannot plan it")
            self._topo = order
        return self._topo


def build_dag(ex: Expansion, ov: Overrides | None = None, *, overhead: float = 0.0) -> Dag:
    """The precedence graph of the expansion with the overrides applied."""
    return _Builder(ex, ov or Overrides(), overhead).build()


class _Builder:
    def __init__(self, ex: Expansion, ov: Overrides, overhead: float):
        self.ex = ex
        self.ov = ov
        self.overhead = overhead
        n = len(ex.ops)
        self.preds: list[list[int]] = [[] for _ in range(n)]
        self.dur: list[float] = [op.duration for op in ex.ops]
        self.modules: list[tuple[str, int, int]] = []

    def new(self, duration: float = 0.0) -> int:
        self.preds.append([])
        self.dur.append(duration)
        return len(self.preds) - 1

    def build(self) -> Dag:
        self.scope(self.ex.root, None)
        doms: list[tuple[int, ...]] = [op.domains for op in self.ex.ops]
        doms.extend(() for _ in range(len(self.preds) - len(doms)))
        return Dag(len(self.ex.ops), self.preds, self.dur, doms, self.modules)

    def scope(self, sc: Scope, gate: int | None) -> list[int]:
        """Wire a template instance whose contents start after `gate`; returns its completions."""
        done: dict[str, int] = {}
        wiring: list[tuple[Unit, list[Inst], list[int], list[int]]] = []
        for u in sc.units:
            if u.skip or not u.instances:
                p = self.new()
                done[u.symbol] = p
                wiring.append((u, [], [p], [p]))
                continue
            insts = self.ordered(u)
            entries: list[int] = []
            exits: list[int] = []
            for inst in insts:
                if inst.op is not None:
                    entries.append(inst.op)
                    exits.append(inst.op)
                    continue
                assert inst.scope is not None
                s = self.new()
                e = self.new(self.overhead)
                self.modules.append((inst.label, s, e))
                inner = self.scope(inst.scope, s)
                self.preds[e].extend(inner)
                self.preds[e].append(s)
                entries.append(s)
                exits.append(e)
            if u.is_loop:
                j = self.new()
                self.preds[j].extend(exits)
                done[u.symbol] = j
            else:
                done[u.symbol] = exits[0]
            wiring.append((u, insts, entries, exits))
        for u, insts, entries, exits in wiring:
            deps = [done[d] for d in (*u.deps, *self.ov.deps.get(u.key, ())) if d in done and d != u.symbol]
            if gate is not None:
                deps.append(gate)
            extra: list[list[int]] = [[] for _ in entries]
            if insts:
                size = self.ov.batch_of(u)
                if size is not None and size > 0 and size < len(insts):
                    barrier: int | None = None
                    for b0 in range(0, len(insts), size):
                        if barrier is not None:
                            for k in range(b0, min(b0 + size, len(insts))):
                                extra[k].append(barrier)
                        barrier = self.new()
                        self.preds[barrier].extend(exits[b0:b0 + size])
                if u.key in self.ov.chain:
                    last: dict[int, int] = {}
                    for k, inst in enumerate(insts):
                        for d in inst.domains:
                            if d in last:
                                extra[k].append(exits[last[d]])
                            last[d] = k
            for k, v in enumerate(entries):
                self.preds[v].extend(deps)
                if extra[k]:
                    self.preds[v].extend(extra[k])
        return [done[u.symbol] for u in sc.units]

    def ordered(self, u: Unit) -> list[Inst]:
        order = self.ov.order.get(u.key)
        if order is None or len(order) != len(u.instances):
            return u.instances
        return [u.instances[i] for i in order]
