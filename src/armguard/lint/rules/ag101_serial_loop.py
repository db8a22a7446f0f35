"""AG101: a loop whose iterations write one serial lock domain, deployed in parallel."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from armguard.lint.context import LintContext, Write, describe_iterations, serial_writes
from armguard.lint.domains import domain_keys, normalize
from armguard.lint.findings import Finding, Fix, Level
from armguard.lint.fixes import batch_size_fix
from armguard.model import Node


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
        """A serial domain that two iterations of the loop both write, if any."""
        for w in serial_writes(ctx, node):
            if node.kind == "resource" and node.instance_segments:
                keys = []
                for segs in node.instance_segments:
                    found = [k for k in domain_keys(node, w.entry, segs) if k.kind == w.key.kind]
                    keys.extend(found)
                if len(keys) == len(node.instance_segments):
                    identities = [tuple(normalize(v) for v in k.identity) for k in keys]
                    if len(set(map(repr, identities))) < len(identities):
                        return w
                    if all(not k.depends_on_loop(node.symbol) for k in keys) and _all_known(identities):
                        continue
            if not w.key.depends_on_loop(node.symbol):
                return w
        return None

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
            f"AnotherOperationInProgress/Conflict. Add @batchSize(1)"
        )
        reason = w.entry.notes or None
        owner = (w.key.owner_type.rsplit("/", 1)[-1] or "lock domain") + f" '{w.key.name()}'"
        comment = (f"Serial: parallel {_short_type(w.inner.type)} writes into one {owner} fail with "
                   f"AnotherOperationInProgress (armguard AG101).")
        fix: Fix | None = batch_size_fix(ctx, node, comment)
        return ctx.finding(self, node, message, domain=w.key, members=describe_iterations(node), reason=reason,
                           fix=fix)


def _all_known(identities: list[tuple]) -> bool:
    return all(isinstance(v, str) for ident in identities for v in ident)


def _domain_word(kind: str) -> str:
    return {"parent": "parent", "ancestor": "ancestor", "property": "referenced resource",
            "scope": "scope"}.get(kind, "lock domain")


def _short_type(rtype: str) -> str:
    return rtype.split("/", 1)[-1]


RULE = SerialLoopRule()
