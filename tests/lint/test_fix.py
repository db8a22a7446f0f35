"""`armguard lint --fix` / `--diff`: the edits, formatting and line endings they keep, idempotency, safety."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path
from textwrap import dedent

from click.testing import CliRunner

from armguard.cli import cli
from armguard.lint import apply_fixes, lint_file
from armguard.lint.findings import Finding, Fix, TextEdit

MODULES = Path(__file__).resolve().parent / "fixtures" / "modules"
BOM = b"\xef\xbb\xbf"

VNET = """\
resource vnet 'Microsoft.Network/virtualNetworks@2023-09-01' existing = {
  name: 'vnet1'
}
"""

SUBNET_LOOP = """\
resource subnets 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = [for i in range(0, 3): {
  parent: vnet
  name: 'snet-${i}'
}]
"""

THREE_SUBNETS = VNET + """\
resource s1 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {
  parent: vnet
  name: 's1'
}
resource s2 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {
  parent: vnet
  name: 's2'
}
resource s3 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {
  parent: vnet
  name: 's3'
}
"""


def write(tmp_path: Path, text: str, name: str = "main.bicep") -> Path:
    if not (tmp_path / "modules").exists():
        shutil.copytree(MODULES, tmp_path / "modules")
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["lint", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def fix(path: Path) -> str:
    code, output = run("--fix", str(path))
    assert code in (0, 1), output
    return path.read_text(encoding="utf-8")


def remaining(path: Path) -> list[str]:
    return [f.rule for f in lint_file(str(path)).findings]


# ----------------------------------------------------------------------- AG101

def test_ag101_fix_inserts_batch_size_with_a_comment_naming_the_domain(tmp_path):
    path = write(tmp_path, VNET + "\n" + SUBNET_LOOP)
    text = fix(path)
    lines = text.splitlines()
    at = lines.index("@batchSize(1)")
    assert lines[at + 1].startswith("resource subnets ")
    comment = lines[at - 1]
    assert comment.startswith("// ") and "'vnet1'" in comment and "AG101" in comment
    assert lines[at - 2] == ""  # the blank line before the declaration stays where it was
    assert remaining(path) == []


def test_ag101_fix_replaces_an_existing_batch_size(tmp_path):
    path = write(tmp_path, VNET + "// Throttled.\n@batchSize(5)\n" + SUBNET_LOOP)
    text = fix(path)
    assert "@batchSize(5)" not in text
    assert text.count("@batchSize(1)") == 1
    assert "// Throttled.\n" in text
    assert remaining(path) == []


def test_ag101_fix_of_a_module_loop_and_ag301_fix_apply_together(tmp_path):
    path = write(tmp_path, """\
module peers 'modules/bgp.bicep' = [for p in ['p1', 'p2']: {
  name: 'peer'
  params: {
    hubName: 'hub-1'
    peerName: p
  }
}]
""")
    text = fix(path)
    assert "@batchSize(1)\nmodule peers 'modules/bgp.bicep' = [for (p, i) in ['p1', 'p2']: {\n" in text
    assert "name: '${uniqueString(deployment().name)}-peer-${i}'" in text
    assert remaining(path) == []


def test_ag101_fix_is_applied_when_the_domain_comes_from_a_multi_line_expression(tmp_path):
    # BUG: the comment embeds the domain's source text, newlines included; the result does not parse,
    # so the fix is dropped ("fix not applied: the fixed file would not parse").
    path = write(tmp_path, """\
param suffix string
resource hub 'Microsoft.Network/virtualHubs@2024-05-01' existing = {
  name: join([
    'hub'
    suffix
  ], '-')
}
resource bgp 'Microsoft.Network/virtualHubs/bgpConnections@2024-05-01' = [for p in ['a', 'b']: {
  parent: hub
  name: p
  properties: {
    peerAsn: 65001
    peerIp: '10.0.0.4'
  }
}]
""")
    text = fix(path)
    assert "@batchSize(1)" in text
    assert remaining(path) == []


# ----------------------------------------------------------------------- AG102

def test_ag102_fix_adds_the_dependency_chain(tmp_path):
    path = write(tmp_path, THREE_SUBNETS)
    text = fix(path)
    assert "  name: 's2'\n  dependsOn: [\n    s1\n  ]\n}" in text
    assert "  name: 's3'\n  dependsOn: [\n    s2\n  ]\n}" in text
    assert remaining(path) == []


def test_ag102_fix_keeps_four_space_and_tab_indentation(tmp_path):
    path = write(tmp_path, VNET + """\
resource s1 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {
    parent: vnet
    name: 's1'
}
resource s2 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {
    parent: vnet
    name: 's2'
}
resource s3 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {
\tparent: vnet
\tname: 's3'
}
""")
    text = fix(path)
    assert "    name: 's2'\n    dependsOn: [\n        s1\n    ]\n}" in text
    assert "\tname: 's3'\n\tdependsOn: [\n\t\ts2\n\t]\n}" in text


def test_ag102_fix_appends_to_existing_depends_on_arrays(tmp_path):
    path = write(tmp_path, VNET + """\
resource nsg 'Microsoft.Network/networkSecurityGroups@2023-09-01' existing = {
  name: 'nsg1'
}
resource s1 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {
  parent: vnet
  name: 's1'
}
resource s2 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {
  parent: vnet
  name: 's2'
  dependsOn: [nsg]
}
resource s3 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {
  parent: vnet
  name: 's3'
  dependsOn: [
    nsg
  ]
}
resource s4 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = {
  parent: vnet
  name: 's4'
  dependsOn: []
}
""")
    text = fix(path)
    assert "  dependsOn: [nsg, s1]\n" in text
    assert "  dependsOn: [\n    nsg\n    s2\n  ]\n" in text
    assert "  dependsOn: [s3]\n" in text
    assert remaining(path) == []


def test_ag102_fix_on_a_one_line_object_reads_naturally(tmp_path):
    # BUG: the property is inserted before the closing brace's leading space, giving
    # "name: 's2' , dependsOn: [s1] }".
    path = write(tmp_path, VNET + """\
resource s1 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = { parent: vnet, name: 's1' }
resource s2 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = { parent: vnet, name: 's2' }
""")
    text = fix(path)
    assert remaining(path) == []
    assert "{ parent: vnet, name: 's2', dependsOn: [s1] }" in text


def test_ag102_fix_converges_when_the_previous_writer_is_mutually_exclusive_with_an_earlier_one(tmp_path):
    # BUG: s1 (c) and s2 (!c) are exclusive; s3 is unordered with both. The fix adds only the previous
    # writer (s2), which leaves s3 unordered with s1; the second run reports s3 again with no fix.
    path = write(tmp_path, "param c bool\nparam env string\n" + VNET + """\
resource s1 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = if (c) {
  parent: vnet
  name: 's1'
}
resource s2 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = if (!c) {
  parent: vnet
  name: 's2'
}
resource s3 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = if (env == 'dev') {
  parent: vnet
  name: 's3'
}
""")
    fix(path)
    assert remaining(path) == []


# ------------------------------------------------------------- bytes on disk

def test_crlf_file_is_kept_byte_for_byte_apart_from_inserted_crlf_lines(tmp_path):
    text = (VNET + SUBNET_LOOP + THREE_SUBNETS.split(VNET, 1)[1]).replace("\n", "\r\n")
    path = tmp_path / "main.bicep"
    path.write_bytes(text.encode("utf-8"))
    before = path.read_bytes()
    run("--fix", str(path))
    after = path.read_bytes()
    assert after != before
    assert after.count(b"\n") == after.count(b"\r\n")  # no bare LF anywhere
    assert after.count(b"\r") == after.count(b"\r\n")
    old, new = before.split(b"\r\n"), after.split(b"\r\n")
    ops = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    assert {op for op, *_ in ops} == {"equal", "insert"}  # every original line kept as it was
    inserted = [line for op, _, _, j1, j2 in ops if op == "insert" for line in new[j1:j2]]
    assert b"@batchSize(1)" in inserted and b"  dependsOn: [" in inserted
    assert remaining(path) == []


def test_bom_is_preserved(tmp_path):
    # BUG: the file is read with utf-8-sig and written back without the BOM.
    path = tmp_path / "main.bicep"
    path.write_bytes(BOM + (VNET + SUBNET_LOOP).encode("utf-8"))
    run("--fix", str(path))
    after = path.read_bytes()
    assert b"@batchSize(1)" in after
    assert after.startswith(BOM)
    assert after[3:].startswith(b"resource vnet")


def test_second_fix_run_changes_nothing(tmp_path):
    path = write(tmp_path, VNET + "@batchSize(5)\n" + SUBNET_LOOP + THREE_SUBNETS.split(VNET, 1)[1])
    fix(path)
    once = path.read_bytes()
    code, output = run("--fix", str(path))
    assert path.read_bytes() == once
    assert "fixed" not in output
    assert code == 0


def test_fix_exits_zero_when_everything_was_fixed(tmp_path):
    path = write(tmp_path, THREE_SUBNETS)
    code, output = run("--fix", str(path))
    assert code == 0, output
    assert "fixed 2 finding(s)" in output


def test_diff_previews_without_writing(tmp_path):
    path = write(tmp_path, VNET + SUBNET_LOOP)
    before = path.read_bytes()
    code, output = run("--diff", str(path))
    assert path.read_bytes() == before
    assert code == 1  # the finding is still there
    assert f"--- a/{path}" in output and f"+++ b/{path}" in output
    assert "+@batchSize(1)" in output


def test_diff_wins_over_fix(tmp_path):
    path = write(tmp_path, VNET + SUBNET_LOOP)
    before = path.read_bytes()
    run("--fix", "--diff", str(path))
    assert path.read_bytes() == before


def test_a_fix_that_would_break_parsing_is_never_written(tmp_path):
    path = write(tmp_path, VNET + SUBNET_LOOP)
    result = lint_file(str(path))
    (good,) = result.findings
    bad = Finding("AG101", "warning", str(path), 1, 1, "synthetic",
                  fix=Fix("breaks the file", [TextEdit(0, 0, "resource {{{\n")]), symbol="vnet")
    result.findings = [bad]
    messages: list[str] = []
    before = path.read_bytes()
    assert apply_fixes([result], write=True, echo=messages.append) == 0
    assert path.read_bytes() == before
    assert any("fix not applied" in m and "would not parse" in m for m in messages)
    # a good fix next to a bad one is still applied, and only it
    result.findings = [bad, good]
    messages.clear()
    assert apply_fixes([result], write=True, echo=messages.append) == 1
    text = path.read_text(encoding="utf-8")
    assert "@batchSize(1)" in text and "{{{" not in text
