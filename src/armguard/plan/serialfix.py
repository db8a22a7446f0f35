"""The usual fix, as lint proposes it: `@batchSize(1)` on every loop AG101 flags and a dependsOn
chain on the siblings AG102 flags, in every template of the deployment (modules included).

The rules run on the graphs the planner expanded (so with the deployment's parameters, and per
module iteration where those are known); a finding anywhere in a module file applies to every use
of it, as editing the file would.
"""

from __future__ import annotations

import os

from armguard.catalog import Catalog
from armguard.errors import ArmguardError
from armguard.lint.context import LintContext
from armguard.model import DeploymentGraph
from armguard.plan.dag import Overrides, UnitKey
from armguard.plan.expand import Expansion, file_key
from armguard.source import SourceFile


def source_of(graph: DeploymentGraph, cache: dict[str, SourceFile | None] | None = None) -> SourceFile | None:
    """The text of a graph's file (None when it cannot be read); `cache` shares reads within one plan."""
    key = os.path.abspath(graph.path)
    if cache is not None and key in cache:
        return cache[key]
    try:
        src: SourceFile | None = SourceFile.read(graph.path)
    except (ArmguardError, OSError):
        src = None
    if cache is not None:
        cache[key] = src
    return src


def lint_context(graph: DeploymentGraph, catalog: Catalog,
                 cache: dict[str, SourceFile | None] | None = None) -> LintContext:
    return LintContext(graph, catalog, source_of(graph, cache))


def all_serial_overrides(ex: Expansion, catalog: Catalog) -> tuple[Overrides, list[str]]:
    """Overrides for the lint fixes, and a line per fixed declaration."""
    from armguard.lint.rules.ag101_serial_loop import RULE as AG101
    from armguard.lint.rules.ag102_unordered_writers import RULE as AG102

    ov = Overrides()
    described: dict[str, None] = {}
    seen: set[int] = set()
    deps_of: dict[str, dict[str, set[str]]] = {}
    sources: dict[str, SourceFile | None] = {}
    for sc in ex.scopes:
        graph = sc.graph
        if id(graph) in seen:
            continue
        seen.add(id(graph))
        ctx = lint_context(graph, catalog, sources)
        fkey = file_key(graph.path)
        for f in AG101.check(ctx):
            if f.symbol:
                ov.batch[(fkey, f.symbol)] = 1
                described.setdefault(f"AG101 {graph.path}: @batchSize(1) on '{f.symbol}'", None)
        findings = sorted((f for f in AG102.check(ctx) if f.symbol), key=lambda f: f.sort_key())
        if not findings:
            continue
        graph_deps = deps_of.setdefault(fkey, {n.symbol: set(n.depends_on()) for n in graph.nodes})
        for f in findings:
            later = f.symbol
            assert later is not None
            before = f.members[:f.members.index(later)] if later in f.members else []
            for target in reversed(before):
                if _ordered(graph_deps, target, later):
                    continue
                graph_deps.setdefault(later, set()).add(target)
                key: UnitKey = (fkey, later)
                if target not in ov.deps.setdefault(key, []):
                    ov.deps[key].append(target)
                described.setdefault(f"AG102 {graph.path}: '{later}' dependsOn '{target}'", None)
    return ov, list(described)


def _reach(deps: dict[str, set[str]], symbol: str) -> set[str]:
    seen: set[str] = set()
    stack = list(deps.get(symbol, ()))
    while stack:
        s = stack.pop()
        if s in seen:
            continue
        seen.add(s)
        stack.extend(deps.get(s, ()))
    return seen


def _ordered(deps: dict[str, set[str]], a: str, b: str) -> bool:
    return a in _reach(deps, b) or b in _reach(deps, a)
