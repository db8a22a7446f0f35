"""Evaluation of template JSON values and expressions against a deployment context.

`EvalContext()` works out of the box: scope values (subscription, resource group, tenant,
deployment, ...) default to documented placeholders so that templates can be evaluated offline.
Values that cannot be known offline come back as `armguard.values.Unknown`.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from armguard.arm.expressions import Call, Expr, Index, Literal, Member, parse_template_string, quote, render
from armguard.arm.functions import call_function
from armguard.arm.functions_base import (
    EvaluationError,
    ci_find_key,
    ci_get,
    deep_equals,
    expect_bool,
    expect_str,
    is_int,
    render_call,
    type_name,
)
from armguard.values import ProviderState, ProviderValue, Unknown, is_known, merge_unknown

__all__ = [
    "PLACEHOLDER_LOCATION",
    "PLACEHOLDER_RESOURCE_GROUP",
    "PLACEHOLDER_SUBSCRIPTION_ID",
    "PLACEHOLDER_TENANT_ID",
    "EvalContext",
    "EvaluationError",
    "Lambda",
    "ResourceRef",
    "call_user_function",
    "evaluate",
    "evaluate_expr",
    "user_functions",
]

# Placeholders used when the caller does not say where the deployment goes.
PLACEHOLDER_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
PLACEHOLDER_TENANT_ID = "00000000-0000-0000-0000-000000000000"
PLACEHOLDER_RESOURCE_GROUP = "rg"
PLACEHOLDER_LOCATION = "westus"
PLACEHOLDER_DEPLOYMENT_NAME = "deployment"
PLACEHOLDER_MANAGEMENT_GROUP = "mg"

MAX_COPY_COUNT = 800  # ARM's limit for copy loops


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """What `reference()` or a `list*()` function asks for, handed to `EvalContext.reference_resolver`.

    `function` is the template function as written ("reference", "listKeys", ...), `target` the
    resource id or (languageVersion 2.0) symbolic name, `args` the remaining arguments.
    """

    function: str
    target: str | Unknown
    api_version: str | None
    args: tuple[Any, ...]
    text: str


def _default_subscription() -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION_ID}",
        "subscriptionId": PLACEHOLDER_SUBSCRIPTION_ID,
        "tenantId": PLACEHOLDER_TENANT_ID,
        "displayName": "subscription",
    }


def _default_resource_group() -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION_ID}/resourceGroups/{PLACEHOLDER_RESOURCE_GROUP}",
        "name": PLACEHOLDER_RESOURCE_GROUP,
        "type": "Microsoft.Resources/resourceGroups",
        "location": PLACEHOLDER_LOCATION,
        "tags": {},
        "properties": {"provisioningState": "Succeeded"},
    }


def _default_tenant() -> dict[str, Any]:
    return {
        "countryCode": "US",
        "displayName": "tenant",
        "id": f"/tenants/{PLACEHOLDER_TENANT_ID}",
        "tenantId": PLACEHOLDER_TENANT_ID,
    }


def _default_deployment() -> dict[str, Any]:
    return {
        "name": PLACEHOLDER_DEPLOYMENT_NAME,
        "location": PLACEHOLDER_LOCATION,
        "properties": {
            "templateHash": "0",
            "template": {"contentVersion": "1.0.0.0", "metadata": {}},
            "parameters": {},
            "mode": "Incremental",
            "provisioningState": "Accepted",
        },
    }


def _default_deployer() -> dict[str, Any]:
    return {
        "objectId": "00000000-0000-0000-0000-000000000000",
        "tenantId": PLACEHOLDER_TENANT_ID,
        "userPrincipalName": "deployer@example.com",
    }


def public_cloud_environment() -> dict[str, Any]:
    """environment() in the Azure public cloud (as listed in the ARM documentation)."""
    return {
        "name": "AzureCloud",
        "gallery": "https://gallery.azure.com/",
        "graph": "https://graph.windows.net/",
        "portal": "https://portal.azure.com",
        "graphAudience": "https://graph.windows.net/",
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "batch": "https://batch.core.windows.net/",
        "media": "https://rest.media.azure.net",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/master/arm-compute/quickstart-templates/aliases.json",
        "resourceManager": "https://management.azure.com/",
        "authentication": {
            "loginEndpoint": "https://login.microsoftonline.com/",
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "suffixes": {
            "acrLoginServer": ".azurecr.io",
            "azureDatalakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "azureDatalakeStoreFileSystem": "azuredatalakestore.net",
            "azureFrontDoorEndpointSuffix": "azurefd.net",
            "keyvaultDns": ".vault.azure.net",
            "sqlServerHostname": ".database.windows.net",
            "storage": "core.windows.net",
        },
    }


@dataclass
class EvalContext:
    """Everything an expression can see.

    `parameters` maps parameter names to their values (already resolved; use an Unknown for a
    parameter without a value). `parameter_defaults` optionally holds the raw `defaultValue` of
    parameters missing from `parameters`; they are evaluated on first use (they may refer to
    other parameters) and memoized. `variables` holds the raw `variables` section: each variable is
    evaluated on first use and memoized. `functions` holds user-defined functions, either as the
    template's `functions` section (a list) or as a dict keyed by "namespace.name".
    `copy_indexes` maps loop names to their current index; the None key is the innermost loop.
    `reference_resolver`, when set, answers `reference()` and `list*()` calls; otherwise they
    give Unknown values depending on "reference:<target>".
    """

    parameters: dict[str, Any] = field(default_factory=dict)
    parameter_defaults: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    functions: dict[str, Any] | list[Any] = field(default_factory=dict)
    copy_indexes: dict[str | None, Any] = field(default_factory=dict)
    deployment: dict[str, Any] = field(default_factory=_default_deployment)
    resource_group: dict[str, Any] = field(default_factory=_default_resource_group)
    subscription: dict[str, Any] = field(default_factory=_default_subscription)
    tenant: dict[str, Any] = field(default_factory=_default_tenant)
    management_group: dict[str, Any] | None = None
    environment: dict[str, Any] = field(default_factory=public_cloud_environment)
    deployer: dict[str, Any] = field(default_factory=_default_deployer)
    seed: int = 0
    reference_resolver: Callable[[ResourceRef], Any] | None = None
    scope: str = "resourceGroup"
    lambda_variables: dict[str, Any] = field(default_factory=dict)
    # Shared by the contexts derived from this one (loops, lambdas); not part of the interface.
    _variable_cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _variables_in_progress: list[str] = field(default_factory=list, repr=False, compare=False)
    _variable_index: dict[str, tuple[str, Any]] | None = field(default=None, repr=False, compare=False)
    _random_draws: list[int] = field(default_factory=lambda: [0], repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.functions, list):
            self.functions = user_functions(self.functions)
        elif self.functions and any(k != k.lower() for k in self.functions):
            self.functions = {k.lower(): v for k, v in self.functions.items()}

    # -- derived contexts -------------------------------------------------------------------

    def with_copy_index(self, name: str | None, index: Any) -> EvalContext:
        """A context inside iteration `index` of loop `name` (None: an unnamed resource loop)."""
        indexes = dict(self.copy_indexes)
        indexes[name] = index
        return self._derived("copy_indexes", indexes)

    def with_lambda_variables(self, values: dict[str, Any]) -> EvalContext:
        return self._derived("lambda_variables", {**self.lambda_variables, **values})

    def _derived(self, field_name: str, value: Any) -> EvalContext:
        """`dataclasses.replace(self, field_name=value)` without re-running `__init__` (a plan makes
        one per loop iteration and expression scope): the other fields, caches included, are shared."""
        derived = object.__new__(EvalContext)
        derived.__dict__.update(self.__dict__)
        setattr(derived, field_name, value)
        return derived

    def next_random(self, bits: int) -> int:
        """Deterministic pseudo-random bits for newGuid(): the n-th draw depends only on `seed`."""
        draw = self._random_draws[0]
        self._random_draws[0] += 1
        return random.Random(f"{self.seed}:{draw}").getrandbits(bits)

    # -- lookups --------------------------------------------------------------------------

    def parameter(self, name: str) -> Any:
        key = ci_find_key(self.parameters, name)
        if key is not None:
            return self.parameters[key]
        key = ci_find_key(self.parameter_defaults, name)
        if key is None:
            raise EvaluationError(f"the template has no parameter '{name}'")
        return self._lazy("parameter", key, lambda base: evaluate(self.parameter_defaults[key], base))

    def variable(self, name: str) -> Any:
        if self._variable_index is None:
            self._variable_index = _index_variables(self.variables)
        entry = self._variable_index.get(name.lower())
        if entry is None:
            raise EvaluationError(f"the template has no variable '{name}'")
        kind, raw = entry
        if kind == "copy":
            return self._lazy("variable", name, lambda base: _expand_copy(raw, base, "variable copy"))
        return self._lazy("variable", name, lambda base: evaluate(raw, base))

    def _lazy(self, kind: str, name: str, compute: Callable[[EvalContext], Any]) -> Any:
        """Evaluate a parameter default or variable once, detecting cycles between them."""
        key = f"{kind} {name.lower()}"
        if key in self._variable_cache:
            return self._variable_cache[key]
        in_progress = self._variables_in_progress
        if key in in_progress:
            cycle = [k.split(" ", 1)[1] for k in [*in_progress[in_progress.index(key):], key]]
            raise EvaluationError(f"{kind}s refer to each other in a cycle: {' -> '.join(cycle)}")
        in_progress.append(key)
        try:
            value = compute(dataclasses.replace(self, copy_indexes={}, lambda_variables={}))
        finally:
            in_progress.pop()
        self._variable_cache[key] = value
        return value

    def copy_index(self, name: str | None) -> Any:
        if name is None:
            if None in self.copy_indexes:
                return self.copy_indexes[None]
            raise EvaluationError("copyIndex() is used outside of a copy loop")
        if name in self.copy_indexes:
            return self.copy_indexes[name]
        low = name.lower()
        for key, index in self.copy_indexes.items():
            if isinstance(key, str) and key.lower() == low:
                return index
        raise EvaluationError(f"copyIndex('{name}') refers to no enclosing copy loop named '{name}'")

    def user_function(self, qualified_name: str) -> dict[str, Any]:
        found = self.functions.get(qualified_name.lower()) if isinstance(self.functions, dict) else None
        if found is None:
            raise EvaluationError(f"unknown function '{qualified_name}'")
        return found


def user_functions(section: list[Any]) -> dict[str, Any]:
    """The user-defined functions of a template's `functions` section, keyed "namespace.name"."""
    out: dict[str, Any] = {}
    for ns in section or []:
        if not isinstance(ns, dict):
            continue
        namespace = ci_get(ns, "namespace")
        members = ci_get(ns, "members") or {}
        if not isinstance(namespace, str) or not isinstance(members, dict):
            continue
        for name, definition in members.items():
            out[f"{namespace}.{name}".lower()] = definition
    return out


def _index_variables(section: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    index: dict[str, tuple[str, Any]] = {}
    for name, raw in (section or {}).items():
        if name.lower() == "copy" and isinstance(raw, list):
            for loop in raw:
                loop_name = ci_get(loop, "name") if isinstance(loop, dict) else None
                if isinstance(loop_name, str):
                    index[loop_name.lower()] = ("copy", loop)
        else:
            index[name.lower()] = ("value", raw)
    return index


# ---------------------------------------------------------------------------------------------
# Evaluation


def evaluate(value: Any, ctx: EvalContext) -> Any:
    """Evaluate a template JSON value: expressions in strings, recursively through arrays and objects.

    An object's `copy` array (property iteration: `[{"name", "count", "input"}]`) is expanded
    into the properties it names, as Resource Manager does.
    """
    try:
        return _evaluate(value, ctx)
    except RecursionError:
        raise EvaluationError("expressions are nested too deeply (or a user-defined function recurses)") from None


def _evaluate(value: Any, ctx: EvalContext) -> Any:
    if isinstance(value, str):
        if len(value) < 2 or value[0] != "[":
            return value
        parsed = parse_template_string(value)
        return parsed if isinstance(parsed, str) else evaluate_expr(parsed, ctx)
    if isinstance(value, list):
        return [_evaluate(v, ctx) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if isinstance(v, list) and k.lower() == "copy" and _is_property_copy(v):
                for loop in v:
                    out[ci_get(loop, "name")] = _expand_copy(loop, ctx, "property copy")
                continue
            key = _evaluate(k, ctx) if k.startswith("[") else k
            if isinstance(key, Unknown):
                key = f"[{key.text}]"
            elif not isinstance(key, str):
                raise EvaluationError(f"a property name evaluated to {type_name(key)}, not a string")
            out[key] = _evaluate(v, ctx)
        return out
    return value


def _is_property_copy(loops: list[Any]) -> bool:
    return bool(loops) and all(
        isinstance(loop, dict) and isinstance(ci_get(loop, "name"), str) and ci_find_key(loop, "input") is not None
        for loop in loops
    )


def _expand_copy(loop: dict[str, Any], ctx: EvalContext, what: str) -> Any:
    name = ci_get(loop, "name")
    count = _evaluate(ci_get(loop, "count"), ctx)
    template = ci_get(loop, "input")
    if isinstance(count, Unknown):
        return Unknown(f"{what} '{name}'", count.deps | {f"loop:{name}"})
    if not is_int(count):
        raise EvaluationError(f"the count of {what} '{name}' must be an int, got {type_name(count)}")
    if count < 0 or count > MAX_COPY_COUNT:
        raise EvaluationError(f"the count of {what} '{name}' is {count}; it must be between 0 and {MAX_COPY_COUNT}")
    return [_evaluate(template, ctx.with_copy_index(name, i)) for i in range(count)]


def evaluate_expr(expr: Expr, ctx: EvalContext) -> Any:
    """Evaluate a parsed expression."""
    if isinstance(expr, Call):
        return _evaluate_call(expr, ctx)
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Member):
        target = evaluate_expr(expr.target, ctx)
        return _member(target, expr.name, expr)
    if isinstance(expr, Index):
        target = evaluate_expr(expr.target, ctx)
        index = evaluate_expr(expr.index, ctx)
        return _index(target, index, expr)
    raise EvaluationError(f"not an expression: {expr!r}")


def _stand_in(expr: Expr) -> ProviderValue:
    """What an emulated resource's provider-only property reads as (see `ProviderState`)."""
    return ProviderValue(f"<emulated {render(expr)}>")


def _member(target: Any, name: str, expr: Expr) -> Any:
    if isinstance(target, Unknown):
        return Unknown(render(expr), target.deps)
    if isinstance(target, dict):
        key = ci_find_key(target, name)
        if key is None:
            if isinstance(target, ProviderState):
                return _stand_in(expr)
            available = ", ".join(sorted(target)) or "none"
            raise EvaluationError(
                f"property '{name}' does not exist in {render(expr.target)} (available: {available})"  # type: ignore[union-attr]
            )
        return target[key]
    if isinstance(target, ProviderValue):
        return _stand_in(expr)
    raise EvaluationError(f"cannot read property '{name}' of {type_name(target)} {render(expr.target)}")  # type: ignore[union-attr]


def _index(target: Any, index: Any, expr: Index) -> Any:
    if isinstance(target, Unknown) or isinstance(index, Unknown):
        return merge_unknown(render(expr), target, index)
    if isinstance(target, ProviderValue):
        return _stand_in(expr)
    if isinstance(target, list):
        if not is_int(index):
            raise EvaluationError(f"an array index must be an int, got {type_name(index)} in {render(expr)}")
        if not 0 <= index < len(target):
            raise EvaluationError(f"index {index} is out of range for an array of length {len(target)} in {render(expr)}")
        return target[index]
    if isinstance(target, dict):
        if not isinstance(index, str):
            raise EvaluationError(f"an object index must be a string, got {type_name(index)} in {render(expr)}")
        key = ci_find_key(target, index)
        if key is None:
            if isinstance(target, ProviderState):
                return _stand_in(expr)
            raise EvaluationError(f"property '{index}' does not exist in {render(expr.target)}")
        return target[key]
    raise EvaluationError(f"cannot index {type_name(target)} in {render(expr)}")


# ---------------------------------------------------------------------------------------------
# Calls: special forms first (lazy arguments), then the library


def _evaluate_call(expr: Call, ctx: EvalContext) -> Any:
    if expr.namespace is not None:
        return _call_user_function(expr, ctx)
    name = expr.name.lower()
    special = _SPECIAL_FORMS.get(name)
    if special is not None:
        return special(expr, ctx)
    args = [evaluate_expr(a, ctx) for a in expr.args]
    # Unknown results are named by the call with its arguments' values, so two iterations of a
    # loop give different texts exactly when their known inputs differ.
    return call_function(expr.name, args, ctx, text=render_call(expr.name, args))


def _if(expr: Call, ctx: EvalContext) -> Any:
    if len(expr.args) != 3:
        raise EvaluationError(f"function 'if' expects 3 arguments, got {len(expr.args)}")
    cond = evaluate_expr(expr.args[0], ctx)
    if isinstance(cond, Unknown):
        when_true, when_false = (_evaluate_or_unknown(a, ctx) for a in expr.args[1:])
        if is_known(when_true) and is_known(when_false) and deep_equals(when_true, when_false):
            return when_true
        return merge_unknown(render(expr), cond, when_true, when_false)
    if not isinstance(cond, bool):
        raise EvaluationError(f"function 'if' expects a bool condition, got {type_name(cond)}")
    return evaluate_expr(expr.args[1] if cond else expr.args[2], ctx)


def _evaluate_or_unknown(expr: Expr, ctx: EvalContext) -> Any:
    """A branch that may never run: if it fails now, it only makes the result unknown."""
    try:
        return evaluate_expr(expr, ctx)
    except EvaluationError:
        return Unknown(render(expr))


def _and_or(expr: Call, ctx: EvalContext) -> Any:
    name = expr.name.lower()
    if len(expr.args) < 2:
        raise EvaluationError(f"function '{name}' expects at least 2 arguments, got {len(expr.args)}")
    decisive = name == "or"  # the value that decides the result on its own
    unknowns: list[Unknown] = []
    for arg in expr.args:
        value = evaluate_expr(arg, ctx)
        if isinstance(value, Unknown):
            unknowns.append(value)
            continue
        if expect_bool(name, value) is decisive:
            return decisive
    if unknowns:
        return merge_unknown(render(expr), *unknowns)
    return not decisive


def _lambda(expr: Call, ctx: EvalContext) -> Lambda:
    if len(expr.args) < 1:
        raise EvaluationError("function 'lambda' expects at least 1 argument, got 0")
    names = []
    for arg in expr.args[:-1]:
        if not (isinstance(arg, Literal) and isinstance(arg.value, str)):
            raise EvaluationError(f"lambda parameter names must be string literals, got {render(arg)}")
        names.append(arg.value)
    return Lambda(tuple(names), expr.args[-1], ctx)


def _lambda_variables(expr: Call, ctx: EvalContext) -> Any:
    if len(expr.args) != 1:
        raise EvaluationError(f"function 'lambdaVariables' expects 1 argument, got {len(expr.args)}")
    name = expect_str("lambdaVariables", evaluate_expr(expr.args[0], ctx))
    key = ci_find_key(ctx.lambda_variables, name)
    if key is None:
        raise EvaluationError(f"lambdaVariables('{name}') refers to no enclosing lambda parameter")
    return ctx.lambda_variables[key]


_SPECIAL_FORMS: dict[str, Callable[[Call, EvalContext], Any]] = {
    "if": _if,
    "and": _and_or,
    "or": _and_or,
    "lambda": _lambda,
    "lambdavariables": _lambda_variables,
}


class Lambda:
    """A `lambda(...)` value: callable with its arguments, evaluating the body in its context."""

    __slots__ = ("body", "ctx", "params")

    def __init__(self, params: tuple[str, ...], body: Expr, ctx: EvalContext):
        self.params = params
        self.body = body
        self.ctx = ctx

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self.params):
            raise EvaluationError(f"{self} expects {len(self.params)} argument(s), got {len(args)}")
        scope = self.ctx.with_lambda_variables(dict(zip(self.params, args, strict=True)))
        return evaluate_expr(self.body, scope)

    def __str__(self) -> str:
        return f"lambda({', '.join([*(quote(p) for p in self.params), render(self.body)])})"


def _call_user_function(expr: Call, ctx: EvalContext) -> Any:
    qualified = expr.qualified_name
    params = ci_get(ctx.user_function(qualified), "parameters") or []
    if len(expr.args) != len(params):
        raise EvaluationError(f"function '{qualified}' expects {len(params)} argument(s), got {len(expr.args)}")
    return call_user_function(qualified, [evaluate_expr(a, ctx) for a in expr.args], ctx)


def call_user_function(qualified: str, args: list[Any], ctx: EvalContext) -> Any:
    """Call the user-defined function "namespace.name" with evaluated arguments.

    Inside the function only its own parameters are visible through parameters().
    """
    definition = ctx.user_function(qualified)
    params = ci_get(definition, "parameters") or []
    if len(args) != len(params):
        raise EvaluationError(f"function '{qualified}' expects {len(params)} argument(s), got {len(args)}")
    output = ci_get(definition, "output")
    if not isinstance(output, dict) or ci_find_key(output, "value") is None:
        raise EvaluationError(f"user-defined function '{qualified}' has no output value")
    inner = EvalContext(
        parameters={ci_get(p, "name"): v for p, v in zip(params, args, strict=True)},
        functions=ctx.functions,
        deployment=ctx.deployment,
        resource_group=ctx.resource_group,
        subscription=ctx.subscription,
        tenant=ctx.tenant,
        management_group=ctx.management_group,
        environment=ctx.environment,
        deployer=ctx.deployer,
        seed=ctx.seed,
        reference_resolver=ctx.reference_resolver,
        scope=ctx.scope,
    )
    return _evaluate(ci_get(output, "value"), inner)
