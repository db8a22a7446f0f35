"""Lexer/parser of ARM template expressions."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from armguard.arm.expressions import (
    Call,
    ExpressionError,
    Index,
    Literal,
    Member,
    is_expression,
    parse_expression,
    parse_template_string,
    render,
)
from armguard.errors import ArmguardError


def test_literal_string_is_returned_unchanged():
    assert parse_template_string("hello") == "hello"
    assert parse_template_string("") == ""
    assert parse_template_string("[not closed") == "[not closed"
    assert parse_template_string("closed]") == "closed]"


def test_double_bracket_escapes_a_literal():
    # ARM: a string starting with '[[' and ending with ']' is a literal without the first '['.
    assert parse_template_string("[[variables('x')]") == "[variables('x')]"
    assert parse_template_string("[[abc]") == "[abc]"
    assert not is_expression("[[abc]")


def test_call_with_string_and_int_arguments():
    expr = parse_template_string("[concat('a', 1, -2)]")
    assert expr == Call("concat", (Literal("a"), Literal(1), Literal(-2)))
    assert expr.args[2].value == -2


def test_quotes_are_escaped_by_doubling():
    assert parse_expression("'it''s'") == Literal("it's")
    assert parse_expression("''") == Literal("")
    assert render(Literal("it's")) == "'it''s'"


def test_nested_calls_members_and_indexes():
    expr = parse_expression("reference(resourceId('Microsoft.Network/virtualNetworks', 'v')).subnets[0]['name']")
    assert isinstance(expr, Index)
    assert expr.index == Literal("name")
    inner = expr.target
    assert isinstance(inner, Index) and inner.index == Literal(0)
    member = inner.target
    assert isinstance(member, Member) and member.name == "subnets"
    assert isinstance(member.target, Call) and member.target.name == "reference"


def test_member_access_after_call():
    expr = parse_expression("resourceGroup().location")
    assert expr == Member(Call("resourceGroup"), "location")


def test_user_defined_function_has_a_namespace():
    expr = parse_expression("__bicep.joinArray(createArray('a'), '-')")
    assert isinstance(expr, Call)
    assert (expr.namespace, expr.name) == ("__bicep", "joinArray")
    assert render(expr) == "__bicep.joinArray(createArray('a'), '-')"


def test_whitespace_is_ignored():
    assert parse_expression("  concat ( 'a' ,\n 'b' )  ") == Call("concat", (Literal("a"), Literal("b")))


def test_true_false_null_are_functions():
    assert parse_expression("true()") == Call("true")
    with pytest.raises(ExpressionError, match=re.escape("expected '(' after function name 'true'")):
        parse_expression("true")


def test_offsets_point_into_the_text():
    expr = parse_template_string("[concat('a', foo())]")
    assert isinstance(expr, Call)
    assert expr.offset == 1
    assert expr.args[1].offset == 13


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty expression"),
        ("concat('a'", "expected ')' but found end of expression"),
        ("concat('a)", "unterminated string"),
        ("concat('a') extra()", "unexpected identifier 'extra'"),
        ("concat(,)", "expected a function call or value but found ','"),
        ("a.", "expected '(' after function name 'a'"),
        ("f().", "expected a property name after '.'"),
        ("f()[0", "expected ']'"),
        ("f(#)", "unexpected character '#'"),
    ],
)
def test_malformed_expressions_raise_expression_error(text, message):
    with pytest.raises(ExpressionError, match=re.escape(message)) as info:
        parse_expression(text)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, ArmguardError)
    assert info.value.offset >= 0


def test_error_offset_of_template_string_counts_the_bracket():
    with pytest.raises(ExpressionError) as info:
        parse_template_string("[concat(#)]")
    assert info.value.offset == 8


def test_render_is_canonical_and_reparses():
    text = "if(equals(parameters('a'),1),createArray('x'),json('null'))[0].b"
    expr = parse_expression(text)
    assert render(expr) == "if(equals(parameters('a'), 1), createArray('x'), json('null'))[0].b"
    assert parse_expression(render(expr)) == expr
    assert str(expr) == render(expr)


def test_deep_nesting_is_an_expression_error_not_a_crash():
    with pytest.raises(ExpressionError):
        parse_expression("f(" * 5000 + ")" * 5000)


def test_parse_is_cached():
    assert parse_template_string("[concat('cached')]") is parse_template_string("[concat('cached')]")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abf_.()[]',-0123456789 \t\"#xyz")), max_size=40) | st.text(max_size=30))
def test_parse_expression_raises_only_expression_error(text):
    try:
        expr = parse_expression(text)
    except ExpressionError:
        return
    assert parse_expression(render(expr)) == expr


_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,6}", fullmatch=True)
_literals = st.one_of(st.text(max_size=8).map(Literal), st.integers(-1000, 1000).map(Literal))
_exprs = st.recursive(
    _literals | _names.map(lambda n: Call(n)),
    lambda children: st.one_of(
        st.builds(lambda n, a: Call(n, tuple(a)), _names, st.lists(children, max_size=3)),
        st.builds(lambda t, n: Member(Call("f", (t,)), n), children, _names),
        st.builds(lambda t, i: Index(Call("g", (t,)), i), children, children),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(_exprs)
def test_render_then_parse_round_trips(expr):
    assert parse_expression(render(expr)) == expr
