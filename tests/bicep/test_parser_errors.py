"""Bad input: syntax error messages and positions, recovery at the next statement, lexical errors,
and files that cannot be read as text."""

from __future__ import annotations

import pytest

from armguard.bicep import load_graph, parse_text
from armguard.bicep import syntax as s
from armguard.errors import ArmguardError
from armguard.source import SourceFile


def diags(text: str, path: str = "main.bicep") -> list[str]:
    return [str(d) for d in parse_text(text, path).diagnostics]


# ------------------------------------------------------------ exact messages

@pytest.mark.parametrize(("text", "expected"), [
    ("var x = \n", "main.bicep:1:9: error: expected an expression, found end of line"),
    ("var x =", "main.bicep:1:8: error: expected an expression, found end of file"),
    ("var = 1\n", "main.bicep:1:5: error: expected a variable name, found '='"),
    ("param p string = 'a' 'b'\n", "main.bicep:1:22: error: expected end of line, found string"),
    ("var a = 1 2\n", "main.bicep:1:11: error: expected end of line, found integer 2"),
    ("foo bar\n", "main.bicep:1:1: error: expected a declaration (param, var, resource, module, output, ...), "
                  "found identifier 'foo'"),
    ("var x = {a: 1 b: 2}\n",
     "main.bicep:1:15: error: expected a new line, ',' or '}' after the property, found identifier 'b'"),
    ("var x = [1 2]\n", "main.bicep:1:12: error: expected a new line, ',' or ']' after the array item, found integer 2"),
    ("var x = concat(1 2)\n", "main.bicep:1:18: error: expected ',' or ')', found integer 2"),
    ("resource r 'A.B/c@1' {\n}\n", "main.bicep:1:22: error: expected '=', found '{'"),
    ("resource r 'A.B/c@1' = 5\n", "main.bicep:1:24: error: expected '{', 'if' or '[for', found integer 5"),
    ("var x = {\n  a 1\n}\n", "main.bicep:2:5: error: expected ':' after the property name, found integer 1"),
    ("output o = 1\n", "main.bicep:1:10: error: expected a type, found '='"),
    ("var x = a.\n", "main.bicep:1:11: error: expected a property name, found end of line"),
    ("var x = [for i range(0, 2): i]\n", "main.bicep:1:16: error: expected 'in', found identifier 'range'"),
    ("var x = ~1\n", "main.bicep:1:9: error: unexpected character '~'"),
])
def test_error_message_and_position(text, expected):
    assert expected in diags(text)


def test_diagnostic_fields_and_str():
    (d,) = parse_text("\n\n  var x = )\n", "dir/f.bicep").diagnostics
    assert (d.path, d.line, d.column, d.severity) == ("dir/f.bicep", 3, 11, "error")
    assert d.message == "expected an expression, found ')'"
    assert str(d) == "dir/f.bicep:3:11: error: expected an expression, found ')'"


def test_diagnostics_are_sorted_by_position():
    program = parse_text("var a = \nvar b = 1\nvar c = )\nvar d = '\n")
    positions = [(d.line, d.column) for d in program.diagnostics]
    assert positions == sorted(positions)
    assert [p[0] for p in positions] == [1, 3, 4]


def test_decorator_that_is_not_a_call():
    (msg,) = diags("@description\nparam p string\n")
    assert msg.startswith("main.bicep:1:2: error: expected a decorator call")


# ------------------------------------------------------------------ recovery

def test_broken_line_is_an_error_statement_and_later_statements_survive():
    program = parse_text("param a string\nvar b = = 1\nvar c = 2\noutput d int = c\n")
    kinds = [type(st).__name__ for st in program.statements]
    assert kinds == ["ParamDecl", "ErrorStatement", "VarDecl", "OutputDecl"]
    err = program.statements[1]
    assert err.message == "expected an expression, found '='"
    assert program.source.text[err.start:err.end].startswith("var b")


def test_recovery_after_error_inside_multiline_resource_body():
    text = """resource r 'A.B/c@1' = {
  name: 'x'
  properties: {
    a: [
  }
}
param p string
"""
    program = parse_text(text)
    assert len(program.diagnostics) == 1
    assert isinstance(program.statements[0], s.ErrorStatement)
    assert isinstance(program.statements[-1], s.ParamDecl) and program.statements[-1].name == "p"


def test_recovery_keeps_decorators_of_the_next_statement():
    text = "resource r 'A.B/c@1' = {\n  name: 1 +\n}\n@description('d')\nparam p string\n"
    program = parse_text(text)
    p = program.statements[-1]
    assert isinstance(p, s.ParamDecl) and [d.name for d in p.decorators] == ["description"]


def test_recovery_after_unclosed_parenthesis():
    program = parse_text("var a = concat('x'\nvar b = 1\n")
    names = [st.name for st in program.statements if isinstance(st, s.VarDecl)]
    assert "b" in names


def test_stray_closing_brace_is_one_error():
    program = parse_text("var x = 1\n}\nvar y = 2\n")
    assert [type(st).__name__ for st in program.statements] == ["VarDecl", "ErrorStatement", "VarDecl"]
    assert len(program.diagnostics) == 1


def test_every_broken_statement_is_reported():
    program = parse_text("var a = \nvar b = 1\nvar c = \nvar d = 2\nvar e = )\n")
    assert [d.line for d in program.diagnostics] == [1, 3, 5]
    assert [st.name for st in program.statements if isinstance(st, s.VarDecl)] == ["b", "d"]


def test_recovery_when_the_error_is_found_at_the_next_statement_keyword():
    """An unterminated interpolation is noticed only at the next line's `var`; that statement must
    still be parsed."""
    program = parse_text("var x = '${a\nvar y = 1\n")
    assert program.diagnostics
    names = [st.name for st in program.statements if isinstance(st, s.VarDecl)]
    assert names == ["y"]


def test_garbage_line_between_statements():
    program = parse_text("var a = 1\n%%% ??? !!!\nvar b = 2\n")
    assert [st.name for st in program.statements if isinstance(st, s.VarDecl)] == ["a", "b"]
    assert program.diagnostics[0].line == 2


# ------------------------------------------------------ unterminated things

def test_unterminated_string_diagnostic():
    assert "main.bicep:2:9: error: unterminated string" in diags("var a = 1\nvar x = 'abc\nvar y = 2\n")


def test_unterminated_string_does_not_swallow_next_line():
    program = parse_text("var x = 'abc\nvar y = 2\n")
    assert [st.name for st in program.statements if isinstance(st, s.VarDecl)][-1] == "y"


def test_unterminated_multiline_string_diagnostic():
    assert "main.bicep:1:9: error: unterminated multi-line string" in diags("var x = '''abc\nmore\n")


def test_unterminated_block_comment_diagnostic():
    assert "main.bicep:2:1: error: unterminated multi-line comment" in diags("var x = 1\n/* never\nclosed\n")


def test_unterminated_interpolation_diagnostic():
    msgs = diags("var x = 'a${b")
    assert any("unterminated string interpolation" in m for m in msgs)
    assert any(m.startswith("main.bicep:1:") for m in msgs)


def test_unclosed_object_at_end_of_file():
    msgs = diags("resource r 'A.B/c@1' = {\n  name: 'x'\n")
    assert msgs == ["main.bicep:3:1: error: expected a property name or '}', found end of file"]


def test_deep_nesting_is_a_diagnostic_not_a_crash():
    program = parse_text("var x = " + "[" * 5000 + "\n")
    assert any("nested too deeply" in d.message for d in program.diagnostics)
    program = parse_text("var x = " + "(" * 5000 + "1" + ")" * 5000 + "\n")
    assert program.diagnostics


def test_long_flat_expressions_are_fine():
    program = parse_text("var x = " + " + ".join(["1"] * 5000) + "\n")
    assert program.diagnostics == []


# ------------------------------------------------------ unreadable files

def test_read_non_utf8_file(tmp_path):
    f = tmp_path / "latin1.bicep"
    f.write_bytes(b"var a = 1\nvar x = '\xe9t\xe9'\n")
    with pytest.raises(ArmguardError) as info:
        SourceFile.read(f)
    message = str(info.value)
    assert "\n" not in message
    assert message == f"{f}:2: error: not valid UTF-8 (byte 0xe9 at offset 19)"


def test_read_binary_file_with_nul_bytes(tmp_path):
    f = tmp_path / "bin.bicep"
    f.write_bytes(b"var a = 1\x00\x01\x02")
    with pytest.raises(ArmguardError) as info:
        SourceFile.read(f)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{f}: error: binary file")


def test_read_missing_file(tmp_path):
    with pytest.raises(ArmguardError, match="file not found"):
        SourceFile.read(tmp_path / "nope.bicep")


def test_read_directory(tmp_path):
    with pytest.raises(ArmguardError, match="directory"):
        SourceFile.read(tmp_path)


def test_read_utf8_with_and_without_bom(tmp_path):
    a = tmp_path / "a.bicep"
    a.write_bytes("var é = 'ü'".encode())
    b = tmp_path / "b.bicep"
    b.write_bytes(b"\xef\xbb\xbf" + "var x = 'ü'".encode())
    assert SourceFile.read(a).text == "var é = 'ü'"
    assert SourceFile.read(b).text == "var x = 'ü'"


@pytest.mark.parametrize("data", [b"\xff\xfe\x00\x00", b"param p string\n\x80\n", b"\x00"])
def test_load_graph_on_unreadable_files_raises_armguard_error(tmp_path, data):
    f = tmp_path / "main.bicep"
    f.write_bytes(data)
    with pytest.raises(ArmguardError):
        load_graph(f)


def test_load_graph_on_syntax_errors_reports_them_in_the_graph(tmp_path):
    f = tmp_path / "main.bicep"
    f.write_text("var x = \nresource r 'A.B/c@2020-01-01' = {\n  name: 'r'\n}\n", encoding="utf-8")
    graph = load_graph(f)
    assert [(e.line, e.column) for e in graph.errors] == [(1, 9)]
    assert [n.symbol for n in graph.nodes] == ["r"]
