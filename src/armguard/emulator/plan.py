"""From a DeploymentGraph to the steps a deployment runs, and what each step writes.

A `Level` is one deployment's template (the top level, or a nested deployment). `plan()` expands
nodes into steps (one per copy-loop iteration), links dependencies (only `Dependency.ordering`
edges; existing resources are not deployed), chains serial copy loops in batches, and
`materialize(step, host)` works out, when the step starts, the resource id, type, API version and
body it PUTs, or the child deployment it starts.

Dependencies are per instance where the template says so: an ARM `dependsOn` entry that evaluates
(with the step's copy index) to one instance of a loop waits for that instance only, as Resource
Manager does; otherwise a dependency on a loop waits for all its instances. The ARM levels live
in this module; Bicep graphs in `plan_bicep`.

ARM levels evaluate with the ARM front end: names, conditions, scopes and bodies computed by the
front end are used when fully known, otherwise re-evaluated per instance with an `EvalContext`
whose `reference_resolver` answers `reference()` (`properties`, or the whole view with 'Full') and
`list*()` (placeholder keys) from the emulated state.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from armguard.arm.evaluator import EvalContext, ResourceRef, evaluate
from armguard.arm.functions_base import EvaluationError
from armguard.arm.graph import build_graph
from armguard.arm.template import Template, field_value, get_field
from armguard.emulator import errors as E
from armguard.emulator.engine import Step, link_batches
from armguard.emulator.errors import ArmError
from armguard.emulator.ids import build_id
from armguard.emulator.resources import copy_json
from armguard.errors import ArmguardError
from armguard.model import DeploymentGraph, Node
from armguard.values import Unknown, is_known, provider_state

DEPLOYMENTS = "microsoft.resources/deployments"
# Template functions whose value exists only while deploying.
_RUNTIME_CALL = re.compile(r"(?i)\b(?:reference|list\w*|utcnow|newguid)\s*\(")
GROUPS = "microsoft.resources/resourcegroups"
_STRUCTURAL = frozenset({"name", "type", "apiversion", "dependson", "copy", "condition", "resources", "comments",
                         "scope", "existing", "subscriptionid", "resourcegroup", "import", "metadata", "symbolicname"})


@dataclass
class Target:
    """What a step does when it starts: PUT a resource, or start a child deployment."""

    kind: str  # "resource" | "module"
    resource_id: str
    type: str
    api_version: str | None = None
    body: dict[str, Any] | None = None
    name: str | None = None  # module: the child deployment's name
    scope: str | None = None  # module: the child deployment's scope
    location: str | None = None
    level: Callable[[], Level] | None = None  # module: builds the child's level
    refs: list[str] | None = None  # ids the body references, when worked out ahead (see locks.referenced_ids)


SKIP = Target("skip", "", "")  # prepared: the condition is false


class LookupFailed(EvaluationError):
    """reference() of a resource that does not exist; carries the ArmError to report."""

    def __init__(self, error: ArmError):
        super().__init__(error.message)
        self.arm_error = error


class Level:
    """One deployment's template: its steps and how to materialize them."""

    language = "?"

    def __init__(self, graph: DeploymentGraph, *, scope: str, subscription: str, group: str | None,
                 deployment_name: str, location: str | None):
        self.graph = graph
        self.scope = scope
        self.subscription = subscription
        self.group = group
        self.deployment_name = deployment_name
        self.location = location
        self.nodes: dict[str, Node] = {n.symbol: n for n in graph.nodes}
        self.steps: list[Step] = []
        self.by_symbol: dict[str, list[Step]] = {}

    # -- planning ----------------------------------------------------------------------------

    def plan(self) -> list[Step]:
        steps: list[Step] = []
        for node in self.graph.nodes:
            if node.existing:
                continue
            kind = "module" if node.kind == "module" else "resource"
            if node.loop is not None:
                count = self.loop_count(node)
                if count is None:
                    raise E.invalid_template(
                        f"Deployment template validation failed: the copy count of '{node.symbol}' is not known "
                        "before deployment.")
                indexes: list[int | None] = list(range(count))
            else:
                indexes = [None]
            own = self.by_symbol.setdefault(node.symbol, [])
            for i in indexes:
                step = Step(len(steps), node.symbol, kind, node, i)
                step.resource_id = self.planned_id(node, i, len(own))
                steps.append(step)
                own.append(step)
        self.steps = steps
        self._index()
        for node in self.graph.nodes:
            for step in self.by_symbol.get(node.symbol, ()):
                for target, only in self.dependencies(node, step):
                    for other in only if only is not None else self.by_symbol.get(target, ()):
                        step.depends(other)
            if node.loop is not None and node.loop.mode == "serial":
                link_batches(self.by_symbol.get(node.symbol, []), node.loop.batch_size or 1)
        for step in steps:
            step.prepared = self.prepare(step)
        return steps

    def prepare(self, step: Step) -> Any:
        """What the step will do, when it can be worked out before deployment (None: at launch).

        Resource Manager expands loops and evaluates everything but run-time functions when it
        validates a template; only `reference()`/`list*()` wait until the resource starts.
        """
        return None

    def loop_count(self, node: Node) -> int | None:
        return node.loop.count if node.loop is not None else None

    def dependencies(self, node: Node, step: Step) -> list[tuple[str, list[Step] | None]]:
        """(target symbol, the target's steps this step waits for, or None for all of them)."""
        out: list[tuple[str, list[Step] | None]] = []
        for d in node.dependencies:
            if not d.ordering or d.target not in self.by_symbol or d.target == node.symbol:
                continue
            out.append((d.target, None))
        return out

    def planned_id(self, node: Node, index: int | None, ordinal: int) -> str | None:
        return None

    def _index(self) -> None:
        self.by_id: dict[str, Step] = {}
        self.by_path: dict[str, list[Step]] = {}
        self.by_name: dict[str, list[Step]] = {}
        for s in self.steps:
            if s.resource_id is None:
                continue
            key = s.resource_id.lower()
            self.by_id[key] = s
            _, _, path = key.rpartition("/providers/")
            self.by_path.setdefault(_provider_path_types_first(path), []).append(s)
            self.by_path.setdefault(path, []).append(s)
            self.by_name.setdefault(key.rsplit("/", 1)[-1], []).append(s)

    def match(self, value: str) -> list[Step] | None:
        """The steps a dependsOn / reference target names: an id, 'Ns/type/name', or a name."""
        low = value.strip().rstrip("/").lower()
        if low.startswith("/"):
            found = self.by_id.get(low)
            return [found] if found is not None else None
        if "/" in low:
            return self.by_path.get(low)
        return self.by_name.get(low)

    # -- materializing -----------------------------------------------------------------------

    def materialize(self, step: Step, host: Any) -> Target | None:
        raise NotImplementedError

    def outputs(self, host: Any) -> dict[str, Any]:
        return {}

    def resource_id_of(self, scope: str, rtype: str, name: str) -> str:
        names = [n for n in name.split("/")]
        segments = rtype.split("/")
        tkey = rtype.lower()
        if tkey == GROUPS:
            return f"/subscriptions/{self.subscription}/resourceGroups/{name}"
        if len(names) != len(segments) - 1 or any(not n for n in names):
            raise E.segment_mismatch(name, rtype)
        return build_id(scope, rtype, names)


_INDEXED_SYMBOL = re.compile(r"^\s*([A-Za-z_][\w]*)\s*\[\s*(\d+)\s*\]\s*$")


def _provider_path_types_first(path: str) -> str:
    """'microsoft.network/virtualnetworks/v/subnets/s' -> 'microsoft.network/virtualnetworks/subnets/v/s'."""
    parts = path.split("/")
    if len(parts) < 3:
        return path
    rest = parts[1:]
    return "/".join([parts[0], *rest[0::2], *rest[1::2]])


def capitalized(type_name: Any) -> str:
    text = str(type_name or "String")
    return text[:1].upper() + text[1:]


# =============================================================================================
# ARM JSON


class ArmLevel(Level):
    """A level evaluated with the ARM front end."""

    language = "arm"

    def __init__(self, graph: DeploymentGraph, template: Template, *, scope: str, subscription: str,
                 group: str | None, deployment_name: str, location: str | None, context: dict[str, Any],
                 outer: tuple[EvalContext, EvalContext] | None = None):
        super().__init__(graph, scope=scope, subscription=subscription, group=group,
                         deployment_name=deployment_name, location=location)
        self.t = template
        self.context = context
        self.outer = outer  # (static, live) contexts of the parent instance, for outer-scope templates
        self.decls = dict(zip([n.symbol for n in graph.nodes], template.resources, strict=False))
        self._static: EvalContext | None = None
        self._live: EvalContext | None = None
        self._static_bodies: dict[str, Any] = {}
        self._runtime: dict[str, bool] = {}
        self._scope_keys: dict[str, tuple[tuple[str, str], ...]] = {}
        self._host: Any = None

    # -- contexts ----------------------------------------------------------------------------

    def static_ctx(self) -> EvalContext:
        if self._static is None:
            if self.outer is not None:
                self._static = self.outer[0]
            else:
                self._static = EvalContext(parameters=dict(self.graph.parameters), variables=self.t.variables,
                                           functions=self.t.functions, scope=self.t.target_scope, **self.context)
        return self._static

    def live_ctx(self, host: Any) -> EvalContext:
        self._host = host
        if self._live is None:
            if self.outer is not None:
                self._live = self.outer[1]
            else:
                self._live = dataclasses.replace(self.static_ctx(), reference_resolver=self._resolve,
                                                 _variable_cache={}, _variables_in_progress=[])
        return self._live

    @staticmethod
    def _at(ctx: EvalContext, node: Node, index: Any) -> EvalContext:
        if node.loop is None:
            return ctx
        return ctx.with_copy_index(None, index).with_copy_index(node.loop.name, index)

    # -- planning ----------------------------------------------------------------------------

    def planned_id(self, node: Node, index: int | None, ordinal: int) -> str | None:
        name = node.name if index is None else (node.instance_names or [None] * (index + 1))[index]
        if not isinstance(name, str):
            return None
        decl = self.decls.get(node.symbol)
        if decl is None:
            return None
        try:
            scope = self._target_scope(decl, node, self._at(self.static_ctx(), node, index), planning=True)
            if scope is None:
                return None
            if node.kind == "module":
                return f"{scope}/providers/Microsoft.Resources/deployments/{name}"
            return self.resource_id_of(scope, node.type, name)
        except (ArmError, ArmguardError, RecursionError):
            return None

    def dependencies(self, node: Node, step: Step) -> list[tuple[str, list[Step] | None]]:
        base = super().dependencies(node, step)
        loops = {t for t, _ in base if self.nodes[t].loop is not None}
        decl = self.decls.get(node.symbol)
        raw = decl.get("dependsOn") if decl is not None else None
        if not loops or not isinstance(raw, list):
            return base
        ctx = self._at(self.static_ctx(), node, step.copy_index)
        specific: dict[str, list[Step]] = {}
        whole: set[str] = set()
        loop_names = {(self.nodes[t].loop.name or t).lower(): t for t in loops}  # type: ignore[union-attr]
        symbols = {t.lower(): t for t in loops}
        for entry in raw:
            try:
                value = evaluate(entry, ctx)
            except (ArmguardError, RecursionError):
                continue
            if not isinstance(value, str):
                continue
            low = value.lower()
            if low in loop_names or low in symbols:
                whole.add(loop_names.get(low) or symbols[low])
                continue
            for s in self.match(value) or ():
                if s.symbol in loops:
                    specific.setdefault(s.symbol, []).append(s)
        return [(t, specific[t] if t in specific and t not in whole else None) for t, _ in base]

    # -- evaluation --------------------------------------------------------------------------

    def _eval(self, raw: Any, ctx: EvalContext) -> Any:
        return evaluate(raw, ctx)

    def _name(self, decl: Any, ctx: EvalContext) -> Any:
        own = evaluate(decl.get("name"), ctx)
        if decl.parent is None:
            return own
        return f"{self._name(decl.parent, ctx)}/{own}"

    def _target_scope(self, decl: Any, node: Node, ctx: EvalContext, planning: bool = False) -> str | None:
        keys = self._scope_keys.get(node.symbol)
        if keys is None:
            keys = self._scope_keys[node.symbol] = tuple(
                (name, key) for name in ("scope", "subscriptionId", "resourceGroup")
                for key in (get_field(decl.data, name)[0],) if key is not None)
        if not keys:
            return self.scope
        fields: dict[str, Any] = {name: evaluate(decl.data[key], ctx) for name, key in keys}
        if any(isinstance(v, Unknown) or not isinstance(v, str) for v in fields.values()):
            if planning:
                return None
            raise E.invalid_template(f"Deployment template validation failed: the scope of '{node.symbol}' is not "
                                     "a string.")
        sub = fields.get("subscriptionId") or self.subscription
        is_deployment = node.kind == "module"
        if "scope" in fields and not is_deployment:
            value = fields["scope"].rstrip("/")
            if value.startswith("/"):
                return value
            target = self.nodes.get(value) if self.t.symbolic else None
            if target is not None:
                steps = self.by_symbol.get(target.symbol) or []
                if len(steps) == 1 and steps[0].resource_id:
                    return steps[0].resource_id
                return None if planning else self._scope_error(node)
            return f"{self.scope}/providers/{value}"
        if "resourceGroup" in fields:
            return f"/subscriptions/{sub}/resourceGroups/{fields['resourceGroup']}"
        if "subscriptionId" in fields:
            if is_deployment or self.group is None:
                return f"/subscriptions/{sub}"
            return f"/subscriptions/{sub}/resourceGroups/{self.group}"
        return self.scope

    def _scope_error(self, node: Node) -> str:
        raise E.invalid_template(f"Deployment template validation failed: the scope of '{node.symbol}' names no "
                                 "single resource.")

    def _static_body(self, node: Node, decl: Any) -> Any:
        if node.symbol in self._static_bodies:
            return self._static_bodies[node.symbol]
        raw = {k: v for k, v in decl.data.items() if k.lower() not in _STRUCTURAL}
        body: Any = None
        ctx = self.static_ctx()
        if node.loop is not None:
            unknown = Unknown(f"copyIndex('{node.loop.name}')", {f"loop:{node.symbol}"})
            ctx = self._at(ctx, node, unknown)
        try:
            value = evaluate(raw, ctx)
            if is_known(value):
                body = value
        except (ArmguardError, RecursionError):
            body = None
        self._static_bodies[node.symbol] = body
        return body

    def _needs_runtime(self, node: Node) -> bool:
        found = self._runtime.get(node.symbol)
        if found is None:
            decl = self.decls[node.symbol]
            found = bool(_RUNTIME_CALL.search(json.dumps(decl.data))) or self.outer is not None
            self._runtime[node.symbol] = found
        return found

    def prepare(self, step: Step) -> Any:
        node: Node = step.node
        if node.kind == "module" or self._needs_runtime(node):
            return None
        ctx = self._at(self.static_ctx(), node, step.copy_index)
        try:
            target = self._materialize(step, ctx)
        except (ArmError, ArmguardError, RecursionError):
            return None  # reported when the step starts
        if target is not None:
            step.resource_id = target.resource_id
        return SKIP if target is None else target

    def materialize(self, step: Step, host: Any) -> Target | None:
        prepared = step.prepared
        if prepared is not None:
            return None if prepared is SKIP else prepared
        ctx = self._at(self.live_ctx(host), step.node, step.copy_index)
        return self._materialize(step, ctx, host)

    def _materialize(self, step: Step, ctx: EvalContext, host: Any = None) -> Target | None:
        node: Node = step.node
        decl = self.decls[node.symbol]
        try:
            condition = node.condition
            if isinstance(condition, Unknown):
                condition = evaluate(decl.get("condition"), ctx)
                if isinstance(condition, str):
                    condition = condition.lower() == "true"
            if condition is False:
                return None
            name = node.name if step.copy_index is None else (node.instance_names or [None] * (step.copy_index + 1))[
                step.copy_index]
            if not isinstance(name, str):
                name = self._name(decl, ctx)
            if not isinstance(name, str):
                raise E.invalid_template(f"Deployment template validation failed: the name of '{step.label}' is not "
                                         "a string.")
            scope = self._target_scope(decl, node, ctx)
            assert scope is not None
            if node.kind == "module":
                return self._module_target(step, node, decl, ctx, name, scope, host)
            rid = self.resource_id_of(scope, node.type, name)
            body = self._static_body(node, decl)
            if body is None:
                raw = {k: v for k, v in decl.data.items() if k.lower() not in _STRUCTURAL}
                body = evaluate(raw, ctx)
            else:
                body = copy_json(body)
            if not is_known(body):
                raise E.invalid_template(f"Deployment template validation failed: the body of '{step.label}' is not "
                                         "known at deployment time.")
            return Target("resource", rid, node.type, node.api_version, body)
        except LookupFailed as e:
            raise e.arm_error from None
        except EvaluationError as e:
            raise E.invalid_template(f"Deployment template validation failed: '{step.label}': {e.message}") from None
        except RecursionError:
            raise E.invalid_template("Deployment template validation failed: expressions nested too deeply.") from None

    def _module_target(self, step: Step, node: Node, decl: Any, ctx: EvalContext, name: str, scope: str,
                       host: Any) -> Target:
        rid = f"{scope}/providers/Microsoft.Resources/deployments/{name}"
        child = node.module
        if child is None or child.syntax is None:
            raise E.invalid_template(f"Deployment template validation failed: nested deployment '{name}' cannot be "
                                     f"deployed: {node.unresolved or 'its template is not available'}.")
        child_t: Template = child.syntax
        props = decl.get("properties") or {}
        options = field_value(props, "expressionEvaluationOptions", {})
        inner = (isinstance(options, dict) and str(field_value(options, "scope", "outer")).lower() == "inner") \
            or get_field(props, "template")[0] is None or isinstance(field_value(props, "template"), str)
        location = decl.get("location")
        location = evaluate(location, ctx) if location is not None else None
        mode = field_value(props, "mode", "Incremental")
        sub, group = _split_scope(scope)
        if inner:
            raw_params = field_value(props, "parameters", {}) or {}
            evaluated = evaluate(raw_params, ctx)
            supplied: dict[str, Any] = {}
            if isinstance(evaluated, dict):
                for pname, entry in evaluated.items():
                    if isinstance(entry, dict) and get_field(entry, "value")[0] is not None:
                        supplied[pname] = field_value(entry, "value")
                    elif isinstance(entry, dict) and get_field(entry, "reference")[0] is not None:
                        supplied[pname] = "emulated-secret-value"

            def make_inner() -> Level:
                context = host.evaluation_context(sub, group, name, location)
                try:
                    graph = build_graph(child_t, supplied, strict=True, context=context)
                except ArmguardError as e:
                    raise E.invalid_template(str(e)) from None
                return ArmLevel(graph, child_t, scope=scope, subscription=sub, group=group, deployment_name=name,
                                location=location if isinstance(location, str) else None, context=context)

            factory: Callable[[], Level] = make_inner
        else:
            static = self._at(self.static_ctx(), node, step.copy_index)

            def make_outer() -> Level:
                return ArmLevel(child, child_t, scope=scope, subscription=sub, group=group, deployment_name=name,
                                location=location if isinstance(location, str) else None, context=self.context,
                                outer=(static, ctx))

            factory = make_outer
        return Target("module", rid, "Microsoft.Resources/deployments", node.api_version, name=name, scope=scope,
                      location=location if isinstance(location, str) else None, level=factory,
                      body={"properties": {"mode": mode}})

    # -- reference() -------------------------------------------------------------------------

    def _resolve(self, ref: ResourceRef) -> Any:
        host = self._host
        target = ref.target
        if isinstance(target, Unknown):
            raise EvaluationError(f"{ref.text}: the resource it names is not known")
        rid = self._reference_id(target)
        fn = ref.function.lower()
        if fn == "reference":
            full = any(isinstance(a, str) and a.lower() == "full" for a in ref.args)
            try:
                view = host.lookup_view(rid)
            except ArmError as e:
                raise LookupFailed(e) from None
            if "/providers/microsoft.resources/deployments/" not in rid.lower():
                view = provider_state(view)  # what only the provider adds reads as a stand-in
            if full:
                return view
            return view.get("properties", {})
        return provider_state(host.list_function(fn, rid))

    def _reference_id(self, target: str) -> str:
        text = target.strip()
        if text.startswith("/"):
            return text
        if self.t.symbolic:
            indexed = _INDEXED_SYMBOL.match(text)  # 'subnets[2]': one instance of a symbolic loop
            wanted, index = (indexed.group(1), int(indexed.group(2))) if indexed else (text, None)
            for symbol, node in self.nodes.items():
                if symbol.lower() != wanted.lower():
                    continue
                steps = self.by_symbol.get(symbol) or []
                if index is not None:
                    steps = [s for s in steps if s.copy_index == index]
                if len(steps) == 1 and steps[0].resource_id:
                    return steps[0].resource_id
                found_id = self.planned_id(node, index, index or 0) if (node.loop is None) == (index is None) \
                    else None
                if found_id is not None:
                    return found_id
        found = self.match(text)
        if found and len(found) == 1 and found[0].resource_id:
            return found[0].resource_id
        if "/" in text:
            return f"{self.scope}/providers/{text}"
        raise EvaluationError(f"reference('{text}') names no resource of this deployment")

    # -- outputs -----------------------------------------------------------------------------

    def outputs(self, host: Any) -> dict[str, Any]:
        ctx = self.live_ctx(host)
        out: dict[str, Any] = {}
        for name, raw in (self.t.outputs or {}).items():
            if not isinstance(raw, dict):
                continue
            try:
                cond_key, cond = get_field(raw, "condition")
                if cond_key is not None and evaluate(cond, ctx) is False:
                    continue
                copy = field_value(raw, "copy")
                if isinstance(copy, dict):
                    count = evaluate(field_value(copy, "count"), ctx)
                    value: Any = [evaluate(field_value(copy, "input"), ctx.with_copy_index(None, i))
                                  for i in range(int(count))]
                else:
                    value = evaluate(field_value(raw, "value"), ctx)
            except (ArmguardError, RecursionError, TypeError, ValueError):
                continue
            if is_known(value):
                out[name] = {"type": capitalized(field_value(raw, "type")), "value": value}
        return out


def _split_scope(scope: str) -> tuple[str, str | None]:
    parts = scope.strip("/").split("/")
    sub = parts[1] if len(parts) >= 2 else ""
    group = parts[3] if len(parts) >= 4 and parts[2].lower() == "resourcegroups" else None
    return sub, group
