"""Template changes that make the deployment conflict-free, as close to the optimal schedule as
batch sizes and dependsOn can get, with the text edits (unified diffs) where they can be made.

Loops first. For each loop (one declaration, every template instance of its file), with the lock
domains of each iteration (a module iteration holds every domain its contents write):

- nothing, when its batches as written never put two iterations of one domain together and no
  larger batch size would be faster;
- `@batchSize(b)` for the batch size b whose consecutive batches (in the known item order) never
  hold one domain twice and that deploys the loop fastest (b = 1 when all iterations share one
  domain; b = k when items are already interleaved over k domains);
- reorder the items and `@batchSize(b)`, when the items fall into classes by domain and an
  interleaved order lets larger batches stay conflict-free (only when the items come from an
  array literal used nowhere else and the index variable is not used, so no resource is renamed);
- otherwise split the loop per domain (a module per domain with `@batchSize(1)` inside), given as a
  description and a sketch; the planner models it as each iteration waiting for the previous
  iteration of its domain.

The choice is by the loop's estimated span (batches x the longest iteration in each); ties go to
the simpler change. Then siblings: the schedule with the loop changes is simulated, and writes of
separate declarations that still overlap in one domain get a dependsOn chain, only between the
declarations that collide in that domain, ordered as the optimal schedule orders them (never
creating a cycle), repeated until no collision is left.
"""

from __future__ import annotations

import difflib
import itertools
import os
import re
from dataclasses import dataclass, field
from typing import Any

from armguard.catalog import Catalog
from armguard.lint import edits as E
from armguard.lint.findings import TextEdit
from armguard.lint.fixes import batch_size_fix, depends_on_fix
from armguard.model import DeploymentGraph, Node
from armguard.plan.dag import Overrides, UnitKey, build_dag
from armguard.plan.expand import Unit, frames
from armguard.plan.schedule import EPS, earliest, overlaps
from armguard.plan.serialfix import lint_context

MAX_ROUNDS = 25


@dataclass
class Change:
    kind: str  # "batch_size" | "reorder" | "split" | "depends_on"
    file: str
    symbol: str
    line: int
    description: str
    domains: list[str]
    batch_size: int | None = None
    order: list[int] | None = None
    depends_on: list[str] = field(default_factory=list)
    edits: list[TextEdit] = field(default_factory=list)
    diff: str | None = None
    sketch: str | None = None
    graph: DeploymentGraph | None = None
    span: float | None = None  # the loop's estimated span after the change
    per_deployment: bool = False  # a loop in a module: each deployment of it has its own domain

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file,
            "line": self.line,
            "symbol": self.symbol,
            "description": self.description,
            "domains": self.domains,
            "batch_size": self.batch_size,
            "order": self.order,
            "depends_on": self.depends_on,
            "diff": self.diff,
            "sketch": self.sketch,
        }


# ------------------------------------------------------------------ loops

@dataclass
class _Option:
    kind: str
    span: float
    batch: int | None
    order: list[int] | None = None
    rank: int = 0


def _batches(n: int, b: int | None) -> list[range]:
    size = n if b is None or b <= 0 else b
    return [range(i, min(i + size, n)) for i in range(0, n, size)]


def _pairs(per: list[frozenset[int]], order: list[int] | None = None) -> list[tuple[int, int]]:
    """(j, i): positions of consecutive iterations (in deployment order) that share a domain. Two
    iterations of one domain share a batch exactly when some such consecutive pair does."""
    seq = per if order is None else [per[i] for i in order]
    last: dict[int, int] = {}
    out = []
    for i, s in enumerate(seq):
        for d in s:
            j = last.get(d)
            if j is not None:
                out.append((j, i))
            last[d] = i
    return out


def _feasible(sets: list[list[frozenset[int]]], b: int | None, order: list[int] | None = None,
              pairs: list[list[tuple[int, int]]] | None = None) -> bool:
    for k, per in enumerate(sets):
        ps = pairs[k] if pairs is not None else _pairs(per, order)
        if not ps:
            continue
        if b is None or b <= 0:
            return False
        for j, i in ps:
            if j // b == i // b:
                return False
    return True


def _span(durs: list[list[float]], b: int | None, order: list[int] | None = None) -> float:
    best = 0.0
    for per in durs:
        seq = per if order is None else [per[i] for i in order]
        total = sum(max(seq[k] for k in r) for r in _batches(len(seq), b))
        best = max(best, total)
    return best


def _ideal(sets: list[list[frozenset[int]]], durs: list[list[float]]) -> float:
    best = 0.0
    for per, ds in zip(sets, durs, strict=True):
        work: dict[int, float] = {}
        for s, d in zip(per, ds, strict=True):
            for x in s:
                work[x] = work.get(x, 0.0) + d
        best = max(best, max(work.values(), default=0.0), max(ds, default=0.0))
    return best


def _classes(per: list[frozenset[int]]) -> list[int] | None:
    """Each iteration's class: its one domain shared with other iterations (or a class of its
    own); None when some iteration shares more than one."""
    count: dict[int, int] = {}
    for s in per:
        for x in s:
            count[x] = count.get(x, 0) + 1
    out: list[int] = []
    for i, s in enumerate(per):
        shared = [x for x in s if count[x] > 1]
        if len(shared) > 1:
            return None
        out.append(shared[0] if shared else -1 - i)
    return out


def _interleave(classes: list[int], b: int) -> list[int] | None:
    """An order of the iterations in which every batch of b holds distinct classes, or None."""
    n = len(classes)
    m = -(-n // b)
    last = n - (m - 1) * b
    members: dict[int, list[int]] = {}
    for i, c in enumerate(classes):
        members.setdefault(c, []).append(i)
    groups = sorted(members.values(), key=lambda g: (-len(g), g[0]))
    if len(groups[0]) > m or sum(1 for g in groups if len(g) == m) > last:
        return None
    slots = [blk * b + pos for pos in range(b) for blk in range(m) if blk * b + pos < n]
    order = [0] * n
    k = 0
    for g in groups:
        for i in g:
            order[slots[k]] = i
            k += 1
    return order


def _loop_options(units: list[Unit], spans: dict[int, float]) -> tuple[list[_Option], float, bool]:
    sets = [[inst.domains for inst in u.instances] for u in units]
    durs = [[spans.get(id(inst), 0.0) for inst in u.instances] for u in units]
    n = max(len(per) for per in sets)
    cur = units[0].batch
    pairs = [_pairs(per) for per in sets]
    current_ok = _feasible(sets, cur, pairs=pairs)
    options: list[_Option] = []
    if current_ok:
        options.append(_Option("keep", _span(durs, cur), cur, rank=-1))
        if cur is None or cur >= n:
            return options, _ideal(sets, durs), current_ok  # parallel and safe: nothing to gain
    for b in range(1, n + 1):
        if _feasible(sets, b, pairs=pairs):
            options.append(_Option("batch_size", _span(durs, b), b, rank=0))
    same = all(s == sets[0] for s in sets)
    classes = _classes(sets[0]) if same else None
    if classes is not None and len(set(classes)) > 1:
        # only the number of batches matters for the span of an interleaved order: the smallest
        # batch size for each count of batches
        for b in sorted({-(-n // m) for m in range(1, n + 1)}):
            if b < 2:
                continue
            order = _interleave(classes, b)
            if order is None or order == list(range(n)) or not _feasible(sets, b, order):
                continue
            options.append(_Option("reorder", _span(durs, b, order), b, order, rank=1))
    options.append(_Option("split", _ideal(sets, durs), None, rank=2))
    return options, _ideal(sets, durs), current_ok


def _choose(options: list[_Option], *, allow_reorder: bool) -> _Option:
    usable = [o for o in options if allow_reorder or o.kind != "reorder"]
    return min(usable, key=lambda o: (round(o.span, 6), o.rank, -(o.batch or 0)))


# ---------------------------------------------------------------- the plan

def instance_spans(plan: Any) -> dict[int, float]:
    """How long each iteration takes as written: its write, or its module's contents end to end."""
    dag = plan.dags["as_written"]
    sched = plan.schedules["as_written"]
    by_label = {label: sched.end[e] - sched.start[s] for label, s, e in dag.modules}
    out: dict[int, float] = {}
    for u in plan.expansion.units:
        for inst in u.instances:
            if inst.op is not None:
                out[id(inst)] = plan.expansion.ops[inst.op].duration
            else:
                out[id(inst)] = by_label.get(inst.label, 0.0)
    return out


def plan_changes(plan: Any, catalog: Catalog) -> tuple[list[Change], Overrides]:
    """The changes, and the overrides that model them (the schedule "with_changes")."""
    ex = plan.expansion
    ov = Overrides()
    changes: list[Change] = []
    spans = instance_spans(plan)
    groups: dict[UnitKey, list[Unit]] = {}
    for u in ex.units:
        if u.is_loop and not u.skip and len(u.instances) >= 2:
            groups.setdefault(u.key, []).append(u)
    for key, units in groups.items():
        change = _loop_change(plan, units, spans)
        if change is None:
            continue
        changes.append(change)
        if change.kind == "split":
            ov.chain.add(key)
            ov.batch[key] = None
        else:
            ov.batch[key] = change.batch_size
            if change.order is not None:
                ov.order[key] = change.order
    _sibling_chains(plan, ov, changes)
    _finish(changes, catalog)
    return changes, ov


def _loop_change(plan: Any, units: list[Unit], spans: dict[int, float]) -> Change | None:
    options, ideal, current_ok = _loop_options(units, spans)
    u = units[0]
    keep = next((o for o in options if o.kind == "keep"), None)
    reorder_text = None
    if any(o.kind == "reorder" for o in options):
        reorder_text = _reorder_target(u.scope.graph, u.node, len(u.instances))
    best = _choose(options, allow_reorder=reorder_text is not None)
    if best.kind == "keep" or (keep is not None and best.span >= keep.span - EPS):
        return None
    ex = plan.expansion
    shared = _shared_domains(units)
    names = [ex.domains[d].describe for d in shared]
    node = u.node
    graph = u.scope.graph
    n = len(u.instances)
    what = f"loop '{u.symbol}' ({n} iterations)"
    where = _domain_summary(names)
    per_unit = [_shared_domains([x]) for x in units]
    one_each = len(units) > 1 and all(len(x) == 1 for x in per_unit)
    if one_each:
        what = f"loop '{u.symbol}' ({n} iterations, in {len(units)} deployments of {display_path(graph.path)})"
        where = f"one lock domain per deployment ({'; '.join(names[:4])}{'; ...' if len(names) > 4 else ''})"
    change = Change(best.kind, graph.path, u.symbol, node.line, "", names, graph=graph, span=best.span,
                    per_deployment=one_each)
    if best.kind == "batch_size":
        change.batch_size = best.batch
        if not current_ok and best.batch == 1:
            how = "in parallel" if u.batch is None else f"{u.batch} at a time"
            change.description = (f"{what} writes {where} {how}: {_set_batch(u, 1)} (deploys in about "
                                  f"{best.span:g} s)")
        elif not current_ok:
            change.description = (f"{what} writes {where}; in the known item order every batch of {best.batch} "
                                  f"hits distinct domains: {_set_batch(u, best.batch)} (about {best.span:g} s; one "
                                  f"at a time would take {_span_of(options, 1):g} s)")
        else:
            change.description = (f"{what} is serialized more than its lock domains need: batches of {best.batch} "
                                  f"never share a domain, so {_set_batch(u, best.batch)} (about {best.span:g} s "
                                  f"instead of {keep.span if keep else 0:g} s), unless it is serial for another "
                                  f"reason (a rolling update, say)")
    elif best.kind == "reorder":
        assert best.order is not None
        change.batch_size = best.batch
        change.order = best.order
        change.description = (f"{what} writes {where}; reorder its items so that each batch of {best.batch} "
                              f"hits distinct domains (new order of the current items: {best.order}) and "
                              f"{_set_batch(u, best.batch)}: about {best.span:g} s, against "
                              f"{_span_of(options, 1):g} s one at a time")
    else:
        change.description = (f"{what} writes {where}; in the known item order only small batches are "
                              f"conflict-free: split it into one module per lock domain with @batchSize(1) inside "
                              f"and the modules in parallel (about {ideal:g} s, against "
                              f"{_span_of(options, 1):g} s one at a time)")
        change.sketch = _split_sketch(u, shared, ex)
    return change


def _set_batch(u: Unit, size: int | None) -> str:
    arm = u.scope.graph.language != "bicep"
    n = len(u.instances)
    if size is None or size >= n:
        return ('set "copy" back to parallel mode' if arm else "remove @batchSize") if u.batch is not None else \
            "leave it parallel"
    if arm:
        return f'set "copy": {{"mode": "serial", "batchSize": {size}}}'
    return f"{'set' if u.batch is not None else 'add'} @batchSize({size})"


def _span_of(options: list[_Option], batch: int) -> float:
    return next((o.span for o in options if o.kind == "batch_size" and o.batch == batch), 0.0)


def _shared_domains(units: list[Unit]) -> list[int]:
    count: dict[int, int] = {}
    for u in units:
        for inst in u.instances:
            for d in inst.domains:
                count[d] = count.get(d, 0) + 1
    return sorted(d for d, c in count.items() if c > 1)


def _domain_summary(names: list[str]) -> str:
    if not names:
        return "no shared lock domain"
    if len(names) == 1:
        return f"one lock domain, {names[0]}"
    shown = "; ".join(names[:4]) + ("; ..." if len(names) > 4 else "")
    return f"{len(names)} lock domains ({shown})"


def _split_sketch(u: Unit, shared: list[int], ex: Any) -> str:
    node = u.node
    by_domain: dict[int, list[int]] = {}
    for inst in u.instances:
        for d in inst.domains:
            if d in shared:
                by_domain.setdefault(d, []).append(inst.index if inst.index is not None else 0)
    lines = [f"// Deploy '{u.symbol}' per lock domain: the domains in parallel, each domain's items one at a time."]
    for d, idx in by_domain.items():
        lines.append(f"//   {ex.domains[d].describe}: items {idx}")
    kind = "module" if node.kind == "module" else "resource"
    target = f"'{node.type}@{node.api_version}'" if kind == "resource" and node.api_version else f"'{node.type}'"
    item = (node.loop.item if node.loop is not None and node.loop.item else "item")
    lines += [
        f"var {u.symbol}ByDomain = items(groupBy(<the items>, {item} => <{item}'s lock domain, e.g. {item}.hub>))",
        f"module {u.symbol}PerDomain './{u.symbol}-serial.bicep' = [for group in {u.symbol}ByDomain: {{",
        f"  name: '${{deployment().name}}-{u.symbol}-${{group.key}}'",
        "  params: { items: group.value }",
        "}]",
        f"// {u.symbol}-serial.bicep:",
        "//   param items array",
        "//   @batchSize(1)",
        f"//   {kind} {u.symbol} {target} = [for {item} in items: {{ ...the current body... }}]",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- siblings

def _sibling_chains(plan: Any, ov: Overrides, changes: list[Change]) -> None:
    ex = plan.expansion
    members = [d.members for d in ex.domains]
    opt_start = plan.schedules["optimal"].start
    added: dict[UnitKey, list[str]] = {}
    where: dict[UnitKey, Unit] = {}
    doms: dict[UnitKey, set[int]] = {}
    by_file: dict[str, list[Any]] = {}
    for sc in ex.scopes:
        by_file.setdefault(sc.file_key, []).append(sc)
    for _ in range(MAX_ROUNDS):
        sched = earliest(build_dag(ex, ov, overhead=plan.options.overhead))
        found = overlaps(sched, members)
        if not found:
            break
        buckets: dict[tuple[int, int], dict[int, tuple[Unit, float]]] = {}
        progress = False
        for d, group, _, _ in found:
            ordered = sorted(group, key=lambda m: (sched.start[m], m))
            for a, b in itertools.pairwise(ordered):
                fa, fb = frames(ex.ops[a]), frames(ex.ops[b])
                k = 0
                while k < min(len(fa), len(fb)) and fa[k][0] is fb[k][0] and fa[k][1] == fb[k][1]:
                    k += 1
                if k >= min(len(fa), len(fb)):
                    continue  # one write inside the other's declaration: cannot happen
                ua, ub = fa[k][0], fb[k][0]
                if ua is ub:  # two iterations of one loop still collide: chain them by domain
                    if ua.key not in ov.chain:
                        ov.chain.add(ua.key)
                        ov.batch[ua.key] = None
                        _ensure_split(plan, ua, changes)
                        progress = True
                    continue
                bucket = buckets.setdefault((id(ua.scope), d), {})
                for u, m in ((ua, a), (ub, b)):
                    prev = bucket.get(u.uid)
                    if prev is None or opt_start[m] < prev[1]:
                        bucket[u.uid] = (u, opt_start[m])
        for (_, d), units in buckets.items():
            chain = sorted(units.values(), key=lambda x: (x[1], x[0].node.line, x[0].symbol))
            for (u1, _), (u2, _) in itertools.pairwise(chain):
                if _reaches(u2.scope, ov, u1.symbol, u2.symbol) or _reaches(u2.scope, ov, u2.symbol, u1.symbol):
                    continue
                # every template instance of this file gets the edge: it must not close a cycle in any
                same_file = by_file.get(u2.scope.file_key, [u2.scope])
                if any(_reaches(sc, ov, u1.symbol, u2.symbol) for sc in same_file):
                    u1, u2 = u2, u1
                    if any(_reaches(sc, ov, u1.symbol, u2.symbol) for sc in same_file):
                        continue
                ov.deps.setdefault(u2.key, []).append(u1.symbol)
                added.setdefault(u2.key, []).append(u1.symbol)
                where[u2.key] = u2
                doms.setdefault(u2.key, set()).add(d)
                progress = True
        if not progress:
            break
    for key, targets in added.items():
        u = where[key]
        names = [ex.domains[d].describe for d in sorted(doms[key])]
        listed = ", ".join(f"'{t}'" for t in targets)
        changes.append(Change(
            "depends_on", u.scope.graph.path, u.symbol, u.node.line,
            f"'{u.symbol}' writes {_domain_summary(names)} while {listed} {'does' if len(targets) == 1 else 'do'}: "
            f"make it depend on {listed}", names, depends_on=list(targets), graph=u.scope.graph))


def _ensure_split(plan: Any, u: Unit, changes: list[Change]) -> None:
    for c in changes:
        if c.graph is u.scope.graph and c.symbol == u.symbol:
            if c.kind != "split":
                c.kind = "split"
                c.batch_size = None
                c.order = None
                c.sketch = _split_sketch(u, _shared_domains([u]), plan.expansion)
                c.description += "; iterations still collide, so split it per lock domain instead"
            return
    shared = _shared_domains([u])
    changes.append(Change("split", u.scope.graph.path, u.symbol, u.node.line,
                          f"loop '{u.symbol}': iterations collide on "
                          f"{_domain_summary([plan.expansion.domains[d].describe for d in shared])}; split it into "
                          "one module per lock domain with @batchSize(1) inside",
                          [plan.expansion.domains[d].describe for d in shared],
                          sketch=_split_sketch(u, shared, plan.expansion), graph=u.scope.graph))


def _reaches(scope: Any, ov: Overrides, src: str, dst: str) -> bool:
    """Whether `src` depends on `dst`, directly or not, in this template instance (with the overrides)."""
    def deps(sym: str) -> list[str]:
        u = scope.by_symbol.get(sym)
        if u is None:
            return []
        return [*u.deps, *ov.deps.get(u.key, ())]

    seen: set[str] = set()
    stack = deps(src)
    while stack:
        s = stack.pop()
        if s == dst:
            return True
        if s in seen:
            continue
        seen.add(s)
        stack.extend(deps(s))
    return False


# ------------------------------------------------------------------- text

_BATCH_DECORATOR = re.compile(r"@batchSize\(1\)")
_JSON_BATCH = re.compile(r'("batchSize"\s*:\s*)1\b')


def _reorder_target(graph: DeploymentGraph, node: Node, count: int) -> Any:
    """The array literal whose items can be reordered for this loop, or None."""
    if graph.language != "bicep" or graph.syntax is None:
        return None
    model = graph.syntax
    decl = model.declarations.get(node.symbol)
    loop = node.loop
    if decl is None or decl.loop is None or loop is None or loop.filtered:
        return None
    from armguard.bicep import syntax as s

    fx = decl.loop
    text = model.source.text
    if fx.index is not None and re.search(rf"\b{re.escape(fx.index)}\b", text[fx.body.start:fx.body.end]):
        return None  # names or references use the index: reordering would rename resources
    it = fx.iterable
    if isinstance(it, s.ArrayExpr):
        arr = it
    elif isinstance(it, s.Identifier):
        var = next((st for st in model.program.statements
                    if isinstance(st, s.VarDecl) and st.name == it.name), None)
        if var is None or not isinstance(var.value, s.ArrayExpr):
            return None
        if _references(model.program, it.name) != 1:  # used elsewhere: reordering would change that too
            return None
        arr = var.value
    else:
        return None
    if len(arr.items) != count or any(isinstance(i, s.Spread) for i in arr.items):
        return None
    return arr


def _references(program: Any, name: str) -> int:
    from armguard.bicep import syntax as s
    from armguard.bicep.semantic import iter_children

    count = 0
    stack: list[Any] = list(program.statements)
    while stack:
        node = stack.pop()
        if isinstance(node, s.Identifier) and node.name == name:
            count += 1
        stack.extend(iter_children(node))
    return count


def _reorder_edits(text: str, arr: Any, order: list[int]) -> list[TextEdit]:
    items = arr.items
    pieces = [text[i.start:i.end] for i in items]
    seps = [text[a.end:b.start] for a, b in itertools.pairwise(items)]
    out = pieces[order[0]]
    for k in range(1, len(order)):
        out += seps[k - 1] + pieces[order[k]]
    return [TextEdit(items[0].start, items[-1].end, out)]


def _batch_edits(ctx: Any, node: Node, size: int, comment: str) -> list[TextEdit] | None:
    fix = batch_size_fix(ctx, node, comment)
    if fix is None:
        return None
    out = []
    for e in fix.edits:
        t = e.text
        if ctx.language == "bicep":
            t = str(size) if t == "1" else _BATCH_DECORATOR.sub(f"@batchSize({size})", t)
        else:
            t = _JSON_BATCH.sub(rf"\g<1>{size}", t)
        out.append(TextEdit(e.start, e.end, t))
    return out


def _remove_batch_edits(ctx: Any, node: Node) -> list[TextEdit] | None:
    model = ctx.bicep
    if model is None or ctx.source is None:
        return None
    d = model.declarations.get(node.symbol)
    dec = next((x for x in d.decl.decorators if x.name == "batchSize"), None) if d is not None else None
    if dec is None:
        return None
    text = ctx.source.text
    start = E.line_start(text, dec.start)
    end = text.find("\n", dec.end)
    end = len(text) if end == -1 else end + 1
    if text[start:dec.start].strip() or text[dec.end:end].strip():
        return [TextEdit(dec.start, dec.end, "")]
    return [TextEdit(start, end, "")]


def _finish(changes: list[Change], catalog: Catalog) -> None:
    """Text edits and per-change diffs (Bicep: every kind but split; ARM JSON: batch sizes)."""
    sources: dict[str, Any] = {}
    for c in changes:
        graph = c.graph
        if graph is None:
            continue
        ctx = lint_context(graph, catalog, sources)
        node = graph.node(c.symbol)
        if node is None or ctx.source is None or node.path != graph.path:
            continue
        edits: list[TextEdit] | None = None
        if c.kind == "batch_size" and c.batch_size is not None:
            n = node.loop.count if node.loop is not None and node.loop.count is not None else 0
            if c.batch_size >= n and node.loop is not None and node.loop.mode == "serial":
                edits = _remove_batch_edits(ctx, node)
            else:
                edits = _batch_edits(ctx, node, c.batch_size, _comment(c))
        elif c.kind == "reorder" and c.order is not None and c.batch_size is not None:
            arr = _reorder_target(graph, node, len(c.order))
            batch = _batch_edits(ctx, node, c.batch_size, _comment(c))
            if arr is not None and batch is not None:
                edits = _reorder_edits(ctx.source.text, arr, c.order) + batch
        elif c.kind == "depends_on" and c.depends_on:
            fix = depends_on_fix(ctx, node, c.depends_on)
            edits = fix.edits if fix is not None else None
        if edits:
            c.edits = edits
            c.diff = unified_diff(graph.path, ctx.source.text, E.apply_edits(ctx.source.text, edits))


def _comment(c: Change) -> str:
    if c.batch_size == 1:
        if c.per_deployment or len(c.domains) != 1:
            owner = _owner_type(c.domains)
            return f"Serial: all iterations write one {owner} (per deployment of this file) (armguard plan)."
        return f"Serial: all iterations write one lock domain, {c.domains[0]} (armguard plan)."
    return (f"Batches of {c.batch_size}: in this item order each batch writes {c.batch_size} different "
            f"{_owner_type(c.domains)} lock domains, never one twice (armguard plan).")


def _owner_type(names: list[str]) -> str:
    owners = {n.split(" ", 1)[0] for n in names}
    return owners.pop() if len(owners) == 1 else "lock domain"


def display_path(path: str) -> str:
    """The path relative to the working directory when it is inside it, else absolute."""
    full = os.path.abspath(path)
    rel = os.path.relpath(full)
    return (full if rel.startswith("..") else rel).replace(os.sep, "/")


def unified_diff(path: str, before: str, after: str) -> str:
    """A unified diff; paths inside the working directory get git's a/ and b/ prefixes (patch -p1)."""
    shown = display_path(path)
    old, new = (shown, shown) if os.path.isabs(shown) else (f"a/{shown}", f"b/{shown}")
    out = []
    for line in difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                     fromfile=old, tofile=new):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def patched_files(changes: list[Change]) -> dict[str, tuple[str, str]]:
    """path -> (original, changed) with every change's edits applied."""
    by_file: dict[str, list[TextEdit]] = {}
    for c in changes:
        if c.edits:
            by_file.setdefault(c.file, []).extend(c.edits)
    out = {}
    for path, es in by_file.items():
        with open(path, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
        out[path] = (text, E.apply_edits(text, es))
    return out


def combined_patch(changes: list[Change]) -> str:
    return "".join(unified_diff(p, a, b) for p, (a, b) in patched_files(changes).items())
