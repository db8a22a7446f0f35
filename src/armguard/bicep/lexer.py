"""Bicep lexer: text -> tokens, comments and directives.

Whitespace and comments are trivia and produce no tokens, but newlines do: Bicep statements,
object properties and array items are separated by them. Strings with interpolation are split
into head/middle/tail tokens around the embedded expressions, so the lexer keeps a stack of the
brace depth of each open interpolation.

Plain code is lexed by one `finditer` scan of a single pattern; the scan is left, and started
again after them, at what needs the lexer's own code: strings with escapes or interpolation,
multi-line strings and comments, and the `}` that closes an interpolation. The parser reads the
tokens as plain tuples (`lex`); `tokenize` gives them as `Token`s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["END", "KIND", "START", "VALUE", "Comment", "Directive", "LexResult", "RawToken", "Token", "lex", "tokenize"]


class Token(NamedTuple):
    """kind: 'id', 'int', 'str', 'strhead', 'strmid', 'strtail', 'nl', 'eof', 'error', or the operator text.

    `lex` gives tokens as plain tuples in this field order (the parser's input: a tuple costs a
    third of an object to make); `tokenize` gives them as `Token`s.
    """

    kind: str
    start: int
    end: int
    value: object = None

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.start}, {self.end}, {self.value!r})"


# Indexes into a token tuple, for the parser.
KIND, START, END, VALUE = 0, 1, 2, 3
RawToken = tuple[str, int, int, object]


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
    tokens: list  # of Token, or of RawToken from `lex`
    comments: list[Comment]
    directives: list[Directive]
    errors: list[tuple[int, str]]


# Leading blanks are part of each match (one regex call per token, not two); `span(kind)` is the
# token's own. A plain string (no escape, no interpolation) is one match. Every position matches
# (`bad` takes a character no token starts with), so a scan never skips text.
_TOKEN = re.compile(
    r"""
    [ \t\f\v\u00a0\ufeff]*
    (?:
    (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<comment>//[^\r\n]*)
  | (?P<mcomment>/\*)
  | (?P<op>[{}\[\](),@]|\.\.\.|\?\?|\.\?|::|==|!=|=~|!~|<=|>=|&&|\|\||=>|[.:?=<>!+\-*/%|^])
  | (?P<nl>\r\n|\n|\r)
  | (?P<plain>'(?!'')[^'\\$\r\n]*(?:\$(?!\{)[^'\\$\r\n]*)*')
  | (?P<mstr>\$*''')
  | (?P<str>')
  | (?P<int>[0-9]+)
  | (?P<directive>\#[^\r\n]*)
  | (?P<end>\Z)
  | (?P<bad>.)
    )
    """,
    re.VERBOSE,
)

_STRING_CHUNK = re.compile(r"[^'\\$\r\n]+")
_ESCAPES = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t", "$": "$"}
_UNICODE_ESCAPE = re.compile(r"u\{([0-9A-Fa-f]{1,6})\}")


_GROUP = _TOKEN.groupindex
_NL, _ID, _PLAIN, _COMMENT, _MCOMMENT, _INT, _MSTR, _STR, _OP, _DIRECTIVE, _END, _BAD = (
    _GROUP[name] for name in ("nl", "id", "plain", "comment", "mcomment", "int", "mstr", "str", "op", "directive",
                              "end", "bad"))


def tokenize(text: str) -> LexResult:
    """The tokens (as `Token`s), comments, directives and lexical errors of a Bicep text."""
    lexed = lex(text)
    lexed.tokens = list(map(Token._make, lexed.tokens))
    return lexed


def lex(text: str) -> LexResult:
    """As `tokenize`, with the tokens as plain (kind, start, end, value) tuples."""
    tokens: list[RawToken] = []
    comments: list[Comment] = []
    directives: list[Directive] = []
    errors: list[tuple[int, str]] = []
    append = tokens.append
    finditer = _TOKEN.finditer
    n = len(text)
    pos = 0
    # One entry per open interpolation: [depth of '{' nesting inside its expression, the string's
    # number of interpolation dollars (0 for a single-quoted string)].
    interp: list[list[int]] = []

    # One regex scan runs over plain code; it is restarted where the lexer takes over: strings with
    # escapes or interpolation, multi-line comments and strings.
    while pos < n:
        for m in finditer(text, pos):
            kind = m.lastindex
            start, end = m.span(kind)
            if kind == _OP:
                op = text[start:end]
                if interp:
                    top = interp[-1]
                    if op == "{":
                        top[0] += 1
                    elif op == "}":
                        if top[0] == 0:
                            interp.pop()
                            if top[1]:
                                pos = _scan_multiline_string(text, end, start, tokens, errors, interp, top[1],
                                                             continuing=True)
                            else:
                                pos = _scan_string(text, end, start, tokens, errors, interp, continuing=True)
                            break
                        top[0] -= 1
                append((op, start, end, None))
            elif kind == _ID:
                append(("id", start, end, text[start:end]))
            elif kind == _NL:
                append(("nl", start, end, None))
            elif kind == _PLAIN:
                append(("str", start, end, text[start + 1:end - 1]))
            elif kind == _STR:
                pos = _scan_string(text, end, start, tokens, errors, interp, continuing=False)
                break
            elif kind == _COMMENT:
                comments.append(Comment(start, end, text[start:end]))
            elif kind == _INT:
                append(("int", start, end, int(text[start:end])))
            elif kind == _DIRECTIVE:
                words = text[start + 1:end].split()
                directives.append(Directive(start, end, words[0] if words else "", words[1:]))
            elif kind == _MSTR:
                pos = _scan_multiline_string(text, end, start, tokens, errors, interp, end - start - 3,
                                             continuing=False)
                break
            elif kind == _MCOMMENT:
                pos = _scan_multiline_comment(text, start, end, comments, errors)
                break
            elif kind == _BAD:
                ch = text[start]
                errors.append((start, f"unexpected character {ch!r}"))
                append(("error", start, end, ch))
            else:  # the end of the text
                pos = n
                break
            pos = end
        else:
            break  # not reached: the end of the text always matches
    if interp:
        errors.append((n, "unterminated string interpolation"))
    tokens.append(("eof", n, n, None))
    return LexResult(tokens, comments, directives, errors)


def _scan_multiline_comment(text: str, start: int, end: int, comments: list[Comment],
                            errors: list[tuple[int, str]]) -> int:
    close = text.find("*/", end)
    if close == -1:
        errors.append((start, "unterminated multi-line comment"))
        close_end = len(text)
    else:
        close_end = close + 2
    comments.append(Comment(start, close_end, text[start:close_end]))
    return close_end


def _scan_string(text: str, pos: int, start: int, tokens: list[RawToken], errors: list[tuple[int, str]],
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
            tokens.append(("strtail" if continuing else "str", start, pos, "".join(parts)))
            return pos
        ch = text[pos]
        if ch == "'":
            tokens.append(("strtail" if continuing else "str", start, pos + 1, "".join(parts)))
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
            tokens.append(("strmid" if continuing else "strhead", start, pos + 2, "".join(parts)))
            interp.append([0, 0])
            return pos + 2
        parts.append("$")
        pos += 1


def _scan_multiline_string(text: str, pos: int, start: int, tokens: list[RawToken], errors: list[tuple[int, str]],
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
        tokens.append(("strtail" if continuing else "str", start, len(text), text[pos:]))
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
        tokens.append(("strmid" if continuing else "strhead", start, end, content))
        interp.append([0, dollars])
    else:
        tokens.append(("strtail" if continuing else "str", start, end, content))
    return end


_INTERP_MARKERS: dict[int, re.Pattern[str]] = {}
