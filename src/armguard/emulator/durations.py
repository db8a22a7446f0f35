"""How long operations take: the catalog's typical duration, per operation kind, with seeded jitter.

Base durations (virtual seconds), T = the catalog's `typical_seconds` for the type:

| kind | known T | T unknown |
|---|---|---|
| create (PUT of a new resource) | T | 20 s |
| update (PUT/PATCH of an existing resource) | T / 2 | 10 s |
| delete | 3 T / 4 | 15 s |
| no-op update (PUT of a Succeeded resource with the same body) | 1 s | 1 s |

Jitter: each draw multiplies the base by a triangular variate on [0.75, 1.5] with mode 1.0 (right
skewed like real operations: mean 1.083), drawn from the state's generator seeded with `seed`, so
the same seed and the same sequence of requests give the same durations.

Timeout of a stuck operation: the catalog's `max_seconds`, else 2 h. Types in `SYNC_TYPES` complete
synchronously (no operation, no lock held).
"""

from __future__ import annotations

from math import sqrt
from typing import Any

from armguard.emulator.faults import DEFAULT_STUCK_SECONDS

DEFAULT_SECONDS = {"create": 20.0, "update": 10.0, "delete": 15.0}
KIND_RATIO = {"create": 1.0, "update": 0.5, "delete": 0.75}
NOOP_SECONDS = 1.0
JITTER_LOW, JITTER_HIGH, JITTER_MODE = 0.75, 1.5, 1.0
_C = (JITTER_MODE - JITTER_LOW) / (JITTER_HIGH - JITTER_LOW)
_C_HIGH = 1.0 - _C
_SPAN, _BACK = JITTER_HIGH - JITTER_LOW, JITTER_LOW - JITTER_HIGH  # as random.triangular computes them

SYNC_TYPES = frozenset({
    "microsoft.authorization/locks",
    "microsoft.authorization/roleassignments",
    "microsoft.authorization/roledefinitions",
    "microsoft.authorization/policyassignments",
    "microsoft.authorization/policydefinitions",
    "microsoft.resources/tags",
})


class Durations:
    """Draws operation durations for a catalog (through the state's domain resolver) and a generator."""

    __slots__ = ("_base", "_random", "_resolver", "_rng")

    def __init__(self, resolver: Any, rng: Any):
        self._resolver = resolver
        self.rng = rng
        # kind -> type key -> base seconds
        self._base: dict[str, dict[str, float]] = {kind: {} for kind in ("create", "update", "delete", "noop")}

    @property
    def rng(self) -> Any:
        return self._rng

    @rng.setter
    def rng(self, rng: Any) -> None:
        self._rng = rng
        self._random = rng.random

    def base(self, type_key: str, kind: str) -> float:
        """Base duration of `kind` ("create", "update", "delete", "noop") for a type, before jitter."""
        if kind == "noop":
            return NOOP_SECONDS
        known = self._base[kind]
        found = known.get(type_key)
        if found is None:
            typical = self._resolver.entry(type_key).typical_seconds
            found = DEFAULT_SECONDS[kind] if typical is None else float(typical) * KIND_RATIO[kind]
            known[type_key] = found
        return found

    def draw(self, type_key: str, kind: str) -> float:
        base = self._base[kind].get(type_key)
        if base is None:
            base = self.base(type_key, kind)
        # random.triangular(JITTER_LOW, JITTER_HIGH, JITTER_MODE), inlined (same draws, same values).
        u = self._random()
        if u > _C:
            return base * (JITTER_HIGH + _BACK * sqrt((1.0 - u) * _C_HIGH))
        return base * (JITTER_LOW + _SPAN * sqrt(u * _C))

    def timeout(self, type_key: str) -> float:
        limit = self._resolver.entry(type_key).max_seconds
        return float(limit) if limit is not None else DEFAULT_STUCK_SECONDS

    @staticmethod
    def is_sync(type_key: str) -> bool:
        return type_key in SYNC_TYPES
