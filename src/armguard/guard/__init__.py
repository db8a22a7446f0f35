"""Guard: survive Resource Manager operation conflicts at run time."""

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

__all__ = [
    "ArmErrorInfo",
    "HolderInfo",
    "LockError",
    "LockHandle",
    "LockLost",
    "LockTimeout",
    "WaitInfo",
    "acquire",
    "classify",
    "open_backend",
    "parse_duration",
    "parse_error",
    "scope_key",
]
