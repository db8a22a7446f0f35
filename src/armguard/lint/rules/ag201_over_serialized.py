"""AG201: a serial loop that needs no serialization, with what it costs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from armguard.lint.context import LintContext, deployed_types, is_test_harness
from armguard.lint.findings import Finding, Level
from armguard.lint.rules.ag101_serial_loop import RULE as SERIAL_LOOP
from armguard.model import Node


@dataclass(frozen=True)
class OverSerializedRule:
    id: str = "AG201"
    name: str = "over-serialized-loop"
    level: Level = "info"
    doc: str = (
        "A loop with @batchSize(1) whose iterations share no lock domain: the deployed types are "
        "'safe' in the catalog (storage accounts, virtual machines, NSGs, app services), or every "
        "iteration writes a different parent (links over many zones). Serial mode makes the loop take "
        "count x duration instead of one duration, for nothing. Fix: remove @batchSize(1), or raise it. "
        "Never reported for the test-harness loop over ['init', 'idem'], nor for batch sizes above 1, "
        "which are usually deliberate throttling. Suppress when the serialization has another reason "
        "(API throttling, an ordering the template relies on) and say so in a comment."
    )

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for node in ctx.graph.nodes:
            loop = node.loop
            if loop is None or loop.effective_batch_size != 1 or node.existing:
                continue
            if is_test_harness(node):
                continue
            verdict = self.verdict(ctx, node)
            if verdict is None:
                continue
            yield ctx.finding(self, node, self.message(ctx, node, verdict))

    def verdict(self, ctx: LintContext, node: Node) -> str | None:
        if node.kind == "module" and node.module is None and not node.module_types:
            return None
        types = [t for t in deployed_types(node) if t != "Microsoft.Resources/deployments"]
        if not types:
            return None
        serials = [ctx.entry(t).serial for t in types]
        if all(s == "safe" for s in serials):
            return "safe"
        if "unknown" in serials or (node.kind == "module" and node.module is None):
            return None
        if SERIAL_LOOP.shared_write(ctx, node) is None:
            return "distinct"
        return None

    def message(self, ctx: LintContext, node: Node, verdict: str) -> str:
        loop = node.loop
        assert loop is not None
        types = [t for t in deployed_types(node) if t != "Microsoft.Resources/deployments"]
        why = ("deploys only types whose siblings do not conflict (" + ", ".join(sorted(set(types))) + ")"
               if verdict == "safe" else "writes a different lock domain in every iteration")
        cost = ""
        durations = [ctx.entry(t).typical_seconds for t in types]
        if loop.count is not None and all(d is not None for d in durations):
            one = max(durations)  # type: ignore[type-var]
            cost = (f"; serial takes about {loop.count} x {_fmt(one)} = {_fmt(one * loop.count)} instead of "
                    f"{_fmt(one)}")
        serial = "@batchSize(1)" if ctx.language == "bicep" else '"mode": "serial", "batchSize": 1'
        return f"loop '{node.symbol}' is serial ({serial}) but {why}{cost}"


def _fmt(seconds: float) -> str:
    if seconds >= 120:
        minutes = seconds / 60
        return f"{minutes:.0f} min" if minutes == int(minutes) else f"{minutes:.1f} min"
    return f"{seconds:.0f} s"


RULE = OverSerializedRule()
