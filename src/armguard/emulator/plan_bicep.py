"""Deploying a Bicep DeploymentGraph (from `armguard.bicep.load_graph`) without a Bicep compiler.

The graph gives the structure (nodes, loops, batch sizes, dependencies); values are evaluated per
instance with the Bicep front end's static evaluator on the file's SemanticModel (`graph.syntax`),
with the loop's item and index bound. A module instance gets its own SemanticModel of the module
file with that instance's parameter values (no file is read: the front end loaded the module).

The evaluator is the front end's, extended (`RuntimeEvaluator`) with this deployment's
`resourceGroup()`, `subscription()`, `deployment()`, `environment()` (public cloud) and `tenant()`,
and with resource members read from the plan and the emulated state: `x.id`, `x.name`,
`zones[i].id`, `x.properties.a.b`, `mod.outputs.o`; the file's outputs are evaluated once it has run.
Limits (documented): any other run-time value
(`reference()`, `list*()`, `utcNow()`, user functions, ...) becomes the text '<unknown: expr>'; a
module whose name is still unknown is named '<symbol>-<index>'.
Dependencies are per node, except a `parent:` on one instance of a loop (`parent: zones[i]`),
which waits for that instance only, as the compiled template does. A module deploys to its `scope:`
when that is `resourceGroup(...)`, `subscription(...)` or a resource group the file declares (else
to the parent's scope); `existing` resources in other scopes are not followed.
"""

from __future__ import annotations

from typing import Any

from armguard.arm.evaluator import public_cloud_environment
from armguard.bicep import syntax as s
from armguard.bicep.evaluate import Evaluator
from armguard.bicep.loader import loop_env
from armguard.bicep.semantic import Declaration, SemanticModel
from armguard.emulator import errors as E
from armguard.emulator.engine import Step
from armguard.emulator.errors import ArmError
from armguard.emulator.ids import ancestors
from armguard.emulator.plan import Level, Target
from armguard.model import DeploymentGraph, Node
from armguard.values import Unknown, is_known

_BODY_SKIP = ("name", "parent", "scope", "dependsOn")
_MISSING = object()
_ARM_TYPES = {str: "String", int: "Int", bool: "Bool", float: "Int", list: "Array", dict: "Object"}
_SCOPE_FUNCTIONS = frozenset({"resourcegroup", "subscription", "deployment", "environment", "tenant"})


class RuntimeEvaluator(Evaluator):
    """The Bicep static evaluator, with the deployment's scope functions (`resourceGroup()`,
    `subscription()`, `deployment()`, `environment()`, `tenant()`) and resource members
    (`vnet.id`, `zones[i].properties.x`, `mod.outputs.y`) answered by the level."""

    def __init__(self, model: SemanticModel, level: BicepLevel):
        super().__init__(model)
        self.level = level

    def _eval(self, e: s.Node, env: dict[str, Any]) -> Any:
        kind = type(e)
        if kind is s.Call:
            name = e.name.lower()  # type: ignore[attr-defined]
            target = e.target  # type: ignore[attr-defined]
            if name in _SCOPE_FUNCTIONS and (target is None or (isinstance(target, s.Identifier)
                                                                 and target.name in ("az", "sys")
                                                                 and target.name not in env)):
                if not e.args:  # type: ignore[attr-defined]
                    value = self.level.scope_value(name)
                else:
                    value = self.level.other_scope(name, [self._eval(a, env) for a in e.args])  # type: ignore[attr-defined]
                if value is not None:
                    return value
        elif kind is s.PropertyAccess:
            path: list[str] = []
            node: Any = e
            while type(node) is s.PropertyAccess:
                path.append(node.name)
                node = node.target
            index: Any = None
            if type(node) is s.IndexAccess:
                index = self._eval(node.index, env)
                node = node.target
            if type(node) is s.Identifier and node.name not in env:
                bound = self.model.bindings.get(node.start) or (self.model.symbol_kind(node.name), node.name)
                if bound[0] in ("resource", "module") and (index is None or isinstance(index, int)):
                    found = self.level.member(bound[1], index, path[::-1])
                    if found is not _MISSING:
                        return found
        return super()._eval(e, env)



class BicepLevel(Level):
    language = "bicep"

    def __init__(self, graph: DeploymentGraph, *, scope: str, subscription: str, group: str | None,
                 deployment_name: str, location: str | None, host: Any = None,
                 param_values: dict[str, Any] | None = None):
        super().__init__(graph, scope=scope, subscription=subscription, group=group,
                         deployment_name=deployment_name, location=location)
        base = graph.syntax
        if not isinstance(base, SemanticModel):
            raise E.invalid_template("the Bicep graph has no semantic model to evaluate")
        # A model of our own (the caller's is left alone), evaluating with this deployment's values.
        self.model = SemanticModel(base.program, base.source,
                                   base.param_values if param_values is None else param_values)
        self.model.file_loader = base.file_loader
        self.model.evaluator = RuntimeEvaluator(self.model, self)
        self.model.deploying = True
        self._iterations: dict[str, list[tuple[int, Any]]] = {}
        self._host: Any = host

    # -- planning ----------------------------------------------------------------------------

    def decl(self, node: Node) -> Declaration:
        return self.model.declarations[node.symbol]

    def iterations(self, node: Node) -> list[tuple[int, Any]]:
        found = self._iterations.get(node.symbol)
        if found is not None:
            return found
        decl = self.decl(node)
        f = decl.loop
        if f is None:
            return []
        ev = self.model.evaluator
        items = _plain(ev.eval(f.iterable, {}))
        if not isinstance(items, list):
            missing = _missing_parameters([items])
            why = f": it needs a value for parameter {missing} (give it with --params)" if missing else ""
            raise E.invalid_template(f"Deployment template validation failed: the loop '{node.symbol}' iterates over "
                                     f"a value not known before deployment{why}.")
        kept = []
        for i, item in enumerate(items):
            if f.condition is not None:
                c = ev.eval(f.condition, self.loop_env(decl, item, i))
                if c is not True:
                    continue
            kept.append((i, item))
        self._iterations[node.symbol] = kept
        return kept

    loop_env = staticmethod(loop_env)

    def env_of(self, node: Node, ordinal: int | None) -> dict[str, Any]:
        if ordinal is None:
            return {}
        index, item = self.iterations(node)[ordinal]
        return self.loop_env(self.decl(node), item, index)

    def loop_count(self, node: Node) -> int | None:
        # From this model's parameter values, not from the graph's (a module's graph is shared).
        return len(self.iterations(node))

    def planned_id(self, node: Node, index: int | None, ordinal: int) -> str | None:
        env = self.env_of(node, index)
        try:
            if node.kind == "module":
                return f"{self.scope}/providers/Microsoft.Resources/deployments/{self._module_name(node, env, index)}"
            segments = self._segments(self.decl(node), env, 0)
            if not all(isinstance(x, str) for x in segments):
                return None
            return self.resource_id_of(self._resource_scope(node), node.type, "/".join(segments))
        except ArmError:
            return None

    def dependencies(self, node: Node, step: Step) -> list[tuple[str, list[Step] | None]]:
        out: list[tuple[str, list[Step] | None]] = []
        own = {a.lower() for a in ancestors(step.resource_id)} if step.resource_id else set()
        for d in node.dependencies:
            if not d.ordering or d.target not in self.by_symbol or d.target == node.symbol:
                continue
            only = None
            target = self.nodes[d.target]
            if d.origin == "parent" and target.loop is not None and own:
                hits = [s for s in self.by_symbol[d.target] if s.resource_id and s.resource_id.lower() in own]
                only = hits or None
            out.append((d.target, only))
        return out

    # -- names -------------------------------------------------------------------------------

    def _segments(self, decl: Declaration, env: dict[str, Any], depth: int) -> list[Any]:
        ev = self.model.evaluator
        body = decl.body
        name_expr = body.get("name") if body is not None else None
        if name_expr is None:
            return [Unknown(f"{decl.symbol}.name")]
        value = _plain(ev.eval(name_expr, env))
        if not (isinstance(value, Unknown) and value.depends_on("param:")):
            value = self._substitute(value)  # a run-time value: its text stands in for the name
        own = value.split("/") if isinstance(value, str) else [value]  # a missing parameter's stays: no id
        parent_expr = body.get("parent") if body is not None else None
        parent = decl.nesting_parent or (self.model.resolve(parent_expr) if parent_expr is not None else None)
        if parent is None or depth > 16:
            return own
        pdecl = self.model.declarations[parent]
        penv: dict[str, Any] = {}
        if pdecl.loop is not None:
            if decl.nesting_parent:
                penv = env
            else:
                index_expr = _index_of(parent_expr)
                idx = ev.eval(index_expr, env) if index_expr is not None else None
                pnode = self.nodes.get(parent)
                iterations = self.iterations(pnode) if pnode is not None else []
                match = [(i, item) for i, item in iterations if i == idx]
                if not match:
                    return [Unknown(f"{parent}[?]"), *own]
                penv = self.loop_env(pdecl, match[0][1], match[0][0])
        return [*self._segments(pdecl, penv, depth + 1), *own]

    def _module_name(self, node: Node, env: dict[str, Any], index: int | None) -> str:
        decl = self.decl(node)
        name_expr = decl.body.get("name") if decl.body is not None else None
        value = self._substitute(_plain(self.model.evaluator.eval(name_expr, env))) if name_expr is not None else None
        if isinstance(value, str) and "<unknown" not in value:
            return value
        return node.symbol if index is None else f"{node.symbol}-{index}"

    def _resource_scope(self, node: Node) -> str:
        scope = node.scope
        if isinstance(scope, Unknown):
            for dep in scope.deps:
                if dep.startswith("resource:"):
                    steps = self.by_symbol.get(dep.split(":", 1)[1]) or []
                    if len(steps) == 1 and steps[0].resource_id:
                        return steps[0].resource_id
                    target = self.nodes.get(dep.split(":", 1)[1])
                    if target is not None and target.existing:
                        segments = self._segments(self.decl(target), {}, 0)
                        if all(isinstance(x, str) for x in segments):
                            return self.resource_id_of(self.scope, target.type, "/".join(segments))
        return self.scope

    # -- materializing -----------------------------------------------------------------------

    def materialize(self, step: Step, host: Any) -> Target | None:
        self._host = host
        node: Node = step.node
        decl = self.decl(node)
        env = self.env_of(node, step.copy_index)
        ev = self.model.evaluator
        if decl.condition is not None or node.condition is not None:
            condition = node.condition
            if decl.condition is not None:
                condition = self._substitute(_plain(ev.eval(decl.condition, env)))
            if condition is False:
                return None
        if node.kind == "module":
            return self._module_target(step, node, decl, env, host)
        segments = self._segments(decl, env, 0)
        if not all(isinstance(x, str) for x in segments):
            missing = _missing_parameters(segments)
            why = (f"it needs a value for parameter {missing} (give it with --params)" if missing
                   else f"{'/'.join(str(getattr(x, 'text', x)) for x in segments)}")
            raise E.invalid_template(f"Deployment template validation failed: the name of '{step.label}' is not known "
                                     f"at deployment time: {why}.")
        rid = self.resource_id_of(self._resource_scope(node), node.type, "/".join(segments))
        body: Any = {}
        if decl.body is not None:
            body = _plain(ev.eval(_without(decl.body, _BODY_SKIP), env))
        body = self._substitute(body)
        if not isinstance(body, dict):
            body = {}
        return Target("resource", rid, node.type, node.api_version, body)

    def _module_target(self, step: Step, node: Node, decl: Declaration, env: dict[str, Any], host: Any) -> Target:
        name = self._module_name(node, env, step.copy_index)
        child = node.module
        if child is None or not isinstance(child.syntax, SemanticModel):
            raise E.invalid_template(f"Deployment template validation failed: module '{name}' cannot be deployed: "
                                     f"{node.unresolved or 'it is not a local Bicep file'}.")
        params_expr = decl.body.get("params") if decl.body is not None else None
        values = _plain(self.model.evaluator.eval(params_expr, env)) if params_expr is not None else {}
        values = self._substitute(values if isinstance(values, dict) else {})
        scope, sub, group, location = self._module_scope(node, decl, env, name)

        def make() -> Level:
            return BicepLevel(child, scope=scope, subscription=sub, group=group, deployment_name=name,
                              location=location, host=host, param_values=values)

        rid = f"{scope}/providers/Microsoft.Resources/deployments/{name}"
        return Target("module", rid, "Microsoft.Resources/deployments", node.api_version, name=name, scope=scope,
                      location=location, level=make, body={"properties": {"mode": "Incremental"}})

    def _module_scope(self, node: Node, decl: Declaration, env: dict[str, Any], name: str
                      ) -> tuple[str, str, str | None, str | None]:
        """(scope, subscription, group, location) a module deploys to: its `scope:` (a resource group
        or subscription of `resourceGroup(...)` / `subscription(...)`, or a resource group this file
        declares or references), else this deployment's."""
        expr = decl.body.get("scope") if decl.body is not None else None
        if expr is None:
            return self.scope, self.subscription, self.group, self.location
        target: Any = None
        if isinstance(node.scope, Unknown) and node.scope.depends_on("resource:"):
            found = self._resource_scope(node)  # `scope: rg`, a resource group declared in this file
            target = found if found != self.scope else None
        if target is None:
            value = _plain(self.model.evaluator.eval(expr, env))
            target = value.get("id") if isinstance(value, dict) else None
        parts = target.strip("/").split("/") if isinstance(target, str) else []
        if len(parts) == 2 and parts[0].lower() == "subscriptions":
            return target, parts[1], None, self.location  # type: ignore[return-value]
        if len(parts) == 4 and parts[0].lower() == "subscriptions" and parts[2].lower() == "resourcegroups":
            return target, parts[1], parts[3], self.location  # type: ignore[return-value]
        raise E.invalid_template(f"Deployment template validation failed: the scope of module '{name}' is not a "
                                 "resource group or subscription known at deployment time (the emulator follows "
                                 "resourceGroup(...), subscription(...) and resource groups the file declares).")

    def other_scope(self, function: str, args: list[Any]) -> dict[str, Any] | None:
        """`resourceGroup([subscriptionId,] name)` and `subscription(subscriptionId)`: the scope
        objects a module's `scope:` names (None when an argument is not a known string)."""
        if not args or not all(isinstance(a, str) for a in args):
            return None
        if function == "resourcegroup" and len(args) <= 2:
            sub, group = (self.subscription, args[0]) if len(args) == 1 else (args[0], args[1])
            return {"id": f"/subscriptions/{sub}/resourceGroups/{group}", "name": group,
                    "type": "Microsoft.Resources/resourceGroups"}
        if function == "subscription" and len(args) == 1:
            return {"id": f"/subscriptions/{args[0]}", "subscriptionId": args[0]}
        return None

    # -- outputs -----------------------------------------------------------------------------

    def outputs(self, host: Any) -> dict[str, Any]:
        """The file's `output` values known once the deployment has run (as `{"type", "value"}`,
        the type named as Resource Manager reports it); outputs that read what the emulator cannot
        know are left out."""
        self._host = host
        out: dict[str, Any] = {}
        for name, decl in self.model.outputs.items():
            try:
                value = _plain(self.model.evaluator.eval(decl.value, {}))
            except (ArmError, RecursionError, TypeError, ValueError):
                continue
            if is_known(value):
                out[name] = {"type": _ARM_TYPES.get(type(value), "Object"), "value": value}
        return out

    # -- run-time values ---------------------------------------------------------------------

    def _substitute(self, value: Any) -> Any:
        if isinstance(value, Unknown):
            return self._runtime_value(value)
        if isinstance(value, dict):
            return {k: self._substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._substitute(v) for v in value]
        return value

    def _runtime_value(self, u: Unknown) -> Any:
        return f"<unknown: {u.text.strip()}>"

    def scope_value(self, function: str) -> Any:
        """resourceGroup(), subscription(), deployment(), environment(), tenant() of this deployment."""
        host = self._host
        if function == "environment":
            return public_cloud_environment()
        if function == "deployment":
            return {"name": self.deployment_name, "location": self.location,
                    "properties": {"mode": "Incremental", "provisioningState": "Running", "templateHash": "0"}}
        if host is None:
            return None
        context = host.evaluation_context(self.subscription, self.group, self.deployment_name, self.location)
        if function == "resourcegroup":
            return context.get("resource_group")
        if function == "subscription":
            return context.get("subscription")
        if function == "tenant":
            tenant = context["subscription"]["tenantId"]
            return {"id": f"/tenants/{tenant}", "tenantId": tenant, "countryCode": "US", "displayName": "tenant"}
        return None

    def member(self, symbol: str, index: int | None, path: list[str]) -> Any:
        """`symbol[index].path...` from the plan and the emulated state, or _MISSING."""
        node = self.nodes.get(symbol)
        if node is None or not path:
            return _MISSING
        rid = self._instance_id(node, index)
        if rid is None:
            return _MISSING
        head = path[0].lower()
        if head == "id" and len(path) == 1:
            return rid
        if head == "name" and len(path) == 1:
            return rid.rsplit("/", 1)[-1]
        host = self._host
        if host is None:
            return _MISSING
        try:
            view = host.lookup_view(rid)
        except ArmError:
            return _MISSING
        value: Any = view.get("properties", {}) if node.kind == "module" and head == "outputs" else view
        for key in path:
            if not isinstance(value, dict):
                return _MISSING
            match = next((k for k in value if k.lower() == key.lower()), None)
            if match is None:
                return _MISSING
            value = value[match]
        if node.kind == "module" and head == "outputs" and len(path) == 2 and isinstance(value, dict) \
                and "value" in value:
            value = value["value"]
        return value if is_known(value) else _MISSING

    def _instance_id(self, node: Node, index: int | None) -> str | None:
        if node.existing:
            segments = self._segments(self.decl(node), {}, 0)
            if not all(isinstance(x, str) for x in segments):
                return None
            return self.resource_id_of(self.scope, node.type, "/".join(segments))
        steps = self.by_symbol.get(node.symbol)
        if steps is None:  # still planning: compute it
            ordinal = None
            if node.loop is not None:
                if index is None:
                    return None
                ordinal = next((k for k, (i, _) in enumerate(self.iterations(node)) if i == index), None)
                if ordinal is None:
                    return None
            return self.planned_id(node, ordinal, 0)
        if index is not None:
            steps = [st for st in steps if st.copy_index is not None
                     and self.iterations(node)[st.copy_index][0] == index]
        if len(steps) != 1:
            return None
        return steps[0].resource_id


def _without(body: s.ObjectExpr, keys: tuple[str, ...]) -> s.ObjectExpr:
    items = [i for i in body.items
             if not (isinstance(i, s.ObjectProperty) and i.name in keys) and not isinstance(i, s.ResourceDecl)]
    return s.ObjectExpr(body.start, body.end, items)


def _index_of(expr: s.Node | None) -> s.Node | None:
    while isinstance(expr, s.NonNull | s.Paren):
        expr = expr.expr
    return expr.index if isinstance(expr, s.IndexAccess) else None


def _missing_parameters(values: list[Any]) -> str:
    """The parameters without a value that these Unknowns wait for, quoted and comma-separated
    ('' when none)."""
    names = sorted({d.split(":", 1)[1] for v in values if isinstance(v, Unknown) for d in v.deps
                    if d.startswith("param:")})
    return ", ".join(repr(n) for n in names)


def _plain(value: Any) -> Any:
    """Evaluator-internal values (resource references, lambdas) become Unknowns."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool | Unknown):
        return value
    symbol = getattr(value, "symbol", None)
    if symbol is not None:
        return Unknown(symbol, {f"resource:{symbol}"})
    return Unknown(repr(value), {"unsupported"})
