"""Which resource of a template an expression names: dependsOn entries, reference() targets, scopes.

Names are often only partly known offline (`format('{0}/default', parameters('name'))` with no
value for `name`). They are compared as *keys*: the known text with every unknown part replaced
by the canonical text of its expression, so the same expression on both sides matches even
though its value is unknown. A key is lower case, segments separated by '/'.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from armguard.arm.evaluator import EvalContext, evaluate_expr
from armguard.arm.expressions import Call, Expr, Index, Literal, Member, parse_template_string, quote, render
from armguard.errors import ArmguardError
from armguard.values import Unknown, merge_unknown

Part = str | Unknown

_OPEN, _CLOSE, _SLASH = "\x00", "\x02", "\x01"
_FORMAT_ITEM = re.compile(r"\{\{|\}\}|\{(\d+)([,:][^}]*)?\}")
_ID_FUNCTIONS = frozenset({"resourceid", "subscriptionresourceid", "tenantresourceid",
                           "managementgroupresourceid", "extensionresourceid"})
_RUNTIME_PREFIXES = ("reference", "list")


def string_parts(expr: Expr | str, ctx: EvalContext) -> list[Part]:
    """The text of a string expression as known strings and opaque Unknown parts."""
    if isinstance(expr, str):
        return [expr]
    try:
        value = evaluate_expr(expr, ctx)
    except (ArmguardError, RecursionError):
        value = None
    else:
        if isinstance(value, str):
            return [value]
        if isinstance(value, int) and not isinstance(value, bool):
            return [str(value)]
    if isinstance(expr, Call) and expr.namespace is None:
        name = expr.name.lower()
        if name == "format" and expr.args and isinstance(expr.args[0], Literal) and isinstance(expr.args[0].value, str):
            return _format_parts(expr.args[0].value, expr.args[1:], ctx)
        if name == "concat":
            return [p for a in expr.args for p in string_parts(a, ctx)]
        if name in _ID_FUNCTIONS:
            return _resource_id_parts(expr.args, ctx)
    return [value if isinstance(value, Unknown) else Unknown(render(expr), _deps_of(expr, ctx))]


def _deps_of(expr: Expr, ctx: EvalContext) -> frozenset[str]:
    """What an expression's value depends on when it cannot be used as text (for Unknown deps)."""
    try:
        value = evaluate_expr(expr, ctx)
    except (ArmguardError, RecursionError):
        deps = {"error:evaluation"}
        if "copyindex(" in render(expr).lower():
            for index in ctx.copy_indexes.values():
                if isinstance(index, Unknown):
                    deps |= index.deps
        return frozenset(deps)
    return value.deps if isinstance(value, Unknown) else frozenset()


def _format_parts(fmt: str, args: tuple[Expr, ...], ctx: EvalContext) -> list[Part]:
    parts: list[Part] = []
    pos = 0
    for m in _FORMAT_ITEM.finditer(fmt):
        parts.append(fmt[pos:m.start()])
        pos = m.end()
        if m.group(1) is None:
            parts.append(m.group()[0])
            continue
        i = int(m.group(1))
        if i >= len(args):
            parts.append(Unknown(m.group()))
        elif m.group(2):
            parts.append(Unknown(render(args[i]) + m.group(2), _deps_of(args[i], ctx)))
        else:
            parts.extend(string_parts(args[i], ctx))
    parts.append(fmt[pos:])
    return parts


def _resource_id_parts(args: tuple[Expr, ...], ctx: EvalContext) -> list[Part]:
    """resourceId(...) and friends when some argument is unknown: '/providers/ns/t1/n1/t2/n2'."""
    evaluated = [string_parts(a, ctx) for a in args]
    for i, parts in enumerate(evaluated):
        if len(parts) == 1 and isinstance(parts[0], str) and _looks_like_type(parts[0]):
            ns, *types = [s for s in parts[0].split("/") if s]
            names: list[list[Part]] = []
            for name in evaluated[i + 1:]:
                if all(isinstance(p, str) for p in name):
                    names.extend([s] for s in "".join(name).split("/") if s)  # type: ignore[arg-type]
                else:
                    names.append(name)
            if len(names) != len(types):
                break
            out: list[Part] = ["/providers/", ns]
            for rtype, name in zip(types, names, strict=True):
                out += ["/", rtype, "/", *name]
            return out
    return [Unknown("resourceId(" + ", ".join(render(a) for a in args) + ")")]


def _looks_like_type(text: str) -> bool:
    segments = [s for s in text.split("/") if s]
    return len(segments) >= 2 and "." in segments[0] and " " not in text


def name_segments(parts: list[Part]) -> list[Any]:
    """A name split on its literal '/' characters: known segments as text, others as Unknown."""
    segments: list[list[Part]] = [[]]
    for p in parts:
        if isinstance(p, str):
            first, *rest = p.split("/")
            if first:
                segments[-1].append(first)
            for piece in rest:
                segments.append([piece] if piece else [])
        else:
            segments[-1].append(p)
    return [_join(pieces) for pieces in segments if pieces]


def _join(pieces: list[Part]) -> Any:
    if all(isinstance(p, str) for p in pieces):
        return "".join(pieces)  # type: ignore[arg-type]
    if len(pieces) == 1:
        return pieces[0]
    text = "concat(" + ", ".join(quote(p) if isinstance(p, str) else p.text for p in pieces) + ")"
    return merge_unknown(text, *pieces)


def flatten(parts: list[Part]) -> str:
    """A comparable key: known text as is, unknown parts as their expression text, lower case."""
    out: list[str] = []
    for p in parts:
        if isinstance(p, Unknown):
            out.append(_OPEN + p.text.replace("/", _SLASH) + _CLOSE)
        else:
            out.append(p)
    return "".join(out).lower()


def has_unknown(key: str) -> bool:
    return _OPEN in key


@dataclass(frozen=True, slots=True)
class ResourceKey:
    """A resource as named by a reference: its type (None for a bare name) and name segments."""

    type: str | None
    names: tuple[str, ...]


def parse_key(key: str) -> ResourceKey:
    """Interpret a flattened reference: a resource id, 'Ns/type/name', or a bare (possibly child) name."""
    segments = [s for s in key.split("/") if s]
    if "providers" in segments:
        last = len(segments) - 1 - segments[::-1].index("providers")
        rest = segments[last + 1:]
        if len(rest) >= 3:
            return ResourceKey("/".join([rest[0], *rest[1::2]]), tuple(rest[2::2]))
    if len(segments) >= 3 and len(segments) % 2 == 1 and "." in segments[0] and not has_unknown(segments[0]):
        return ResourceKey("/".join([segments[0], *segments[1::2]]), tuple(segments[2::2]))
    return ResourceKey(None, tuple(segments))


def resource_key(resource_type: str, name_key: str) -> ResourceKey:
    return ResourceKey(resource_type.lower(), tuple(s for s in name_key.split("/") if s))


@dataclass
class ResourceIndex:
    """The resources of one template, for resolving references to symbols."""

    by_key: dict[ResourceKey, list[str]] = field(default_factory=dict)
    by_name: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    by_symbol: dict[str, str] = field(default_factory=dict)
    by_loop: dict[str, str] = field(default_factory=dict)

    def add(self, symbol: str, key: ResourceKey, loop_name: str | None = None,
            instance_keys: tuple[ResourceKey, ...] = ()) -> None:
        """A resource; a loop's iterations with known names are found by those names too."""
        for k in (key, *instance_keys):
            if symbol not in self.by_key.get(k, ()):
                self.by_key.setdefault(k, []).append(symbol)
                self.by_name.setdefault(k.names, []).append(symbol)
        self.by_symbol.setdefault(symbol.lower(), symbol)
        if loop_name:
            self.by_loop.setdefault(loop_name.lower(), symbol)

    def resolve(self, key: str, *, symbolic: bool) -> list[str]:
        """Symbols a flattened reference names: symbolic name, copy loop name, resource id or name."""
        if symbolic:
            found = self.symbol_of(key)
            if found:
                return [found]
        if not has_unknown(key) and key in self.by_loop:
            return [self.by_loop[key]]
        ref = parse_key(key)
        if ref.type is not None:
            found = self.by_key.get(ref)
            if found is None and has_unknown(key):
                return self._only_of_type(ref)
            return list(found or ())
        return list(self.by_name.get(ref.names, []))

    def _only_of_type(self, ref: ResourceKey) -> list[str]:
        """A reference whose names are not known offline, to the one resource of its type with as many
        name segments: Resource Manager resolves it by value, and there is nothing else it can name
        (`resourceId('T', parameters('a'), parameters('b'))` against `concat(string(a), '/', string(b))`)."""
        same = [symbols for k, symbols in self.by_key.items() if k.type == ref.type and len(k.names) == len(ref.names)]
        found = {s for symbols in same for s in symbols}
        return list(found) if len(found) == 1 else []

    def symbol_of(self, key: str) -> str | None:
        """The symbol a 2.0 reference names: 'sym', 'sym[3]', 'parent::child' (case-insensitive)."""
        found = self.by_symbol.get(key)
        if found is None and "[" in key:
            head = key.split("[", 1)[0]
            found = None if has_unknown(head) else self.by_symbol.get(head)
        return found


def runtime_targets(value: object) -> Iterator[Expr]:
    """The first argument of every reference()/list*() call in a template value's expressions."""
    if isinstance(value, str):
        if len(value) > 2 and value[0] == "[":
            try:
                parsed = parse_template_string(value)
            except ArmguardError:
                return
            if not isinstance(parsed, str):
                yield from _calls_in(parsed)
    elif isinstance(value, list):
        for v in value:
            yield from runtime_targets(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from runtime_targets(k)
            yield from runtime_targets(v)


def _calls_in(expr: Expr) -> Iterator[Expr]:
    if isinstance(expr, Call):
        if expr.namespace is None and expr.args and expr.name.lower().startswith(_RUNTIME_PREFIXES):
            yield expr.args[0]
        for a in expr.args:
            yield from _calls_in(a)
    elif isinstance(expr, Member):
        yield from _calls_in(expr.target)
    elif isinstance(expr, Index):
        yield from _calls_in(expr.target)
        yield from _calls_in(expr.index)


def readable_name(expr: Expr | str) -> str | None:
    """A short readable rendering of a name expression, for classic templates' symbols."""
    if isinstance(expr, str):
        return expr
    if isinstance(expr, Literal):
        return None if expr.value is None else str(expr.value)
    if isinstance(expr, Call):
        name = expr.name.lower()
        first = expr.args[0] if expr.args else None
        if name in ("parameters", "variables") and isinstance(first, Literal):
            return str(first.value)
        if name == "concat":
            pieces = [readable_name(a) for a in expr.args]
            return "".join(p for p in pieces if p) or None
        if name == "format" and isinstance(first, Literal) and isinstance(first.value, str):
            return _readable_format(first.value, expr.args[1:])
        if name in ("tolower", "toupper", "trim", "string", "take", "substring", "replace", "last") and first:
            return readable_name(first)
        return None
    if isinstance(expr, Member):
        base = readable_name(expr.target)
        return f"{base}.{expr.name}" if base else expr.name
    if isinstance(expr, Index):
        return readable_name(expr.target)
    return None


def _readable_format(fmt: str, args: tuple[Expr, ...]) -> str | None:
    def sub(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return m.group()[0]
        i = int(m.group(1))
        return (readable_name(args[i]) or "") if i < len(args) else ""

    return _FORMAT_ITEM.sub(sub, fmt) or None
