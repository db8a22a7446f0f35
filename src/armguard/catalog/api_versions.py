"""Published, stable Resource Manager API versions per namespace (or type): what armguard asks with
when a provider's registration cannot be read, and what the emulator's provider registration
lists for types it has seen no request for. Keys are lower-case; a type's entry wins over its
namespace's."""

from __future__ import annotations

API_VERSIONS = {
    "microsoft.network": "2024-05-01",
    "microsoft.network/privatednszones": "2024-06-01",
    "microsoft.network/dnszones": "2018-05-01",
    "microsoft.resources": "2024-03-01",
    "microsoft.authorization": "2022-04-01",
    "microsoft.web": "2023-12-01",
    "microsoft.storage": "2023-05-01",
    "microsoft.compute": "2024-07-01",
    "microsoft.keyvault": "2023-07-01",
    "microsoft.containerservice": "2024-09-01",
    "microsoft.cognitiveservices": "2024-10-01",
    "microsoft.search": "2023-11-01",
    "microsoft.dbforpostgresql": "2024-08-01",
    "microsoft.netapp": "2024-07-01",
    "microsoft.appconfiguration": "2024-05-01",
    "microsoft.managedidentity": "2023-01-31",
}
DEFAULT_API_VERSION = "2024-03-01"


def api_version_for(resource_type: str) -> str:
    """The fallback API version of a full type ('Microsoft.Network/virtualHubs') or namespace."""
    key = resource_type.lower()
    return API_VERSIONS.get(key) or API_VERSIONS.get(key.split("/", 1)[0]) or DEFAULT_API_VERSION
