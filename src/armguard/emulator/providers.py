"""Resource provider registrations: what `GET /subscriptions/{s}/providers[/{namespace}]` answers.

Tools read these before they write: the Azure CLI and SDK helpers pick API versions from them, and
Terraform's azurerm provider lists them and registers what it needs when it starts. The emulator
accepts every resource type, so every well-formed namespace can be read and registered. A
namespace's resource types are the catalog's and those written in this state, each with the API
versions requests used (newest first) or, when none did, the published version armguard falls
back to (`catalog.api_versions`). Namespaces start `Registered`; `register` / `unregister` switch
them, and a write into an unregistered one gets 409 `MissingSubscriptionRegistration`, as in Azure.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from armguard.catalog.api_versions import api_version_for
from armguard.emulator import errors as E

REGISTERED, UNREGISTERED = "Registered", "Unregistered"
# Namespaces every subscription lists even before anything is written in them.
CORE_NAMESPACES = ("Microsoft.Resources", "Microsoft.Authorization", "Microsoft.Insights")
_NAMESPACE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)+$")


def check_namespace(namespace: str) -> str:
    """The namespace as given, or 404 `InvalidResourceNamespace` when it is not one."""
    if not _NAMESPACE.match(namespace):
        raise E.ArmError(404, "InvalidResourceNamespace", f"The resource namespace '{namespace}' is invalid.")
    return namespace


def provider_types(types: Iterable[tuple[str, str | None]]) -> dict[str, dict[str, Any]]:
    """Resource types by lower-case namespace, from `(full type, api version or None)` pairs:
    {namespace key: {"namespace": spelling, "types": {type path key: (type path, {versions})}}}."""
    out: dict[str, dict[str, Any]] = {}
    for full_type, version in types:
        namespace, _, path = full_type.partition("/")
        if not path:
            continue
        entry = out.setdefault(namespace.lower(), {"namespace": namespace, "types": {}})
        _, versions = entry["types"].setdefault(path.lower(), (path, set()))
        if version:
            versions.add(version)
    return out


def provider_view(subscription: str, namespace: str, known: dict[str, Any] | None, state: str,
                  locations: list[str]) -> dict[str, Any]:
    """One provider as Resource Manager shows it (`known`: its entry from `provider_types`)."""
    spelling = known["namespace"] if known else namespace
    resource_types = []
    for path, versions in (known["types"].values() if known else ()):
        listed = sorted(versions, reverse=True) or [api_version_for(f"{spelling}/{path}")]
        resource_types.append({"resourceType": path, "locations": list(locations), "apiVersions": listed,
                               "defaultApiVersion": listed[0], "capabilities": "None"})
    resource_types.sort(key=lambda t: t["resourceType"].lower())
    return {"id": f"/subscriptions/{subscription}/providers/{spelling}", "namespace": spelling,
            "registrationState": state, "registrationPolicy": "RegistrationRequired",
            "resourceTypes": resource_types}
