"""ARM template -> DeploymentGraph: resources, copy loops, conditions, dependencies, nested deployments.

Evaluation follows Resource Manager: expressions see the template's parameters and variables;
a resource loop's per-iteration values use an unknown copy index (its names are also evaluated
for every iteration when the count is known); nested templates with
`expressionEvaluationOptions.scope` "inner" get their own parameters from the deployment's
`parameters`, "outer" ones (the default) see the enclosing template's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from armguard.arm.evaluator import EvalContext, EvaluationError, evaluate, evaluate_expr
from armguard.arm.expressions import Call, ExpressionError, parse_template_string
from armguard.arm.graph_modules import DeploymentModules, deps_of, text_of
from armguard.arm.graph_refs import (
    ResourceIndex,
    flatten,
    has_unknown,
    name_segments,
    readable_name,
    resource_key,
    runtime_targets,
    string_parts,
)
from armguard.arm.parameters import resolve_parameters, undeclared
from armguard.arm.template import (
    JsonPath,
    ResourceDecl,
    Template,
    field_value,
    format_path,
    get_field,
    json_kind,
)
from armguard.errors import ArmguardError
from armguard.model import Dependency, DeploymentGraph, Diagnostic, Loop, Node
from armguard.values import Unknown, is_known

MAX_COPY_COUNT = 800  # Resource Manager's limit on copy loops (and on resources per template)
MAX_DERIVED_SYMBOL = 40  # longer names derived from a name expression read worse than the type
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]+")

# (relativePath as written, file of the template that links it) -> the linked template.
LinkLoader = Callable[[str, str], Template]

_SCOPE_FIELDS = ("scope", "subscriptionId", "resourceGroup")
_NOT_SCANNED_FOR_REFERENCES = frozenset({"dependson", "copy", "type", "apiversion", "comments", "metadata",
                                         "resources"})


@dataclass(frozen=True)
class _Options:
    strict: bool
    link_loader: LinkLoader | None
    linked_files: tuple[str, ...]
    depth: int


def build_graph(template: Template, supplied: Mapping[str, Any] | None = None, *, strict: bool = False,
                link_loader: LinkLoader | None = None, supplied_from: str | None = None,
                context: Mapping[str, Any] | None = None, called: bool = False) -> DeploymentGraph:
    """The deployment graph of a template given parameter values (missing ones become Unknown).

    `strict` makes a required parameter without a value an error (a deployment needs them all);
    `link_loader` loads `templateLink.relativePath` templates; `supplied_from` names the file the
    values come from, for messages; `context` gives EvalContext scope values (`resource_group`,
    `subscription`, `deployment`, ...) where the deployment goes, when known. `called`: the
    template is a module and `supplied` is its call site's, all it gets.
    """
    options = _Options(strict, link_loader, (template.path,), 0)
    builder = _Builder(template, options, deployment=None, lenient=False, called=called)
    return builder.build(supplied or {}, None, supplied_from=supplied_from, context=offline_context(context))


def offline_context(given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Scope values for EvalContext: the given ones, else placeholders, but an unknown location.

    The evaluator's placeholder location would pick one branch of location-dependent logic as if
    the region were known; offline it is not.
    """
    out = dict(given or {})
    if "resource_group" not in out:
        group = dict(EvalContext().resource_group)
        group["location"] = Unknown("resourceGroup().location", {"runtime:resourceGroup().location"})
        out["resource_group"] = group
    if "deployment" not in out:
        # The deployment's name is chosen by whoever deploys: names derived from it are unique per
        # parent deployment, which a placeholder would hide.
        deployment = dict(EvalContext().deployment)
        deployment["name"] = Unknown("deployment().name", {"runtime:deployment"})
        # Present when the template is deployed from a URI (linked templates build relative links
        # on deployment().properties.templateLink.uri); offline, whether it is is not known.
        deployment["properties"] = {**deployment["properties"], "templateLink": Unknown(
            "deployment().properties.templateLink", {"runtime:deployment"})}
        out["deployment"] = deployment
    return out


@dataclass
class _Resource:
    """A declaration with what was worked out for it while building its node."""

    decl: ResourceDecl
    node: Node
    item_ctx: EvalContext
    name_key: str


class _Builder(DeploymentModules):
    """Builds the graph of one template (the file's, a nested one or a linked one)."""

    def __init__(self, template: Template, options: _Options, *, deployment: str | None, lenient: bool,
                 called: bool = False):
        self.t = template
        self.options = options
        self.deployment = deployment
        self.called = called or deployment is not None  # parameters come from a call site, all of them
        self.lenient = lenient
        self.graph = DeploymentGraph(path=template.path, language="arm", target_scope=template.target_scope)
        self.ctx = EvalContext()  # replaced in build()

    # -- entry ------------------------------------------------------------------------------

    def build(self, supplied: Mapping[str, Any], outer: EvalContext | None, *, supplied_from: str | None = None,
              context: dict[str, Any] | None = None) -> DeploymentGraph:
        """`outer`: the enclosing context for an outer-scope nested template; `context`: scope values."""
        if outer is not None:
            self.ctx = outer
        else:
            self.ctx = self._context(supplied, supplied_from, context or {})
        resources = [self._resource(decl, symbol) for decl, symbol in zip(self.t.resources, self._symbols(),
                                                                           strict=True)]
        index = ResourceIndex()
        for r in resources:
            node = r.node
            instances = tuple(resource_key(node.type, name.lower()) for name in node.instance_names or ()
                              if isinstance(name, str))
            index.add(node.symbol, resource_key(node.type, r.name_key), node.loop.name if node.loop else None,
                      instances)
        for r in resources:
            self._dependencies(r, index, resources)
        self.graph.nodes = [r.node for r in resources]
        self._check_cycles(resources)
        self.graph.outputs = self._outputs()
        self.graph.syntax = self.t
        return self.graph

    def _context(self, supplied: Mapping[str, Any], supplied_from: str | None,
                 context: dict[str, Any]) -> EvalContext:
        t = self.t
        section_key = get_field(t.data, "parameters")[0] or "parameters"
        section = (*t.base, section_key)
        extra = undeclared(t.parameters, supplied)
        if extra:
            message = f"parameter{'s' if len(extra) > 1 else ''} not declared by the template: {', '.join(extra)}"
            if self.options.strict and not self.lenient:
                raise ArmguardError(message, path=supplied_from or t.path)
            self.graph.errors.append(self._diagnostic(message, section, "warning"))

        def evaluate_default(name: str, raw: Any) -> Any:
            return self._eval(raw, self.ctx, (*section, name, "defaultValue"), self.lenient)

        values = resolve_parameters(t.parameters, t.definitions, supplied, evaluate_default,
                                    strict=self.options.strict and not self.lenient, fail=self._fail,
                                    section=section, complete=self.called)
        self.ctx = EvalContext(parameters=values, variables=t.variables, functions=t.functions,
                               scope=t.target_scope, **context)
        try:
            self.graph.parameters = values.resolve_all()
        except ArmguardError as e:
            raise self._located(e, section) from None
        return self.ctx

    # -- symbols ----------------------------------------------------------------------------

    def _symbols(self) -> list[str]:
        if self.t.symbolic:
            return [decl.symbol or "" for decl in self.t.resources]
        taken: dict[str, int] = {}
        symbols: list[str] = []
        by_decl: dict[int, str] = {}
        for decl in self.t.resources:
            base = self._classic_symbol(decl, by_decl)
            count = taken.get(base.lower(), 0) + 1
            taken[base.lower()] = count
            symbol = base if count == 1 else f"{base}_{count}"
            by_decl[id(decl)] = symbol
            symbols.append(symbol)
        return symbols

    @staticmethod
    def _classic_symbol(decl: ResourceDecl, by_decl: dict[int, str]) -> str:
        copy = decl.get("copy")
        if isinstance(copy, dict) and isinstance(field_value(copy, "name"), str):
            return field_value(copy, "name")
        try:
            readable = readable_name(parse_template_string(decl.get("name")))
        except ArmguardError:
            readable = None
        symbol = _NOT_IDENTIFIER.sub("_", readable or "").strip("_")
        if not symbol or len(symbol) > MAX_DERIVED_SYMBOL:
            symbol = decl.type.rsplit("/", 1)[-1]
        if decl.parent is not None:
            symbol = f"{by_decl.get(id(decl.parent), '?')}_{symbol}"
        return symbol

    # -- one resource -----------------------------------------------------------------------

    def _resource(self, decl: ResourceDecl, symbol: str) -> _Resource:
        lenient = self.lenient
        loop = self._loop(decl, lenient)
        item_ctx = self.ctx
        if loop is not None:
            unknown_index = Unknown(f"copyIndex('{loop.name}')", {f"loop:{symbol}"})
            item_ctx = item_ctx.with_copy_index(None, unknown_index).with_copy_index(loop.name, unknown_index)
        condition = self._condition(decl, item_ctx, lenient)
        # Resource Manager evaluates a resource only when it deploys: errors in one that may not
        # (condition not known true, or no iterations) or never does (`existing`: read only when
        # referenced) only make its values unknown.
        lenient = lenient or (condition is not None and condition is not True) or (loop is not None
                                                                                  and loop.count == 0) \
            or decl.get("existing") is True
        name = self._name(decl, item_ctx, lenient)
        node = Node(
            symbol=symbol,
            kind="module" if decl.is_deployment else "resource",
            type=decl.type,
            path=self.t.path,
            span=self.t.span(decl.path) or self._near_span(decl.path),
            api_version=decl.get("apiVersion"),
            name=name,
            existing=decl.get("existing") is True,
            condition=condition,
            loop=loop,
            scope=self._scope(decl, item_ctx, lenient),
            _properties=self._properties(decl, item_ctx, lenient),
            deployment=self.deployment,
        )
        if loop is not None and loop.count is not None:
            node.instance_names = [self._name(decl, self._iteration(loop.name, i), lenient)
                                   for i in range(loop.count)]
        if decl.is_deployment:
            self._module(decl, node, item_ctx, lenient)
        if node.kind == "resource":
            node.name_segments = self._segments(decl, item_ctx)
            if node.instance_names is not None:
                node.instance_segments = [self._segments(decl, self._iteration(loop.name, i))  # type: ignore[union-attr]
                                          for i in range(len(node.instance_names))]
        return _Resource(decl, node, item_ctx, flatten(self._name_parts(decl, item_ctx)))

    def _iteration(self, loop_name: str | None, i: int) -> EvalContext:
        return self.ctx.with_copy_index(None, i).with_copy_index(loop_name, i)

    def _loop(self, decl: ResourceDecl, lenient: bool) -> Loop | None:
        copy_key, copy = get_field(decl.data, "copy")
        if copy_key is None:
            return None
        path = (*decl.path, copy_key)
        name = field_value(copy, "name")
        count_key, raw_count = get_field(copy, "count")
        count = self._eval(raw_count, self.ctx, (*path, count_key), lenient)
        if isinstance(count, Unknown):
            count = None
        elif isinstance(count, bool) or not isinstance(count, int):
            raise self.t.error(f"copy count must be an int, got {json_kind(count)}", (*path, count_key))
        elif not 0 <= count <= MAX_COPY_COUNT:
            raise self.t.error(f"copy count is {count}; it must be between 0 and {MAX_COPY_COUNT}",
                               (*path, count_key))
        mode = str(field_value(copy, "mode", "parallel")).lower()
        batch: Any = None
        if mode == "serial":
            batch_key, raw_batch = get_field(copy, "batchSize")
            batch = 1 if batch_key is None else self._eval(raw_batch, self.ctx, (*path, batch_key), lenient)
            if isinstance(batch, Unknown):
                batch = None
            elif isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
                raise self.t.error(f"copy batchSize must be a positive int, got {batch!r}", (*path, batch_key))
        return Loop(name=name, count=count, mode="serial" if mode == "serial" else "parallel", batch_size=batch,
                    items=self._loop_items(raw_count))

    def _loop_items(self, raw_count: Any) -> list[Any] | None:
        """The items a copy loop iterates when its count is `length(<known array>)`, as Bicep
        compiles `for x in [...]`."""
        if not isinstance(raw_count, str):
            return None
        try:
            expr = parse_template_string(raw_count)
        except ExpressionError:
            return None
        if not (isinstance(expr, Call) and expr.name.lower() == "length" and len(expr.args) == 1):
            return None
        try:
            items = evaluate_expr(expr.args[0], self.ctx)
        except (EvaluationError, ArmguardError):
            return None
        return items if isinstance(items, list) and is_known(items) else None

    def _condition(self, decl: ResourceDecl, ctx: EvalContext, lenient: bool) -> Any:
        key, raw = get_field(decl.data, "condition")
        if key is None:
            return None
        value = self._eval(raw, ctx, decl.key_path("condition"), lenient)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool | Unknown):
            raise self.t.error(f"condition must be a bool, got {json_kind(value)}", decl.key_path("condition"))
        return value

    def _name(self, decl: ResourceDecl, ctx: EvalContext, lenient: bool) -> Any:
        own = self._eval(decl.get("name"), ctx, decl.key_path("name"), lenient)
        if decl.parent is None:
            return own
        parent = self._name(decl.parent, ctx, lenient)
        if isinstance(parent, str) and isinstance(own, str):
            return f"{parent}/{own}"
        return Unknown(f"{text_of(parent)}/{text_of(own)}", deps_of(parent) | deps_of(own))

    @staticmethod
    def _name_parts(decl: ResourceDecl, ctx: EvalContext) -> list[Any]:
        """The full name (parents' names first for nested children) as known text and Unknown parts."""
        parts: list[Any] = []
        chain: ResourceDecl | None = decl
        while chain is not None:
            try:
                parsed = parse_template_string(chain.get("name"))
            except ArmguardError:
                parsed = chain.get("name")
            parts = [*string_parts(parsed, ctx), "/", *parts]
            chain = chain.parent
        return parts

    def _segments(self, decl: ResourceDecl, ctx: EvalContext) -> list[Any]:
        """One name value per type segment below the namespace (the IR's `name_segments`)."""
        segments = name_segments(self._name_parts(decl, ctx))
        depth = decl.type.count("/")
        if len(segments) == 1 and depth > 1 and isinstance(segments[0], Unknown):
            whole = segments[0]
            return [Unknown(f"split({whole.text}, '/')[{i}]", whole.deps) for i in range(depth)]
        return segments

    def _scope(self, decl: ResourceDecl, ctx: EvalContext, lenient: bool) -> dict[str, Any] | None:
        fields = [*_SCOPE_FIELDS, "location"] if decl.is_deployment else _SCOPE_FIELDS
        scope: dict[str, Any] = {}
        for name in fields:
            key, raw = get_field(decl.data, name)
            if key is not None:
                scope[name] = self._eval(raw, ctx, (*decl.path, key), lenient)
        return scope or None

    def _properties(self, decl: ResourceDecl, ctx: EvalContext, lenient: bool) -> Any:
        key, raw = get_field(decl.data, "properties")
        if key is None:
            return None
        if decl.is_deployment and isinstance(raw, dict):
            template_key = get_field(raw, "template")[0]
            raw = {k: v for k, v in raw.items() if k != template_key}
        return self._eval(raw, ctx, (*decl.path, key), lenient)

    def child(self, template: Template, options: _Options, *, deployment: str, lenient: bool) -> _Builder:
        return _Builder(template, options, deployment=deployment, lenient=lenient)

    # -- dependencies -----------------------------------------------------------------------

    def _dependencies(self, r: _Resource, index: ResourceIndex, resources: list[_Resource]) -> None:
        node, decl = r.node, r.decl
        explicit = self._explicit_dependencies(r, index)
        for target in explicit:
            node.dependencies.append(Dependency(target, "dependsOn"))
        for target in self._implicit_dependencies(r, index):
            if target != node.symbol:
                node.dependencies.append(Dependency(target, "reference"))
        node.parent = self._parent(r, index, explicit, resources)
        if node.parent is not None:
            node.dependencies.append(Dependency(node.parent, "parent", ordering=False))
        scope_key, raw_scope = get_field(decl.data, "scope")
        if scope_key is not None and isinstance(raw_scope, str) and not decl.is_deployment:
            for target in self._resolve(raw_scope, r.item_ctx, index):
                if target != node.symbol:
                    node.dependencies.append(Dependency(target, "scope", ordering=False))

    def _explicit_dependencies(self, r: _Resource, index: ResourceIndex) -> list[str]:
        deps_key, deps = get_field(r.decl.data, "dependsOn")
        targets: list[str] = []
        for i, raw in enumerate(deps or []):
            found = self._resolve(raw, r.item_ctx, index)
            if not found:
                key = self._reference_key(raw, r.item_ctx)
                if key is not None and not has_unknown(key):
                    self.graph.errors.append(self._diagnostic(
                        f"dependsOn '{raw}' matches no resource of this template", (*r.decl.path, deps_key, i),
                        "warning"))
            targets.extend(t for t in found if t not in targets)
        return targets

    def _implicit_dependencies(self, r: _Resource, index: ResourceIndex) -> list[str]:
        found: list[str] = []
        for key, value in r.decl.data.items():
            if key.lower() in _NOT_SCANNED_FOR_REFERENCES:
                continue
            if key.lower() == "properties" and r.decl.is_deployment and isinstance(value, dict):
                value = self._deployment_scanned_properties(value)
            for target_expr in runtime_targets(value):
                ref = flatten(string_parts(target_expr, r.item_ctx))
                found.extend(t for t in index.resolve(ref, symbolic=self.t.symbolic) if t not in found)
        return found

    @staticmethod
    def _deployment_scanned_properties(props: dict[str, Any]) -> dict[str, Any]:
        """An inner-scope template's expressions run in the nested deployment, not here."""
        options = field_value(props, "expressionEvaluationOptions", {})
        inner = isinstance(options, dict) and str(field_value(options, "scope", "outer")).lower() == "inner"
        template_key, template = get_field(props, "template")
        if template_key is None or (not inner and not isinstance(template, str)):
            return props
        return {k: v for k, v in props.items() if k != template_key}

    def _resolve(self, raw: Any, ctx: EvalContext, index: ResourceIndex) -> list[str]:
        key = self._reference_key(raw, ctx)
        return [] if key is None else index.resolve(key, symbolic=self.t.symbolic)

    @staticmethod
    def _reference_key(raw: Any, ctx: EvalContext) -> str | None:
        if not isinstance(raw, str):
            return None
        try:
            parsed = parse_template_string(raw)
        except ArmguardError:
            return None
        return flatten(string_parts(parsed, ctx))

    def _parent(self, r: _Resource, index: ResourceIndex, explicit: list[str],
                resources: list[_Resource]) -> str | None:
        node, decl = r.node, r.decl
        if decl.parent is not None:
            for other in resources:
                if other.decl is decl.parent:
                    return other.node.symbol
        if self.t.symbolic and "::" in node.symbol:
            found = index.symbol_of(node.symbol.rsplit("::", 1)[0].lower())
            if found:
                return found
        segments = node.type.split("/")
        if len(segments) <= 2:
            return None
        parent_type = "/".join(segments[:-1]).lower()
        names = [s for s in r.name_key.split("/") if s]
        if len(names) >= 2:
            for symbol in index.by_key.get(resource_key(parent_type, "/".join(names[:-1])), []):
                if symbol != node.symbol:
                    return symbol
        by_symbol = {o.node.symbol: o.node for o in resources}
        candidates = [s for s in explicit if s in by_symbol and by_symbol[s].type.lower() == parent_type]
        return candidates[0] if len(candidates) == 1 else None

    def _check_cycles(self, resources: list[_Resource]) -> None:
        edges = {r.node.symbol: r.node.depends_on() for r in resources}
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        for start in edges:
            if state.get(start):
                continue
            stack: list[tuple[str, int]] = [(start, 0)]
            path: list[str] = [start]
            state[start] = 1
            while stack:
                symbol, i = stack[-1]
                targets = edges.get(symbol, [])
                if i >= len(targets):
                    stack.pop()
                    path.pop()
                    state[symbol] = 2
                    continue
                stack[-1] = (symbol, i + 1)
                target = targets[i]
                if target not in edges:
                    continue
                if state.get(target) == 1:
                    cycle = [*path[path.index(target):], target]
                    where = next(r for r in resources if r.node.symbol == target).decl
                    raise self.t.error(f"circular dependency: {' -> '.join(cycle)}", decl_key(where, "dependsOn"))
                if not state.get(target):
                    state[target] = 1
                    stack.append((target, 0))
                    path.append(target)

    # -- outputs ----------------------------------------------------------------------------

    def _outputs(self) -> dict[str, Any]:
        section_key = get_field(self.t.data, "outputs")[0] or "outputs"
        out: dict[str, Any] = {}
        for name, raw in self.t.outputs.items():
            path = (*self.t.base, section_key, name)
            if not isinstance(raw, dict):
                raise self.t.error(f"output '{name}' must be an object", path)
            cond_key, cond = get_field(raw, "condition")
            if cond_key is not None and self._eval(cond, self.ctx, (*path, cond_key), self.lenient) is False:
                continue
            copy_key, copy = get_field(raw, "copy")
            if copy_key is not None and isinstance(copy, dict):
                out[name] = self._output_copy(copy, (*path, copy_key))
            else:
                value_key = get_field(raw, "value")[0]
                out[name] = self._eval(field_value(raw, "value"), self.ctx, (*path, value_key or "value"),
                                       self.lenient)
        return out

    def _output_copy(self, copy: dict[str, Any], path: JsonPath) -> Any:
        count = self._eval(field_value(copy, "count"), self.ctx, (*path, "count"), self.lenient)
        if isinstance(count, Unknown):
            return Unknown("output copy", count.deps)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COPY_COUNT:
            raise self.t.error(f"copy count must be an int between 0 and {MAX_COPY_COUNT}, got {count!r}",
                               (*path, "count"))
        raw = field_value(copy, "input")
        return [self._eval(raw, self.ctx.with_copy_index(None, i), (*path, "input"), self.lenient)
                for i in range(count)]

    # -- evaluation and errors --------------------------------------------------------------

    def _eval(self, value: Any, ctx: EvalContext, path: JsonPath, lenient: bool = False) -> Any:
        """Evaluate a template value; errors name the JSON path of the failing expression.

        When lenient (the resource may not deploy) an error only makes that value unknown.
        Without strict, so does an error that depends on parameter values (which inspect and lint
        usually lack), reported in `graph.errors`; other errors raise.
        """
        try:
            return evaluate(value, ctx)
        except (ArmguardError, RecursionError) as e:
            error = e if isinstance(e, ArmguardError) else ArmguardError("expressions nested too deeply")
        if error.path is not None and not lenient:
            raise error
        if isinstance(value, list):
            return [self._eval(v, ctx, (*path, i), lenient) for i, v in enumerate(value)]
        if isinstance(value, dict) and not _has_property_copy(value):
            return {self._eval_key(k, ctx): self._eval(v, ctx, (*path, k), lenient) for k, v in value.items()}
        unknown = Unknown(f"error: {error.message}", {"error:evaluation"})
        if lenient:
            return unknown
        if self.options.strict or not _depends_on_inputs(value):
            raise self.t.error(error.message, path) from None
        self.graph.errors.append(self._diagnostic(error.message, path, "error"))
        return unknown

    @staticmethod
    def _eval_key(key: str, ctx: EvalContext) -> str:
        if not key.startswith("["):
            return key
        try:
            value = evaluate(key, ctx)
        except ArmguardError:
            return key
        return value if isinstance(value, str) else text_of(value)

    def _located(self, error: ArmguardError, path: JsonPath) -> ArmguardError:
        if error.path is not None:
            return error
        return self.t.error(error.message, path)

    def _fail(self, message: str, path: JsonPath) -> ArmguardError:
        return self.t.error(message, path)

    def _diagnostic(self, message: str, path: JsonPath, severity: str) -> Diagnostic:
        start, _ = self.t.locator.nearest(path)
        line, column = self.t.source.position(start)
        where = format_path(path)
        return Diagnostic(self.t.path, line, column, f"{message} (at {where})" if where else message,
                          severity)  # type: ignore[arg-type]

    def _near_span(self, path: JsonPath):
        start, end = self.t.locator.nearest(path)
        return self.t.locator.span(self.t.source, start, end)


def _has_property_copy(obj: dict[str, Any]) -> bool:
    copy = field_value(obj, "copy")
    return isinstance(copy, list) and all(isinstance(c, dict) and get_field(c, "input")[0] for c in copy)


def _depends_on_inputs(raw: Any) -> bool:
    """Whether a template value uses parameters (directly or through variables) or loop indexes."""
    text = raw if isinstance(raw, str) else repr(raw)
    low = text.lower()
    return any(f in low for f in ("parameters(", "variables(", "copyindex(", "reference(", "list"))


def decl_key(decl: ResourceDecl, name: str) -> JsonPath:
    key = get_field(decl.data, name)[0]
    return decl.path if key is None else (*decl.path, key)
