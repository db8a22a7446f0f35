"""Array and object functions (template-functions-array, template-functions-object)."""

from __future__ import annotations

from typing import Any

from armguard.arm.functions_base import (
    builtin,
    ci_find_key,
    ci_set,
    deep_equals,
    expect,
    expect_dict,
    expect_int,
    expect_list,
    expect_str,
    fail,
    is_number,
    to_text,
    type_name,
)
from armguard.values import Unknown, is_known, merge_unknown

MAX_RANGE_COUNT = 10000


def _unknown_if_any(text: str, *values: Any) -> Unknown | None:
    """An Unknown when one of `values` is itself Unknown (not merely contains one)."""
    if any(isinstance(v, Unknown) for v in values):
        return merge_unknown(text, *values)
    return None


@builtin("array")
def array(value):
    return value if isinstance(value, list) else [value]


@builtin("createArray", unknown_aware=True)
def create_array(*values):
    return list(values)


@builtin("createObject", unknown_aware=True, text=True)
def create_object(*args, text, name):
    if len(args) % 2:
        raise fail("createObject", "expects an even number of arguments (key, value pairs)")
    out: dict[str, Any] = {}
    for i in range(0, len(args), 2):
        key = args[i]
        if isinstance(key, Unknown):
            return merge_unknown(text, *args)
        ci_set(out, expect_str("createObject", key), args[i + 1])
    return out


@builtin("concat", unknown_aware=True, text=True)
def concat(*values, text, name):
    if not values:
        return ""
    unknown = _unknown_if_any(text, *values)
    if unknown is not None:
        return unknown
    if any(isinstance(v, list) for v in values):
        out: list[Any] = []
        for v in values:
            if v is None:
                continue
            out.extend(expect_list("concat", v))
        return out
    if not all(is_known(v) for v in values):
        return merge_unknown(text, *values)
    parts = []
    for v in values:
        expect("concat", v, ("string", "int", "float", "bool", "null"), "strings or arrays")
        parts.append(to_text(v))
    return "".join(parts)


@builtin("contains", unknown_aware=True, text=True)
def contains(container, item, *, text, name):
    if isinstance(container, Unknown) or isinstance(item, Unknown):
        return merge_unknown(text, container, item)
    if isinstance(container, str):
        return to_text(expect("contains", item, ("string", "int", "float", "bool"), "a string item")) in container
    if isinstance(container, dict):
        return ci_find_key(container, expect_str("contains", item)) is not None
    if isinstance(container, list):
        if not is_known(item):
            return merge_unknown(text, container, item)
        for element in container:
            if is_known(element) and deep_equals(element, item):
                return True
        return False if is_known(container) else merge_unknown(text, container, item)
    raise fail("contains", f"expects an array, object or string, got {type_name(container)}")


@builtin("empty", unknown_aware=True, text=True)
def empty(value, *, text, name):
    if isinstance(value, Unknown):
        return merge_unknown(text, value)
    if value is None:
        return True
    expect("empty", value, ("string", "array", "object"))
    return len(value) == 0


@builtin("length", unknown_aware=True, text=True)
def length(value, *, text, name):
    if isinstance(value, Unknown):
        return merge_unknown(text, value)
    return len(expect("length", value, ("array", "object", "string")))


def _sequence(fn: str, value: Any) -> list | str:
    return expect(fn, value, ("array", "string"))


@builtin("first", unknown_aware=True, text=True)
def first(value, *, text, name):
    if isinstance(value, Unknown):
        return merge_unknown(text, value)
    seq = _sequence("first", value)
    if not seq:
        return "" if isinstance(seq, str) else None
    return seq[0]


@builtin("last", unknown_aware=True, text=True)
def last(value, *, text, name):
    if isinstance(value, Unknown):
        return merge_unknown(text, value)
    seq = _sequence("last", value)
    if not seq:
        return "" if isinstance(seq, str) else None
    return seq[-1]


@builtin("skip", unknown_aware=True, text=True)
def skip(value, count, *, text, name):
    unknown = _unknown_if_any(text, value, count)
    if unknown is not None:
        return unknown
    seq = _sequence("skip", value)
    n = expect_int("skip", count)
    return seq[max(n, 0):]


@builtin("take", unknown_aware=True, text=True)
def take(value, count, *, text, name):
    unknown = _unknown_if_any(text, value, count)
    if unknown is not None:
        return unknown
    seq = _sequence("take", value)
    n = expect_int("take", count)
    return seq[: max(n, 0)]


@builtin("flatten", unknown_aware=True, text=True)
def flatten(value, *, text, name):
    if isinstance(value, Unknown) or (isinstance(value, list) and any(isinstance(v, Unknown) for v in value)):
        return merge_unknown(text, value)
    out: list[Any] = []
    for item in expect_list("flatten", value):
        out.extend(expect("flatten", item, ("array",), "an array of arrays"))
    return out


@builtin("range")
def range_(start, count):
    start, count = expect_int("range", start), expect_int("range", count)
    if count < 0:
        raise fail("range", f"count must not be negative, got {count}")
    if count > MAX_RANGE_COUNT:
        raise fail("range", f"count must not exceed {MAX_RANGE_COUNT}, got {count}")
    if start + count > 2147483647:
        raise fail("range", "start + count must not exceed 2147483647")
    return list(range(start, start + count))


def _numbers(fn: str, args: tuple) -> list[int | float]:
    values = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
    if not values:
        raise fail(fn, "expects at least one number")
    for v in values:
        if not is_number(v):
            raise fail(fn, f"expects ints or an array of ints, got {type_name(v)}")
    return values


@builtin("min")
def min_(*args):
    return min(_numbers("min", args))


@builtin("max")
def max_(*args):
    return max(_numbers("max", args))


@builtin("indexFromEnd")
def index_from_end(value, index):
    seq = _sequence("indexFromEnd", value)
    i = expect_int("indexFromEnd", index)
    if not 1 <= i <= len(seq):
        raise fail("indexFromEnd", f"index {i} is out of range for length {len(seq)}")
    return seq[-i]


@builtin("tryIndexFromEnd", unknown_aware=True, text=True)
def try_index_from_end(value, index, *, text, name):
    unknown = _unknown_if_any(text, value, index)
    if unknown is not None:
        return unknown
    seq = _sequence("tryIndexFromEnd", value)
    i = expect_int("tryIndexFromEnd", index)
    return seq[-i] if 1 <= i <= len(seq) else None


@builtin("tryGet", unknown_aware=True, text=True)
def try_get(value, *keys, text, name):
    if not keys:
        raise fail("tryGet", "expects at least 2 arguments, got 1")
    current = value
    for key in keys:
        if isinstance(current, Unknown) or isinstance(key, Unknown):
            return merge_unknown(text, current, key)
        if current is None:
            return None
        if isinstance(current, dict):
            found = ci_find_key(current, expect("tryGet", key, ("string",), "a string key for an object"))
            current = None if found is None else current[found]
        elif isinstance(current, list):
            i = expect("tryGet", key, ("int",), "an int index for an array")
            current = current[i] if 0 <= i < len(current) else None
        else:
            return None  # like a missing property: AVM modules rely on tryGet('S0', 'capacity') being null
    return current


@builtin("objectKeys", unknown_aware=True, text=True)
def object_keys(value, *, text, name):
    if isinstance(value, Unknown):
        return merge_unknown(text, value)
    return list(expect_dict("objectKeys", value))


@builtin("items", unknown_aware=True, text=True)
def items(value, *, text, name):
    if isinstance(value, Unknown):
        return merge_unknown(text, value)
    obj = expect_dict("items", value)
    # ARM returns the entries sorted by key.
    return [{"key": k, "value": obj[k]} for k in sorted(obj, key=lambda k: (k.lower(), k))]


@builtin("shallowMerge", unknown_aware=True, text=True)
def shallow_merge(values, *, text, name):
    if isinstance(values, Unknown) or any(isinstance(v, Unknown) for v in expect_list("shallowMerge", values)):
        return merge_unknown(text, values)
    out: dict[str, Any] = {}
    for obj in values:
        for k, v in expect("shallowMerge", obj, ("object",), "an array of objects").items():
            ci_set(out, k, v)
    return out


@builtin("union", unknown_aware=True, text=True)
def union(*values, text, name):
    if not values:
        raise fail("union", "expects at least 1 argument, got 0")
    unknown = _unknown_if_any(text, *values)
    if unknown is not None:
        return unknown
    if all(isinstance(v, dict) for v in values):
        out: dict[str, Any] = {}
        for obj in values:
            _deep_merge(out, obj)
        return out
    if all(isinstance(v, list) for v in values):
        if not all(is_known(v) for v in values):
            return merge_unknown(text, *values)
        result: list[Any] = []
        for arr in values:
            for item in arr:
                if not any(deep_equals(item, seen) for seen in result):
                    result.append(item)
        return result
    raise fail("union", f"expects all arrays or all objects, got {', '.join(type_name(v) for v in values)}")


def _deep_merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for k, v in other.items():
        existing = ci_find_key(into, k)
        if existing is not None and isinstance(into[existing], dict) and isinstance(v, dict):
            merged = dict(into[existing])
            _deep_merge(merged, v)
            into[existing] = merged
        else:
            ci_set(into, k, v)


@builtin("intersection")
def intersection(*values):
    if not values:
        raise fail("intersection", "expects at least 1 argument, got 0")
    if all(isinstance(v, dict) for v in values):
        out: dict[str, Any] = {}
        for k, v in values[0].items():
            if all((o := ci_find_key(other, k)) is not None and deep_equals(other[o], v) for other in values[1:]):
                out[k] = v
        return out
    if all(isinstance(v, list) for v in values):
        result: list[Any] = []
        for item in values[0]:
            if any(deep_equals(item, seen) for seen in result):
                continue
            if all(any(deep_equals(item, x) for x in other) for other in values[1:]):
                result.append(item)
        return result
    raise fail("intersection", f"expects all arrays or all objects, got {', '.join(type_name(v) for v in values)}")
