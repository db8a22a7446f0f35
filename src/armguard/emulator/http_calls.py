"""The request and reply types the route handlers share, and small checks on them. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from armguard.emulator.errors import ArmError
from armguard.emulator.http_routes import Route


@dataclass(slots=True)
class Call:
    """One request as the handlers see it."""

    method: str
    route: Route
    query: Mapping[str, str]
    body: object | None
    caller: str
    correlation_id: str
    base_url: str
    api_version: str


@dataclass(slots=True)
class Reply:
    status: int
    body: object | None = None
    headers: dict[str, str] = field(default_factory=dict)


def allow(call: Call, *methods: str) -> None:
    if call.method not in methods:
        raise method_not_allowed(call.method)


def method_not_allowed(method: str) -> ArmError:
    return ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")


def not_found_route() -> ArmError:
    return ArmError(404, "InvalidResourceType", "The resource type could not be found: the request path names "
                    "no route of Azure Resource Manager that the armguard emulator serves.")


def require_object(body: object | None) -> dict:
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent",
                       "The request content was invalid and could not be deserialized: "
                       "expected a JSON object.")
    return body


def merge_patch(current: dict, patch: dict) -> dict:
    """RFC 7396 merge of `patch` into `current` (ARM's PATCH semantics for tags and properties)."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged
