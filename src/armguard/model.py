"""The deployment graph: the one intermediate representation both front ends produce.

Bicep and ARM JSON templates become a `DeploymentGraph`; lint, plan and the emulator read only this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from armguard.source import Span
from armguard.values import Unknown

DependencyOrigin = Literal["dependsOn", "reference", "parent", "scope"]
NodeKind = Literal["resource", "module"]
DEPLOYMENTS_TYPE = "Microsoft.Resources/deployments"


@dataclass(slots=True)
class Diagnostic:
    path: str
    line: int
    column: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"


@dataclass(slots=True)
class Loop:
    """A resource or module loop (Bicep `for`, ARM `copy`)."""

    name: str | None = None
    count: int | None = None
    mode: Literal["parallel", "serial"] = "parallel"
    batch_size: int | None = None
    item: str | None = None
    index: str | None = None
    items: Any = None
    filtered: bool = False

    @property
    def effective_batch_size(self) -> int | None:
        """How many iterations Resource Manager runs at once (None: all)."""
        return self.batch_size if self.mode == "serial" else None


@dataclass(slots=True)
class Dependency:
    """An edge to another declaration. `ordering` says whether Resource Manager waits for the target
    before starting this one: every Bicep dependency does (the compiler emits dependsOn), but in
    ARM JSON a child's parent or an extension's scope is structure only unless dependsOn says so."""

    target: str
    origin: DependencyOrigin
    ordering: bool = True


class _DeferredFields:
    """Fields a front end computes on first read (`defer`), for dataclasses with slots that
    declare `_deferred`: most consumers read few fields of few nodes (lint reads a name or a
    position only where a lock domain is shared)."""

    __slots__ = ()
    _deferred: dict[str, Callable[[], Any]] | None

    def defer(self, field_name: str, compute: Callable[[], Any]) -> None:
        """Compute the field `field_name` on first read rather than now."""
        delattr(self, field_name)  # an unset slot: reading it calls __getattr__
        if self._deferred is None:
            self._deferred = {}
        self._deferred[field_name] = compute

    def __getattr__(self, name: str) -> Any:
        # Called only for an attribute that is not set: a deferred field, or a misspelling.
        deferred = object.__getattribute__(self, "_deferred")
        compute = deferred.pop(name, None) if deferred else None
        if compute is None:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        value = compute()
        object.__setattr__(self, name, value)
        return value


@dataclass(slots=True)
class Node(_DeferredFields):
    """One resource or module declaration."""

    symbol: str
    kind: NodeKind
    type: str
    path: str
    span: Span | None = None
    api_version: str | None = None
    name: Any = None
    existing: bool = False
    condition: Any = None
    loop: Loop | None = None
    parent: str | None = None
    scope: Any = None
    dependencies: list[Dependency] = field(default_factory=list)
    _properties: Any = None
    properties_loader: Any = None  # evaluates `properties` on first use
    deployment: str | None = None
    module_ref: str | None = None
    _module: DeploymentGraph | None = None
    # Loads `module` on first use: a module's graph costs an evaluation most consumers never need.
    module_loader: Any = None
    # For a module loop with known items: one graph per iteration, loaded on first use.
    instance_modules_loader: Any = None
    _instance_modules: list[DeploymentGraph | None] | None = None
    # For a module: resource types it declares, known without evaluating it (registry modules: only these).
    module_types: list[str] = field(default_factory=list)
    unresolved: str | None = None
    instance_names: list[Any] | None = None
    # The full name as one value per type segment below the provider namespace: a subnet is
    # ["vnet-hub", "snet-app"]. Values may be Unknown; loop variables appear as Unknowns that
    # depend on "loop:<symbol>". `instance_segments` has them per loop iteration when known.
    name_segments: list[Any] | None = None
    instance_segments: list[list[Any]] | None = None
    _deferred: dict[str, Callable[[], Any]] | None = field(default=None, compare=False, repr=False)

    @property
    def properties(self) -> Any:
        """The evaluated body (Unknowns kept), without name, parent, scope and dependsOn."""
        if self.properties_loader is not None:
            loader, self.properties_loader = self.properties_loader, None
            self._properties = loader()
        return self._properties

    @properties.setter
    def properties(self, value: Any) -> None:
        self.properties_loader = None
        self._properties = value

    @property
    def module_readable(self) -> bool:
        """For a module: whether its graph is loaded or can be (a registry module is known by its
        types only), without loading it."""
        return self.module_loader is not None or self._module is not None

    @property
    def module(self) -> DeploymentGraph | None:
        """For a module: the graph of what it deploys (None when it cannot be resolved)."""
        if self.module_loader is not None:
            loader, self.module_loader = self.module_loader, None
            self._module = loader()
        return self._module

    @module.setter
    def module(self, graph: DeploymentGraph | None) -> None:
        self.module_loader = None
        self._module = graph

    @property
    def instance_modules(self) -> list[DeploymentGraph | None] | None:
        """For a module loop whose iterations are known: the module's graph in each iteration."""
        if self.instance_modules_loader is not None:
            loader, self.instance_modules_loader = self.instance_modules_loader, None
            self._instance_modules = loader()
        return self._instance_modules

    @property
    def conditional(self) -> bool:
        return self.condition is not None

    @property
    def line(self) -> int:
        return self.span.line if self.span else 0

    @property
    def column(self) -> int:
        return self.span.column if self.span else 0

    def depends_on(self) -> list[str]:
        """Distinct symbols Resource Manager waits for before deploying this node, in first-seen order."""
        seen: dict[str, None] = {}
        for d in self.dependencies:
            if d.ordering:
                seen.setdefault(d.target, None)
        return list(seen)

    def deploys(self) -> list[str]:
        """For a module: the resource types it deploys, recursively, sorted and distinct. Nested
        deployments themselves (Microsoft.Resources/deployments) are plumbing and not listed."""
        types = {t for t in self.module_types if t.lower() != DEPLOYMENTS_TYPE.lower()}
        if self.module is not None:
            for n in self.module.nodes:
                if n.existing:
                    continue
                if n.kind == "module":
                    types.update(n.deploys())
                elif n.type.lower() != DEPLOYMENTS_TYPE.lower():
                    types.add(n.type)
        return sorted(types)


@dataclass(slots=True)
class Instance:
    """One iteration of a node once loops are expanded."""

    node: Node
    index: int | None
    name: Any


@dataclass(slots=True)
class DeploymentGraph(_DeferredFields):
    path: str
    language: Literal["bicep", "arm"]
    target_scope: str = "resourceGroup"
    nodes: list[Node] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    errors: list[Diagnostic] = field(default_factory=list)
    # The front end's own model of the file (Bicep SemanticModel, ARM template), for tools that
    # edit source text; consumers that only analyse read nodes and edges.
    syntax: Any = None
    _deferred: dict[str, Callable[[], Any]] | None = field(default=None, compare=False, repr=False)

    def node(self, symbol: str) -> Node | None:
        for n in self.nodes:
            if n.symbol == symbol:
                return n
        return None

    def edges(self) -> list[tuple[str, str, DependencyOrigin]]:
        return [(n.symbol, d.target, d.origin) for n in self.nodes for d in n.dependencies]

    def instances(self) -> list[Instance]:
        """Every node expanded into its iterations where the loop count is known.

        A loop whose count is unknown stays one Instance with index None.
        """
        out: list[Instance] = []
        for n in self.nodes:
            if n.loop is None:
                out.append(Instance(n, None, n.name))
            elif n.loop.count is None:
                out.append(Instance(n, None, Unknown(f"{n.symbol}[*]", {f"loop:{n.symbol}"})))
            else:
                names = n.instance_names
                for i in range(n.loop.count):
                    name = names[i] if names is not None and i < len(names) else Unknown(
                        f"{n.symbol}[{i}].name", {f"loop:{n.symbol}"})
                    out.append(Instance(n, i, name))
        return out


def inspect_json(graph: DeploymentGraph) -> dict[str, Any]:
    """The `armguard inspect --format json` shape, the same for both languages."""
    resources = []
    for n in graph.nodes:
        resources.append({
            "symbol": n.symbol,
            "kind": n.kind,
            "type": n.type,
            "apiVersion": n.api_version,
            "deploys": n.deploys() if n.kind == "module" else [],
            "line": n.line,
            "column": n.column,
            "loop": None if n.loop is None else {
                "batchSize": n.loop.effective_batch_size,
                "count": n.loop.count,
                "mode": n.loop.mode,
            },
            "existing": n.existing,
            "conditional": n.conditional,
            "parent": n.parent,
            "dependsOn": n.depends_on(),
            "module": n.module_ref,
            "unresolved": n.unresolved,
        })
    return {
        "file": graph.path,
        "language": graph.language,
        "targetScope": graph.target_scope,
        "resources": resources,
        "errors": [{"line": e.line, "column": e.column, "message": e.message, "path": e.path}
                   for e in graph.errors],
    }
