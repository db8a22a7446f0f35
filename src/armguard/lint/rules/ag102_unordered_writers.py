"""AG102: separate declarations that write one serial lock domain with nothing ordering them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from armguard.bicep import syntax as s
from armguard.lint.context import LintContext, Write, serial_writes
from armguard.lint.domains import DomainKey, domain_keys
from armguard.lint.findings import Finding, Level
from armguard.lint.fixes import depends_on_fix
from armguard.model import DeploymentGraph, Node


@dataclass(frozen=True)
class UnorderedWritersRule:
    id: str = "AG102"
    name: str = "unordered-lock-domain-writers"
    level: Level = "warning"
    doc: str = (
        "Two or more declarations outside one loop (or two loops) write the same serial lock domain "
        "and no dependency orders them, for example three subnets of one VNet declared as separate "
        "resources, or peerings from two loops onto one hub. Resource Manager starts everything whose "
        "dependencies are met at once, so these writes collide with AnotherOperationInProgress. Fix: "
        "chain them with dependsOn (the fix adds each declaration's predecessor), or declare them in one "
        "loop with @batchSize(1). Suppress when a condition guarantees that only one of them deploys."
    )

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        groups: dict[str, list[Write]] = {}
        for node in ctx.graph.nodes:
            for w in serial_writes(ctx, node):
                if node.loop is not None and w.key.depends_on_loop(node.symbol):
                    # Each iteration writes its own domain; where those are known, one of them may
                    # still be another declaration's domain.
                    for key in _iteration_keys(node, w):
                        groups.setdefault(_key_text(Write(w.node, w.inner, w.entry, key)), []).append(
                            Write(w.node, w.inner, w.entry, key))
                    continue
                groups.setdefault(_key_text(w), []).append(w)
        order = _Ordering(ctx.graph)
        plan = _Ordering(ctx.graph)  # the graph as the fixes leave it: targets chain onto earlier fixes
        reported: set[str] = set()  # one finding per declaration, for its first shared domain
        for writes in groups.values():
            members: dict[str, Write] = {}
            for w in writes:
                members.setdefault(w.node.symbol, w)
            if len(members) < 2:
                continue
            ordered = sorted(members.values(), key=lambda w: (w.node.line, w.node.column))
            for i, later in enumerate(ordered[1:], start=1):
                unordered = [e for e in ordered[:i] if not order.ordered(e.node.symbol, later.node.symbol)
                             and not mutually_exclusive(ctx, e.node, later.node)]
                if not unordered or later.node.symbol in reported:
                    continue
                reported.add(later.node.symbol)
                targets = plan.fewest_predecessors(later.node.symbol, [u.node.symbol for u in reversed(unordered)])
                yield self.finding(ctx, later, targets, unordered, [w.node.symbol for w in ordered])

    def finding(self, ctx: LintContext, w: Write, targets: list[str], unordered: list[Write],
                members: list[str]) -> Finding:
        others = ", ".join(f"'{u.node.symbol}'" for u in unordered)
        domain = w.key.describe()
        after = ", ".join(f"'{t}'" for t in targets)
        message = (
            f"'{w.node.symbol}' writes {domain} like {others}, and no dependency orders them: "
            f"Resource Manager will run them at once and reject all but one with "
            f"AnotherOperationInProgress; make '{w.node.symbol}' depend on {after}"
        )
        fix = depends_on_fix(ctx, w.node, targets)
        return ctx.finding(self, w.node, message, domain=w.key, members=members, reason=w.entry.notes or None,
                           fix=fix)


def mutually_exclusive(ctx: LintContext, a: Node, b: Node) -> bool:
    """Whether the two declarations' conditions can never both be true: `c` and `!c`, or
    `x == 'a'` and `x == 'b'` (Bicep)."""
    model = ctx.bicep
    if model is None or ctx.source is None:
        return False
    da, db = model.declarations.get(a.symbol), model.declarations.get(b.symbol)
    if da is None or db is None or da.condition is None or db.condition is None:
        return False
    text = ctx.source.text
    ca, cb = _strip(da.condition), _strip(db.condition)
    for x, y in ((ca, cb), (cb, ca)):
        if isinstance(x, s.Unary) and x.op == "!" and _same(text, _strip(x.operand), y):
            return True
    ea, eb = _equality(text, ca), _equality(text, cb)
    return ea is not None and eb is not None and _different(ea, eb)


def _strip(e: s.Node) -> s.Node:
    while isinstance(e, s.Paren):
        e = e.expr
    return e


def _same(text: str, x: s.Node, y: s.Node) -> bool:
    return "".join(text[x.start:x.end].split()) == "".join(text[y.start:y.end].split())


def _equality(text: str, e: s.Node) -> tuple[str, object, bool] | None:
    """(subject text, literal value, case-insensitive) of `subject == literal` or `literal =~ subject`."""
    if not isinstance(e, s.Binary) or e.op not in ("==", "=~"):
        return None
    for subject, lit in ((e.left, e.right), (e.right, e.left)):
        lit = _strip(lit)
        if isinstance(lit, (s.IntLiteral, s.BoolLiteral)) or (isinstance(lit, s.StringLiteral) and lit.is_plain):
            return "".join(text[subject.start:subject.end].split()), lit.value, e.op == "=~"
    return None


def _different(a: tuple[str, object, bool], b: tuple[str, object, bool]) -> bool:
    """Whether one subject can never equal both literals."""
    if a[0] != b[0]:
        return False
    va, vb = a[1], b[1]
    if (a[2] or b[2]) and isinstance(va, str) and isinstance(vb, str):
        return va.lower() != vb.lower()
    return va != vb


def _iteration_keys(node: Node, w: Write) -> list[DomainKey]:
    """The distinct, loop-independent domains of a resource loop's iterations (parent and ancestor
    domains, from the iterations' names)."""
    if node.kind != "resource" or not node.instance_segments or w.key.kind not in ("parent", "ancestor"):
        return []
    out: dict[str, DomainKey] = {}
    for segs in node.instance_segments:
        for k in domain_keys(node, w.entry, segs):
            if k.kind == w.key.kind and not k.depends_on_loop(node.symbol):
                out.setdefault(repr(k.identity), k)
    return list(out.values())


def _key_text(w: Write) -> str:
    return repr((w.key.owner_type.lower(), w.key.identity))


class _Ordering:
    """Whether one declaration is (transitively) ordered before or after another. The edges are
    read when first needed: most files have no two writers of one domain to order."""

    def __init__(self, graph: DeploymentGraph):
        self.graph = graph
        self._deps: dict[str, set[str]] | None = None
        self._reach: dict[str, set[str]] = {}

    @property
    def deps(self) -> dict[str, set[str]]:
        if self._deps is None:
            self._deps = {n.symbol: set(n.depends_on()) for n in self.graph.nodes}
        return self._deps

    def reach(self, symbol: str) -> set[str]:
        found = self._reach.get(symbol)
        if found is not None:
            return found
        seen: set[str] = set()
        stack = list(self.deps.get(symbol, ()))
        while stack:
            s = stack.pop()
            if s in seen:
                continue
            seen.add(s)
            stack.extend(self.deps.get(s, ()))
        self._reach[symbol] = seen
        return seen

    def ordered(self, a: str, b: str) -> bool:
        return a in self.reach(b) or b in self.reach(a)

    def fewest_predecessors(self, symbol: str, candidates: list[str]) -> list[str]:
        """Predecessors to add so `symbol` comes after every candidate (nearest first), recording
        the new edges so later declarations can chain onto them."""
        chosen: list[str] = []
        for c in candidates:
            if any(c in self.reach(t) or c == t for t in chosen):
                continue
            chosen.append(c)
        self.deps.setdefault(symbol, set()).update(chosen)
        self._reach.clear()
        return chosen


RULE = UnorderedWritersRule()
