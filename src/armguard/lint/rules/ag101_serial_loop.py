"""AG101: a loop whose iterations write one serial lock domain, deployed in parallel."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from armguard.lint.context import LintContext, Write, describe_iterations, serial_writes
from armguard.lint.domains import DomainKey, domain_keys
from armguard.lint.findings import Finding, Fix, Level
from armguard.lint.fixes import batch_size_fix
from armguard.model import DeploymentGraph, Node


@dataclass(frozen=True)
class SerialLoopRule:
    id: str = "AG101"
    name: str = "serial-lock-domain-loop"
    level: Level = "warning"
    doc: str = (
        "A resource or module loop whose iterations all write one shared control plane (one virtual "
        "hub's BGP state, one private DNS zone, one VNet's subnets or peerings, one VPN gateway, one "
        "firewall policy) runs in parallel: Bicep and ARM deploy loops in parallel unless told "
        "otherwise, and Resource Manager rejects all but one concurrent write with "
        "AnotherOperationInProgress or Conflict, so the deployment fails at random. A loop is flagged "
        "only when the lock domain does not depend on the loop variable; a loop whose iterations each "
        "target a different parent (links over many zones) is fine. Module loops are judged by what "
        "the module deploys. Fix: add @batchSize(1) (ARM JSON: \"copy\": {\"mode\": \"serial\", "
        "\"batchSize\": 1}), or split the loop per domain. Suppress only when the resource provider is "
        "known to queue these writes for your API version."
    )

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for node in ctx.graph.nodes:
            loop = node.loop
            if loop is None or node.existing or loop.effective_batch_size == 1:
                continue
            if loop.count is not None and loop.count < 2:
                continue
            shared = self.shared_write(ctx, node)
            if shared is None:
                continue
            yield self.finding(ctx, node, shared)

    def shared_write(self, ctx: LintContext, node: Node) -> Write | None:
        """A serial domain that two iterations of the loop both write, if any.

        Where each iteration's domain is known (literal items), iterations collide exactly when two
        of them name the same domain. Otherwise the loop collides when the domain does not depend on
        the loop variable.
        """
        for w in serial_writes(ctx, node):
            verdict = self._per_iteration(ctx, node, w)
            if verdict is False:
                continue
            if isinstance(verdict, DomainKey):
                return Write(w.node, w.inner, w.entry, verdict)
            if not w.key.depends_on_loop(node.symbol):
                return w
        return None

    def _per_iteration(self, ctx: LintContext, node: Node, w: Write) -> DomainKey | bool | None:
        """The colliding key, False when every iteration's domain is known and distinct, None when
        the iterations' domains are not all known."""
        keys = self._iteration_keys(ctx, node, w)
        if keys is None:
            return None
        seen: dict[str, DomainKey] = {}
        complete = True
        for k in keys:
            if k is None or not _known(k):
                complete = False
                continue
            text = repr(k.identity)
            if text in seen:
                return k
            seen[text] = k
        return False if complete else None

    @staticmethod
    def _iteration_keys(ctx: LintContext, node: Node, w: Write) -> list[DomainKey | None] | None:
        if node.kind == "resource":
            if w.key.kind not in ("parent", "ancestor") or not node.instance_segments:
                return None  # property and scope domains are only known for the loop as a whole
            return [next((k for k in domain_keys(node, w.entry, segs) if k.kind == w.key.kind), None)
                    for segs in node.instance_segments]
        graphs = node.instance_modules
        if not graphs:
            return None
        keys: list[DomainKey | None] = []
        for graph in graphs:
            inner = _find(graph, w.inner.symbol) if graph is not None else None
            if inner is None:
                return None
            keys.append(next((k for k in domain_keys(inner, w.entry) if k.kind == w.key.kind), None))
        return keys

    def finding(self, ctx: LintContext, node: Node, w: Write) -> Finding:
        loop = node.loop
        assert loop is not None
        count = f"{loop.count} " if loop.count is not None else ""
        how = "in parallel" if loop.effective_batch_size is None else f"{loop.effective_batch_size} at a time"
        via = "" if w.inner is node else f" through module resource '{w.inner.symbol}'"
        domain = w.key.describe()
        message = (
            f"loop '{node.symbol}' writes {count}{_short_type(w.inner.type)} {how}{via}, all into one "
            f"{_domain_word(w.key.kind)} {domain}; Resource Manager rejects concurrent writes there with "
            f"AnotherOperationInProgress/Conflict. {_remedy(ctx)}"
        )
        reason = w.entry.notes or None
        owner = (w.key.owner_type.rsplit("/", 1)[-1] or "lock domain") + f" '{w.key.name()}'"
        comment = (f"Serial: parallel {_short_type(w.inner.type)} writes into one {owner} fail with "
                   f"AnotherOperationInProgress (armguard AG101).")
        fix: Fix | None = batch_size_fix(ctx, node, comment)
        return ctx.finding(self, node, message, domain=w.key, members=describe_iterations(node), reason=reason,
                           fix=fix)


def _remedy(ctx: LintContext) -> str:
    if ctx.language == "bicep":
        return "Add @batchSize(1)"
    return 'Set "copy": {"mode": "serial", "batchSize": 1}'


def _known(key: DomainKey) -> bool:
    return all(isinstance(v, str) for v in key.identity)


def _find(graph: DeploymentGraph, symbol: str) -> Node | None:
    """A node by symbol in a module graph or the modules nested in it."""
    for n in graph.nodes:
        if n.symbol == symbol:
            return n
    for n in graph.nodes:
        if n.kind == "module" and n.module is not None:
            found = _find(n.module, symbol)
            if found is not None:
                return found
    return None


def _domain_word(kind: str) -> str:
    return {"parent": "parent", "ancestor": "ancestor", "property": "referenced resource",
            "scope": "scope"}.get(kind, "lock domain")


def _short_type(rtype: str) -> str:
    return rtype.split("/", 1)[-1]


RULE = SerialLoopRule()
