"""The lexer's scan: one regex scan over plain code, restarted wherever the lexer takes over.

`lex` scans with `finditer` and leaves the scan at strings with escapes or interpolation, at
multi-line strings and comments, and at the `}` that closes an interpolation; every position
matches some alternative of the pattern, so the scan never skips text. These tests pin the
restarts and check the scan against a reference that matches one token at a time (the lexer's
earlier design), on examples and on generated text.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from armguard.bicep.lexer import Token, lex, tokenize
from armguard.bicep.lexer import _scan_multiline_string as scan_multiline_string
from armguard.bicep.lexer import _scan_string as scan_string

# ------------------------------------------------------------------ reference

_ONE_TOKEN = re.compile(
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


def reference(text: str) -> tuple[list, list, list, list]:
    """Tokens, comments, directives and errors, matching one token at a time from each position."""
    tokens: list = []
    comments: list = []
    directives: list = []
    errors: list = []
    n = len(text)
    pos = 0
    interp: list[list[int]] = []
    while pos < n:
        m = _ONE_TOKEN.match(text, pos)
        if m is None:
            while text[pos] in _BLANKS:
                pos += 1
            errors.append((pos, f"unexpected character {text[pos]!r}"))
            tokens.append(("error", pos, pos + 1, text[pos]))
            pos += 1
            continue
        kind = m.lastgroup
        if kind == "end":
            break
        start, end = m.span(kind)
        pos = end
        if kind == "id":
            tokens.append(("id", start, end, text[start:end]))
        elif kind == "plain":
            tokens.append(("str", start, end, text[start + 1:end - 1]))
        elif kind == "nl":
            tokens.append(("nl", start, end, None))
        elif kind == "int":
            tokens.append(("int", start, end, int(text[start:end])))
        elif kind == "comment":
            comments.append((start, end, text[start:end]))
        elif kind == "directive":
            words = text[start + 1:end].split()
            directives.append((start, end, words[0] if words else "", words[1:]))
        elif kind == "mcomment":
            close = text.find("*/", end)
            if close == -1:
                errors.append((start, "unterminated multi-line comment"))
            pos = n if close == -1 else close + 2
            comments.append((start, pos, text[start:pos]))
        elif kind == "str":
            pos = scan_string(text, end, start, tokens, errors, interp, continuing=False)
        elif kind == "mstr":
            pos = scan_multiline_string(text, end, start, tokens, errors, interp, end - start - 3,
                                        continuing=False)
        else:  # an operator
            op = text[start:end]
            if interp and op in "{}":
                top = interp[-1]
                if op == "{":
                    top[0] += 1
                elif top[0] == 0:
                    interp.pop()
                    if top[1]:
                        pos = scan_multiline_string(text, end, start, tokens, errors, interp, top[1],
                                                    continuing=True)
                    else:
                        pos = scan_string(text, end, start, tokens, errors, interp, continuing=True)
                    continue
                else:
                    top[0] -= 1
            tokens.append((op, start, end, None))
    if interp:
        errors.append((n, "unterminated string interpolation"))
    tokens.append(("eof", n, n, None))
    return tokens, comments, directives, errors


def scanned(text: str) -> tuple[list, list, list, list]:
    result = lex(text)
    return (result.tokens, [(c.start, c.end, c.text) for c in result.comments],
            [(d.start, d.end, d.name, d.codes) for d in result.directives], result.errors)


# ------------------------------------------------------------------ restarts

@pytest.mark.parametrize("text", [
    "a ~ b",  # an unexpected character between tokens
    "~~a",  # two in a row, at the start
    "a \u00a0\t~",  # after blanks, at the end
    "'x'~'y'",  # right after and before a string
    "'it\\'s' ~ x",  # after a string with an escape, which ends a scan
    "x /* c */ y /* d */ z",  # multi-line comments end scans
    "x /* never closed",
    "'''\nm\n''' y '''n''' z",  # multi-line strings end scans
    "'a${b}c${d}e' f",  # interpolation: the scan restarts after each closing brace
    "'a${ {x: 1}.x }b'",  # braces inside an interpolation do not close it
    "'a${'b${c}d'}e' ~",  # nested interpolation
    "$'''a${b}c''' $$'''a${b}$${c}d''' e",
    "'a${b",  # an interpolation never closed
    "#disable-next-line A1\n~ // c\n#restore-diagnostics A1",
    "1 2 // c",
    "",
    "   ",
    "é",
])
def test_scan_restarts_give_the_reference_tokens(text):
    assert scanned(text) == reference(text)


def test_unexpected_characters_are_error_tokens_where_they_stand():
    result = lex("a \t~\u00a0~")
    assert result.tokens == [("id", 0, 1, "a"), ("error", 3, 4, "~"), ("error", 5, 6, "~"), ("eof", 6, 6, None)]
    assert result.errors == [(3, "unexpected character '~'"), (5, "unexpected character '~'")]


def test_tokens_after_an_interpolation_are_scanned_again():
    assert [t[0] for t in lex("'${a}' == b").tokens] == ["strhead", "id", "strtail", "==", "id", "eof"]


def test_lex_gives_plain_tuples_and_tokenize_gives_tokens():
    text = "var x = 'a${b}c' // d\n"
    raw = lex(text).tokens
    tokens = tokenize(text).tokens
    assert all(type(t) is tuple and len(t) == 4 for t in raw)
    assert all(isinstance(t, Token) for t in tokens)
    assert [tuple(t) for t in tokens] == raw
    assert repr(tokens[0]) == "Token('id', 0, 3, 'var')"


# ------------------------------------------------------------------ generated

_PIECES = ["a", "b1", "_x", "12", " ", "\t", "\u00a0", "\n", "\r\n", "'", "''", "'''", "$", "${", "}", "{",
           "\\", "\\'", "/", "//", "/*", "*/", "#", "~", "é", ".", "..", "?", ":", "=", "!", "(", ")", "[", "]"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
def test_scan_matches_the_reference_on_generated_text(text):
    assert scanned(text) == reference(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_scan_matches_the_reference_on_arbitrary_text(text):
    assert scanned(text) == reference(text)
