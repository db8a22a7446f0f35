"""Resource ids: parsing, case-insensitive keys, parents and ancestors.

Ids are compared case-insensitively (`key` is the lower-cased id, as `catalog.lock_key` makes it);
the emulator keeps the casing of the first PUT for display.

    /subscriptions/{s}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}[/{type}/{name}...]
    {scope id}/providers/{Namespace}/{type}/{name}          (extension resources: locks, ...)
"""

from __future__ import annotations

from sys import intern

from armguard.emulator.errors import ArmError, invalid_resource_id


class ResourceId:
    """A parsed id. A slotted class, not a NamedTuple: its fields are read on every request, and
    slot reads are the ones the interpreter specializes."""

    __slots__ = ("group_key", "id", "key", "names", "namespace", "parent", "parent_key", "resource_group", "scope",
                 "subscription", "type", "type_key")

    def __init__(self, id: str, key: str, subscription: str | None, resource_group: str | None,
                 namespace: str | None, type: str | None, names: tuple[str, ...], scope: str | None,
                 parent: str | None, type_key: str = "", group_key: str | None = None, parent_key: str | None = None):
        self.id = id  # as written, without a trailing '/'
        self.key = key  # lower case: the comparable form
        self.subscription = subscription
        self.resource_group = resource_group  # as written
        self.namespace = namespace  # "Microsoft.Network"
        self.type = type  # "Microsoft.Network/virtualHubs/bgpConnections"
        self.names = names  # one per type segment below the namespace
        self.scope = scope  # everything before the last '/providers/' (subscription, group or resource)
        self.parent = parent  # the direct parent within the provider path
        self.type_key = type_key  # the type, lower case
        self.group_key = group_key  # '/subscriptions/{s}/resourcegroups/{rg}', lower case
        self.parent_key = parent_key  # the parent's key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResourceId) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"ResourceId({self.id!r})"

    @property
    def name(self) -> str | None:
        return self.names[-1] if self.names else None

    @property
    def is_resource(self) -> bool:
        return self.type is not None

    @property
    def provider_path(self) -> str:
        """'Microsoft.Network/virtualHubs/hub1/bgpConnections/peer1' (for messages)."""
        if self.type is None:
            return self.id
        parts = [self.type.split("/")[0]]
        for t, n in zip(self.type.split("/")[1:], self.names, strict=False):
            parts += [t, n]
        return "/".join(parts)


_CACHE_LIMIT = 65536
_parsed: dict[str, ResourceId] = {}
_ancestors: dict[str, tuple[str, ...]] = {}


def parse(resource_id: str) -> ResourceId:
    """Parse an id; raises ArmError 400 InvalidResourceId when it names nothing."""
    found = _parsed.get(resource_id)
    if found is None:
        if len(_parsed) >= _CACHE_LIMIT:
            _parsed.clear()
        found = _parsed[resource_id] = _parse(resource_id)
    return found


def _parse(resource_id: str) -> ResourceId:
    # The parts many ids share (subscription, group, type, scope, parent) are interned: ids are parsed
    # once and then read on every request, and one copy of each part keeps the working set small.
    text = resource_id.strip().rstrip("/")
    low = text.lower()
    if not low.startswith("/subscriptions/"):
        raise invalid_resource_id(resource_id)
    p = low.rfind("/providers/")
    head = text[1:p] if p >= 0 else text[1:]
    segs = head.split("/")  # subscriptions/{s}[/resourceGroups/{rg}][/...scope resource]
    n = len(segs)
    subscription = intern(segs[1]) if n >= 2 else ""
    if not subscription:
        raise invalid_resource_id(resource_id)
    group = segs[3] if n >= 4 and segs[2].lower() == "resourcegroups" else None
    if n == 3 or (group is None and n >= 3 and segs[2].lower() != "providers") or (group is not None and not group):
        raise invalid_resource_id(resource_id)
    if group is not None:
        group = intern(group)
        group_key = intern(low[:15 + len(subscription) + 16 + len(group)])
    else:
        group_key = None
    if p < 0:
        if n == 4:
            return ResourceId(text, low, subscription, group, None, None, (), None, None, "", group_key, None)
        if n == 2:
            return ResourceId(text, low, subscription, None, None, None, (), None, None, "", None, None)
        raise invalid_resource_id(resource_id)
    rest = text[p + 11:].split("/")
    if len(rest) < 3 or len(rest) % 2 == 0 or "" in rest:
        raise invalid_resource_id(resource_id)
    namespace = intern(rest[0])
    names = tuple(rest[2::2])
    rtype = intern("/".join([namespace, *rest[1::2]]))
    if len(names) > 1:
        parent = intern(text.rsplit("/", 2)[0])
        parent_key = intern(low.rsplit("/", 2)[0])
    else:
        parent = parent_key = None
    return ResourceId(text, low, subscription, group, namespace, rtype, names, intern(text[:p]), parent,
                      intern(rtype.lower()), group_key, parent_key)


def try_parse(resource_id: str) -> ResourceId | None:
    try:
        return parse(resource_id)
    except ArmError:
        return None


def ancestors(resource_id: str) -> tuple[str, ...]:
    """Parent, grandparent, ... within the provider path (not the group, not an extension's scope)."""
    found = _ancestors.get(resource_id)
    if found is None:
        if len(_ancestors) >= _CACHE_LIMIT:
            _ancestors.clear()
        found = _ancestors[resource_id] = _ancestors_of(resource_id)
    return found


def _ancestors_of(resource_id: str) -> tuple[str, ...]:
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
