"""AG103: a resource written while another declaration, with nothing ordering them, writes it again
or writes one of its child resources."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from armguard.lint.context import LintContext, deployed_resources
from armguard.lint.domains import DomainKey, self_key
from armguard.lint.findings import Finding, Level
from armguard.lint.fixes import depends_on_fix
from armguard.lint.rules.ag102_unordered_writers import Ordering, mutually_exclusive
from armguard.model import DEPLOYMENTS_TYPE, Node
from armguard.values import Unknown, unknown_deps


@dataclass(frozen=True)
class _Write:
    outer: Node  # the declaration in the linted file
    inner: Node  # the resource written (== outer unless through a module)
    whole: bool  # writes the resource itself (else one of its children)


@dataclass(frozen=True)
class ParentAndChildRule:
    id: str = "AG103"
    name: str = "unordered-resource-and-child-writes"
    level: Level = "warning"
    doc: str = (
        "One declaration writes a resource while another, with no dependency ordering them, writes the "
        "same resource again (it is declared twice, for example by a module that creates it and by "
        "another that updates it) or writes a child of it (a container of the storage account, a "
        "project of the AI account, a replica of the configuration store). Resource Manager starts "
        "both at once, and a resource being written is locked for its children and for a second write: "
        "the child's PUT fails with ParentResourceNotFound while the parent is being created, and with "
        "Conflict, AnotherOperationInProgress or the provider's own code "
        "(StorageAccountOperationInProgress, RequestConflict) while it is being updated. In ARM JSON the "
        "usual cause is a child declared by its name, or inside its parent's `resources`, without "
        "dependsOn on the parent. Inside a module only names passed in as they are count (a name it "
        "computes, `guid(...)`, may be the same text for different resources), and two modules are "
        "compared only as parent and child. Fix: make the later declaration depend on the earlier one. "
        "Suppress when a condition guarantees that only one of them deploys."
    )

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        order = Ordering(ctx.graph)
        groups: dict[tuple[Any, DomainKey], list[_Write]] = {}
        for node in _candidates(ctx, order):
            for inner, modules in deployed_resources(ctx, node):
                for key, whole in _written(inner, modules):
                    groups.setdefault(key, []).append(_Write(node, inner, whole))
        plan = Ordering(ctx.graph)
        reported: set[str] = set()
        for (_, key), writes in groups.items():
            if not any(w.whole for w in writes) or len({w.outer.symbol for w in writes}) < 2:
                continue
            ordered = sorted(writes, key=lambda w: (w.outer.line, w.outer.column, not w.whole))
            for i, later in enumerate(ordered):
                if later.outer.symbol in reported:
                    continue
                clashing = _first_per_symbol(
                    e for e in ordered[:i]
                    if e.outer.symbol != later.outer.symbol and (e.whole or later.whole)
                    and not order.ordered(e.outer.symbol, later.outer.symbol)
                    and not mutually_exclusive(ctx, e.outer, later.outer))
                if not clashing:
                    continue
                reported.add(later.outer.symbol)
                targets = plan.fewest_predecessors(later.outer.symbol, [e.outer.symbol for e in reversed(clashing)])
                yield self.finding(ctx, key, later, clashing, targets)

    def finding(self, ctx: LintContext, key: DomainKey, later: _Write, clashing: list[_Write],
                targets: list[str]) -> Finding:
        resource = key.describe()
        others = ", ".join(f"'{e.outer.symbol}'" for e in clashing)
        what = resource if later.whole else f"a child of {resource} ({_via(later)})"
        first = clashing[0]
        theirs = resource if first.whole else f"a child of it ({_via(first)})"
        after = ", ".join(f"'{t}'" for t in targets)
        message = (
            f"'{later.outer.symbol}' writes {what} while {others} writes {theirs}, and no dependency orders "
            f"them: Resource Manager will run them at once, and a resource being written rejects a second "
            f"write and its children's (Conflict, AnotherOperationInProgress, ParentResourceNotFound); make "
            f"'{later.outer.symbol}' depend on {after}"
        )
        members = list(dict.fromkeys(w.outer.symbol for w in (*clashing, later)))
        return ctx.finding(self, later.outer, message, domain=key, members=members,
                           fix=depends_on_fix(ctx, later.outer, targets))


def _candidates(ctx: LintContext, order: Ordering) -> list[Node]:
    """The declarations that may clash with another, in unordered pairs. What is cheap to know
    decides first (types, the names of the file's own resources, what a declaration names), so
    that dependencies are worked out, and modules evaluated, only for the pairs that remain."""
    decls = [n for n in ctx.graph.nodes if not n.existing and (n.kind != "module" or n.module_readable)]
    types = {n.symbol: _types(n) for n in decls}
    parents = {n.symbol: _parent_types(types[n.symbol]) for n in decls}
    found: dict[str, Node] = {}
    for i, a in enumerate(decls):
        ta, pa = types[a.symbol], parents[a.symbol]
        for b in decls[i + 1:]:
            if a.symbol in found and b.symbol in found:
                continue
            tb, pb = types[b.symbol], parents[b.symbol]
            nested = not ta.isdisjoint(pb) or not tb.isdisjoint(pa)
            if not nested and not ("resource" in (a.kind, b.kind) and not ta.isdisjoint(tb)):
                continue  # two modules deploying one type: inside modules names are theirs (see _written)
            if a.kind == b.kind == "resource" and not _clash(a, b):
                continue
            if ctx.bicep is not None and (a.parent == b.symbol or b.parent == a.symbol):
                continue  # a Bicep parent is a dependency
            if _mentions(ctx, a, b) or _mentions(ctx, b, a):
                continue  # ordered: told without working out dependencies
            if not order.ordered(a.symbol, b.symbol) and not mutually_exclusive(ctx, a, b):
                found[a.symbol], found[b.symbol] = a, b
    return [n for n in decls if n.symbol in found]


def _clash(a: Node, b: Node) -> bool:
    """Whether one of two resources is the other, or a parent of it, by name."""
    ka, kb = _written(a, ()), _written(b, ())
    whole_a, whole_b = [k for k, whole in ka if whole], [k for k, whole in kb if whole]
    return any(k in {x for x, _ in kb} for k in whole_a) or any(k in {x for x, _ in ka} for k in whole_b)


def _mentions(ctx: LintContext, a: Node, b: Node) -> bool:
    """Bicep: `a`'s declaration names `b`, which the compiler makes a dependency (`b` is a module or
    a resource that is not `existing`). A cheap first look: most pairs are ordered this way, and
    working out a declaration's dependencies costs a walk of all it says."""
    if ctx.bicep is None or ctx.source is None or a.span is None:
        return False
    text, name = ctx.source.text, b.symbol
    i = text.find(name, a.span.start, a.span.end)
    while i != -1:
        before, after = text[i - 1:i], text[i + len(name):i + len(name) + 1]
        if not (before and (before.isalnum() or before in "_$.'")) and not (after and (after.isalnum() or after in "_'")):
            return True
        i = text.find(name, i + 1, a.span.end)
    return False


# Extension resources nearly every module deploys on its own resources (AVM's lock, roleAssignments
# and diagnosticSettings parameters). Inside a module they are named from its own values
# ('lock-${name}', guid(...)), which `_written` does not compare, so they need no look at all.
_MODULE_PLUMBING = frozenset({DEPLOYMENTS_TYPE.lower(), "microsoft.authorization/locks",
                              "microsoft.authorization/roleassignments", "microsoft.insights/diagnosticsettings"})


def _types(node: Node) -> frozenset[str]:
    """What a declaration deploys, by type, known without evaluating it where possible."""
    if node.kind != "module":
        return frozenset({node.type.lower()})
    declared = node.module_types or node.deploys()
    return frozenset(t.lower() for t in declared if t.lower() not in _MODULE_PLUMBING)


def _parent_types(types: frozenset[str]) -> frozenset[str]:
    """The parent types of these types, and theirs ('microsoft.storage/storageaccounts' of a container)."""
    out = set()
    for t in types:
        parts = t.split("/")
        out.update("/".join(parts[:n]) for n in range(2, len(parts)))
    return frozenset(out)


def _written(node: Node, modules: tuple[Node, ...]) -> list[tuple[tuple[Any, DomainKey], bool]]:
    """The resource a declaration writes (True) and each of its ancestors (False), keyed by the
    scopes they are deployed to and their names; where neither depends on a loop (one loop's
    iterations writing one parent are AG101's and AG102's).

    Unknown names compare equal when they are the same expression of the same values. Inside a
    module that holds only for a value passed in as it is (a parameter, `storageAccountName` or
    `parameters('name')`): an expression computed there (`guid(principalId, roleId)`) has the
    same text in every module that computes it, whatever each was given."""
    if node.type.lower() == DEPLOYMENTS_TYPE.lower():
        return []  # nested deployments: their names are AG301's
    key = self_key(node)
    if key is None or any(v == "" for v in key.identity):
        return []
    # Where it is deployed: the scopes set on the way (a module or a resource without one inherits).
    scopes = tuple(v for v in (*(_scope(m.scope) for m in modules), _scope(node.scope)) if v is not None)
    out = []
    for depth in range(1, len(key.identity) + 1):
        identity = key.identity[:depth]
        last = identity[-1]
        if any(d.startswith("loop:") for d in unknown_deps(last)):
            break
        if modules and isinstance(last, Unknown) and not _PASSED_AS_IS.fullmatch(last.text):
            break
        owner = "/".join(key.owner_type.split("/")[:depth + 1])
        out.append(((scopes, DomainKey(owner, identity, "self")), depth == len(key.identity)))
    return out


_PASSED_AS_IS = re.compile(r"[A-Za-z_]\w*|(?:parameters|variables)\('[^']*'\)")


def _scope(value: Any) -> Any:
    """A scope as a comparable value (None: the deployment's own)."""
    if isinstance(value, str):
        return value.strip().rstrip("/").lower()
    if isinstance(value, Unknown) or value is None:
        return value
    return repr(value)


def _first_per_symbol(writes: Iterable[_Write]) -> list[_Write]:
    found: dict[str, _Write] = {}
    for w in writes:
        found.setdefault(w.outer.symbol, w)
    return list(found.values())


def _via(w: _Write) -> str:
    return w.inner.type.rsplit("/", 1)[-1] if w.inner is w.outer else f"{w.inner.type} through the module"


RULE = ParentAndChildRule()
