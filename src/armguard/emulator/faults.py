"""Fault injection: make chosen operations stick, fail, slow down, throttle, error or get superseded.

    state.inject(Fault("stuck", type="Microsoft.Network/virtualNetworkGateways"))
    state.inject(Fault("fail", pattern="*/subnets/app", code="InvalidAddressPrefix", message="..."))
    state.inject(Fault("throttle", type="Microsoft.Network/networkInterfaces", times=2))
    state.clear_faults()

A fault matches a request when its `type` (fnmatch, case-insensitive; None: any type), its `pattern`
(fnmatch on the lower-cased resource id; None: any id) and its `methods` all match; it then fires
with `probability` (drawn from the state's seeded fault generator) at most `times` times (None: always).

| kind | when it acts | effect |
|---|---|---|
| stuck | operation start | stays InProgress until `timeout` (default: the catalog's max_seconds, else 2 h), then Failed with OperationTimedOut |
| fail | operation start (`sync=False`) or request (`sync=True`) | Failed with `code`/`message` (default InternalServerError) after its normal duration, or rejected at once with `status` |
| slow | operation start | duration multiplied by `multiplier` |
| throttle | request | rejected: 429 RetryableError with a ReferencedResourceNotProvisioned detail and Retry-After (`code`/`message` override) |
| server_error | request | rejected: `status` (default 503) ServiceUnavailable/InternalServerError with Retry-After |
| superseded | operation start | a later write to the same resource or one of its ancestors cancels this operation (status Canceled, CanceledAndSupersededDueToAnotherOperation) instead of being rejected |
"""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_KINDS = ("stuck", "fail", "slow", "throttle", "server_error", "superseded")
DEFAULT_STUCK_SECONDS = 7200.0


@dataclass
class Fault:
    kind: str
    type: str | None = None
    pattern: str | None = None
    methods: tuple[str, ...] = ("PUT", "PATCH", "DELETE")
    probability: float = 1.0
    times: int | None = None
    code: str | None = None
    message: str | None = None
    status: int | None = None
    multiplier: float = 1.0
    retry_after: float | None = None
    timeout: float | None = None
    sync: bool = False
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        self.methods = tuple(m.upper() for m in self.methods)
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if self.kind == "slow" and self.multiplier <= 0:
            raise ValueError("a slow fault needs a positive multiplier")

    @property
    def phase(self) -> str:
        if self.kind in ("throttle", "server_error") or (self.kind == "fail" and self.sync):
            return "request"
        return "start"

    def matches(self, type_key: str, id_key: str, method: str) -> bool:
        if method not in self.methods:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.type is not None and not fnmatch.fnmatchcase(type_key, self.type.lower()):
            return False
        return self.pattern is None or fnmatch.fnmatchcase(id_key, self.pattern.lower())

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["methods"] = list(self.methods)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        data = dict(data)
        data["methods"] = tuple(data.get("methods", ("PUT", "PATCH", "DELETE")))
        fired = data.pop("fired", 0)
        fault = cls(**data)
        fault.fired = fired
        return fault


class FaultSet:
    """The injected faults, consulted in injection order."""

    __slots__ = ("faults",)

    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def __bool__(self) -> bool:
        return bool(self.faults)

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def clear(self) -> None:
        self.faults.clear()

    def firing(self, phase: str, type_key: str, id_key: str, method: str, rng: Any) -> list[Fault]:
        """The faults acting in `phase` ("request": rejections; "start": shaping an accepted
        operation) that fire for this request, counted as fired."""
        out: list[Fault] = []
        for f in self.faults:
            if f.phase != phase or not f.matches(type_key, id_key, method):
                continue
            if f.probability < 1.0 and rng.random() >= f.probability:
                continue
            f.fired += 1
            out.append(f)
        return out
