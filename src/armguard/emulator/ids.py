"""Resource ids: parsing, case-insensitive keys, parents and ancestors.

Ids are compared case-insensitively (`key` is the lower-cased id, as `catalog.lock_key` makes it);
the emulator keeps the casing of the first PUT for display.

    /subscriptions/{s}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}[/{type}/{name}...]
    {scope id}/providers/{Namespace}/{type}/{name}          (extension resources: locks, ...)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from armguard.emulator.errors import ArmError, invalid_resource_id


@dataclass(frozen=True, slots=True)
class ResourceId:
    id: str  # as written, without a trailing '/'
    key: str  # lower case: the comparable form
    subscription: str | None
    resource_group: str | None  # as written
    namespace: str | None  # "Microsoft.Network"
    type: str | None  # "Microsoft.Network/virtualHubs/bgpConnections"
    names: tuple[str, ...]  # one per type segment below the namespace
    scope: str | None  # everything before the last '/providers/' (subscription, group or resource)
    parent: str | None  # the direct parent within the provider path

    @property
    def name(self) -> str | None:
        return self.names[-1] if self.names else None

    @property
    def is_resource(self) -> bool:
        return self.type is not None

    @property
    def type_key(self) -> str:
        return (self.type or "").lower()

    @property
    def group_key(self) -> str | None:
        """Lower-cased '/subscriptions/{s}/resourcegroups/{rg}' of the group this id lives in."""
        if self.subscription is None or self.resource_group is None:
            return None
        return f"/subscriptions/{self.subscription}/resourcegroups/{self.resource_group}".lower()

    @property
    def provider_path(self) -> str:
        """'Microsoft.Network/virtualHubs/hub1/bgpConnections/peer1' (for messages)."""
        if self.type is None:
            return self.id
        parts = [self.type.split("/")[0]]
        for t, n in zip(self.type.split("/")[1:], self.names, strict=False):
            parts += [t, n]
        return "/".join(parts)


@lru_cache(maxsize=65536)
def parse(resource_id: str) -> ResourceId:
    """Parse an id; raises ArmError 400 InvalidResourceId when it names nothing."""
    text = resource_id.strip().rstrip("/")
    segs = text.split("/")
    if len(segs) < 3 or segs[0] != "" or segs[1].lower() != "subscriptions" or not segs[2]:
        raise invalid_resource_id(resource_id)
    segs = segs[1:]
    subscription = segs[1]
    group = segs[3] if len(segs) >= 4 and segs[2].lower() == "resourcegroups" else None
    if len(segs) == 3 or (group is None and len(segs) > 2 and segs[2].lower() != "providers"):
        raise invalid_resource_id(resource_id)
    p = -1
    for i in range(len(segs) - 1, -1, -1):
        if segs[i].lower() == "providers":
            p = i
            break
    if p < 0:
        if group is not None and len(segs) == 4:
            return ResourceId(text, text.lower(), subscription, group, None, None, (), None, None)
        if len(segs) == 2:
            return ResourceId(text, text.lower(), subscription, None, None, None, (), None, None)
        raise invalid_resource_id(resource_id)
    rest = segs[p + 1:]
    if len(rest) < 3 or len(rest) % 2 == 0 or any(not s for s in rest):
        raise invalid_resource_id(resource_id)
    namespace = rest[0]
    types = rest[1::2]
    names = tuple(rest[2::2])
    rtype = "/".join([namespace, *types])
    scope = "/" + "/".join(segs[:p])
    parent = "/" + "/".join(segs[:-2]) if len(names) > 1 else None
    return ResourceId(text, text.lower(), subscription, group, namespace, rtype, names, scope, parent)


def try_parse(resource_id: str) -> ResourceId | None:
    try:
        return parse(resource_id)
    except ArmError:
        return None


@lru_cache(maxsize=65536)
def ancestors(resource_id: str) -> tuple[str, ...]:
    """Parent, grandparent, ... within the provider path (not the group, not an extension's scope)."""
    out: list[str] = []
    current = parse(resource_id).parent
    while current is not None:
        out.append(current)
        current = parse(current).parent
    return tuple(out)


def group_id(subscription: str, group: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}"


def subscription_id(subscription: str) -> str:
    return f"/subscriptions/{subscription}"


def scope_key(scope: str) -> str:
    """The comparable form of a scope ('/subscriptions/{s}[/resourceGroups/{rg}]' or a resource id)."""
    return scope.strip().rstrip("/").lower()


def build_id(scope: str, rtype: str, names: list[str] | tuple[str, ...]) -> str:
    """'{scope}/providers/{Ns}/{t1}/{n1}/...' for a full type and one name per type segment."""
    segments = rtype.split("/")
    parts = [scope.rstrip("/"), "providers", segments[0]]
    for t, n in zip(segments[1:], names, strict=True):
        parts += [t, n]
    return "/".join(parts)


def singular(word: str) -> str:
    """'virtualNetworks' -> 'virtualNetwork', 'policies' -> 'policy' (for operation names)."""
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
