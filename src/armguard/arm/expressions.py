"""Lexer, parser and syntax tree of the ARM template expression language.

A template string is an expression when it is wrapped in brackets, e.g. ``"[concat('a', 'b')]"``.
A string that starts with ``[[`` (and ends with ``]``) is a literal whose first bracket is an
escape. Inside the brackets the language has only function calls, single-quoted strings, numbers,
property access (``.name``) and indexing (``[expr]``); ``true``/``false``/``null`` are functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from armguard.errors import ArmguardError

__all__ = [
    "Call",
    "Expr",
    "ExpressionError",
    "Index",
    "Literal",
    "Member",
    "is_expression",
    "parse_expression",
    "parse_template_string",
    "quote",
    "render",
]


class ExpressionError(ArmguardError, ValueError):
    """A malformed template expression; `offset` is the character position inside the brackets."""

    def __init__(self, message: str, offset: int = 0):
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Literal:
    value: str | int | float | bool | None
    offset: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return render(self)


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Expr, ...] = ()
    namespace: str | None = None
    offset: int = field(default=0, compare=False)
    _text: str | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name

    def __str__(self) -> str:
        return render(self)


@dataclass(frozen=True, slots=True)
class Member:
    target: Expr
    name: str
    offset: int = field(default=0, compare=False)
    _text: str | None = field(default=None, compare=False, hash=False, repr=False)

    def __str__(self) -> str:
        return render(self)


@dataclass(frozen=True, slots=True)
class Index:
    target: Expr
    index: Expr
    offset: int = field(default=0, compare=False)
    _text: str | None = field(default=None, compare=False, hash=False, repr=False)

    def __str__(self) -> str:
        return render(self)


Expr = Literal | Call | Member | Index


def quote(text: str) -> str:
    """An ARM string literal for `text`."""
    return "'" + text.replace("'", "''") + "'"


def render(expr: Expr) -> str:
    """Canonical source text of an expression (without the surrounding brackets)."""
    if isinstance(expr, Literal):
        v = expr.value
        if isinstance(v, str):
            return quote(v)
        if v is None:
            return "null()"
        if isinstance(v, bool):
            return "true()" if v else "false()"
        return str(v)
    text = expr._text
    if text is None:
        if isinstance(expr, Call):
            text = f"{expr.qualified_name}({', '.join(render(a) for a in expr.args)})"
        elif isinstance(expr, Member):
            text = f"{render(expr.target)}.{expr.name}"
        elif isinstance(expr, Index):
            text = f"{render(expr.target)}[{render(expr.index)}]"
        else:
            raise TypeError(f"not an expression: {expr!r}")
        object.__setattr__(expr, "_text", text)  # memoized: nodes are immutable
    return text


def is_expression(text: str) -> bool:
    """True when a template string is an expression (``[...]`` and not escaped with ``[[``)."""
    return len(text) >= 2 and text[0] == "[" and text[-1] == "]" and text[1] != "["


def parse_template_string(text: str) -> Expr | str:
    """The syntax tree of a template string that is an expression, else the literal string."""
    if is_expression(text):
        return _parse_cached(text[1:-1], 1)
    if text.startswith("[[") and text.endswith("]"):
        return text[1:]
    return text


def parse_expression(text: str) -> Expr:
    """Parse the inside of an expression's brackets."""
    return _parse_cached(text, 0)


@lru_cache(maxsize=65536)
def _parse_cached(text: str, base: int) -> Expr:
    try:
        return _Parser(text, base).parse()
    except RecursionError:
        raise ExpressionError("expression is nested too deeply", base) from None


# Token kinds.
_IDENT, _STRING, _NUMBER, _PUNCT, _END = "identifier", "string", "number", "punct", "end"

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<ident>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?)
  | (?P<punct>[()\[\],.])
  | (?P<quote>')
    """,
    re.VERBOSE,
)


def _tokenize(text: str, base: int) -> list[tuple[str, object, int]]:
    tokens: list[tuple[str, object, int]] = []
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise ExpressionError(f"unexpected character {text[pos]!r} at offset {pos + base}", pos + base)
        kind = m.lastgroup
        if kind == "ws":
            pos = m.end()
        elif kind == "quote":
            pos = _read_string(text, pos, base, tokens)
        elif kind == "number":
            raw = m.group()
            value: int | float = float(raw) if "." in raw else int(raw)
            tokens.append((_NUMBER, value, pos + base))
            pos = m.end()
        elif kind == "ident":
            tokens.append((_IDENT, m.group(), pos + base))
            pos = m.end()
        else:
            tokens.append((_PUNCT, m.group(), pos + base))
            pos = m.end()
    tokens.append((_END, None, n + base))
    return tokens


def _read_string(text: str, start: int, base: int, tokens: list[tuple[str, object, int]]) -> int:
    parts: list[str] = []
    pos = start + 1
    while True:
        end = text.find("'", pos)
        if end < 0:
            raise ExpressionError(f"unterminated string starting at offset {start + base}", start + base)
        parts.append(text[pos:end])
        if text.startswith("''", end):
            parts.append("'")
            pos = end + 2
            continue
        tokens.append((_STRING, "".join(parts), start + base))
        return end + 1


class _Parser:
    __slots__ = ("i", "text", "tokens")

    def __init__(self, text: str, base: int):
        self.text = text
        self.tokens = _tokenize(text, base)
        self.i = 0

    def parse(self) -> Expr:
        if self.tokens[0][0] == _END:
            raise ExpressionError("empty expression", self.tokens[0][2])
        expr = self._expression()
        kind, value, offset = self.tokens[self.i]
        if kind != _END:
            raise ExpressionError(f"unexpected {_describe(kind, value)} at offset {offset}", offset)
        return expr

    def _next(self) -> tuple[str, object, int]:
        tok = self.tokens[self.i]
        if tok[0] != _END:
            self.i += 1
        return tok

    def _peek_punct(self, char: str) -> bool:
        kind, value, _ = self.tokens[self.i]
        return kind == _PUNCT and value == char

    def _expect_punct(self, char: str) -> None:
        kind, value, offset = self._next()
        if kind != _PUNCT or value != char:
            raise ExpressionError(f"expected '{char}' but found {_describe(kind, value)} at offset {offset}", offset)

    def _expression(self) -> Expr:
        expr = self._primary()
        while True:
            if self._peek_punct("."):
                _, _, offset = self._next()
                kind, value, name_offset = self._next()
                if kind != _IDENT:
                    raise ExpressionError(
                        f"expected a property name after '.' but found {_describe(kind, value)} at offset {name_offset}",
                        name_offset,
                    )
                expr = Member(expr, str(value), offset)
            elif self._peek_punct("["):
                _, _, offset = self._next()
                index = self._expression()
                self._expect_punct("]")
                expr = Index(expr, index, offset)
            else:
                return expr

    def _primary(self) -> Expr:
        kind, value, offset = self._next()
        if kind == _STRING:
            return Literal(str(value), offset)
        if kind == _NUMBER:
            return Literal(value, offset)  # type: ignore[arg-type]
        if kind != _IDENT:
            raise ExpressionError(f"expected a function call or value but found {_describe(kind, value)} at offset {offset}",
                                  offset)
        name = str(value)
        namespace = None
        # `ns.fn(` is a user-defined function; `fn().prop` is handled as member access afterwards.
        if self._peek_punct(".") and self.tokens[self.i + 1][0] == _IDENT and self._punct_at(self.i + 2, "("):
            self.i += 1
            namespace, name = name, str(self._next()[1])
        if not self._peek_punct("("):
            raise ExpressionError(f"expected '(' after function name '{name}' at offset {self.tokens[self.i][2]}",
                                  self.tokens[self.i][2])
        self.i += 1
        args: list[Expr] = []
        if not self._peek_punct(")"):
            while True:
                args.append(self._expression())
                if self._peek_punct(","):
                    self.i += 1
                    continue
                break
        self._expect_punct(")")
        return Call(name, tuple(args), namespace, offset)

    def _punct_at(self, i: int, char: str) -> bool:
        if i >= len(self.tokens):
            return False
        kind, value, _ = self.tokens[i]
        return kind == _PUNCT and value == char


def _describe(kind: str, value: object) -> str:
    if kind == _END:
        return "end of expression"
    if kind == _PUNCT:
        return f"'{value}'"
    if kind == _STRING:
        return f"string {quote(str(value))}"
    return f"{kind} '{value}'"
