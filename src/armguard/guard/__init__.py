"""Guard: survive Resource Manager operation conflicts at run time."""

from .errors import ArmErrorInfo, classify, parse_error

__all__ = ["ArmErrorInfo", "classify", "parse_error"]
