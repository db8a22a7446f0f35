"""AG301: a module loop whose deployment names are not unique per iteration or per parent deployment."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from armguard.bicep import syntax as s
from armguard.lint.context import LintContext
from armguard.lint.findings import Finding, Fix, Level, TextEdit
from armguard.model import Node
from armguard.values import Unknown, unknown_deps


@dataclass(frozen=True)
class ModuleNameRule:
    id: str = "AG301"
    name: str = "module-deployment-name"
    level: Level = "warning"
    doc: str = (
        "Every module call is a nested deployment with a name. In a loop, a name that does not change "
        "with the iteration makes the iterations replace each other's deployment (DeploymentActive while "
        "one still runs), and a name that does not depend on the parent deployment collides when the "
        "template is deployed twice at once into one scope (two pipelines, two environments), "
        "overwriting deployment history. Fix: include the loop index and "
        "uniqueString(deployment().name) in the name, or omit `name` and let Bicep generate a unique "
        "one. Suppress when deployments of this template into one scope are serialized by other means."
    )

    def check(self, ctx: LintContext) -> Iterable[Finding]:
        for node in ctx.graph.nodes:
            if node.kind != "module" or node.loop is None or node.name is None:
                continue
            per_iteration = self.unique_per_iteration(node)
            per_parent = "runtime:deployment" in unknown_deps(node.name)
            if per_iteration and per_parent:
                continue
            missing = []
            if not per_iteration:
                missing.append("unique per iteration (it does not use the loop item or index)")
            if not per_parent:
                missing.append("unique per parent deployment (it does not use deployment().name)")
            level: Level = "error" if not per_iteration else "info"
            message = f"module loop '{node.symbol}': the deployment name is not " + " and not ".join(missing)
            yield ctx.finding(self, node, message, level=level, fix=self.fix(ctx, node, per_iteration, per_parent))

    @staticmethod
    def unique_per_iteration(node: Node) -> bool:
        names = node.instance_names
        if names:
            comparable = [_comparable(n) for n in names]
            known = [c for c in comparable if c is not None]
            if len(set(known)) < len(known):
                return False
            if len(known) == len(names):
                return True
        name = node.name
        return isinstance(name, Unknown) and f"loop:{node.symbol}" in name.deps

    def fix(self, ctx: LintContext, node: Node, per_iteration: bool, per_parent: bool) -> Fix | None:
        model = ctx.bicep
        if model is None or ctx.source is None or node.path != ctx.path:
            return None
        decl = model.declarations.get(node.symbol)
        if decl is None or decl.body is None or decl.loop is None:
            return None
        name_expr = decl.body.get("name")
        if name_expr is None:
            return None
        text = ctx.source.text
        loop = decl.loop
        edits: list[TextEdit] = []
        index = loop.index
        if not per_iteration and index is None:
            item = loop.item or "item"
            index = next(n for n in ("i", "index", "idx", "iteration", "n")
                         if n != item and model.symbol_kind(n) is None)
            m = re.compile(r"\bfor\s+(" + re.escape(item) + r")\b").search(text, loop.start, loop.iterable.start)
            if m is None:
                return None
            edits.append(TextEdit(m.start(1), m.end(1), f"({item}, {index})"))
        old = _interpolation_body(text, name_expr)
        pieces = []
        if not per_parent:
            pieces.append("${uniqueString(deployment().name)}")
        pieces.append(old)
        if not per_iteration:
            pieces.append(f"${{{index}}}")
        edits.append(TextEdit(name_expr.start, name_expr.end, "'" + "-".join(pieces) + "'"))
        return Fix("make the deployment name unique per iteration and per parent deployment", edits)


def _comparable(name: object) -> object:
    """A key under which two iterations' names are equal exactly when they are the same name;
    None when that cannot be told offline."""
    if isinstance(name, str):
        return name.lower()
    if isinstance(name, Unknown) and not any(d.startswith(("loop:", "error", "unsupported")) for d in name.deps):
        return (name.text.lower(), name.deps)
    return None


def _interpolation_body(text: str, expr: s.Node) -> str:
    """The name expression as a piece of an interpolated string."""
    if isinstance(expr, s.StringLiteral) and not expr.multiline:
        return text[expr.start + 1:expr.end - 1]
    return "${" + text[expr.start:expr.end] + "}"


RULE = ModuleNameRule()
