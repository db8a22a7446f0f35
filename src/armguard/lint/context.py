"""What a rule sees when it checks one file: the graph, the catalog, the source text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from armguard.catalog import Catalog, Entry
from armguard.lint.domains import DomainKey, domain_keys
from armguard.lint.findings import Finding, Fix, Level
from armguard.model import DeploymentGraph, Node
from armguard.source import SourceFile


@dataclass
class LintContext:
    graph: DeploymentGraph
    catalog: Catalog
    source: SourceFile | None
    levels: dict[str, str] = field(default_factory=dict)
    nested: bool = False  # the graph of a nested deployment inside the file (its parameters are its call site's)

    @property
    def path(self) -> str:
        return self.graph.path

    @property
    def language(self) -> str:
        return self.graph.language

    @property
    def bicep(self) -> Any:
        """The Bicep semantic model, or None for ARM JSON."""
        return self.graph.syntax if self.graph.language == "bicep" else None

    def entry(self, rtype: str) -> Entry:
        entries = _ENTRIES.get(id(self.catalog))
        if entries is None or entries[0] is not self.catalog:
            entries = _ENTRIES[id(self.catalog)] = (self.catalog, {})
        found = entries[1].get(rtype)
        if found is None:
            found = entries[1][rtype] = self.catalog.get(rtype)
        return found

    def finding(self, rule: Any, node: Node, message: str, *, domain: DomainKey | None = None,
                members: list[str] | None = None, reason: str | None = None, fix: Fix | None = None,
                level: Level | None = None) -> Finding:
        return Finding(
            rule=rule.id, level=level or rule.level, path=node.path or self.path, line=node.line,
            column=node.column, message=message, domain=domain.describe() if domain else None,
            members=members or [], reason=reason, fix=fix, symbol=node.symbol,
        )


# Catalog entries by type, per catalog: every file asks about the same few types, and an unknown
# type costs a new default entry each time. Entries are immutable.
_ENTRIES: dict[int, tuple[Catalog, dict[str, Entry]]] = {}


@dataclass(frozen=True, slots=True)
class Write:
    """A serial-domain write that a declaration makes, directly or through the module it deploys."""

    node: Node  # the declaration in the linted file
    inner: Node  # the resource that makes the write (== node unless inside a module)
    entry: Entry
    key: DomainKey


def serial_writes(ctx: LintContext, node: Node) -> Iterator[Write]:
    """Every write into a serial lock domain that deploying `node` makes."""
    for inner, _ in deployed_resources(ctx, node, lambda t: ctx.entry(t).serial == "serial"):
        entry = ctx.entry(inner.type)
        for key in domain_keys(inner, entry):
            yield Write(node, inner, entry, key)


def deployed_resources(ctx: LintContext, node: Node, wanted: Callable[[str], bool] | None = None,
                       modules: tuple[Node, ...] = ()) -> Iterator[tuple[Node, tuple[Node, ...]]]:
    """The resource declarations that deploying `node` writes (itself, or through the module it
    deploys, recursively), each with the module declarations it is reached through, of the types
    `wanted` accepts (None: all). A module none of whose declared types is wanted is not
    evaluated; a condition is evaluated only for a wanted type."""
    depth = len(modules)
    if node.existing or depth > 16:
        return
    if node.loop is not None and node.loop.count == 0 and (depth > 0 or ctx.nested):
        return  # a loop over nothing, where the call site says so (the file's own are over its defaults)
    if node.kind == "module":
        if wanted is not None and node.module_types and not any(wanted(t) for t in node.module_types):
            return
        if node.condition is not False and node.module is not None:
            for inner in node.module.nodes:
                yield from deployed_resources(ctx, inner, wanted, (*modules, node))
        return
    if (wanted is None or wanted(node.type)) and node.condition is not False:
        yield node, modules


def deployed_types(node: Node) -> list[str]:
    return node.deploys() if node.kind == "module" else [node.type]


def describe_iterations(node: Node) -> list[str]:
    """Readable names of a loop's iterations, when known."""
    names = node.instance_names
    if names:
        return [n if isinstance(n, str) else f"{node.symbol}[{i}]" for i, n in enumerate(names)]
    if node.loop is not None and node.loop.count is not None:
        return [f"{node.symbol}[{i}]" for i in range(node.loop.count)]
    return [f"{node.symbol}[*]"]


TEST_HARNESS_ITEMS = {"init", "idem"}


def is_test_harness(node: Node) -> bool:
    """The AVM test-harness loop `for iteration in ['init', 'idem']`: serial on purpose, to deploy
    twice and check idempotency."""
    items = node.loop.items if node.loop is not None else None
    return isinstance(items, list) and len(items) > 0 and all(
        isinstance(i, str) and i.lower() in TEST_HARNESS_ITEMS for i in items)
