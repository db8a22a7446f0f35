"""Parsing Bicep expressions: literals, objects, arrays, strings, operators and precedence,
member access, calls, lambdas, spreads and for-expressions."""

from __future__ import annotations

import pytest

from armguard.bicep import parse_text
from armguard.bicep import syntax as s


def expr(text: str) -> s.Node:
    """The value of `var x = <text>`, which must parse without diagnostics."""
    program = parse_text(f"var x = {text}\n")
    assert program.diagnostics == [], [str(d) for d in program.diagnostics]
    (st,) = program.statements
    assert isinstance(st, s.VarDecl)
    return st.value


def sx(n: object) -> str:
    """A compact S-expression of an expression tree, for precedence and shape assertions."""
    if isinstance(n, s.Identifier):
        return n.name
    if isinstance(n, s.IntLiteral):
        return str(n.value)
    if isinstance(n, s.BoolLiteral):
        return "true" if n.value else "false"
    if isinstance(n, s.NullLiteral):
        return "null"
    if isinstance(n, s.StringLiteral):
        if n.is_plain:
            return repr(n.value)
        return "(str " + " ".join(repr(p) if isinstance(p, str) else sx(p) for p in n.parts) + ")"
    if isinstance(n, s.Binary):
        return f"({n.op} {sx(n.left)} {sx(n.right)})"
    if isinstance(n, s.Unary):
        return f"({n.op}u {sx(n.operand)})"
    if isinstance(n, s.Ternary):
        return f"(?: {sx(n.condition)} {sx(n.if_true)} {sx(n.if_false)})"
    if isinstance(n, s.Paren):
        return f"(paren {sx(n.expr)})"
    if isinstance(n, s.PropertyAccess):
        return f"({'.?' if n.safe else '.'} {sx(n.target)} {n.name})"
    if isinstance(n, s.IndexAccess):
        op = "[" + ("?" if n.safe else "") + ("^" if n.from_end else "") + "]"
        return f"({op} {sx(n.target)} {sx(n.index)})"
    if isinstance(n, s.ChildAccess):
        return f"(:: {sx(n.target)} {n.name})"
    if isinstance(n, s.NonNull):
        return f"(! {sx(n.expr)})"
    if isinstance(n, s.Call):
        head = n.name if n.target is None else f"{sx(n.target)}.{n.name}"
        return f"(call {head}" + "".join(" " + sx(a) for a in n.args) + ")"
    if isinstance(n, s.Lambda):
        return f"(=> ({' '.join(p.name for p in n.params)}) {sx(n.body)})"
    if isinstance(n, s.Spread):
        return f"(... {sx(n.expr)})"
    if isinstance(n, s.ArrayExpr):
        return "[" + " ".join(sx(i) for i in n.items) + "]"
    if isinstance(n, s.ObjectExpr):
        parts = []
        for i in n.items:
            if isinstance(i, s.ObjectProperty):
                key = i.key if isinstance(i.key, str) else sx(i.key)
                parts.append(f"{key}: {sx(i.value)}")
            else:
                parts.append(sx(i))
        return "{" + ", ".join(parts) + "}"
    if isinstance(n, s.ForExpr):
        var = n.item if n.index is None else f"({n.item}, {n.index})"
        cond = f" if {sx(n.condition)}" if n.condition is not None else ""
        return f"(for {var} {sx(n.iterable)}{cond} {sx(n.body)})"
    raise AssertionError(f"unexpected node {n!r}")


# ---------------------------------------------------------------- literals

@pytest.mark.parametrize(("text", "expected"), [
    ("42", "42"), ("0", "0"), ("true", "true"), ("false", "false"), ("null", "null"), ("'s'", "'s'"),
    ("abc", "abc"),
])
def test_literals_and_identifiers(text, expected):
    assert sx(expr(text)) == expected


def test_bool_and_null_node_types():
    assert isinstance(expr("true"), s.BoolLiteral) and expr("true").value is True
    assert isinstance(expr("false"), s.BoolLiteral) and expr("false").value is False
    assert isinstance(expr("null"), s.NullLiteral)


def test_negative_int_is_unary_minus():
    e = expr("-5")
    assert isinstance(e, s.Unary) and e.op == "-" and e.operand.value == 5


# ----------------------------------------------------------------- objects

def test_single_line_object_with_commas():
    assert sx(expr("{ a: 1, b: 'x' }")) == "{a: 1, b: 'x'}"


def test_multiline_object():
    assert sx(expr("{\n  a: 1\n  b: 2\n}")) == "{a: 1, b: 2}"


def test_mixed_separators_and_trailing_comma_in_object():
    assert sx(expr("{ a: 1, b: 2\n  c: 3\n  d: 4, }")) == "{a: 1, b: 2, c: 3, d: 4}"


def test_empty_objects():
    assert sx(expr("{}")) == "{}"
    assert sx(expr("{\n}")) == "{}"


def test_quoted_and_keyword_property_names():
    e = expr("{\n  'a-b': 1\n  if: 2\n  for: 3\n  true: 4\n  null: 5\n}")
    assert [p.name for p in e.properties] == ["a-b", "if", "for", "true", "null"]


def test_interpolated_property_name():
    e = expr("{\n  '${k}': 1\n}")
    (prop,) = e.properties
    assert isinstance(prop.key, s.StringLiteral) and not prop.key.is_plain
    assert prop.name is None


def test_object_get_is_case_insensitive():
    e = expr("{\n  Name: 'n'\n}")
    assert sx(e.get("name")) == "'n'"
    assert e.get("missing") is None


def test_decorated_object_properties_keep_decorators():
    e = expr("{\n  @description('d')\n  a: 1\n}")
    (prop,) = e.properties
    assert [d.name for d in prop.decorators] == ["description"]


def test_nested_objects_and_arrays():
    assert sx(expr("{\n  a: {\n    b: [\n      1\n      { c: 2 }\n    ]\n  }\n}")) == "{a: {b: [1 {c: 2}]}}"


# ------------------------------------------------------------------ arrays

def test_single_line_array():
    assert sx(expr("[1, 'a', true]")) == "[1 'a' true]"


def test_multiline_array():
    assert sx(expr("[\n  1\n  2\n]")) == "[1 2]"


def test_mixed_separators_and_trailing_comma_in_array():
    assert sx(expr("['a', 'b'\n'c', 'd'\n'e',]")) == "['a' 'b' 'c' 'd' 'e']"


def test_empty_arrays():
    assert sx(expr("[]")) == "[]"
    assert sx(expr("[\n]")) == "[]"


def test_comments_inside_array_and_object():
    assert sx(expr("[ /* a */ 1 // one\n  2 /* two\n  */\n]")) == "[1 2]"
    assert sx(expr("{\n  a: 1 // c\n  /* d */ b: 2\n}")) == "{a: 1, b: 2}"


# ----------------------------------------------------------------- strings

def test_interpolated_string_parts_alternate_text_and_expressions():
    e = expr("'a${b}c${d.e}f'")
    assert isinstance(e, s.StringLiteral)
    assert e.parts[0] == "a" and e.parts[2] == "c" and e.parts[4] == "f"
    assert sx(e.parts[1]) == "b" and sx(e.parts[3]) == "(. d e)"
    assert not e.is_plain and e.value is None


def test_interpolation_with_strings_and_calls_inside():
    assert sx(expr("'${concat('a', '}')}-x'")) == "(str '' (call concat 'a' '}') '-x')"


def test_nested_interpolation():
    assert sx(expr("'${'${a}'}'")) == "(str '' (str '' a '') '')"


def test_interpolation_with_ternary():
    assert sx(expr("'${a ? 'x' : 'y'}'")) == "(str '' (?: a 'x' 'y') '')"


def test_multiline_string_literal():
    e = expr("'''\nfirst\nsecond'''")
    assert isinstance(e, s.StringLiteral) and e.multiline and e.value == "first\nsecond"


def test_single_line_string_is_not_multiline():
    assert expr("'x'").multiline is False


def test_interpolating_multiline_string_parts():
    e = expr("$'''\nhello ${name}!\n'''")
    assert isinstance(e, s.StringLiteral)
    assert e.parts[0] == "hello " and sx(e.parts[1]) == "name" and e.parts[2] == "!\n"


def test_interpolating_multiline_string_is_marked_multiline():
    assert expr("$'''a ${b} c'''").multiline is True
    assert expr("$$'''a $${b} c'''").multiline is True


def test_double_dollar_multiline_string_keeps_single_dollar_braces():
    e = expr("$$'''${literal} $${real}'''")
    assert e.parts[0] == "${literal} " and sx(e.parts[1]) == "real"


def test_escapes_in_parsed_string():
    assert expr(r"'a\'b\u{263A}'").value == "a'b\u263a"


# --------------------------------------------------- operators, precedence

@pytest.mark.parametrize(("text", "expected"), [
    ("1 + 2 * 3", "(+ 1 (* 2 3))"),
    ("1 * 2 + 3", "(+ (* 1 2) 3)"),
    ("1 - 2 - 3", "(- (- 1 2) 3)"),
    ("8 / 4 / 2", "(/ (/ 8 4) 2)"),
    ("7 % 3 * 2", "(* (% 7 3) 2)"),
    ("(1 + 2) * 3", "(* (paren (+ 1 2)) 3)"),
    ("a + b < c * d", "(< (+ a b) (* c d))"),
    ("a < b == c > d", "(== (< a b) (> c d))"),
    ("a >= b != c <= d", "(!= (>= a b) (<= c d))"),
    ("a =~ b && c !~ d", "(&& (=~ a b) (!~ c d))"),
    ("a || b && c", "(|| a (&& b c))"),
    ("a && b || c", "(|| (&& a b) c)"),
    ("a ?? b || c", "(?? a (|| b c))"),
    ("a ?? b ?? c", "(?? (?? a b) c)"),
    ("a || b ? c : d", "(?: (|| a b) c d)"),
    ("a ?? b ? c : d", "(?: (?? a b) c d)"),
    ("a ? b : c ? d : e", "(?: a b (?: c d e))"),
    ("a ? b ? c : d : e", "(?: a (?: b c d) e)"),
    ("!a && b", "(&& (!u a) b)"),
    ("!!a", "(!u (!u a))"),
    ("-a * b", "(* (-u a) b)"),
    ("+a - -b", "(- (+u a) (-u b))"),
    ("-a.b[0]", "(-u ([] (. a b) 0))"),
    ("!a.?b", "(!u (.? a b))"),
])
def test_operator_precedence_and_associativity(text, expected):
    assert sx(expr(text)) == expected


def test_multiline_ternary_with_operators_at_line_starts():
    assert sx(expr("cond\n  ? 'a'\n  : 'b'")) == "(?: cond 'a' 'b')"


def test_multiline_ternary_with_operators_at_line_ends():
    assert sx(expr("cond ?\n  'a' :\n  'b'")) == "(?: cond 'a' 'b')"


def test_multiline_ternary_inside_object():
    assert sx(expr("{\n  a: c\n    ? 1\n    : 2\n  b: 3\n}")) == "{a: (?: c 1 2), b: 3}"


def test_binary_operator_at_end_of_line_continues():
    assert sx(expr("a &&\n  b")) == "(&& a b)"


def test_comment_inside_expression():
    assert sx(expr("1 /* one */ + /* two\n */ 2 // end")) == "(+ 1 2)"


# An operand that is not a lone literal or name (an object, an array, a call, a member access,
# an interpolated string) is parsed before the parser looks at what follows it: a separator ends
# the value there, anything else continues it as postfix, binary or conditional expression.
@pytest.mark.parametrize(("text", "expected"), [
    ("{a: 1}.a", "(. {a: 1} a)"),
    ("{a: 1}[k]", "([] {a: 1} k)"),
    ("[1, 2][0]", "([] [1 2] 0)"),
    ("[1][0].x!", "(! (. ([] [1] 0) x))"),
    ("{} ?? {a: 1}", "(?? {} {a: 1})"),
    ("[] == [1]", "(== [] [1])"),
    ("f(x) ? {a: 1} : [2]", "(?: (call f x) {a: 1} [2])"),
    ("f(x)\n  ? a\n  : b", "(?: (call f x) a b)"),
    ("a.b\n  ? c\n  : d", "(?: (. a b) c d)"),
    ("'${a}-x' == b", "(== (str '' a '-x') b)"),
    ("'${a}'.length", "(. (str '' a '') length)"),
    ("[for i in r: i][0]", "([] (for i r i) 0)"),
    ("f(a)(b)", None),
])
def test_compound_operand_followed_by_an_operator(text, expected):
    if expected is None:
        program = parse_text(f"var x = {text}\n")
        assert program.diagnostics  # a call result cannot be called
        return
    assert sx(expr(text)) == expected


@pytest.mark.parametrize("text", ["{a: 1}", "[1, 2]", "f(x)", "a.b", "'${a}'", "[for i in r: i]"])
def test_compound_operand_before_each_separator(text):
    assert sx(expr(f"[{text}, {text}]")) == sx(expr(f"[{text}\n{text}]"))
    assert sx(expr(f"{{k: {text}, j: {text}}}")).count(sx(expr(text))) == 2
    assert sx(expr(f"f({text})")) == f"(call f {sx(expr(text))})"
    assert sx(expr(f"c ? {text} : {text}")) == f"(?: c {sx(expr(text))} {sx(expr(text))})"


# ---------------------------------------------------------- member access

@pytest.mark.parametrize(("text", "expected"), [
    ("a.b.c", "(. (. a b) c)"),
    ("a.?b", "(.? a b)"),
    ("a[0]", "([] a 0)"),
    ("a['k']", "([] a 'k')"),
    ("a[?0]", "([?] a 0)"),
    ("a[^1]", "([^] a 1)"),
    ("a[?^1]", "([?^] a 1)"),
    ("a::b", "(:: a b)"),
    ("a::b::c.id", "(. (:: (:: a b) c) id)"),
    ("a!", "(! a)"),
    ("a!.b", "(. (! a) b)"),
    ("a.b!.c", "(. (! (. a b)) c)"),
    ("a[0]!", "(! ([] a 0))"),
    ("a[i].properties.x", "(. (. ([] a i) properties) x)"),
    ("a.?b.?c", "(.? (.? a b) c)"),
])
def test_member_access_forms(text, expected):
    assert sx(expr(text)) == expected


def test_property_names_may_be_keywords():
    assert sx(expr("a.if.resource.existing")) == "(. (. (. a if) resource) existing)"


def test_non_null_followed_by_not_equals():
    assert sx(expr("a! != b")) == "(!= (! a) b)"


def test_index_access_with_multiline_index():
    assert sx(expr("a[\n  0\n]")) == "([] a 0)"


# ----------------------------------------------------------------- calls

def test_call_without_args():
    e = expr("utcNow()")
    assert isinstance(e, s.Call) and e.name == "utcNow" and e.args == [] and e.target is None


@pytest.mark.parametrize(("text", "expected"), [
    ("concat('a', 'b')", "(call concat 'a' 'b')"),
    ("sys.concat('a')", "(call sys.concat 'a')"),
    ("az.resourceGroup().location", "(. (call az.resourceGroup) location)"),
    ("kv.getSecret('s')", "(call kv.getSecret 's')"),
    ("ns.f(1)", "(call ns.f 1)"),
    ("a.b.c(1)", "(call (. a b).c 1)"),
    ("st.listKeys().keys[0].value", "(. ([] (. (call st.listKeys) keys) 0) value)"),
    ("f(g(h(1)))", "(call f (call g (call h 1)))"),
    ("f(a ? 1 : 2, !b)", "(call f (?: a 1 2) (!u b))"),
])
def test_call_forms(text, expected):
    assert sx(expr(text)) == expected


def test_instance_call_records_target_and_name_start():
    text = "kv.getSecret('s')"
    e = expr(text)
    assert isinstance(e.target, s.Identifier) and e.target.name == "kv"
    assert e.name_start == len("var x = ") + text.index("getSecret")


def test_call_with_multiline_arguments():
    assert sx(expr("concat(\n  'a',\n  // comment\n  'b'\n)")) == "(call concat 'a' 'b')"


def test_call_with_unusual_argument_formatting():
    assert sx(expr("concat(\n  'a',   any(['b']),\n'c')")) == "(call concat 'a' (call any ['b']) 'c')"


# ----------------------------------------------------------------- lambdas

@pytest.mark.parametrize(("text", "expected"), [
    ("x => x", "(=> (x) x)"),
    ("(a, b) => a + b", "(=> (a b) (+ a b))"),
    ("() => 1", "(=> () 1)"),
    ("(x) => x.y", "(=> (x) (. x y))"),
    ("map(xs, x => x * 2)", "(call map xs (=> (x) (* x 2)))"),
    ("reduce(xs, 0, (acc, x) => acc + x)", "(call reduce xs 0 (=> (acc x) (+ acc x)))"),
    ("sort(xs, (a, b) => a < b)", "(call sort xs (=> (a b) (< a b)))"),
    ("x => y => x", "(=> (x) (=> (y) x))"),
])
def test_lambdas(text, expected):
    assert sx(expr(text)) == expected


def test_lambda_with_body_on_next_line():
    assert sx(expr("(a, b) =>\n  a + b")) == "(=> (a b) (+ a b))"


def test_lambda_with_multiline_object_body():
    assert sx(expr("map(r, i => {\n  name: i\n})")) == "(call map r (=> (i) {name: i}))"


def test_parenthesized_expression_is_not_a_lambda():
    assert sx(expr("(a) + (b)")) == "(+ (paren a) (paren b))"


# ----------------------------------------------------------------- spreads

def test_spread_in_object():
    assert sx(expr("{ ...a, b: 1, ...c.d }")) == "{(... a), b: 1, (... (. c d))}"


def test_spread_in_multiline_object():
    assert sx(expr("{\n  ...base\n  extra: true\n}")) == "{(... base), extra: true}"


def test_spread_in_array():
    assert sx(expr("[...a, 1, ...[2, 3]]")) == "[(... a) 1 (... [2 3])]"


# ---------------------------------------------------------- for-expressions

@pytest.mark.parametrize(("text", "expected"), [
    ("[for x in xs: x]", "(for x xs x)"),
    ("[for (x, i) in xs: i]", "(for (x, i) xs i)"),
    ("[for (x) in xs: x]", "(for x xs x)"),
    ("[for x in xs: if (x > 1) x]", "(for x xs if (> x 1) x)"),
    ("[for (x, i) in range(0, 3): if (i % 2 == 0) { n: x }]",
     "(for (x, i) (call range 0 3) if (== (% i 2) 0) {n: x})"),
    ("[for x in [for y in ys: y]: x]", "(for x (for y ys y) x)"),
    ("[for x in items(o): x.value]", "(for x (call items o) (. x value))"),
])
def test_for_expressions(text, expected):
    assert sx(expr(text)) == expected


def test_for_expression_spread_over_lines():
    assert sx(expr("[for x in xs:\n  {\n    a: x\n  }\n]")) == "(for x xs {a: x})"


def test_for_expression_starting_on_its_own_line():
    assert sx(expr("[\n  for x in xs: x\n]")) == "(for x xs x)"


def test_array_starting_with_identifier_named_for_is_still_an_array():
    assert sx(expr("[for]")) == "[for]"


# ---------------------------------------------------------------- newlines

def test_newlines_inside_parentheses_are_insignificant():
    assert sx(expr("(\n  1\n  +\n  2\n)")) == "(paren (+ 1 2))"


def test_trailing_comment_after_expression():
    program = parse_text("var x = 1 // one\nvar y = 2 /* two */\n")
    assert program.diagnostics == [] and len(program.statements) == 2
    assert len(program.comments) == 2
