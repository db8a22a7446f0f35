"""JSON text as Resource Manager reads it in json() and base64ToJson().

Resource Manager's reader is lenient: besides strict JSON it accepts comments, trailing commas,
single-quoted strings and unquoted property names. Strict JSON takes the fast path.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["LenientJSONError", "parse_json"]


class LenientJSONError(ValueError):
    pass


_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def parse_json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject)
    except ValueError:
        pass
    parser = _Lenient(text)
    value = parser.value()
    parser.skip()
    if parser.i != len(text):
        raise LenientJSONError(f"unexpected text at position {parser.i}")
    return value


def _reject(name: str) -> Any:
    raise ValueError(f"'{name}' is not valid JSON")


class _Lenient:
    __slots__ = ("i", "text")

    def __init__(self, text: str):
        self.text = text
        self.i = 0

    def skip(self) -> None:
        text, n = self.text, len(self.text)
        while self.i < n:
            c = text[self.i]
            if c in " \t\r\n\ufeff":
                self.i += 1
            elif text.startswith("//", self.i):
                end = text.find("\n", self.i)
                self.i = n if end < 0 else end
            elif text.startswith("/*", self.i):
                end = text.find("*/", self.i + 2)
                if end < 0:
                    raise LenientJSONError("unterminated comment")
                self.i = end + 2
            else:
                return

    def peek(self) -> str:
        self.skip()
        return self.text[self.i] if self.i < len(self.text) else ""

    def value(self) -> Any:
        c = self.peek()
        if c == "{":
            return self.obj()
        if c == "[":
            return self.arr()
        if c in "\"'":
            return self.string()
        m = _NUMBER.match(self.text, self.i)
        if m:
            self.i = m.end()
            raw = m.group()
            return float(raw) if any(ch in raw for ch in ".eE") else int(raw)
        m = _IDENT.match(self.text, self.i)
        if m and m.group() in ("true", "false", "null"):
            self.i = m.end()
            return {"true": True, "false": False, "null": None}[m.group()]
        raise LenientJSONError(f"unexpected {c!r} at position {self.i}" if c else "unexpected end of text")

    def obj(self) -> dict[str, Any]:
        self.i += 1
        out: dict[str, Any] = {}
        while True:
            c = self.peek()
            if c == "}":
                self.i += 1
                return out
            if c in "\"'":
                key = self.string()
            else:
                m = _IDENT.match(self.text, self.i)
                if not m:
                    raise LenientJSONError(f"expected a property name at position {self.i}")
                key = m.group()
                self.i = m.end()
            if self.peek() != ":":
                raise LenientJSONError(f"expected ':' at position {self.i}")
            self.i += 1
            out[key] = self.value()
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c != "}":
                raise LenientJSONError(f"expected ',' or '}}' at position {self.i}")

    def arr(self) -> list[Any]:
        self.i += 1
        out: list[Any] = []
        while True:
            if self.peek() == "]":
                self.i += 1
                return out
            out.append(self.value())
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c != "]":
                raise LenientJSONError(f"expected ',' or ']' at position {self.i}")

    def string(self) -> str:
        text, quote = self.text, self.text[self.i]
        self.i += 1
        parts: list[str] = []
        while True:
            if self.i >= len(text):
                raise LenientJSONError("unterminated string")
            c = text[self.i]
            if c == quote:
                self.i += 1
                return "".join(parts)
            if c == "\\":
                esc = text[self.i + 1 : self.i + 2]
                if esc == "u":
                    try:
                        parts.append(chr(int(text[self.i + 2 : self.i + 6], 16)))
                    except ValueError:
                        raise LenientJSONError(f"invalid \\u escape at position {self.i}") from None
                    self.i += 6
                    continue
                if esc not in _ESCAPES:
                    raise LenientJSONError(f"invalid escape at position {self.i}")
                parts.append(_ESCAPES[esc])
                self.i += 2
                continue
            parts.append(c)
            self.i += 1
