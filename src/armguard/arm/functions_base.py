"""The registry of template functions and the helpers their implementations share.

Implementations are plain Python functions taking the evaluated arguments positionally; the
registry derives the accepted argument count from the signature. Values are the plain Python
values of `armguard.values` (str, int, float, bool, None, list, dict) or `Unknown`.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from armguard.arm.expressions import quote
from armguard.errors import ArmguardError
from armguard.values import ProviderState, ProviderValue, Unknown


class EvaluationError(ArmguardError, ValueError):
    """A template expression that cannot be evaluated (bad function, arguments, index, ...)."""


@dataclass(frozen=True, slots=True)
class Builtin:
    """A template function: its implementation and what it accepts."""

    name: str
    fn: Callable[..., Any]
    min_args: int
    max_args: int | None
    unknown_aware: bool
    wants_context: bool
    wants_text: bool


FUNCTIONS: dict[str, Builtin] = {}


def builtin(*names: str, unknown_aware: bool = False, context: bool = False, text: bool = False):
    """Register a function under one or more (case-insensitive) names.

    `unknown_aware` functions receive Unknown arguments themselves; for the others any Unknown in
    the arguments makes the result Unknown. `context` passes the EvalContext as first argument and
    `text` (keyword) the rendered call, for messages and Unknown values.
    """

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        params = list(inspect.signature(fn).parameters.values())
        if context:
            params = params[1:]
        params = [p for p in params if p.kind != p.KEYWORD_ONLY]
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        min_args = sum(1 for p in positional if p.default is p.empty)
        max_args = None if any(p.kind == p.VAR_POSITIONAL for p in params) else len(positional)
        for name in names:
            FUNCTIONS[name.lower()] = Builtin(name, fn, min_args, max_args, unknown_aware, context, text)
        return fn

    return register


# ---------------------------------------------------------------------------------------------
# Types


def type_name(value: object) -> str:
    if isinstance(value, Unknown):
        return "unknown"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if callable(value):
        return "lambda"
    return type(value).__name__


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fail(fn: str, message: str) -> EvaluationError:
    return EvaluationError(f"function '{fn}' {message}")


def expect(fn: str, value: object, kinds: tuple[str, ...], what: str | None = None) -> Any:
    """Return `value` if its type_name is one of `kinds`, else raise a one-line error.

    An emulator stand-in for a provider-only property (`ProviderValue`) reads as an empty array or
    object where one of them (not either) is needed: the provider would have filled it in."""
    if type_name(value) in kinds:
        return value
    if isinstance(value, ProviderValue) and ("array" in kinds) != ("object" in kinds):
        return [] if "array" in kinds else ProviderState()
    if what is None:
        what = _article(kinds[0])
        if len(kinds) > 1:
            what = ", ".join([what, *kinds[1:-1]]) + " or " + kinds[-1]
    raise fail(fn, f"expects {what}, got {type_name(value)}")


def _article(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def expect_str(fn: str, value: object) -> str:
    return expect(fn, value, ("string",))


def expect_int(fn: str, value: object) -> int:
    if is_int(value):
        return value  # type: ignore[return-value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise fail(fn, f"expects an int, got {type_name(value)}")


def expect_bool(fn: str, value: object) -> bool:
    return expect(fn, value, ("bool",))


def expect_list(fn: str, value: object) -> list:
    return expect(fn, value, ("array",))


def expect_dict(fn: str, value: object) -> dict:
    return expect(fn, value, ("object",))


def expect_lambda(fn: str, value: object, arity: int | tuple[int, ...] | None = None) -> Callable[..., Any]:
    if not callable(value) or isinstance(value, str | list | dict):
        raise fail(fn, f"expects a lambda, got {type_name(value)}")
    want = (arity,) if isinstance(arity, int) else arity
    params = getattr(value, "params", None)
    if want is not None and params is not None and len(params) not in want:
        raise fail(fn, f"expects a lambda with {' or '.join(map(str, want))} parameter(s), got {len(params)}")
    return value


def call_lambda(fn: Callable[..., Any], *args: Any) -> Any:
    """Call a lambda with as many of `args` as it declares (ARM lambdas may omit the index)."""
    params = getattr(fn, "params", None)
    count = len(params) if params is not None else _python_arity(fn)
    return fn(*args) if count is None else fn(*args[:count])


def _python_arity(fn: Callable[..., Any]) -> int | None:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return None
    return sum(1 for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


# ---------------------------------------------------------------------------------------------
# Objects are case-insensitive in ARM


def ci_find_key(obj: Mapping[str, Any], key: str) -> str | None:
    if key in obj:
        return key
    low = key.lower()
    for k in obj:
        if isinstance(k, str) and k.lower() == low:
            return k
    return None


def ci_get(obj: Mapping[str, Any], key: str, default: Any = None) -> Any:
    found = ci_find_key(obj, key)
    return default if found is None else obj[found]


def ci_set(obj: dict[str, Any], key: str, value: Any) -> None:
    """Set a property, keeping the spelling of an existing key that differs only in case."""
    found = ci_find_key(obj, key)
    obj[key if found is None else found] = value


# ---------------------------------------------------------------------------------------------
# Equality, ordering and text


def deep_equals(a: object, b: object) -> bool:
    """ARM equality: deep for arrays and objects, object keys case-insensitive, strings case-sensitive."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(deep_equals(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        if len(a) != len(b):
            return False
        for k, v in a.items():
            other = ci_find_key(b, k)
            if other is None or not deep_equals(v, b[other]):
                return False
        return True
    return type(a) is type(b) and a == b


def to_json(value: object) -> str:
    """Compact JSON the way ARM serializes values inside string() and format()."""
    return json.dumps(_jsonable(value), separators=(",", ":"), ensure_ascii=False)


def _jsonable(value: object) -> object:
    if isinstance(value, float) and value.is_integer() and not math.isinf(value):
        return int(value)
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, Unknown):
        return f"<{value.text}>"
    if value is not None and not isinstance(value, str | int | float | bool):
        raise EvaluationError(f"a {type_name(value)} is not a value: it cannot be serialized")
    return value


def to_text(value: object) -> str:
    """ARM's string(): strings unchanged, bools 'True'/'False', null '', arrays/objects JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if is_int(value):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, list | dict):
        return to_json(value)
    if isinstance(value, Unknown):
        return value.text
    raise EvaluationError(f"cannot convert {type_name(value)} to a string")


def _float_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def render_value(value: object) -> str:
    """Expression-like text for a value, for messages and the text of Unknown results."""
    if isinstance(value, Unknown):
        return value.text
    if isinstance(value, str):
        return quote(value)
    if value is None:
        return "null()"
    if isinstance(value, bool):
        return "true()" if value else "false()"
    if isinstance(value, list | dict):
        return f"json({quote(to_json(value))})"
    if callable(value):
        return str(value)
    return str(value)


def render_call(name: str, args: Iterable[object]) -> str:
    return f"{name}({', '.join(render_value(a) for a in args)})"
