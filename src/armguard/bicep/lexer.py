"""Bicep lexer: text -> tokens, comments and directives.

Whitespace and comments are trivia and produce no tokens, but newlines do: Bicep statements,
object properties and array items are separated by them. Strings with interpolation are split
into head/middle/tail tokens around the embedded expressions, so the lexer keeps a stack of the
brace depth of each open interpolation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Comment", "Directive", "LexResult", "Token", "tokenize"]


class Token:
    """kind: 'id', 'int', 'str', 'strhead', 'strmid', 'strtail', 'nl', 'eof', 'error', or the operator text."""

    __slots__ = ("end", "kind", "start", "value")

    def __init__(self, kind: str, start: int, end: int, value: object = None):
        self.kind = kind
        self.start = start
        self.end = end
        self.value = value

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.start}, {self.end}, {self.value!r})"


@dataclass(slots=True)
class Comment:
    start: int
    end: int
    text: str


@dataclass(slots=True)
class Directive:
    """`#disable-next-line AG101 BCP081`, `#disable-diagnostics ...`, `#restore-diagnostics ...`."""

    start: int
    end: int
    name: str
    codes: list[str]


@dataclass(slots=True)
class LexResult:
    tokens: list[Token]
    comments: list[Comment]
    directives: list[Directive]
    errors: list[tuple[int, str]]


# Leading blanks are part of each match (one regex call per token, not two); `start(kind)` is the
# token's own start. A plain string (no escape, no interpolation) is one match.
_TOKEN = re.compile(
    r"""
    [ \t\f\v\u00a0\ufeff]*
    (?:
    (?P<nl>\r\n|\n|\r)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<plain>'(?!'')[^'\\$\r\n]*(?:\$(?!\{)[^'\\$\r\n]*)*')
  | (?P<comment>//[^\r\n]*)
  | (?P<mcomment>/\*)
  | (?P<int>[0-9]+)
  | (?P<mstr>\$*''')
  | (?P<str>')
  | (?P<op>\.\.\.|\?\?|\.\?|::|==|!=|=~|!~|<=|>=|&&|\|\||=>|[{}\[\]().,:?=<>!+\-*/%@|^])
  | (?P<directive>\#[^\r\n]*)
  | (?P<end>\Z)
    )
    """,
    re.VERBOSE,
)

_BLANKS = " \t\f\v\u00a0\ufeff"
_STRING_CHUNK = re.compile(r"[^'\\$\r\n]+")
_ESCAPES = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t", "$": "$"}
_UNICODE_ESCAPE = re.compile(r"u\{([0-9A-Fa-f]{1,6})\}")


def tokenize(text: str) -> LexResult:
    tokens: list[Token] = []
    comments: list[Comment] = []
    directives: list[Directive] = []
    errors: list[tuple[int, str]] = []
    append = tokens.append
    match = _TOKEN.match
    n = len(text)
    pos = 0
    # One entry per open interpolation: [depth of '{' nesting inside its expression, the string's
    # number of interpolation dollars (0 for a single-quoted string)].
    interp: list[list[int]] = []

    while pos < n:
        m = match(text, pos)
        if m is None:
            while text[pos] in _BLANKS:
                pos += 1
            ch = text[pos]
            errors.append((pos, f"unexpected character {ch!r}"))
            append(Token("error", pos, pos + 1, ch))
            pos += 1
            continue
        kind = m.lastgroup
        end = m.end()
        if kind == "id":
            append(Token("id", m.start(kind), end, m.group(kind)))
            pos = end
            continue
        if kind == "end":
            break
        pos = m.start(kind)
        if kind == "plain":
            append(Token("str", pos, end, text[pos + 1:end - 1]))
        elif kind == "nl":
            append(Token("nl", pos, end))
        elif kind == "op":
            op = m.group(kind)
            if interp:
                top = interp[-1]
                if op == "{":
                    top[0] += 1
                elif op == "}":
                    if top[0] == 0:
                        interp.pop()
                        if top[1]:
                            pos = _scan_multiline_string(text, pos + 1, pos, tokens, errors, interp, top[1],
                                                         continuing=True)
                        else:
                            pos = _scan_string(text, pos + 1, pos, tokens, errors, interp, continuing=True)
                        continue
                    top[0] -= 1
            append(Token(op, pos, end))
        elif kind == "str":
            pos = _scan_string(text, end, pos, tokens, errors, interp, continuing=False)
            continue
        elif kind == "int":
            append(Token("int", pos, end, int(m.group(kind))))
        elif kind == "comment":
            comments.append(Comment(pos, end, m.group(kind)))
        elif kind == "mcomment":
            close = text.find("*/", end)
            if close == -1:
                errors.append((pos, "unterminated multi-line comment"))
                close_end = n
            else:
                close_end = close + 2
            comments.append(Comment(pos, close_end, text[pos:close_end]))
            pos = close_end
            continue
        elif kind == "mstr":
            dollars = end - pos - 3
            pos = _scan_multiline_string(text, end, pos, tokens, errors, interp, dollars, continuing=False)
            continue
        elif kind == "directive":
            words = m.group(kind)[1:].split()
            directives.append(Directive(pos, end, words[0] if words else "", words[1:]))
        pos = end
    if interp:
        errors.append((n, "unterminated string interpolation"))
    tokens.append(Token("eof", n, n))
    return LexResult(tokens, comments, directives, errors)


def _scan_string(text: str, pos: int, start: int, tokens: list[Token], errors: list[tuple[int, str]],
                 interp: list[list[int]], *, continuing: bool) -> int:
    """Scan a single-quoted string from `pos` (just past the opening quote or closing brace).

    Emits 'str' or 'strtail' when it reaches the closing quote, 'strhead'/'strmid' at '${'.
    Returns the position after what it consumed.
    """
    parts: list[str] = []
    n = len(text)
    chunk = _STRING_CHUNK.match
    while True:
        m = chunk(text, pos)
        if m:
            parts.append(m.group())
            pos = m.end()
        if pos >= n or text[pos] in "\r\n":
            errors.append((start, "unterminated string"))
            tokens.append(Token("strtail" if continuing else "str", start, pos, "".join(parts)))
            return pos
        ch = text[pos]
        if ch == "'":
            tokens.append(Token("strtail" if continuing else "str", start, pos + 1, "".join(parts)))
            return pos + 1
        if ch == "\\":
            nxt = text[pos + 1] if pos + 1 < n else ""
            if nxt in _ESCAPES:
                parts.append(_ESCAPES[nxt])
                pos += 2
                continue
            um = _UNICODE_ESCAPE.match(text, pos + 1)
            if um and int(um.group(1), 16) <= 0x10FFFF:
                parts.append(chr(int(um.group(1), 16)))
                pos = um.end()
                continue
            errors.append((pos, f"invalid escape sequence '\\{nxt}' in string"))
            pos += 1 if not nxt or nxt in "\r\n" else 2
            continue
        # ch == "$"
        if pos + 1 < n and text[pos + 1] == "{":
            tokens.append(Token("strmid" if continuing else "strhead", start, pos + 2, "".join(parts)))
            interp.append([0, 0])
            return pos + 2
        parts.append("$")
        pos += 1


def _scan_multiline_string(text: str, pos: int, start: int, tokens: list[Token], errors: list[tuple[int, str]],
                           interp: list[list[int]], dollars: int, *, continuing: bool) -> int:
    """A multi-line string: no escapes; a newline right after the opening quotes is dropped.

    With N dollars before the opening quotes, N dollars followed by '{' open an interpolation.
    """
    if dollars:
        marker = _INTERP_MARKERS.get(dollars)
        if marker is None:
            marker = _INTERP_MARKERS[dollars] = re.compile("'''|" + r"\$" * dollars + r"\{")
        m = marker.search(text, pos)
        found = m.start() if m else -1
        is_interp = m is not None and m.group() != "'''"
    else:
        found = text.find("'''", pos)
        is_interp = False
    if found == -1:
        errors.append((start, "unterminated multi-line string"))
        tokens.append(Token("strtail" if continuing else "str", start, len(text), text[pos:]))
        return len(text)
    if is_interp:
        end = m.end()  # type: ignore[union-attr]
        content = text[pos:found]
    else:
        # A run of more than three quotes ends with the last three: the rest belong to the content.
        end = found + 3
        while end < len(text) and text[end] == "'":
            end += 1
        content = text[pos:end - 3]
    if not continuing:
        if content.startswith("\r\n"):
            content = content[2:]
        elif content.startswith(("\n", "\r")):
            content = content[1:]
    if is_interp:
        tokens.append(Token("strmid" if continuing else "strhead", start, end, content))
        interp.append([0, dollars])
    else:
        tokens.append(Token("strtail" if continuing else "str", start, end, content))
    return end


_INTERP_MARKERS: dict[int, re.Pattern[str]] = {}
