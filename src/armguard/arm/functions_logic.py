"""Comparison, logical, numeric and conversion functions."""

from __future__ import annotations

import math
from typing import Any

from armguard.arm.functions_base import (
    EvaluationError,
    builtin,
    deep_equals,
    expect_bool,
    expect_str,
    fail,
    is_int,
    is_number,
    to_text,
    type_name,
)
from armguard.arm.functions_json import parse_json
from armguard.values import Unknown, merge_unknown

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# ---------------------------------------------------------------------------------------------
# Comparison


@builtin("equals")
def equals(a, b):
    return deep_equals(a, b)


def _compare(fn: str, a: Any, b: Any) -> int:
    if is_number(a) and is_number(b):
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        # Resource Manager compares strings with culture rules: letters first by case-insensitive
        # order, then lowercase before uppercase ('A' is greater than 'a').
        ka, kb = (a.lower(), a.swapcase()), (b.lower(), b.swapcase())
        return (ka > kb) - (ka < kb)
    raise fail(fn, f"expects two ints or two strings, got {type_name(a)} and {type_name(b)}")


@builtin("greater")
def greater(a, b):
    return _compare("greater", a, b) > 0


@builtin("greaterOrEquals")
def greater_or_equals(a, b):
    return _compare("greaterOrEquals", a, b) >= 0


@builtin("less")
def less(a, b):
    return _compare("less", a, b) < 0


@builtin("lessOrEquals")
def less_or_equals(a, b):
    return _compare("lessOrEquals", a, b) <= 0


@builtin("coalesce", unknown_aware=True, text=True)
def coalesce(*values, text, name):
    if not values:
        raise fail("coalesce", "expects at least 1 argument, got 0")
    for i, v in enumerate(values):
        if isinstance(v, Unknown):
            return merge_unknown(text, *values[i:])
        if v is not None:
            return v
    return None


# ---------------------------------------------------------------------------------------------
# Logical (the evaluator handles if/and/or lazily; these serve callers with evaluated values)


@builtin("and", unknown_aware=True, text=True)
def and_(a, b, *more, text, name):
    return _all_or_any("and", False, (a, b, *more), text)


@builtin("or", unknown_aware=True, text=True)
def or_(a, b, *more, text, name):
    return _all_or_any("or", True, (a, b, *more), text)


def _all_or_any(fn: str, decisive: bool, values: tuple, text: str) -> Any:
    unknowns = []
    for v in values:
        if isinstance(v, Unknown):
            unknowns.append(v)
        elif expect_bool(fn, v) is decisive:
            return decisive
    return merge_unknown(text, *unknowns) if unknowns else not decisive


@builtin("not")
def not_(value):
    return not expect_bool("not", value)


@builtin("if", unknown_aware=True, text=True)
def if_(condition, when_true, when_false, *, text, name):
    if isinstance(condition, Unknown):
        if deep_equals(when_true, when_false) and not isinstance(when_true, Unknown):
            return when_true
        return merge_unknown(text, condition, when_true, when_false)
    return when_true if expect_bool("if", condition) else when_false


@builtin("true")
def true():
    return True


@builtin("false")
def false():
    return False


@builtin("null")
def null():
    return None


@builtin("bool")
def bool_(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        raise fail("bool", f"cannot convert '{value}' to a bool")
    if is_number(value):
        return value != 0
    raise fail("bool", f"expects a string, int or bool, got {type_name(value)}")


# ---------------------------------------------------------------------------------------------
# Numeric (64-bit integers; div and mod truncate toward zero as in .NET)


def _int64(fn: str, value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise fail(fn, "result is out of the range of a 64-bit integer")
    return value


def _operands(fn: str, a: Any, b: Any) -> tuple[Any, Any]:
    for v in (a, b):
        if not is_number(v):
            raise fail(fn, f"expects ints, got {type_name(v)}")
    return a, b


@builtin("add")
def add(a, b):
    a, b = _operands("add", a, b)
    return _int64("add", a + b) if is_int(a) and is_int(b) else a + b


@builtin("sub")
def sub(a, b):
    a, b = _operands("sub", a, b)
    return _int64("sub", a - b) if is_int(a) and is_int(b) else a - b


@builtin("mul")
def mul(a, b):
    a, b = _operands("mul", a, b)
    return _int64("mul", a * b) if is_int(a) and is_int(b) else a * b


@builtin("div")
def div(a, b):
    a, b = _operands("div", a, b)
    if b == 0:
        raise fail("div", "cannot divide by zero")
    if is_int(a) and is_int(b):
        q = abs(a) // abs(b)
        return _int64("div", q if (a >= 0) == (b >= 0) else -q)
    return a / b


@builtin("mod")
def mod(a, b):
    a, b = _operands("mod", a, b)
    if b == 0:
        raise fail("mod", "cannot divide by zero")
    if is_int(a) and is_int(b):
        r = abs(a) % abs(b)
        return r if a >= 0 else -r
    return math.fmod(a, b)


@builtin("int")
def int_(value):
    if is_int(value):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise fail("int", f"cannot convert {value} to an int")
        return _int64("int", int(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            return _int64("int", int(text, 10))
        except ValueError:
            raise fail("int", f"cannot convert '{value}' to an int") from None
    raise fail("int", f"expects a string or number, got {type_name(value)}")


@builtin("float")
def float_(value):
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise fail("float", f"cannot convert '{value}' to a float") from None
        if math.isnan(result) or math.isinf(result):
            raise fail("float", f"cannot convert '{value}' to a float")
        return result
    raise fail("float", f"expects a string or number, got {type_name(value)}")


# ---------------------------------------------------------------------------------------------
# Conversion


@builtin("string")
def string(value):
    return to_text(value)


@builtin("json")
def json(value):
    try:
        return parse_json(expect_str("json", value))
    except ValueError as exc:
        raise fail("json", f"got invalid JSON: {exc}") from None


@builtin("fail")
def fail_(message):
    raise EvaluationError(f"the template called fail(): {to_text(message)}")
