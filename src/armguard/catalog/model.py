"""The catalog's value types: lock domains, readiness rules and entries.

Pure data; parsing of the TOML shape and validation live in `loader`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from armguard.errors import ArmguardError

Serial = Literal["serial", "safe", "unknown"]
DomainKind = Literal["parent", "ancestor", "property", "scope"]

SERIAL_VALUES: tuple[str, ...] = ("serial", "safe", "unknown")
DOMAIN_KINDS: tuple[str, ...] = ("parent", "ancestor", "property", "scope")

# "Microsoft.Network/virtualHubs/bgpConnections": a namespace with at least one dot, then one or
# more type segments.
_TYPE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)+(?:/[A-Za-z0-9_-]+)+$")
# One segment of a property path: a JSON key, or `*` for "every element of an array".
_SEGMENT_RE = re.compile(r"^(?:\*|[A-Za-z_$][A-Za-z0-9_$-]*)$")


def is_type_name(text: str) -> bool:
    """True when `text` looks like an ARM resource type ("Namespace.Provider/type[/child...]")."""
    return bool(_TYPE_RE.match(text))


def normalize_type(text: str) -> str:
    """The lookup key of a resource type: API version ("@2023-04-01") dropped, lower case."""
    return text.split("@", 1)[0].strip().lower()


def _check_property_path(path: str, what: str) -> tuple[str, ...]:
    segments = tuple(path.split("."))
    if not path or any(not _SEGMENT_RE.match(s) for s in segments):
        raise ArmguardError(
            f"{what}: bad property path {path!r} (expected dotted keys such as "
            "'properties.remoteVirtualNetwork.id', with '*' for each element of an array)")
    return segments


@dataclass(frozen=True, slots=True)
class Domain:
    """A lock domain a write holds besides the resource itself.

    kind "parent": the direct parent; "ancestor": the nearest ancestor of type `arg`;
    "property": the resource whose id is at the dotted path `arg` of the resource body
    ('*' walks every element of an array); "scope": the resource an extension resource applies to.
    """

    kind: DomainKind
    arg: str | None = None

    @classmethod
    def parse(cls, text: object, what: str = "domain") -> Domain:
        if not isinstance(text, str):
            raise ArmguardError(f"{what}: expected a string such as 'parent', got {_show(text)}")
        kind, sep, arg = text.partition(":")
        kind = kind.strip()
        arg = arg.strip()
        if kind not in DOMAIN_KINDS:
            raise ArmguardError(
                f"{what}: unknown domain kind {kind!r} in {text!r} "
                "(expected 'parent', 'ancestor:<type>', 'property:<dotted.path>' or 'scope')")
        if kind in ("parent", "scope"):
            if sep:
                raise ArmguardError(f"{what}: domain {kind!r} takes no argument, got {text!r}")
            return cls(kind)  # type: ignore[arg-type]
        if not arg:
            raise ArmguardError(f"{what}: domain {kind!r} needs an argument, e.g. "
                                + ("'ancestor:Microsoft.Network/virtualHubs'" if kind == "ancestor"
                                   else "'property:properties.routeTable.id'"))
        if kind == "ancestor":
            if not is_type_name(arg):
                raise ArmguardError(f"{what}: {arg!r} is not a resource type (in {text!r})")
        else:
            _check_property_path(arg, what)
        return cls(kind, arg)  # type: ignore[arg-type]

    @property
    def path(self) -> tuple[str, ...]:
        """The segments of a property domain's path (empty for other kinds)."""
        return tuple(self.arg.split(".")) if self.kind == "property" and self.arg else ()

    def __str__(self) -> str:
        return self.kind if self.arg is None else f"{self.kind}:{self.arg}"


@dataclass(frozen=True, slots=True)
class Readiness:
    """A readiness rule beyond provisioningState: `path` of `target` must equal `value`.

    `target` None means the resource itself; otherwise the resource named by that domain
    ("parent:properties.routingState=Provisioned" waits for the parent hub's routing state).
    """

    target: Domain | None
    path: str
    value: str

    @classmethod
    def parse(cls, text: object, what: str = "readiness") -> Readiness:
        if not isinstance(text, str):
            raise ArmguardError(f"{what}: expected a string such as "
                                f"'parent:properties.routingState=Provisioned', got {_show(text)}")
        lhs, eq, value = text.partition("=")
        value = value.strip()
        if not eq or not value:
            raise ArmguardError(f"{what}: expected '[<domain>:]<dotted.path>=<value>', got {text!r}")
        lhs = lhs.strip()
        target: Domain | None = None
        path = lhs
        if lhs.startswith(("parent:", "scope:")):
            kind, _, path = lhs.partition(":")
            target = Domain(kind)  # type: ignore[arg-type]
        elif lhs.startswith(("ancestor:", "property:")):
            # "<kind>:<arg>:<path>": the domain's argument cannot contain ':'.
            kind, _, rest = lhs.partition(":")
            arg, sep, path = rest.partition(":")
            if not sep:
                raise ArmguardError(f"{what}: expected '{kind}:<arg>:<dotted.path>=<value>', got {text!r}")
            target = Domain.parse(f"{kind}:{arg}", what)
        elif ":" in lhs:
            raise ArmguardError(f"{what}: unknown readiness target {lhs.partition(':')[0]!r} in {text!r} "
                                "(expected parent, scope, ancestor:<type> or property:<path>)")
        _check_property_path(path.strip(), what)
        return cls(target, path.strip(), value)

    def __str__(self) -> str:
        prefix = "" if self.target is None else f"{self.target}:"
        return f"{prefix}{self.path}={self.value}"


@dataclass(frozen=True, slots=True)
class Entry:
    """What armguard knows about one resource type.

    `serial`: do parallel writes within one lock domain conflict ("serial"), demonstrably not
    ("safe"), or is the evidence missing or contradictory ("unknown")?
    `domains`: the lock domains a write holds besides the resource itself.
    `typical_seconds` / `max_seconds`: typical duration of a create/update and the point beyond
    which it counts as stuck; None when unknown.
    `known`: False for types not in the catalog (the entry then carries the defaults).
    `origin`: "shipped", "user" (added by the user's config) or "shipped+user" (overridden).
    """

    type: str
    serial: Serial
    domains: tuple[Domain, ...] = ()
    typical_seconds: float | None = None
    max_seconds: float | None = None
    readiness: str | None = None
    sources: tuple[str, ...] = ()
    notes: str = ""
    known: bool = True
    origin: str = "shipped"
    _readiness_rule: Readiness | None = field(default=None, repr=False, compare=False)

    @property
    def readiness_rule(self) -> Readiness | None:
        """`readiness` parsed (validated when the catalog is loaded)."""
        if self._readiness_rule is None and self.readiness is not None:
            return Readiness.parse(self.readiness)
        return self._readiness_rule

    @property
    def is_serial(self) -> bool:
        return self.serial == "serial"

    @property
    def is_safe(self) -> bool:
        return self.serial == "safe"


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return repr(value)
