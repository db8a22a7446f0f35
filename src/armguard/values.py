"""Values of static evaluation, shared by both front ends.

Known values are plain Python: str, int, bool, None, list, dict. What cannot be known offline
(run-time references, parameters without values, loop variables of unexpanded loops) is an
`Unknown`, which records what it depends on instead of inventing a value.
"""

from __future__ import annotations

from collections.abc import Iterable


class Unknown:
    """A value that cannot be known before deployment.

    `text` is a readable rendering of the expression (for messages); `deps` names what it depends
    on, as "kind:name" strings such as "resource:hub", "loop:peer", "param:location", "runtime:utcNow".
    """

    __slots__ = ("deps", "text")

    def __init__(self, text: str, deps: Iterable[str] = ()):
        self.text = text
        self.deps = frozenset(deps)

    def __repr__(self) -> str:
        return f"Unknown({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown) and other.text == self.text and other.deps == self.deps

    def __hash__(self) -> int:
        return hash((self.text, self.deps))

    def depends_on(self, prefix: str) -> bool:
        return any(d.startswith(prefix) for d in self.deps)


def is_known(value: object) -> bool:
    """True when the value contains no Unknown anywhere inside it."""
    if isinstance(value, Unknown):
        return False
    if isinstance(value, list):
        return all(is_known(v) for v in value)
    if isinstance(value, dict):
        return all(is_known(v) for v in value.values())
    return True


def unknown_deps(value: object) -> frozenset[str]:
    """Everything the Unknown parts of a value depend on."""
    if isinstance(value, Unknown):
        return value.deps
    if isinstance(value, list):
        out: frozenset[str] = frozenset()
        for v in value:
            out |= unknown_deps(v)
        return out
    if isinstance(value, dict):
        out = frozenset()
        for v in value.values():
            out |= unknown_deps(v)
        return out
    return frozenset()


def merge_unknown(text: str, *values: object) -> Unknown:
    """An Unknown for an expression whose inputs include unknown values."""
    deps: frozenset[str] = frozenset()
    for v in values:
        deps |= unknown_deps(v)
    return Unknown(text, deps)


class ProviderState(dict):
    """A resource's state as the emulator holds it (what `reference()` and `list*()` answer).

    The emulator stores what templates wrote, not what providers add (endpoints, customer ids,
    generated keys...), so a property missing from it reads as a `ProviderValue` instead of failing
    the deployment the way a real template error would."""

    __slots__ = ()


class ProviderValue(str):
    """A stand-in for a property only the real provider would have filled in: a string (it goes into
    format(), concat(), bodies, outputs) whose own properties read as deeper stand-ins."""

    __slots__ = ()


def provider_state(value: object) -> object:
    """`value` with every dict in it a ProviderState."""
    if isinstance(value, dict):
        return ProviderState({k: provider_state(v) for k, v in value.items()})
    if isinstance(value, list):
        return [provider_state(v) for v in value]
    return value
