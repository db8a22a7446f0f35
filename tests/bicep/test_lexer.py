"""The Bicep lexer: tokens, string scanning, trivia, directives and lexical errors."""

from __future__ import annotations

import pytest

from armguard.bicep.lexer import tokenize


def kinds(text: str) -> list[str]:
    return [t.kind for t in tokenize(text).tokens]


def values(text: str) -> list[tuple[str, object]]:
    return [(t.kind, t.value) for t in tokenize(text).tokens if t.kind != "eof"]


def only_string(text: str) -> str:
    toks = [t for t in tokenize(text).tokens if t.kind != "eof"]
    assert [t.kind for t in toks] == ["str"], toks
    return toks[0].value  # type: ignore[return-value]


# ------------------------------------------------------------------ basics

def test_empty_text_is_just_eof():
    result = tokenize("")
    assert [t.kind for t in result.tokens] == ["eof"]
    assert result.errors == [] and result.comments == [] and result.directives == []


def test_identifiers_keywords_and_ints():
    assert values("param count_1 int = 42") == [
        ("id", "param"), ("id", "count_1"), ("id", "int"), ("=", None), ("int", 42)]


def test_int_token_value_is_python_int():
    (tok,) = [t for t in tokenize("123456789012").tokens if t.kind == "int"]
    assert tok.value == 123456789012


@pytest.mark.parametrize("op", [
    "...", "??", ".?", "::", "==", "!=", "=~", "!~", "<=", ">=", "&&", "||", "=>",
    "{", "}", "[", "]", "(", ")", ".", ",", ":", "?", "=", "<", ">", "!", "+", "-", "*", "/", "%", "@", "|", "^",
])
def test_every_operator_is_one_token(op):
    assert kinds(f"a {op} b") == ["id", op, "id", "eof"]


def test_longest_operator_wins():
    assert kinds("a??b.?c::d") == ["id", "??", "id", ".?", "id", "::", "id", "eof"]
    assert kinds("x=>y") == ["id", "=>", "id", "eof"]
    assert kinds("[?^1]") == ["[", "?", "^", "int", "]", "eof"]


def test_token_offsets():
    toks = tokenize("var  abc = 1").tokens
    assert [(t.kind, t.start, t.end) for t in toks] == [
        ("id", 0, 3), ("id", 5, 8), ("=", 9, 10), ("int", 11, 12), ("eof", 12, 12)]


# ---------------------------------------------------------------- newlines

@pytest.mark.parametrize("nl", ["\n", "\r\n"])
def test_newlines_are_tokens(nl):
    toks = tokenize(f"a{nl}b").tokens
    assert [t.kind for t in toks] == ["id", "nl", "id", "eof"]
    assert toks[1].end - toks[1].start == len(nl)


def test_crlf_is_one_newline_token_not_two():
    assert kinds("a\r\n\r\nb") == ["id", "nl", "nl", "id", "eof"]


def test_bom_and_other_whitespace_are_trivia():
    assert kinds("\ufeffa\t\u00a0b") == ["id", "id", "eof"]


# ---------------------------------------------------------------- strings

def test_simple_string_value_and_span():
    tok = tokenize("'hello'").tokens[0]
    assert (tok.kind, tok.value, tok.start, tok.end) == ("str", "hello", 0, 7)


def test_empty_string():
    assert only_string("''") == ""


@pytest.mark.parametrize(("source", "expected"), [
    (r"'a\\b'", "a\\b"),
    (r"'it\'s'", "it's"),
    (r"'a\nb'", "a\nb"),
    (r"'a\rb'", "a\rb"),
    (r"'a\tb'", "a\tb"),
    (r"'\${x}'", "${x}"),
    (r"'\u{41}'", "A"),
    (r"'\u{1F600}'", "\U0001F600"),
    (r"'\u{10FFFF}'", "\U0010FFFF"),
    (r"'\u{0}'", "\x00"),
])
def test_escapes(source, expected):
    assert only_string(source) == expected


def test_lone_dollar_is_literal():
    assert only_string("'cost: $5 $'") == "cost: $5 $"


def test_invalid_escape_is_an_error_with_offset():
    result = tokenize(r"'a\qb'")
    assert result.errors == [(2, "invalid escape sequence '\\q' in string")]


def test_unicode_escape_beyond_max_code_point_is_an_error():
    result = tokenize(r"'\u{110000}'")
    assert len(result.errors) == 1
    assert result.errors[0][0] == 1
    assert "escape" in result.errors[0][1]


def test_unterminated_string_at_end_of_line():
    result = tokenize("'abc\nx")
    assert result.errors == [(0, "unterminated string")]
    # the newline and what follows are still tokens
    assert [t.kind for t in result.tokens] == ["str", "nl", "id", "eof"]


def test_unterminated_string_at_end_of_file():
    result = tokenize("'abc")
    assert result.errors == [(0, "unterminated string")]


# ---------------------------------------------------------- interpolation

def test_interpolation_head_and_tail():
    assert values("'a${x}b'") == [("strhead", "a"), ("id", "x"), ("strtail", "b")]


def test_interpolation_with_middle_parts():
    assert values("'${a}-${b}'") == [
        ("strhead", ""), ("id", "a"), ("strmid", "-"), ("id", "b"), ("strtail", "")]


def test_interpolation_containing_object_braces():
    assert kinds("'${{a: 1}.a}'") == ["strhead", "{", "id", ":", "int", "}", ".", "id", "strtail", "eof"]


def test_string_inside_interpolation():
    assert values("'${'}'}'") == [("strhead", ""), ("str", "}"), ("strtail", "")]


def test_nested_interpolation():
    assert values("'${'${x}'}'") == [
        ("strhead", ""), ("strhead", ""), ("id", "x"), ("strtail", ""), ("strtail", "")]


def test_double_dollar_in_single_quoted_string():
    assert values("'$${x}'") == [("strhead", "$"), ("id", "x"), ("strtail", "")]


def test_unterminated_interpolation_is_an_error():
    result = tokenize("'${x")
    assert any("unterminated string interpolation" in m for _, m in result.errors)


# ---------------------------------------------------- multi-line strings

def test_multiline_string_drops_first_newline_and_keeps_the_rest():
    assert only_string("'''\nline1\nline2\n'''") == "line1\nline2\n"


def test_multiline_string_drops_first_crlf():
    assert only_string("'''\r\nx'''") == "x"


def test_multiline_string_has_no_escapes_or_interpolation():
    assert only_string(r"'''a\nb ${c} \u{41}'''") == r"a\nb ${c} \u{41}"


def test_multiline_string_with_extra_closing_quotes_keeps_them():
    assert only_string("'''a'''''") == "a''"


def test_multiline_string_may_contain_single_quotes():
    assert only_string("'''it's'''") == "it's"


def test_interpolating_multiline_string():
    assert values("$'''\na ${b} c'''") == [("strhead", "a "), ("id", "b"), ("strtail", " c")]


def test_double_dollar_multiline_string_needs_two_dollars():
    assert values("$$'''a ${b} $${c}'''") == [("strhead", "a ${b} "), ("id", "c"), ("strtail", "")]


def test_interpolating_multiline_string_with_several_holes():
    assert [k for k, _ in values("$'''${a}${b}'''")] == ["strhead", "id", "strmid", "id", "strtail"]


def test_unterminated_multiline_string_swallows_rest_of_file():
    result = tokenize("var x = '''abc\nvar y = 1")
    assert result.errors == [(8, "unterminated multi-line string")]
    assert [t.kind for t in result.tokens][-2:] == ["str", "eof"]


# ------------------------------------------------------------------ trivia

def test_line_comment_is_recorded_and_not_a_token():
    result = tokenize("a // note\nb")
    assert [t.kind for t in result.tokens] == ["id", "nl", "id", "eof"]
    assert [(c.start, c.end, c.text) for c in result.comments] == [(2, 9, "// note")]


def test_block_comment_spanning_lines_hides_its_newlines():
    result = tokenize("a /* x\ny */ b")
    assert [t.kind for t in result.tokens] == ["id", "id", "eof"]
    assert result.comments[0].text == "/* x\ny */"


def test_block_comment_inside_expression():
    assert kinds("1 /* a */ + /* b */ 2") == ["int", "+", "int", "eof"]


def test_comment_markers_inside_strings_are_text():
    assert only_string("'http://x/*y*/'") == "http://x/*y*/"


def test_unterminated_block_comment():
    result = tokenize("a /* never closed")
    assert result.errors == [(2, "unterminated multi-line comment")]
    assert result.comments[0].end == len("a /* never closed")


# -------------------------------------------------------------- directives

def test_disable_next_line_directive():
    result = tokenize("#disable-next-line BCP081 no-unused-vars\nvar x = 1")
    (d,) = result.directives
    assert (d.name, d.codes, d.start) == ("disable-next-line", ["BCP081", "no-unused-vars"], 0)
    assert [t.kind for t in result.tokens][:2] == ["nl", "id"]


def test_disable_and_restore_diagnostics_directives():
    result = tokenize("#disable-diagnostics a b\nvar x = 1\n#restore-diagnostics a\n")
    assert [(d.name, d.codes) for d in result.directives] == [
        ("disable-diagnostics", ["a", "b"]), ("restore-diagnostics", ["a"])]


# ------------------------------------------------------------------ errors

def test_unexpected_character_is_error_token_and_lexing_continues():
    result = tokenize("a ~ b")
    assert [t.kind for t in result.tokens] == ["id", "error", "id", "eof"]
    assert result.errors == [(2, "unexpected character '~'")]


def test_non_ascii_identifier_character_is_an_error():
    result = tokenize("var é = 1")
    assert result.errors and result.errors[0][0] == 4
