"""Guard: survive Resource Manager operation conflicts at run time."""

from .connection import ArmConnection, connect
from .errors import ArmErrorInfo, classify, parse_error
from .locks import (
    HolderInfo,
    LockError,
    LockHandle,
    LockLost,
    LockTimeout,
    WaitInfo,
    acquire,
    open_backend,
    parse_duration,
    scope_key,
)

# These pull in azure-core: imported on first use so that `armguard lock` and the parsers start fast.
_LAZY = {"ConflictRetryPolicy": ".policy", "AsyncConflictRetryPolicy": ".policy_async", "call_with_retry": ".retrying", "retry_on_conflict": ".retrying",
         "WaitResult": ".wait", "WaitTarget": ".wait", "WaitTimeout": ".wait", "wait_for": ".wait"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ArmConnection",
    "ArmErrorInfo",
    "AsyncConflictRetryPolicy",
    "ConflictRetryPolicy",
    "HolderInfo",
    "LockError",
    "LockHandle",
    "LockLost",
    "LockTimeout",
    "WaitInfo",
    "WaitResult",
    "WaitTarget",
    "WaitTimeout",
    "acquire",
    "call_with_retry",
    "classify",
    "connect",
    "open_backend",
    "parse_duration",
    "parse_error",
    "retry_on_conflict",
    "scope_key",
    "wait_for",
]
