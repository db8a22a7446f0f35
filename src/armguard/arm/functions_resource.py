"""Resource functions: resource ids, reference(), list*(), pickZones(), providers(), roleDefinitions()."""

from __future__ import annotations

from typing import Any

from armguard.arm.functions_base import builtin, expect_int, expect_str, fail, type_name
from armguard.values import Unknown, unknown_deps

# ---------------------------------------------------------------------------------------------
# Resource ids


def _type_and_names(fn: str, resource_type: Any, names: tuple) -> str:
    """'providers/Ns/t1/n1/t2/n2' for resource type 'Ns/t1/t2' and names (n1, n2)."""
    rtype = expect_str(fn, resource_type)
    segments = [s for s in rtype.split("/") if s]
    if len(segments) < 2:
        raise fail(fn, f"expects a resource type like 'Namespace/type', got '{rtype}'")
    name_parts: list[str] = []
    for n in names:
        name_parts.extend(expect_str(fn, n).strip("/").split("/"))
    types = segments[1:]
    if len(name_parts) != len(types):
        raise fail(fn, f"resource type '{rtype}' needs {len(types)} name segment(s), got {len(name_parts)}")
    path = [segments[0]]
    for t, n in zip(types, name_parts, strict=True):
        path += [t, n]
    return "providers/" + "/".join(path)


def _split_at_type(fn: str, args: tuple, max_prefix: int) -> tuple[tuple, Any, tuple]:
    """Split arguments into (scope arguments, resource type, names): the type is the first argument with '/'."""
    for i, a in enumerate(args):
        if isinstance(a, str) and "/" in a and i <= max_prefix:
            if i + 1 >= len(args):
                raise fail(fn, f"expects at least one resource name after the type '{a}'")
            return args[:i], a, args[i + 1 :]
    raise fail(fn, "expects a resource type argument such as 'Microsoft.Network/virtualNetworks'")


@builtin("resourceId", context=True)
def resource_id(ctx, first, second, *rest):
    scope_args, rtype, names = _split_at_type("resourceId", (first, second, *rest), 2)
    scope_args = tuple(expect_str("resourceId", a) for a in scope_args)
    tail = _type_and_names("resourceId", rtype, names)
    sub = ctx.subscription.get("subscriptionId")
    if len(scope_args) == 2:
        return f"/subscriptions/{scope_args[0]}/resourceGroups/{scope_args[1]}/{tail}"
    if len(scope_args) == 1:
        return f"/subscriptions/{sub}/resourceGroups/{scope_args[0]}/{tail}"
    if ctx.scope == "resourceGroup":
        return f"/subscriptions/{sub}/resourceGroups/{ctx.resource_group.get('name')}/{tail}"
    if ctx.scope == "subscription":
        return f"/subscriptions/{sub}/{tail}"
    return f"/{tail}"


@builtin("subscriptionResourceId", context=True)
def subscription_resource_id(ctx, first, second, *rest):
    scope_args, rtype, names = _split_at_type("subscriptionResourceId", (first, second, *rest), 1)
    sub = expect_str("subscriptionResourceId", scope_args[0]) if scope_args else ctx.subscription.get("subscriptionId")
    return f"/subscriptions/{sub}/{_type_and_names('subscriptionResourceId', rtype, names)}"


@builtin("tenantResourceId")
def tenant_resource_id(resource_type, *names):
    if not names:
        raise fail("tenantResourceId", "expects at least one resource name after the type")
    return "/" + _type_and_names("tenantResourceId", resource_type, names)


@builtin("managementGroupResourceId", context=True)
def management_group_resource_id(ctx, first, second, *rest):
    scope_args, rtype, names = _split_at_type("managementGroupResourceId", (first, second, *rest), 1)
    if scope_args:
        group = expect_str("managementGroupResourceId", scope_args[0])
    else:
        mg = ctx.management_group
        if mg is None:
            from armguard.arm.evaluator import PLACEHOLDER_MANAGEMENT_GROUP

            group = PLACEHOLDER_MANAGEMENT_GROUP
        else:
            group = mg.get("name")
    tail = _type_and_names("managementGroupResourceId", rtype, names)
    return f"/providers/Microsoft.Management/managementGroups/{group}/{tail}"


@builtin("extensionResourceId")
def extension_resource_id(base_id, resource_type, *names):
    base = expect_str("extensionResourceId", base_id).rstrip("/")
    if not names:
        raise fail("extensionResourceId", "expects at least one resource name after the type")
    return f"{base}/{_type_and_names('extensionResourceId', resource_type, names)}"


# ---------------------------------------------------------------------------------------------
# Run-time state: reference() and list*() are answered by the context's resolver, else Unknown


def _runtime_call(ctx: Any, fn: str, args: tuple, text: str) -> Any:
    target = args[0]
    if not isinstance(target, str | Unknown):
        raise fail(fn, f"expects a resource id or name, got {type_name(target)}")
    api_version = args[1] if len(args) > 1 and isinstance(args[1], str) else None
    if ctx.reference_resolver is not None:
        from armguard.arm.evaluator import ResourceRef

        return ctx.reference_resolver(ResourceRef(fn, target, api_version, tuple(args[1:]), text))
    label = target if isinstance(target, str) else target.text
    return Unknown(text, unknown_deps(list(args)) | {f"reference:{label}"})


@builtin("reference", context=True, unknown_aware=True, text=True)
def reference(ctx, target, api_version=None, full=None, *, text, name):
    if isinstance(full, str) and full.lower() != "full":
        raise fail("reference", f"expects 'Full' as third argument, got '{full}'")
    args = (target, *(a for a in (api_version, full) if a is not None))
    return _runtime_call(ctx, "reference", args, text)


@builtin("list", context=True, unknown_aware=True, text=True)
def list_(ctx, target, api_version=None, function_values=None, *, text, name):
    """Every list* function (listKeys, listSecrets, ...): `name` is the name as called."""
    args = (target, *(a for a in (api_version, function_values) if a is not None))
    return _runtime_call(ctx, name, args, text)


# ---------------------------------------------------------------------------------------------
# Environment data with public-cloud answers

# Public-cloud regions with availability zones (pickZones() answers ['1'] there, [] elsewhere).
ZONE_REGIONS = frozenset(
    ["australiaeast", "austriaeast", "belgiumcentral", "brazilsouth", "canadacentral", "centralindia", "centralus", "chilecentral", "eastasia", "eastus", "eastus2", "francecentral", "germanywestcentral", "indonesiacentral", "israelcentral", "italynorth", "japaneast", "japanwest", "koreacentral", "malaysiawest", "mexicocentral", "newzealandnorth", "northeurope", "norwayeast", "polandcentral", "qatarcentral", "southafricanorth", "southcentralus", "southeastasia", "spaincentral", "swedencentral", "switzerlandnorth", "uaenorth", "uksouth", "westeurope", "westus2", "westus3", "usgovvirginia", "chinanorth3"]
)


@builtin("pickZones")
def pick_zones(provider_namespace, resource_type, location, number_of_zones=1, offset=0):
    expect_str("pickZones", provider_namespace)
    expect_str("pickZones", resource_type)
    region = expect_str("pickZones", location).replace(" ", "").lower()
    count, start = expect_int("pickZones", number_of_zones), expect_int("pickZones", offset)
    if region not in ZONE_REGIONS:
        return []
    return ["1", "2", "3"][start : start + count]


@builtin("providers", text=True)
def providers(provider_namespace, resource_type=None, *, text, name):
    namespace = expect_str("providers", provider_namespace)
    return Unknown(text, {f"runtime:providers:{namespace}"})


@builtin("roleDefinitions", text=True)
def role_definitions(role_name, *, text, name):
    """Looked up at deployment time (Bicep's own snapshot leaves it unevaluated too)."""
    role = expect_str("roleDefinitions", role_name)
    return Unknown(text, {f"runtime:roleDefinitions:{role}"})
