"""AG202: `@batchSize(1)` with no comment saying why the loop is sequential."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from armguard.lint.context import LintContext, is_test_harness
from armguard.lint.findings import Finding, Level


@dataclass(frozen=True)
class UndocumentedBatchRule:
    id: str = "AG202"
    name: str = "undocumented-serial-loop"
    level: Level = "info"
    doc: str = (
        "A @batchSize(1) loop with no comment saying why it is sequential. Serialization costs time and "
        "whether a type needs it changes over time (Azure/ResourceModules#1262 removed it for subnets, "
        "Azure/bicep-registry-modules#1771 put it back), so the next reader needs the reason to keep or "
        "remove it. Fix: a comment on the line above the decorator or the declaration naming the shared "
        "resource or the error it prevents. Only Bicep files are checked (ARM JSON has no comments); the "
        "test-harness loop over ['init', 'idem'] is exempt."
    )

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        if ctx.bicep is None or ctx.source is None:
            return
        for node in ctx.graph.nodes:
            loop = node.loop
            if loop is None or loop.effective_batch_size != 1 or node.path != ctx.path or is_test_harness(node):
                continue
            decl = ctx.bicep.declarations.get(node.symbol)
            if decl is None or self.documented(ctx, decl.decl):
                continue
            yield ctx.finding(self, node, f"loop '{node.symbol}' is serial (@batchSize(1)) without a comment "
                                          f"saying why; name the shared resource or the error it prevents")

    @staticmethod
    def documented(ctx: LintContext, decl) -> bool:  # type: ignore[no-untyped-def]
        """A comment among the decorators, on the declaration line, or on the line just above."""
        source = ctx.source
        assert source is not None
        first_line, _ = source.position(decl.start)
        keyword_line, _ = source.position(decl.name_start)
        for c in ctx.bicep.program.comments:
            if decl.start <= c.start < decl.name_start or source.position(c.start)[0] == keyword_line:
                return True
            end_line, _ = source.position(max(c.start, c.end - 1))
            if end_line == first_line - 1:
                return True
        return False


RULE = UndocumentedBatchRule()
