"""AG102: separate declarations that write one serial lock domain with nothing ordering them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from armguard.bicep import syntax as s
from armguard.lint.context import LintContext, Write, serial_writes
from armguard.lint.domains import DomainKey, domain_keys
from armguard.lint.findings import Finding, Level
from armguard.lint.fixes import depends_on_fix
from armguard.model import DeploymentGraph, Node
from armguard.values import Unknown


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
        order = Ordering(ctx.graph)
        plan = Ordering(ctx.graph)  # the graph as the fixes leave it: targets chain onto earlier fixes
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
    """Whether the two declarations' conditions can never both be true: `c` and `!c`, `x == 'a'`
    and `x == 'b'`, or `x == 'a'` and `x != 'a'` (Bicep; the literal may be null)."""
    model = ctx.bicep
    if model is None and isinstance(a.condition, Unknown) and isinstance(b.condition, Unknown):
        return _exclusive_arm(a.condition.text, b.condition.text)
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
    return ea is not None and eb is not None and _exclusive(ea, eb)


def _strip(e: s.Node) -> s.Node:
    while isinstance(e, s.Paren):
        e = e.expr
    return e


def _same(text: str, x: s.Node, y: s.Node) -> bool:
    return "".join(text[x.start:x.end].split()) == "".join(text[y.start:y.end].split())


_COMPARISONS = {"==": (False, False), "=~": (True, False), "!=": (False, True), "!~": (True, True)}


def _equality(text: str, e: s.Node) -> tuple[str, object, bool, bool] | None:
    """(subject text, literal value, case-insensitive, negated) of `subject == literal` (or `=~`,
    `!=`, `!~`, either way round)."""
    if not isinstance(e, s.Binary) or e.op not in _COMPARISONS:
        return None
    insensitive, negated = _COMPARISONS[e.op]
    for subject, lit in ((e.left, e.right), (e.right, e.left)):
        lit = _strip(lit)
        if isinstance(lit, s.NullLiteral):
            return "".join(text[subject.start:subject.end].split()), None, insensitive, negated
        if isinstance(lit, (s.IntLiteral, s.BoolLiteral)) or (isinstance(lit, s.StringLiteral) and lit.is_plain):
            return "".join(text[subject.start:subject.end].split()), lit.value, insensitive, negated
    return None


def _exclusive(a: tuple[str, object, bool, bool], b: tuple[str, object, bool, bool]) -> bool:
    """Whether one subject can never satisfy both comparisons."""
    if a[0] != b[0]:
        return False
    va, vb = a[1], b[1]
    if a[3] and b[3]:
        return False  # two inequalities can both hold
    if a[3] or b[3]:  # x == v and x != v, compared alike
        if a[2] != b[2]:
            return False
        return (va.lower() == vb.lower()) if a[2] and isinstance(va, str) and isinstance(vb, str) else va == vb
    if (a[2] or b[2]) and isinstance(va, str) and isinstance(vb, str):
        return va.lower() != vb.lower()
    return va != vb


_ARM_EQUALS = re.compile(r"equals\((.+), ('(?:[^']|'')*'|-?\d+|true|false|null\(\))\)", re.S)


def _exclusive_arm(a: str, b: str) -> bool:
    """The same for ARM JSON conditions (expression texts): `not(c)` and `c`, or `equals(x, 'a')`
    and `equals(x, 'b')`."""
    a, b = " ".join(a.split()), " ".join(b.split())
    if a == f"not({b})" or b == f"not({a})":
        return True
    ea, eb = _ARM_EQUALS.fullmatch(a), _ARM_EQUALS.fullmatch(b)
    return bool(ea and eb and ea.group(1) == eb.group(1) and ea.group(2) != eb.group(2))


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


class Ordering:
    """Whether one declaration is (transitively) ordered before or after another. A declaration's
    edges are read when a walk first reaches it: working out dependencies costs an evaluation, and
    most declarations are never asked about."""

    def __init__(self, graph: DeploymentGraph):
        self.nodes = {n.symbol: n for n in graph.nodes}
        self._deps: dict[str, set[str]] = {}
        self._reach: dict[str, set[str]] = {}

    def deps(self, symbol: str) -> set[str]:
        found = self._deps.get(symbol)
        if found is None:
            node = self.nodes.get(symbol)
            found = self._deps[symbol] = set(node.depends_on()) if node is not None else set()
        return found

    def reach(self, symbol: str) -> set[str]:
        found = self._reach.get(symbol)
        if found is not None:
            return found
        seen: set[str] = set()
        stack = list(self.deps(symbol))
        while stack:
            s = stack.pop()
            if s in seen:
                continue
            seen.add(s)
            stack.extend(self.deps(s))
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
        self.deps(symbol).update(chosen)
        self._reach.clear()
        return chosen


RULE = UnorderedWritersRule()
