"""`armguard lint PATH...`: output formats, exit codes, errors, directory walks, parallel runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from armguard.cli import main
from armguard.lint import lint_paths

MODULES = Path(__file__).resolve().parent / "fixtures" / "modules"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
ENV = {k: v for k, v in os.environ.items() if k != "ARMGUARD_DEBUG"}

# One AG101 (line 4) and, with THREE_SUBNETS, AG102s: a file with warnings.
SUBNET_LOOP = """\
resource vnet 'Microsoft.Network/virtualNetworks@2023-09-01' existing = {
  name: 'vnet1'
}
resource subnets 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = [for i in range(0, 3): {
  parent: vnet
  name: 'snet-${i}'
}]
"""

# Only an info finding (AG202).
INFO_ONLY = """\
resource vnet 'Microsoft.Network/virtualNetworks@2023-09-01' existing = {
  name: 'vnet1'
}
@batchSize(1)
resource subnets 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = [for i in range(0, 3): {
  parent: vnet
  name: 'snet-${i}'
}]
"""

# An error-level finding (AG301).
ERROR_LEVEL = """\
module accounts 'modules/storage.bicep' = [for n in ['a', 'b']: {
  name: 'deploy'
  params: {
    accountName: 'stg${n}'
  }
}]
"""

CLEAN = """\
resource account 'Microsoft.Storage/storageAccounts@2023-01-01' = {
  name: 'stg'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
}
"""


def put(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text), encoding="utf-8")
    return path


def template(resources: str = "[]") -> str:
    return f'{{"$schema": "{SCHEMA}", "contentVersion": "1.0.0.0", "resources": {resources}}}\n'


@pytest.fixture
def armguard(monkeypatch, capsys):
    """Run the real entry point (armguard.cli:main) in-process: returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["armguard", *args])
        code = 0
        try:
            main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


def lint_json(armguard, *args: str) -> tuple[int, dict]:
    code, out, _ = armguard("lint", "--format", "json", *args)
    return code, json.loads(out)


def paths(data: dict, root: Path) -> list[str]:
    return sorted({Path(f["path"]).relative_to(root).as_posix() for f in data["findings"]})


# ----------------------------------------------------------------- text format

def test_text_output_is_compiler_style_with_code_frame_domain_reason_and_summary(tmp_path, armguard):
    path = put(tmp_path, "main.bicep", SUBNET_LOOP)
    code, out, _ = armguard("lint", str(path))
    assert code == 1
    lines = out.splitlines()
    head = f"{path}(4,1) : Warning AG101: loop 'subnets'"
    assert lines[0].startswith(head)
    assert lines[1] == "      4 | resource subnets 'Microsoft.Network/virtualNetworks/subnets@2023-09-01' = [for i in range(0, 3): {"
    assert lines[2] == "        | ^"
    assert any(line.startswith("        = shared lock domain: Microsoft.Network/virtualNetworks 'vnet1' (snet-0, snet-1, snet-2)")
               for line in lines)
    assert any(line.startswith("        = why: ") for line in lines)
    assert any(line.startswith("        = fix (--fix): ") for line in lines)
    assert lines[-1] == "1 file(s) checked, 1 finding(s), 0 error(s)"


def test_text_output_levels_are_capitalized(tmp_path, armguard):
    shutil.copytree(MODULES, tmp_path / "modules")
    path = put(tmp_path, "main.bicep", ERROR_LEVEL)
    _, out, _ = armguard("lint", str(path))
    assert re.search(r"\(1,1\) : Error AG301: ", out)


# ----------------------------------------------------------------- JSON format

def test_json_output_shape(tmp_path, armguard):
    path = put(tmp_path, "main.bicep", SUBNET_LOOP)
    code, data = lint_json(armguard, str(path))
    assert code == 1
    assert set(data) == {"findings", "files", "errors"}
    assert data["files"] == 1 and data["errors"] == []
    (f,) = data["findings"]
    assert {"rule", "level", "path", "line", "column", "message", "domain", "fix"} <= set(f)
    assert (f["rule"], f["level"], f["path"], f["line"], f["column"]) == ("AG101", "warning", str(path), 4, 1)
    assert f["domain"] == "Microsoft.Network/virtualNetworks 'vnet1'"
    assert f["fix"]["edits"] and "@batchSize(1)" in f["fix"]["edits"][0]["text"]


def test_json_errors_list_files_that_did_not_parse(tmp_path, armguard):
    bad = put(tmp_path, "bad.bicep", "resource x = {\n")
    code, data = lint_json(armguard, str(bad))
    assert code == 2
    (e,) = data["errors"]
    assert e["path"] == str(bad) and e["line"] >= 1 and e["message"]


def test_output_file_gets_the_report_and_stdout_stays_empty(tmp_path, armguard):
    path = put(tmp_path, "main.bicep", SUBNET_LOOP)
    report = tmp_path / "report.json"
    code, out, _ = armguard("lint", "--format", "json", "-o", str(report), str(path))
    assert code == 1
    assert out == ""
    assert json.loads(report.read_text("utf-8"))["findings"][0]["rule"] == "AG101"


def test_fix_with_json_format_keeps_stdout_valid_json(tmp_path, armguard):
    # BUG: "fixed N finding(s) in ..." is printed to stdout before the JSON report.
    path = put(tmp_path, "main.bicep", SUBNET_LOOP)
    code, out, _ = armguard("lint", "--fix", "--format", "json", str(path))
    assert json.loads(out)["findings"] == []
    assert code == 0


# ------------------------------------------------------------------ exit codes

@pytest.mark.parametrize(("text", "fail_on", "expected"), [
    (CLEAN, None, 0),
    (SUBNET_LOOP, None, 1),
    (INFO_ONLY, None, 0),
    (INFO_ONLY, "info", 1),
    (SUBNET_LOOP, "error", 0),
    (ERROR_LEVEL, "error", 1),
])
def test_exit_code_follows_fail_on(tmp_path, armguard, text, fail_on, expected):
    shutil.copytree(MODULES, tmp_path / "modules")
    path = put(tmp_path, "main.bicep", text)
    args = ["lint", str(path)] + (["--fail-on", fail_on] if fail_on else [])
    code, out, err = armguard(*args)
    assert code == expected, out + err


@pytest.mark.parametrize("args", [
    ["lint"],
    ["lint", "--format", "xml", "x.bicep"],
    ["lint", "--fail-on", "never", "x.bicep"],
    ["lint", "-j", "0", "x.bicep"],
    ["lint", "--bogus", "x.bicep"],
])
def test_usage_errors_exit_2(armguard, args):
    code, _, err = armguard(*args)
    assert code == 2
    assert "Error" in err


def test_unparsable_files_are_one_line_each_and_the_others_are_still_linted(tmp_path, armguard):
    put(tmp_path, "bad.bicep", "resource x 'Microsoft.Network/virtualNetworks@2023-09-01' = {\n  name:\n")
    (tmp_path / "binary.bicep").write_bytes(b"\xff\xfe\x00\x01")
    (tmp_path / "latin1.bicep").write_bytes("param caf\xe9 string\n".encode("latin-1"))
    put(tmp_path, "good.bicep", SUBNET_LOOP)
    code, out, err = armguard("lint", str(tmp_path))
    assert code == 2
    assert "Traceback" not in out + err
    for name in ("bad.bicep", "binary.bicep", "latin1.bicep"):
        (line,) = [x for x in out.splitlines() if x.startswith(str(tmp_path / name))]
        assert ": error: " in line
    assert f"{tmp_path / 'good.bicep'}(4,1) : Warning AG101" in out
    assert out.splitlines()[-1] == "4 file(s) checked, 1 finding(s), 3 error(s)"


def test_missing_path_is_reported_and_the_other_paths_are_still_linted(tmp_path, armguard):
    # BUG: a path that does not exist aborts the whole run (ArmguardError from discover()), so the
    # existing file is never linted.
    good = put(tmp_path, "good.bicep", SUBNET_LOOP)
    code, out, err = armguard("lint", str(good), str(tmp_path / "missing.bicep"))
    assert code == 2
    assert "missing.bicep" in out + err
    assert "AG101" in out


def test_real_entry_point_prints_one_line_per_bad_file_and_no_traceback(tmp_path):
    put(tmp_path, "bad.bicep", "resource x = {\n")
    put(tmp_path, "good.bicep", CLEAN)
    proc = subprocess.run([sys.executable, "-c", "from armguard.cli import main; main()", "lint", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, env=ENV)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert next(x for x in proc.stdout.splitlines() if "error" in x).startswith(f"{tmp_path / 'bad.bicep'}:1:")


# ------------------------------------------------------------- directory walk

def test_walk_honours_root_and_nested_gitignore_files(tmp_path, armguard):
    put(tmp_path, ".gitignore", "*.generated.bicep\nbuild/\n")
    put(tmp_path, "infra/main.bicep", SUBNET_LOOP)
    put(tmp_path, "infra/main.generated.bicep", SUBNET_LOOP)
    put(tmp_path, "build/out.bicep", SUBNET_LOOP)
    put(tmp_path, "infra/sub/.gitignore", "scratch.bicep\n")
    put(tmp_path, "infra/sub/scratch.bicep", SUBNET_LOOP)
    put(tmp_path, "infra/sub/kept.bicep", SUBNET_LOOP)
    put(tmp_path, "other/scratch.bicep", SUBNET_LOOP)  # the nested ignore file does not reach here
    put(tmp_path, "node_modules/pkg/x.bicep", SUBNET_LOOP)
    _, data = lint_json(armguard, str(tmp_path))
    assert paths(data, tmp_path) == ["infra/main.bicep", "infra/sub/kept.bicep", "other/scratch.bicep"]
    assert data["files"] == 3


def test_gitignore_of_a_directory_above_the_walked_one_applies(tmp_path, armguard):
    put(tmp_path, ".gitignore", "*.generated.bicep\n")
    put(tmp_path, "infra/main.bicep", SUBNET_LOOP)
    put(tmp_path, "infra/main.generated.bicep", SUBNET_LOOP)
    _, data = lint_json(armguard, str(tmp_path / "infra"))
    assert data["files"] == 1


def test_nested_gitignore_negation_re_includes_a_file(tmp_path, armguard):
    # BUG: a file ignored by an outer .gitignore is ignored even when a deeper .gitignore re-includes it
    # with `!`, as git does (check: `git status --ignored`).
    put(tmp_path, ".gitignore", "gen-*.bicep\n")
    put(tmp_path, "sub/.gitignore", "!gen-keep.bicep\n")
    put(tmp_path, "sub/gen-keep.bicep", SUBNET_LOOP)
    put(tmp_path, "sub/gen-drop.bicep", SUBNET_LOOP)
    _, data = lint_json(armguard, str(tmp_path))
    assert paths(data, tmp_path) == ["sub/gen-keep.bicep"]


def test_walk_skips_compiled_main_json_and_json_that_is_not_a_template(tmp_path, armguard):
    put(tmp_path, "main.bicep", CLEAN)
    put(tmp_path, "main.json", template())
    put(tmp_path, "settings.json", '{"name": "x"}\n')
    put(tmp_path, "main.parameters.json", '{"$schema": "https://schema.management.azure.com/schemas/'
                                          '2019-04-01/deploymentParameters.json#", "parameters": {}}\n')
    put(tmp_path, "standalone.json", template())
    put(tmp_path, "sub.json", template().replace("2019-04-01/deploymentTemplate",
                                                 "2018-05-01/subscriptionDeploymentTemplate"))
    put(tmp_path, "other/main.json", template())  # no main.bicep next to this one
    results, files = lint_paths([str(tmp_path)], jobs=1)
    linted = sorted(Path(r.path).relative_to(tmp_path).as_posix() for r in results)
    assert linted == ["main.bicep", "other/main.json", "standalone.json", "sub.json"]
    assert files == 4


def test_an_explicit_json_file_is_linted_even_next_to_its_bicep(tmp_path):
    put(tmp_path, "main.bicep", CLEAN)
    main_json = put(tmp_path, "main.json", template())
    results, files = lint_paths([str(main_json)], jobs=1)
    assert files == 1 and results[0].errors == []


def test_walk_finds_a_template_whose_schema_comes_after_4_kib(tmp_path):
    # BUG: _is_template only looks for "$schema" in the first 4096 bytes; key order in JSON is free.
    data = {"metadata": {"description": "x" * 5000}, "$schema": SCHEMA, "contentVersion": "1.0.0.0",
            "resources": []}
    put(tmp_path, "late-schema.json", json.dumps(data))
    _, files = lint_paths([str(tmp_path)], jobs=1)
    assert files == 1


def test_walk_reports_a_truncated_template_instead_of_skipping_it(tmp_path, armguard):
    # BUG: a file that announces the deployment template schema but is not valid JSON is silently
    # skipped in a walk (exit 0, 0 files); it should be one error line and exit 2.
    put(tmp_path, "azuredeploy.json", template()[:-10])
    code, out, _ = armguard("lint", str(tmp_path))
    assert "azuredeploy.json" in out
    assert code == 2


# -------------------------------------------------------------------- parallel

def test_parallel_run_gives_the_same_findings_as_a_serial_one(tmp_path):
    shutil.copytree(MODULES, tmp_path / "modules")
    for i in range(6):
        put(tmp_path, f"f{i}.bicep", SUBNET_LOOP if i % 2 else INFO_ONLY)
    put(tmp_path, "err.bicep", ERROR_LEVEL)
    put(tmp_path, "bad.bicep", "resource x = {\n")
    put(tmp_path, "t.json", template())

    def key(results):
        return [(r.path, [(f.rule, f.level, f.line, f.column, f.message, f.domain) for f in r.findings],
                 [str(e) for e in r.errors]) for r in results]

    serial, n1 = lint_paths([str(tmp_path)], jobs=1)
    parallel, n2 = lint_paths([str(tmp_path)], jobs=2)
    assert n1 == n2 >= 8
    assert key(serial) == key(parallel)
    assert sum(len(r.findings) for r in serial) == 7
    assert sum(len(r.errors) for r in serial) == 1


def test_parallel_cli_run_prints_the_same_report(tmp_path, armguard):
    for i in range(8):
        put(tmp_path, f"f{i}.bicep", SUBNET_LOOP)
    one = armguard("lint", "-j", "1", "--format", "json", str(tmp_path))
    two = armguard("lint", "-j", "2", "--format", "json", str(tmp_path))
    assert one == two
    assert one[0] == 1
