"""The nested and linked deployments part of the graph builder (`Microsoft.Resources/deployments`).

A deployment resource becomes a module node whose `module` is the graph of its template: inline
`properties.template` (with `expressionEvaluationOptions.scope` inner: own parameters from the
deployment's `parameters`; outer, the default: the enclosing template's parameters and
variables), or a `templateLink.relativePath` file. URIs and template specs are not fetched.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from armguard.arm.evaluator import EvalContext
from armguard.arm.parameters import key_vault_reference
from armguard.arm.template import (
    JsonPath,
    ResourceDecl,
    Template,
    field_value,
    get_field,
    json_kind,
    template_from_object,
)
from armguard.errors import ArmguardError
from armguard.model import DeploymentGraph, Node
from armguard.values import Unknown

if TYPE_CHECKING:
    from armguard.arm.graph import _Options

MAX_NESTING = 32


class DeploymentModules:
    """Mixin of the graph builder: attaches module graphs to deployment nodes.

    Relies on the builder's `t` (Template), `options`, `ctx`, `graph`, `_eval` and `child`.
    """

    t: Template
    options: _Options
    ctx: EvalContext
    graph: DeploymentGraph

    def _eval(self, value: Any, ctx: EvalContext, path: JsonPath, lenient: bool = False) -> Any:
        raise NotImplementedError

    def child(self, template: Template, options: _Options, *, deployment: str, lenient: bool) -> Any:
        raise NotImplementedError

    def _module(self, decl: ResourceDecl, node: Node, ctx: EvalContext, lenient: bool) -> None:
        props_key, props = get_field(decl.data, "properties")
        if not isinstance(props, dict):
            node.unresolved = "the deployment has no properties"
            return
        props_path = (*decl.path, props_key)
        options = field_value(props, "expressionEvaluationOptions", {})
        inner = isinstance(options, dict) and str(field_value(options, "scope", "outer")).lower() == "inner"
        template_key, raw_template = get_field(props, "template")
        if self.options.depth >= MAX_NESTING:
            node.unresolved = f"deployments nest more than {MAX_NESTING} levels deep"
            return
        try:
            if template_key is not None:
                nested = self._inline_template(raw_template, (*props_path, template_key), ctx, lenient, node)
                if nested is None:
                    return
                # A template computed by an expression is deployed as it evaluates: its own
                # expressions (escaped in the outer template) run in the nested deployment.
                inner = inner or isinstance(raw_template, str)
                nested_options = dataclasses.replace(self.options, depth=self.options.depth + 1)
            else:
                linked = self._linked_template(props, props_path, ctx, lenient, node)
                if linked is None:
                    return
                nested, nested_options = linked
                inner = True
            builder = self.child(nested, nested_options, deployment=node.symbol, lenient=lenient)
            if inner:
                supplied = self._module_parameters(props, props_path, ctx, lenient, node)
                node.module = builder.build(supplied, None, context=self._module_context(node),
                                            supplied_from=self.t.path)
            else:
                node.module = builder.build({}, ctx)
            self.graph.errors.extend(node.module.errors)  # the top-level graph lists every problem
        except ArmguardError as e:
            if not lenient:
                raise
            node.unresolved = f"not evaluated: {e.message}"

    def _inline_template(self, raw: Any, path: JsonPath, ctx: EvalContext, lenient: bool,
                         node: Node) -> Template | None:
        value = raw
        if isinstance(raw, str):
            value = self._eval(raw, ctx, path, lenient)
            if isinstance(value, Unknown):
                node.unresolved = f"the template is computed at deployment time: {value.text}"
                return None
        return template_from_object(value, self.t.source, self.t.locator, path, self.t.target_scope)

    def _linked_template(self, props: dict[str, Any], props_path: JsonPath, ctx: EvalContext, lenient: bool,
                         node: Node) -> tuple[Template, _Options] | None:
        link_key, link = get_field(props, "templateLink")
        if link_key is None or not isinstance(link, dict):
            node.unresolved = "the deployment has neither a template nor a templateLink"
            return None
        link_path = (*props_path, link_key)
        values = {}
        for name in ("relativePath", "uri", "id"):
            key, raw = get_field(link, name)
            if key is not None:
                values[name] = self._eval(raw, ctx, (*link_path, key), lenient)
        relative = values.get("relativePath")
        if isinstance(relative, str):
            node.module_ref = relative
            if self.options.link_loader is None:
                node.unresolved = f"linked template '{relative}' is not loaded (no file context)"
                return None
            nested = self.options.link_loader(relative, self.t.path)
            if nested.path in self.options.linked_files:
                chain = " -> ".join([*self.options.linked_files, nested.path])
                raise self.t.error(f"linked templates include each other in a cycle: {chain}", link_path)
            options = dataclasses.replace(self.options, linked_files=(*self.options.linked_files, nested.path),
                                          depth=self.options.depth + 1)
            return nested, options
        if "uri" in values:
            uri = values["uri"]
            node.module_ref = uri if isinstance(uri, str) else text_of(uri)
            node.unresolved = f"linked template at a URI is not fetched: {node.module_ref}"
        elif "id" in values:
            spec = values["id"]
            node.module_ref = spec if isinstance(spec, str) else text_of(spec)
            node.unresolved = f"template spec is not fetched: {node.module_ref}"
        elif isinstance(relative, Unknown):
            node.module_ref = relative.text
            node.unresolved = f"linked template path is not known offline: {relative.text}"
        else:
            node.unresolved = "templateLink has no relativePath, uri or id"
        return None

    def _module_parameters(self, props: dict[str, Any], props_path: JsonPath, ctx: EvalContext, lenient: bool,
                           node: Node) -> dict[str, Any]:
        key, raw = get_field(props, "parameters")
        if key is None:  # no values, or a parametersLink we do not fetch: parameters stay unknown
            return {}
        path = (*props_path, key)
        evaluated = self._eval(raw, ctx, path, lenient)
        if isinstance(evaluated, Unknown):
            return {}
        if not isinstance(evaluated, dict):
            raise self.t.error(f"deployment parameters must be an object, got {json_kind(evaluated)}", path)
        supplied: dict[str, Any] = {}
        for name, entry in evaluated.items():
            if isinstance(entry, Unknown):
                supplied[name] = Unknown(entry.text, entry.deps | {f"param:{name}"})
            elif isinstance(entry, dict) and get_field(entry, "value")[0] is not None:
                supplied[name] = field_value(entry, "value")
            elif isinstance(entry, dict) and get_field(entry, "reference")[0] is not None:
                supplied[name] = key_vault_reference(name, field_value(entry, "reference"))
            else:
                raise self.t.error(f"deployment parameter '{name}' must be an object with a 'value'", (*path, name))
        return supplied

    def _module_context(self, node: Node) -> dict[str, Any]:
        """deployment(), resourceGroup() and subscription() as the nested deployment sees them."""
        outer = self.ctx
        scope = node.scope or {}
        out: dict[str, Any] = {"deployment": {**outer.deployment, "name": node.name},
                               "environment": outer.environment, "tenant": outer.tenant}
        subscription = dict(outer.subscription)
        sub_id = scope.get("subscriptionId")
        if sub_id is not None:
            subscription.update(subscriptionId=sub_id, id=_join_id("/subscriptions/", sub_id))
        out["subscription"] = subscription
        group = scope.get("resourceGroup")
        if group is not None:
            out["resource_group"] = {
                **outer.resource_group,
                "name": group,
                "id": _join_id(f"/subscriptions/{text_of(subscription['subscriptionId'])}/resourceGroups/", group),
                "location": Unknown("resourceGroup().location", deps_of(group)),
            }
        elif sub_id is None:
            out["resource_group"] = outer.resource_group
        group_name = _management_group_name(scope.get("scope"))
        if group_name is not None:
            out["management_group"] = {
                "id": _join_id("/providers/Microsoft.Management/managementGroups/", group_name),
                "name": group_name,
                "type": "Microsoft.Management/managementGroups",
                "properties": {"displayName": group_name, "tenantId": outer.tenant.get("tenantId")},
            }
        elif outer.management_group is not None:
            out["management_group"] = outer.management_group
        return out


def _management_group_name(scope: Any) -> Any:
    """The management group a deployment's `scope` targets ('Microsoft.Management/managementGroups/x')."""
    if isinstance(scope, Unknown):
        return Unknown(f"last(split({scope.text}, '/'))", scope.deps) if "managementgroups" in scope.text.lower() \
            else None
    if not isinstance(scope, str):
        return None
    segments = [s for s in scope.split("/") if s]
    if len(segments) >= 3 and segments[-2].lower() == "managementgroups" \
            and segments[-3].lower() == "microsoft.management":
        return segments[-1]
    return None


def _join_id(prefix: str, value: Any) -> Any:
    if isinstance(value, str):
        return prefix + value
    return Unknown(prefix + text_of(value), deps_of(value))


def text_of(value: Any) -> str:
    if isinstance(value, Unknown):
        return value.text
    return str(value)


def deps_of(value: Any) -> frozenset[str]:
    return value.deps if isinstance(value, Unknown) else frozenset()


