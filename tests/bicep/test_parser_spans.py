"""Source positions: node offsets, SourceFile spans (line, column, byte offsets), CRLF, BOM and
non-ASCII text."""

from __future__ import annotations

from armguard.bicep import parse_source, parse_text
from armguard.bicep import syntax as s
from armguard.source import SourceFile


def text_of(src: str, node: s.Node) -> str:
    return src[node.start:node.end]


# ------------------------------------------------------------ node offsets

def test_statement_span_covers_decorators_and_body():
    src = "@description('d')\nparam p string = 'x'\n"
    (st,) = parse_text(src).statements
    assert text_of(src, st) == "@description('d')\nparam p string = 'x'"
    assert src[st.name_start:st.name_start + 1] == "p"
    assert text_of(src, st.decorators[0]) == "@description('d')"
    assert text_of(src, st.decorators[0].call) == "description('d')"
    assert text_of(src, st.type) == "string"
    assert text_of(src, st.default) == "'x'"


def test_param_without_default_ends_at_its_type():
    src = "param p string?\n"
    (st,) = parse_text(src).statements
    assert text_of(src, st) == "param p string?"


def test_resource_spans():
    src = "resource r 'A.B/c@2020-01-01' = {\n  name: 'x'\n  properties: {\n    a: [1, 2]\n  }\n}\n"
    (st,) = parse_text(src).statements
    assert text_of(src, st) == src.rstrip("\n")
    assert text_of(src, st.type_string) == "'A.B/c@2020-01-01'"
    name = st.body.properties[0]
    assert text_of(src, name) == "name: 'x'"
    assert src[name.key_start:name.key_start + 4] == "name"
    props = st.body.get("properties")
    assert text_of(src, props) == "{\n    a: [1, 2]\n  }"
    assert text_of(src, props.get("a")) == "[1, 2]"


def test_nested_resource_span_includes_its_decorators():
    src = "resource r 'A.B/c@1' = {\n  name: 'x'\n  @batchSize(1)\n  resource k 'd' = [for i in l: {\n    name: i\n  }]\n}\n"
    (st,) = parse_text(src).statements
    (child,) = st.body.resources
    assert text_of(src, child) == "@batchSize(1)\n  resource k 'd' = [for i in l: {\n    name: i\n  }]"
    assert src[child.name_start] == "k"


def test_expression_spans():
    src = "var x = a.b[0]!.c(1, 'z') + -y\n"
    (st,) = parse_text(src).statements
    e = st.value
    assert text_of(src, e) == "a.b[0]!.c(1, 'z') + -y"
    assert text_of(src, e.left) == "a.b[0]!.c(1, 'z')"
    assert text_of(src, e.left.target) == "a.b[0]!"
    assert text_of(src, e.left.target.expr) == "a.b[0]"
    assert text_of(src, e.right) == "-y"


def test_interpolated_string_span_and_part_spans():
    src = "var x = 'a${b.c}d'\n"
    (st,) = parse_text(src).statements
    assert text_of(src, st.value) == "'a${b.c}d'"
    assert text_of(src, st.value.parts[1]) == "b.c"


def test_multiline_string_span():
    src = "var x = '''\nl1\nl2'''\nvar y = 1\n"
    x, _ = parse_text(src).statements
    assert text_of(src, x.value) == "'''\nl1\nl2'''"


def test_for_and_lambda_spans():
    src = "var x = [for (a, i) in xs: if (i > 0) a]\nvar f = (p, q) => p\n"
    x, f = parse_text(src).statements
    assert text_of(src, x.value) == "[for (a, i) in xs: if (i > 0) a]"
    assert text_of(src, x.value.condition) == "i > 0"
    assert text_of(src, f.value) == "(p, q) => p"
    assert [text_of(src, p) for p in f.value.params] == ["p", "q"]


def test_type_spans():
    src = "type t = {\n  @description('d')\n  a: string[]\n  *: int\n}\n"
    (st,) = parse_text(src).statements
    a, rest = st.value.properties
    assert text_of(src, a) == "@description('d')\n  a: string[]"
    assert text_of(src, a.type) == "string[]"
    assert text_of(src, rest) == "*: int"


def test_import_item_spans():
    src = "import {a as b, c} from 'x.bicep'\n"
    (st,) = parse_text(src).statements
    assert [text_of(src, i) for i in st.items] == ["a as b", "c"]
    assert text_of(src, st) == "import {a as b, c} from 'x.bicep'"


# --------------------------------------------------------------- SourceFile

def test_span_of_ascii_text():
    sf = SourceFile("f", "ab\ncd\n")
    sp = sf.span(3, 5)
    assert (sp.line, sp.column, sp.end_line, sp.end_column) == (2, 1, 2, 3)
    assert (sp.start, sp.end, sp.start_byte, sp.end_byte) == (3, 5, 3, 5)


def test_span_across_lines():
    sf = SourceFile("f", "abc\ndef\nghi")
    sp = sf.span(1, 10)
    assert (sp.line, sp.column, sp.end_line, sp.end_column) == (1, 2, 3, 3)


def test_position_at_end_of_text():
    sf = SourceFile("f", "ab\n")
    assert sf.position(3) == (2, 1)
    assert sf.line_count == 2


def test_byte_offsets_of_non_ascii_text():
    text = "var é = 'ü'\nvar x = '日本😀' // ok\n"
    sf = SourceFile("f", text)
    start = text.index("'日本")
    sp = sf.span(start, start + len("'日本😀'"))
    assert (sp.line, sp.column) == (2, 9)
    assert sp.start_byte == len(text[:start].encode("utf-8"))
    assert sp.end_byte - sp.start_byte == len("'日本😀'".encode())
    assert sp.end_byte - sp.start_byte == 2 + 3 + 3 + 4


def test_columns_count_characters_not_bytes():
    text = "var s = 'ééé'  x"
    sf = SourceFile("f", text)
    assert sf.position(text.index("x")) == (1, text.index("x") + 1)


def test_line_text():
    sf = SourceFile("f", "one\r\ntwo\nthree")
    assert [sf.line_text(i) for i in (1, 2, 3)] == ["one", "two", "three"]
    assert sf.line_text(0) == "" and sf.line_text(4) == ""


def test_crlf_positions():
    text = "var a = 1\r\nvar bb = 2\r\n"
    program = parse_text(text)
    _, b = program.statements
    sf = program.source
    sp = sf.span(b.name_start, b.end)
    assert (sp.line, sp.column, sp.end_line, sp.end_column) == (2, 5, 2, 11)
    assert sp.start_byte == b.name_start


def test_crlf_statement_end_excludes_line_break():
    text = "var a = {\r\n  x: 1\r\n}\r\n"
    (st,) = parse_text(text).statements
    assert text[st.end - 1] == "}"


def test_read_strips_bom_so_offsets_start_at_first_character(tmp_path):
    f = tmp_path / "bom.bicep"
    f.write_bytes(b"\xef\xbb\xbfvar x = 1\nvar y = z z\n")
    sf = SourceFile.read(f)
    assert sf.text.startswith("var x")
    program = parse_source(sf)
    (d,) = program.diagnostics
    assert (d.line, d.column) == (2, 11)
    assert sf.span(program.statements[0].start, program.statements[0].end).column == 1


def test_parse_text_with_leading_bom_character():
    program = parse_text("\ufeffvar x = 1\n")
    assert program.diagnostics == []
    assert isinstance(program.statements[0], s.VarDecl)


def test_diagnostic_position_in_non_ascii_file():
    text = "var s = '日本語'\nvar t = 'ü' 1\n"
    program = parse_text(text, "u.bicep")
    (d,) = program.diagnostics
    assert (d.line, d.column) == (2, 13)
    assert str(d).startswith("u.bicep:2:13: error: ")


def test_diagnostic_position_in_crlf_file():
    program = parse_text("var a = 1\r\nvar b = \r\nvar c = 3\r\n", "c.bicep")
    (d,) = program.diagnostics
    assert (d.line, d.column) == (2, 9)


def test_lone_carriage_return_line_endings_count_as_lines():
    """The lexer treats a lone CR as a line break (as Bicep does), so positions must too."""
    program = parse_text("var a = 1\rvar b = \rvar c = 3\r", "cr.bicep")
    assert len(program.statements) == 3
    (d,) = program.diagnostics
    assert (d.line, d.column) == (2, 9)
