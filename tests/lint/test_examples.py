"""The shipped examples: the broken ones are flagged exactly where they break, the fixed ones pass,
and --fix turns a broken one into its fixed counterpart."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from armguard.cli import cli
from armguard.lint import lint_paths

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BROKEN = {
    "vwan-bgp-peers": ("bgpPeers", 32, "Microsoft.Network/virtualHubs 'hub-weu'"),
    "private-dns": ("spokeLinks", 41, "Microsoft.Network/privateDnsZones 'privatelink.blob.${environment().suffixes.storage}'"),
}


def lint(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["lint", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def code_lines(path: Path) -> list[str]:
    """The file without its comment lines: what must match "modulo the comment text"."""
    return [line for line in path.read_text("utf-8").splitlines() if not line.lstrip().startswith("//")]


def test_linting_examples_flags_exactly_the_broken_loops():
    results, files = lint_paths([str(EXAMPLES)], jobs=1)
    assert files == 5
    assert [r for r in results if r.errors] == []
    found = sorted((Path(f.path).relative_to(EXAMPLES).as_posix(), f.rule, f.symbol, f.line, f.column, f.domain)
                   for r in results for f in r.findings)
    assert found == sorted((f"{name}/broken/main.bicep", "AG101", symbol, line, 1, domain)
                           for name, (symbol, line, domain) in BROKEN.items())


def test_linting_examples_exits_1():
    code, output = lint(str(EXAMPLES))
    assert code == 1
    assert output.splitlines()[-1] == "5 file(s) checked, 2 finding(s), 0 error(s)"


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_fixed_example_passes(name):
    code, output = lint(str(EXAMPLES / name / "fixed"))
    assert code == 0, output
    assert "0 finding(s), 0 error(s)" in output


def test_all_fixed_examples_together_pass_at_info_level():
    fixed = sorted(str(p) for p in EXAMPLES.glob("*/fixed"))
    assert len(fixed) == len(BROKEN)
    code, output = lint("--fail-on", "info", *fixed)
    assert code == 0, output


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_fix_turns_the_broken_example_into_the_fixed_one(tmp_path, name):
    copy = tmp_path / name
    shutil.copytree(EXAMPLES / name, copy)
    broken = copy / "broken" / "main.bicep"
    code, output = lint("--fix", str(broken))
    assert code == 0, output
    assert "fixed 1 finding(s)" in output
    code, output = lint("--fail-on", "info", str(broken))
    assert code == 0, output
    assert code_lines(broken) == code_lines(EXAMPLES / name / "fixed" / "main.bicep")
    symbol, _, _ = BROKEN[name]
    lines = broken.read_text("utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if f" {symbol} " in line and not line.startswith("//"))
    assert lines[at - 1] == "@batchSize(1)"
    assert lines[at - 2].startswith("// ")  # the reason, above the decorator
