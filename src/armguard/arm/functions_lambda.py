"""Lambda functions: filter, map, reduce, sort, toObject, groupBy, mapValues.

A lambda argument is any callable; `lambda(...)` in an expression evaluates to one. When a lambda
yields an Unknown where the result's shape depends on it (a filter predicate, a sort order, an
object key), the whole result is Unknown.
"""

from __future__ import annotations

import functools
from typing import Any

from armguard.arm.functions_base import builtin, call_lambda, ci_find_key, expect, expect_lambda, fail
from armguard.values import Unknown, merge_unknown


def _items(fn: str, value: Any) -> list:
    return expect(fn, value, ("array",))


@builtin("filter", unknown_aware=True, text=True)
def filter_(values, predicate, *, text, name):
    if isinstance(values, Unknown):
        return merge_unknown(text, values)
    keep = []
    fn = expect_lambda("filter", predicate, (1, 2))
    for i, item in enumerate(_items("filter", values)):
        verdict = call_lambda(fn, item, i)
        if isinstance(verdict, Unknown):
            return merge_unknown(text, values, verdict)
        if not isinstance(verdict, bool):
            raise fail("filter", f"expects the lambda to return a bool, got {type(verdict).__name__}")
        if verdict:
            keep.append(item)
    return keep


@builtin("map", unknown_aware=True, text=True)
def map_(values, mapper, *, text, name):
    if isinstance(values, Unknown):
        return merge_unknown(text, values)
    fn = expect_lambda("map", mapper, (1, 2))
    return [call_lambda(fn, item, i) for i, item in enumerate(_items("map", values))]


@builtin("reduce", unknown_aware=True, text=True)
def reduce_(values, initial, reducer, *, text, name):
    if isinstance(values, Unknown):
        return merge_unknown(text, values, initial)
    fn = expect_lambda("reduce", reducer, (2, 3))
    acc = initial
    for i, item in enumerate(_items("reduce", values)):
        acc = call_lambda(fn, acc, item, i)
    return acc


class _UnknownOrder(Exception):
    def __init__(self, value: Unknown):
        self.value = value


@builtin("sort", unknown_aware=True, text=True)
def sort_(values, comparer, *, text, name):
    if isinstance(values, Unknown):
        return merge_unknown(text, values)
    fn = expect_lambda("sort", comparer, 2)

    def before(a: Any, b: Any) -> bool:
        verdict = fn(a, b)
        if isinstance(verdict, Unknown):
            raise _UnknownOrder(verdict)
        if not isinstance(verdict, bool):
            raise fail("sort", f"expects the lambda to return a bool, got {type(verdict).__name__}")
        return verdict

    def compare(a: Any, b: Any) -> int:
        if before(a, b):
            return -1
        return 1 if before(b, a) else 0

    try:
        return sorted(_items("sort", values), key=functools.cmp_to_key(compare))
    except _UnknownOrder as unknown:
        return merge_unknown(text, values, unknown.value)


@builtin("toObject", unknown_aware=True, text=True)
def to_object(values, key_lambda, value_lambda=None, *, text, name):
    if isinstance(values, Unknown):
        return merge_unknown(text, values)
    key_fn = expect_lambda("toObject", key_lambda, 1)
    value_fn = expect_lambda("toObject", value_lambda, 1) if value_lambda is not None else None
    out: dict[str, Any] = {}
    for item in _items("toObject", values):
        key = key_fn(item)
        if isinstance(key, Unknown):
            return merge_unknown(text, values, key)
        key = expect("toObject", key, ("string",), "the key lambda to return a string")
        existing = ci_find_key(out, key)
        if existing is not None:
            del out[existing]
        out[key] = value_fn(item) if value_fn is not None else item
    return out


@builtin("groupBy", unknown_aware=True, text=True)
def group_by(values, key_lambda, *, text, name):
    if isinstance(values, Unknown):
        return merge_unknown(text, values)
    key_fn = expect_lambda("groupBy", key_lambda, 1)
    out: dict[str, list[Any]] = {}
    for item in _items("groupBy", values):
        key = key_fn(item)
        if isinstance(key, Unknown):
            return merge_unknown(text, values, key)
        key = expect("groupBy", key, ("string",), "the key lambda to return a string")
        existing = ci_find_key(out, key)
        out.setdefault(key if existing is None else existing, []).append(item)
    return out


@builtin("mapValues", unknown_aware=True, text=True)
def map_values(obj, mapper, *, text, name):
    if isinstance(obj, Unknown):
        return merge_unknown(text, obj)
    fn = expect_lambda("mapValues", mapper, 1)
    return {k: fn(v) for k, v in expect("mapValues", obj, ("object",)).items()}


@builtin("lambda")
def lambda_(*_args):
    raise fail("lambda", "can only be evaluated as part of an expression (it is handled by the evaluator)")


@builtin("lambdaVariables")
def lambda_variables(_name):
    raise fail("lambdaVariables", "can only be used inside a lambda")
