"""Deployment and scope functions: parameters, variables, copyIndex, deployment, environment,
resourceGroup, subscription, tenant, managementGroup, deployer."""

from __future__ import annotations

from armguard.arm.functions_base import builtin, expect_int, expect_str, fail, is_int, type_name
from armguard.values import Unknown


@builtin("parameters", context=True)
def parameters(ctx, name):
    return ctx.parameter(expect_str("parameters", name))


@builtin("variables", context=True)
def variables(ctx, name):
    return ctx.variable(expect_str("variables", name))


@builtin("copyIndex", context=True, unknown_aware=True, text=True)
def copy_index(ctx, first=None, second=None, *, text, name):
    if isinstance(first, str):
        loop, offset = first, 0 if second is None else second
    elif second is not None:
        raise fail("copyIndex", f"expects a loop name as first of two arguments, got {type_name(first)}")
    else:
        loop, offset = None, 0 if first is None else first
    if isinstance(offset, Unknown):
        return Unknown(text, offset.deps)
    offset = expect_int("copyIndex", offset)
    index = ctx.copy_index(loop)
    if isinstance(index, Unknown):
        return Unknown(text, index.deps)
    if not is_int(index):
        raise fail("copyIndex", f"loop index is {type_name(index)}, not an int")
    return index + offset


@builtin("deployment", context=True)
def deployment(ctx):
    return ctx.deployment


@builtin("environment", context=True)
def environment(ctx):
    return ctx.environment


@builtin("deployer", context=True)
def deployer(ctx):
    return ctx.deployer


@builtin("resourceGroup", context=True)
def resource_group(ctx, *args):
    if args:
        # Scope of another resource group, e.g. resourceGroup('rg2') or resourceGroup(subId, 'rg2').
        sub = args[0] if len(args) == 2 else ctx.subscription["subscriptionId"]
        name = expect_str("resourceGroup", args[-1])
        if len(args) > 2:
            raise fail("resourceGroup", f"expects at most 2 arguments, got {len(args)}")
        return {
            "id": f"/subscriptions/{expect_str('resourceGroup', sub)}/resourceGroups/{name}",
            "name": name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": ctx.resource_group.get("location"),
        }
    if ctx.scope != "resourceGroup":
        raise fail("resourceGroup", f"is not available in a {ctx.scope} deployment")
    return ctx.resource_group


@builtin("subscription", context=True)
def subscription(ctx, subscription_id=None):
    if subscription_id is not None:
        sub = expect_str("subscription", subscription_id)
        return {**ctx.subscription, "id": f"/subscriptions/{sub}", "subscriptionId": sub}
    if ctx.scope in ("tenant", "managementGroup"):
        raise fail("subscription", f"is not available in a {ctx.scope} deployment")
    return ctx.subscription


@builtin("tenant", context=True)
def tenant(ctx):
    return ctx.tenant


@builtin("managementGroup", context=True)
def management_group(ctx, name=None):
    if name is not None:
        group = expect_str("managementGroup", name)
        return _management_group(group, ctx)
    if ctx.management_group is not None:
        return ctx.management_group
    if ctx.scope != "managementGroup":
        raise fail("managementGroup", f"is not available in a {ctx.scope} deployment")
    from armguard.arm.evaluator import PLACEHOLDER_MANAGEMENT_GROUP

    return _management_group(PLACEHOLDER_MANAGEMENT_GROUP, ctx)


def _management_group(name: str, ctx) -> dict:
    return {
        "id": f"/providers/Microsoft.Management/managementGroups/{name}",
        "name": name,
        "type": "Microsoft.Management/managementGroups",
        "properties": {"displayName": name, "tenantId": ctx.tenant.get("tenantId")},
    }
