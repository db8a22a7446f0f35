"""The ARM template function library: `call_function`, `FUNCTIONS` and `is_supported`.

Arguments are evaluated values (plain Python or `Unknown`); lambdas are callables. The
implementations live in the `functions_*` modules, grouped as in the ARM documentation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Importing the modules registers their functions.
from armguard.arm import (  # noqa: F401
    functions_array,
    functions_cidr,
    functions_date,
    functions_deployment,
    functions_lambda,
    functions_logic,
    functions_resource,
    functions_string,
)
from armguard.arm.functions_base import FUNCTIONS, Builtin, EvaluationError, render_call
from armguard.values import is_known, merge_unknown

if TYPE_CHECKING:
    from armguard.arm.evaluator import EvalContext

__all__ = ["FUNCTIONS", "EvaluationError", "call_function", "is_supported"]


def is_supported(name: str) -> bool:
    """True for every built-in function the evaluator implements (names are case-insensitive)."""
    return _lookup(name) is not None


def _lookup(name: str) -> Builtin | None:
    low = name.lower()
    found = FUNCTIONS.get(low)
    if found is None and low.startswith("list"):
        return FUNCTIONS["list"]
    return found


def call_function(name: str, args: list[Any], ctx: EvalContext | None = None, *, text: str | None = None) -> Any:
    """Call the built-in function `name` with evaluated `args`.

    `text` is the source text of the call, used for Unknown results and messages; it defaults to
    a rendering of the arguments. Without `ctx` a default `EvalContext()` is used.
    """
    if "." in name:
        if ctx is None:
            raise EvaluationError(f"unknown function '{name}'")
        return _call_user_function_with_values(name, args, ctx)
    builtin = _lookup(name)
    if builtin is None:
        raise EvaluationError(f"unknown function '{name}'")
    n = len(args)
    if n < builtin.min_args or (builtin.max_args is not None and n > builtin.max_args):
        raise EvaluationError(f"function '{builtin.name}' expects {_arity(builtin)}, got {n}")
    if text is None:
        text = render_call(name, args)
    if not builtin.unknown_aware and not all(is_known(a) for a in args):
        return merge_unknown(text, *args)
    if ctx is None and builtin.wants_context:
        from armguard.arm.evaluator import EvalContext

        ctx = EvalContext()
    call_args = [ctx, *args] if builtin.wants_context else args
    try:
        if builtin.wants_text:
            return builtin.fn(*call_args, text=text, name=name)
        return builtin.fn(*call_args)
    except EvaluationError:
        raise
    except RecursionError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError, ZeroDivisionError,
            ArithmeticError, UnicodeError) as exc:
        raise EvaluationError(f"function '{builtin.name}' failed: {exc}") from None


def _arity(builtin: Builtin) -> str:
    lo, hi = builtin.min_args, builtin.max_args
    if hi is None:
        return f"at least {lo} argument{'s' if lo != 1 else ''}"
    if lo == hi:
        return f"{lo} argument{'s' if lo != 1 else ''}"
    return f"{lo} to {hi} arguments"


def _call_user_function_with_values(name: str, args: list[Any], ctx: EvalContext) -> Any:
    from armguard.arm.evaluator import call_user_function

    return call_user_function(name, args, ctx)
