"""Static evaluation of Bicep expressions.

Literals, parameters with values, variables and pure functions evaluate to plain values; anything
known only at deployment time (resource properties, module outputs, `resourceGroup()`, loop
variables of unexpanded loops) is an `Unknown` that records what it depends on. The function
library is the ARM one: Bicep compiles its functions to ARM template functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from armguard.arm.functions import EvaluationError, call_function
from armguard.arm.functions_base import ci_get, render_call, to_text
from armguard.bicep import syntax as s
from armguard.values import Unknown, is_known, merge_unknown, unknown_deps

if TYPE_CHECKING:
    from armguard.bicep.semantic import SemanticModel

# Functions whose value depends on where and when the deployment runs.
_RUNTIME_FUNCTIONS = frozenset({
    "resourcegroup", "subscription", "tenant", "managementgroup", "deployment", "deployer", "environment",
    "utcnow", "newguid", "reference", "getsecret", "readenvironmentvariable", "externalinput", "pickzones",
    "providers", "list", "listkeys", "listsecrets", "listaccountsas", "listservicesas", "fail",
})
_MAX_ITEMS = 10_000


class Evaluator:
    """Evaluates expressions of one semantic model. Environments map local names (loop items,
    lambda parameters) to values."""

    def __init__(self, model: SemanticModel):
        self.model = model
        self._vars: dict[str, Any] = {}
        self._vars_in_progress: set[str] = set()
        self._names: dict[str, Any] = {}

    def text(self, node: s.Node) -> str:
        return self.model.source.text[node.start:node.end]

    # ------------------------------------------------------------- symbols
    def param(self, name: str) -> Any:
        return self.model.param_value(name)

    def var(self, name: str) -> Any:
        if name in self._vars:
            return self._vars[name]
        if name in self._vars_in_progress:
            return Unknown(name, {f"var:{name}"})
        decl = self.model.variables[name]
        self._vars_in_progress.add(name)
        try:
            value = self.eval(decl.value, {})
        finally:
            self._vars_in_progress.discard(name)
        self._vars[name] = value
        return value

    def resource_name(self, symbol: str) -> Any:
        """The `name` of a declared resource or module, when it does not depend on a loop."""
        if symbol in self._names:
            return self._names[symbol]
        self._names[symbol] = Unknown(f"{symbol}.name", {f"resource:{symbol}"})
        decl = self.model.declarations[symbol]
        value: Any = Unknown(f"{symbol}.name", {f"resource:{symbol}"})
        body = decl.body
        if body is not None and decl.loop is None:
            name_expr = body.get("name")
            if name_expr is not None:
                value = self.eval(name_expr, {})
        self._names[symbol] = value
        return value

    # ---------------------------------------------------------- evaluation
    def eval(self, e: s.Node, env: dict[str, Any]) -> Any:
        try:
            return self._eval(e, env)
        except (EvaluationError, RecursionError):
            return Unknown(self.text(e), {"error"})

    def _eval(self, e: s.Node, env: dict[str, Any]) -> Any:
        method = _DISPATCH.get(type(e))
        if method is None:
            return Unknown(self.text(e), {"unsupported"})
        return method(self, e, env)

    def _literal(self, e: Any, env: dict[str, Any]) -> Any:
        return e.value if not isinstance(e, s.NullLiteral) else None

    def _string(self, e: s.StringLiteral, env: dict[str, Any]) -> Any:
        if len(e.parts) == 1 and isinstance(e.parts[0], str):
            return e.parts[0]
        out: list[str] = []
        values: list[Any] = []
        for p in e.parts:
            if isinstance(p, str):
                out.append(p)
            else:
                v = self._operand(p, env)
                values.append(v)
                if is_known(v):
                    out.append(to_text(v))
                else:
                    out.append("${" + (v.text if isinstance(v, Unknown) else self.text(p)) + "}")
        if all(is_known(v) for v in values):
            return "".join(out)
        # The text keeps the known parts, so two iterations' names compare equal only when they are.
        return merge_unknown("".join(out), *values)

    def _identifier(self, e: s.Identifier, env: dict[str, Any]) -> Any:
        name = e.name
        if name in env:
            return env[name]
        kind, target = self.model.bindings.get(e.start) or (self.model.symbol_kind(name), name)
        if kind == "param":
            return self.param(target)
        if kind == "var":
            return self.var(target)
        if kind in ("resource", "module"):
            return ResourceValue(target, self)
        if kind == "local":
            return Unknown(name, {target})
        return Unknown(name, {f"{kind}:{name}"})

    def _object(self, e: s.ObjectExpr, env: dict[str, Any]) -> Any:
        out: dict[str, Any] = {}
        unknown_parts: list[Any] = []
        for item in e.items:
            if isinstance(item, s.ObjectProperty):
                key = item.key if isinstance(item.key, str) else self._eval(item.key, env)
                if not isinstance(key, str):
                    unknown_parts.append(key)
                    continue
                out[key] = self._eval(item.value, env)
            elif isinstance(item, s.Spread):
                v = self._eval(item.expr, env)
                if isinstance(v, dict):
                    out.update(v)
                elif v is not None:
                    unknown_parts.append(v)
        if unknown_parts:
            return merge_unknown(self.text(e), *unknown_parts, out)
        return out

    def _array(self, e: s.ArrayExpr, env: dict[str, Any]) -> Any:
        out: list[Any] = []
        for item in e.items:
            if isinstance(item, s.Spread):
                v = self._eval(item.expr, env)
                if isinstance(v, list):
                    out.extend(v)
                else:
                    return merge_unknown(self.text(e), v, out)
            else:
                out.append(self._eval(item, env))
        return out

    def _operand(self, e: s.Node, env: dict[str, Any]) -> Any:
        """A value for operators: resource references and lambdas are opaque (Unknown)."""
        v = self._eval(e, env)
        if isinstance(v, ResourceValue):
            return Unknown(self.text(e), {f"resource:{v.symbol}"})
        if callable(v):
            return Unknown(self.text(e), {"lambda"})
        return v

    def _unary(self, e: s.Unary, env: dict[str, Any]) -> Any:
        v = self._operand(e.operand, env)
        if not is_known(v):
            return merge_unknown(self.text(e), v)
        if e.op == "!":
            if not isinstance(v, bool):
                raise EvaluationError("'!' expects a bool")
            return not v
        if isinstance(v, bool) or not isinstance(v, int):
            raise EvaluationError(f"'{e.op}' expects an int")
        return -v if e.op == "-" else v

    def _binary(self, e: s.Binary, env: dict[str, Any]) -> Any:
        op = e.op
        left = self._operand(e.left, env)
        if op == "&&" and left is False:
            return False
        if op == "||" and left is True:
            return True
        if op == "??" and is_known(left) and left is not None:
            return left
        right = self._operand(e.right, env)
        if op == "??":
            if left is None:
                return right
            return merge_unknown(self.text(e), left, right)
        if not (is_known(left) and is_known(right)):
            return merge_unknown(self.text(e), left, right)
        return _apply_binary(op, left, right)

    def _ternary(self, e: s.Ternary, env: dict[str, Any]) -> Any:
        cond = self._operand(e.condition, env)
        if cond is True:
            return self._eval(e.if_true, env)
        if cond is False:
            return self._eval(e.if_false, env)
        return merge_unknown(self.text(e), cond, self._eval(e.if_true, env), self._eval(e.if_false, env))

    def _paren(self, e: s.Paren, env: dict[str, Any]) -> Any:
        return self._eval(e.expr, env)

    def _nonnull(self, e: s.NonNull, env: dict[str, Any]) -> Any:
        return self._eval(e.expr, env)

    def _property(self, e: s.PropertyAccess, env: dict[str, Any]) -> Any:
        target = self._eval(e.target, env)
        if isinstance(target, ResourceValue):
            return target.member(e.name, self.text(e))
        if target is None and e.safe:
            return None
        if isinstance(target, dict):
            found = ci_get(target, e.name, _MISSING)
            if found is _MISSING:
                if e.safe:
                    return None
                return Unknown(self.text(e), unknown_deps(target) | {"missing-property"})
            return found
        return merge_unknown(self.text(e), target)

    def _index(self, e: s.IndexAccess, env: dict[str, Any]) -> Any:
        target = self._eval(e.target, env)
        index = self._eval(e.index, env)
        if isinstance(target, ResourceValue):
            return target.indexed(index)
        if target is None and e.safe:
            return None
        if not (is_known(index)):
            return merge_unknown(self.text(e), target, index)
        if isinstance(target, list) and isinstance(index, int) and not isinstance(index, bool):
            i = len(target) - index if e.from_end else index
            if 0 <= i < len(target):
                return target[i]
            if e.safe:
                return None
            raise EvaluationError("index out of range")
        if isinstance(target, dict) and isinstance(index, str):
            found = ci_get(target, index, _MISSING)
            if found is _MISSING:
                if e.safe:
                    return None
                return Unknown(self.text(e), unknown_deps(target) | {"missing-property"})
            return found
        return merge_unknown(self.text(e), target, index)

    def _child(self, e: s.ChildAccess, env: dict[str, Any]) -> Any:
        target = self._eval(e.target, env)
        if isinstance(target, ResourceValue):
            child = f"{target.symbol}::{e.name}"
            if child in self.model.declarations:
                return ResourceValue(child, self)
        return Unknown(self.text(e), {"child"})

    def _call(self, e: s.Call, env: dict[str, Any]) -> Any:
        name = e.name
        if e.target is not None:
            ns = e.target
            if isinstance(ns, s.Identifier) and ns.name in ("sys", "az") and ns.name not in env \
                    and self.model.symbol_kind(ns.name) in (None, "namespace"):
                pass  # a namespaced built-in: sys.concat(...), az.resourceGroup()
            elif isinstance(ns, s.Identifier) and self.model.is_import_namespace(ns.name):
                return Unknown(self.text(e), {f"import:{ns.name}"})
            else:
                target = self._eval(ns, env)
                return merge_unknown(self.text(e), target)
        lname = name.lower()
        if lname in _RUNTIME_FUNCTIONS or lname.startswith("list"):
            args = [self._eval(a, env) for a in e.args]
            return merge_unknown(self.text(e), *args, Unknown(self.text(e), {f"runtime:{name}"}))
        if lname == "any":
            return self._eval(e.args[0], env) if e.args else None
        if lname in ("loadtextcontent", "loadjsoncontent", "loadyamlcontent", "loadfileasbase64",
                     "loaddirectoryfileinfo"):
            return self.model.load_file_function(lname, [self._eval(a, env) for a in e.args], self.text(e))
        if self.model.symbol_kind(name) == "func":
            return Unknown(self.text(e), {f"func:{name}"})
        args = [self._arg(a, env) for a in e.args]
        try:
            # An Unknown result is named by the call with its arguments' values, so iterations of a
            # loop give different texts exactly when their known inputs differ.
            return call_function(name, args, None, text=render_call(name, args))
        except EvaluationError:
            return Unknown(self.text(e), {"error"})

    def _arg(self, a: s.Node, env: dict[str, Any]) -> Any:
        if isinstance(a, s.Lambda):
            return self._lambda(a, env)
        return self._eval(a, env)

    def _lambda(self, e: s.Lambda, env: dict[str, Any]) -> Callable[..., Any]:
        return _Lambda(self, e, env)

    def _for(self, e: s.ForExpr, env: dict[str, Any]) -> Any:
        items = self._eval(e.iterable, env)
        if not isinstance(items, list) or len(items) > _MAX_ITEMS:
            return merge_unknown(self.text(e), items)
        out = []
        for i, item in enumerate(items):
            inner = dict(env)
            if e.item:
                inner[e.item] = item
            if e.index:
                inner[e.index] = i
            if e.condition is not None:
                c = self._eval(e.condition, inner)
                if c is False:
                    continue
                if c is not True:
                    return merge_unknown(self.text(e), c)
            out.append(self._eval(e.body, inner))
        return out

    def _if(self, e: s.IfExpr, env: dict[str, Any]) -> Any:
        return self._eval(e.body, env)


_MISSING = object()


class _Lambda:
    """A Bicep lambda as a value: callable by the function library, shown as its source text."""

    __slots__ = ("env", "evaluator", "expr")

    def __init__(self, evaluator: Evaluator, expr: s.Lambda, env: dict[str, Any]):
        self.evaluator = evaluator
        self.expr = expr
        self.env = env

    def __call__(self, *args: Any) -> Any:
        inner = dict(self.env)
        inner.update(zip((p.name for p in self.expr.params), args, strict=False))
        return self.evaluator._eval(self.expr.body, inner)

    def __str__(self) -> str:
        return self.evaluator.text(self.expr)


class ResourceValue:
    """A reference to a resource or module symbol inside an expression."""

    __slots__ = ("evaluator", "symbol")

    def __init__(self, symbol: str, evaluator: Evaluator):
        self.symbol = symbol
        self.evaluator = evaluator

    def member(self, name: str, text: str) -> Any:
        decl = self.evaluator.model.declarations[self.symbol]
        lname = name.lower()
        if lname == "name":
            return self.evaluator.resource_name(self.symbol)
        if lname == "type" and decl.kind == "resource":
            return decl.type
        if lname == "apiversion" and decl.kind == "resource":
            return decl.api_version
        return Unknown(text, {f"resource:{self.symbol}"})

    def indexed(self, index: Any) -> Unknown:
        return Unknown(f"{self.symbol}[{index!r}]", {f"resource:{self.symbol}"} | unknown_deps(index))


def _apply_binary(op: str, left: Any, right: Any) -> Any:
    if op == "==":
        return _equals(left, right)
    if op == "!=":
        return not _equals(left, right)
    if op == "=~":
        return isinstance(left, str) and isinstance(right, str) and left.lower() == right.lower()
    if op == "!~":
        return not (isinstance(left, str) and isinstance(right, str) and left.lower() == right.lower())
    if op in ("&&", "||"):
        if not (isinstance(left, bool) and isinstance(right, bool)):
            raise EvaluationError(f"'{op}' expects bools")
        return (left and right) if op == "&&" else (left or right)
    both_int = (isinstance(left, int) and not isinstance(left, bool)
                and isinstance(right, int) and not isinstance(right, bool))
    if op in ("<", "<=", ">", ">="):
        if not (both_int or (isinstance(left, str) and isinstance(right, str))):
            raise EvaluationError(f"'{op}' expects two ints or two strings")
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    if not both_int:
        raise EvaluationError(f"'{op}' expects ints")
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0:
        raise EvaluationError("division by zero")
    q = abs(left) // abs(right)
    q = q if (left >= 0) == (right >= 0) else -q
    return q if op == "/" else left - q * right


def _equals(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equals(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equals(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


_DISPATCH: dict[type, Callable[[Evaluator, Any, dict[str, Any]], Any]] = {
    s.IntLiteral: Evaluator._literal,
    s.BoolLiteral: Evaluator._literal,
    s.NullLiteral: Evaluator._literal,
    s.StringLiteral: Evaluator._string,
    s.Identifier: Evaluator._identifier,
    s.ObjectExpr: Evaluator._object,
    s.ArrayExpr: Evaluator._array,
    s.Unary: Evaluator._unary,
    s.Binary: Evaluator._binary,
    s.Ternary: Evaluator._ternary,
    s.Paren: Evaluator._paren,
    s.NonNull: Evaluator._nonnull,
    s.PropertyAccess: Evaluator._property,
    s.IndexAccess: Evaluator._index,
    s.ChildAccess: Evaluator._child,
    s.Call: Evaluator._call,
    s.Lambda: Evaluator._lambda,
    s.ForExpr: Evaluator._for,
    s.IfExpr: Evaluator._if,
}
