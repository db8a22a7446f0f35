"""AG301: module loops whose deployment names are not unique per iteration or per parent deployment."""

from __future__ import annotations

import shutil
from pathlib import Path
from textwrap import dedent

from armguard.bicep import parse_text
from armguard.lint import lint_file
from armguard.lint.fixes import fix_text
from armguard.lint.runner import FileResult

MODULES = Path(__file__).resolve().parent / "fixtures" / "modules"


def module_loop(header: str, name_line: str | None, symbol: str = "accounts") -> str:
    name = f"  {name_line}\n" if name_line is not None else ""
    return (f"module {symbol} 'modules/storage.bicep' = [{header}: {{\n{name}"
            f"  params: {{\n    accountName: 'stg'\n  }}\n}}]\n")


def lint(tmp_path: Path, text: str) -> FileResult:
    if not (tmp_path / "modules").exists():
        shutil.copytree(MODULES, tmp_path / "modules")
    path = tmp_path / "main.bicep"
    path.write_text(dedent(text), encoding="utf-8")
    result = lint_file(str(path))
    assert result.errors == [], result.errors
    return result


def ag301(result: FileResult) -> dict[str, object]:
    return {f.symbol: f for f in result.findings if f.rule == "AG301"}


def fixed_text(result: FileResult) -> str:
    fixable = [f for f in result.findings if f.rule == "AG301" and f.fix is not None]
    assert fixable, "no AG301 fix offered"
    out = fix_text(result.path, result.text or "", fixable, "bicep")
    assert out.skipped == [], out.skipped
    return out.fixed


# ------------------------------------------------------------------- findings

def test_constant_name_in_a_module_loop_is_an_error(tmp_path):
    result = lint(tmp_path, module_loop("for n in ['a', 'b']", "name: 'deploy-accounts'"))
    f = ag301(result)["accounts"]
    assert (f.level, f.line, f.column) == ("error", 1, 1)
    assert "unique per iteration" in f.message and "unique per parent deployment" in f.message
    assert f.fix is not None


def test_name_without_deployment_name_is_info(tmp_path):
    result = lint(tmp_path, module_loop("for n in ['a', 'b']", "name: 'deploy-${n}'"))
    f = ag301(result)["accounts"]
    assert f.level == "info"
    assert "deployment().name" in f.message and "per iteration" not in f.message


def test_name_with_deployment_name_but_not_the_loop_variable_is_an_error(tmp_path):
    result = lint(tmp_path, module_loop("for n in ['a', 'b']", "name: 'deploy-${deployment().name}'"))
    f = ag301(result)["accounts"]
    assert f.level == "error"
    assert "per parent deployment" not in f.message


def test_name_unique_per_iteration_and_per_parent_is_fine(tmp_path):
    result = lint(tmp_path, module_loop("for (n, i) in ['a', 'b']", "name: '${uniqueString(deployment().name)}-${i}'")
                  + module_loop("for n in ['a', 'b']", "name: '${deployment().name}-${n}'", "byItem"))
    assert ag301(result) == {}


def test_omitted_name_is_fine(tmp_path):
    result = lint(tmp_path, module_loop("for n in ['a', 'b']", None))
    assert ag301(result) == {}


def test_single_module_with_a_constant_name_is_not_ag301(tmp_path):
    result = lint(tmp_path, """\
module account 'modules/storage.bicep' = {
  name: 'deploy-account'
  params: {
    accountName: 'stg'
  }
}
""")
    assert ag301(result) == {}


def test_literal_items_that_repeat_give_names_not_unique_per_iteration(tmp_path):
    # BUG: a name built from the loop item counts as unique per iteration even when the known items
    # repeat, so two iterations deploy under one name ('deploy-a').
    result = lint(tmp_path, module_loop("for n in ['a', 'b', 'a']", "name: '${uniqueString(deployment().name)}-deploy-${n}'"))
    f = ag301(result).get("accounts")
    assert f is not None and f.level == "error"


# ------------------------------------------------------------------------ fix

def test_fix_adds_an_index_variable_and_rewrites_the_name(tmp_path):
    result = lint(tmp_path, module_loop("for n in ['a', 'b']", "name: 'deploy-accounts'"))
    text = fixed_text(result)
    assert "[for (n, i) in ['a', 'b']: {" in text
    assert "  name: '${uniqueString(deployment().name)}-deploy-accounts-${i}'\n" in text


def test_fix_reuses_an_existing_index_variable(tmp_path):
    result = lint(tmp_path, module_loop("for (n, idx) in ['a', 'b']", "name: 'deploy-accounts'"))
    text = fixed_text(result)
    assert "[for (n, idx) in ['a', 'b']: {" in text
    assert "name: '${uniqueString(deployment().name)}-deploy-accounts-${idx}'" in text


def test_fix_for_an_info_finding_only_adds_the_parent_deployment(tmp_path):
    result = lint(tmp_path, module_loop("for n in ['a', 'b']", "name: 'deploy-${n}'"))
    text = fixed_text(result)
    assert "[for n in ['a', 'b']: {" in text
    assert "name: '${uniqueString(deployment().name)}-deploy-${n}'" in text


def test_fix_wraps_a_non_string_name_expression_in_an_interpolation(tmp_path):
    result = lint(tmp_path, module_loop("for n in ['a', 'b']", "name: toLower('DEPLOY')"))
    text = fixed_text(result)
    assert "name: '${uniqueString(deployment().name)}-${toLower('DEPLOY')}-${i}'" in text


def test_fixed_file_lints_clean(tmp_path):
    result = lint(tmp_path, module_loop("for n in ['a', 'b']", "name: 'deploy-accounts'"))
    Path(result.path).write_text(fixed_text(result), encoding="utf-8")
    assert ag301(lint_file(result.path)) == {}


def test_fix_works_when_the_loop_item_is_named_r(tmp_path):
    # BUG: the item is located with text.find(item) from the start of the loop, which finds the 'r' of
    # `for`; the edit gives `[(r, i)for r in ...`, which does not parse, so the fix is dropped.
    result = lint(tmp_path, module_loop("for r in ['weu', 'neu']", "name: 'deploy-accounts'"))
    text = fixed_text(result)
    assert "[for (r, i) in ['weu', 'neu']: {" in text


def test_fix_does_not_declare_the_loop_variable_twice(tmp_path):
    # BUG: with a loop item named `i` the fix writes `for (i, i) in range(0, 3)`; the Bicep compiler
    # rejects the duplicate identifier (BCP028).
    result = lint(tmp_path, module_loop("for i in range(0, 3)", "name: 'deploy-accounts'"))
    text = fixed_text(result)
    assert parse_text(text, "main.bicep").diagnostics == []
    assert "for (i, i)" not in text
