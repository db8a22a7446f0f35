"""`armguard inspect`: the JSON shape, the text format, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from armguard.cli import cli

FIXTURES = Path(__file__).resolve().parent / "bicep" / "fixtures" / "snippets" / "inspect"
MAIN = FIXTURES / "main.bicep"
BROKEN = FIXTURES / "broken.bicep"
RESOURCE_KEYS = {"symbol", "kind", "type", "deploys", "line", "loop", "existing", "conditional", "parent", "dependsOn"}


ENV = {k: v for k, v in os.environ.items() if k != "ARMGUARD_DEBUG"}


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real entry point (armguard.cli:main) in a subprocess."""
    return subprocess.run([sys.executable, "-c", "from armguard.cli import main; main()", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=120, env=ENV)


def inspect_json(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["inspect", *args, "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.output)


@pytest.fixture(scope="module")
def main_json() -> dict:
    code, data = inspect_json(str(MAIN))
    assert code == 0
    return data


def resource(data: dict, symbol: str) -> dict:
    (found,) = [r for r in data["resources"] if r["symbol"] == symbol]
    return found


# -------------------------------------------------------------------- JSON

def test_json_top_level_shape(main_json):
    assert {"file", "resources", "errors"} <= set(main_json)
    assert main_json["file"] == str(MAIN)
    assert main_json["errors"] == []
    assert isinstance(main_json["resources"], list)


def test_json_every_resource_has_the_documented_keys(main_json):
    for r in main_json["resources"]:
        assert set(r) >= RESOURCE_KEYS, r
        assert r["loop"] is None or {"batchSize", "count"} <= set(r["loop"])
        assert isinstance(r["dependsOn"], list) and isinstance(r["deploys"], list)


def test_json_resources_in_declaration_order(main_json):
    assert [r["symbol"] for r in main_json["resources"]] == [
        "hub", "hub::bgp", "kv", "peers", "logs", "net", "avm", "remote"]


def test_json_plain_resource(main_json):
    r = resource(main_json, "hub")
    assert {k: r[k] for k in RESOURCE_KEYS} == {
        "symbol": "hub", "kind": "resource", "type": "Microsoft.Network/virtualHubs", "deploys": [], "line": 3,
        "loop": None, "existing": False, "conditional": False, "parent": None, "dependsOn": [],
    }


def test_json_nested_child(main_json):
    r = resource(main_json, "hub::bgp")
    assert (r["type"], r["line"], r["parent"], r["dependsOn"]) == (
        "Microsoft.Network/virtualHubs/bgpConnections", 5, "hub", ["hub"])


def test_json_existing(main_json):
    r = resource(main_json, "kv")
    assert r["existing"] is True and r["dependsOn"] == []


def test_json_loop_with_batch_size(main_json):
    r = resource(main_json, "peers")
    assert r["loop"]["batchSize"] == 1 and r["loop"]["count"] == 3
    assert r["parent"] == "hub" and r["dependsOn"] == ["hub", "kv"]
    assert r["line"] == 15


def test_json_conditional_with_explicit_depends_on(main_json):
    r = resource(main_json, "logs")
    assert r["conditional"] is True and r["dependsOn"] == ["peers"] and r["loop"] is None


def test_json_local_module(main_json):
    r = resource(main_json, "net")
    assert r["kind"] == "module" and r["type"] == "Microsoft.Resources/deployments"
    assert r["deploys"] == ["Microsoft.Network/virtualNetworks"]


def test_json_avm_module(main_json):
    r = resource(main_json, "avm")
    assert "Microsoft.Network/virtualNetworks" in r["deploys"]
    assert "Microsoft.Network/virtualNetworks/subnets" in r["deploys"]


def test_json_unresolved_registry_module(main_json):
    r = resource(main_json, "remote")
    assert r["deploys"] == []
    assert r.get("unresolved")


def test_json_is_plain_json_serialisable(main_json):
    assert json.loads(json.dumps(main_json)) == main_json


def test_json_with_bicepparam_file():
    code, data = inspect_json(str(FIXTURES / "main.bicepparam"))
    assert code == 0
    assert data["file"] == str(MAIN)
    assert resource(data, "logs")["conditional"] is True


def test_json_errors_and_exit_code_for_syntax_errors():
    code, data = inspect_json(str(BROKEN))
    assert code == 1
    assert [(e["line"], e["column"], e["message"]) for e in data["errors"]] == [
        (5, 14, "expected an expression, found '='")]
    assert [r["symbol"] for r in data["resources"]] == ["ok", "after"]


# -------------------------------------------------------------------- text

def test_text_format_smoke():
    result = CliRunner().invoke(cli, ["inspect", str(MAIN)])
    assert result.exit_code == 0
    out = result.output
    assert out.splitlines()[0].startswith(str(MAIN))
    for expected in ("hub::bgp", "Microsoft.Network/virtualHubs/bgpConnections", "existing", "conditional",
                     "loop x3", "batchSize 1", "dependsOn: hub, kv", "deploys: Microsoft.Network/virtualNetworks",
                     "unresolved:"):
        assert expected in out, expected


def test_text_is_the_default_format():
    a = CliRunner().invoke(cli, ["inspect", str(MAIN)])
    b = CliRunner().invoke(cli, ["inspect", str(MAIN), "--format", "text"])
    assert a.output == b.output


def test_text_format_lists_syntax_errors_with_positions():
    result = CliRunner().invoke(cli, ["inspect", str(BROKEN)])
    assert result.exit_code == 1
    assert f"{BROKEN}:5:14: error: expected an expression, found '='" in result.output


# ----------------------------------------------------- unreadable input

def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "internal error" not in proc.stderr, "bad input must be reported as such, not as an armguard bug"
    for f in fragments:
        assert f in lines[0]


def test_binary_file(tmp_path):
    f = tmp_path / "bin.bicep"
    f.write_bytes(b"var x = 1\x00\x00")
    assert_one_line_error(run_cli("inspect", str(f)), str(f), "binary")


def test_non_utf8_file(tmp_path):
    f = tmp_path / "latin1.bicep"
    f.write_bytes("var x = 'café'\n".encode("latin-1"))
    assert_one_line_error(run_cli("inspect", str(f)), str(f), "UTF-8")


def test_non_utf8_file_json_format(tmp_path):
    f = tmp_path / "latin1.bicep"
    f.write_bytes(b"\xff\xfe")
    assert_one_line_error(run_cli("inspect", str(f), "--format", "json"), "UTF-8")


def test_missing_file(tmp_path):
    assert_one_line_error(run_cli("inspect", str(tmp_path / "nope.bicep")), "file not found")


def test_unsupported_extension(tmp_path):
    f = tmp_path / "main.txt"
    f.write_text("var x = 1\n", encoding="utf-8")
    assert_one_line_error(run_cli("inspect", str(f)), "unsupported file type")


def test_binary_params_file(tmp_path):
    p = tmp_path / "main.bicepparam"
    p.write_bytes(b"\x00using")
    assert_one_line_error(run_cli("inspect", str(MAIN), "--params", str(p)), "binary")


def test_bicepparam_extends_cycle_is_one_line(tmp_path):
    (tmp_path / "main.bicep").write_text("param n int\n", encoding="utf-8")
    (tmp_path / "a.bicepparam").write_text("using none\nextends 'a.bicepparam'\n", encoding="utf-8")
    assert_one_line_error(run_cli("inspect", str(tmp_path / "main.bicep"), "-p", str(tmp_path / "a.bicepparam")))


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_load_function_of_a_device_file_is_not_read(tmp_path, relative):
    """`loadTextContent('/dev/zero')` (or a relative path that climbs to it) must not make inspect
    read forever or run out of memory: only regular files should be read."""
    target = os.path.relpath("/dev/zero", tmp_path) if relative else "/dev/zero"
    f = tmp_path / "main.bicep"
    f.write_text(f"resource r 'A.B/c@1' = {{\n  name: loadTextContent('{target}')\n}}\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c",
         "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
         "from armguard.cli import main; main()", "inspect", str(f)],
        capture_output=True, text=True, timeout=60, env=ENV)
    assert "Traceback" not in proc.stderr, proc.stderr[-500:]
    assert "internal error" not in proc.stderr, proc.stderr


def test_syntax_error_exit_code_via_entry_point():
    proc = run_cli("inspect", str(BROKEN))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr


def test_text_format_does_not_call_a_serial_loop_parallel(tmp_path):
    """`@batchSize(b)` with an unknown `b` is still a serial loop (JSON says mode "serial")."""
    f = tmp_path / "main.bicep"
    f.write_text("param b int\n@batchSize(b)\nresource r 'A.B/c@1' = [for i in range(0, 3): {\n  name: 'r${i}'\n}]\n",
                 encoding="utf-8")
    _code, data = inspect_json(str(f))
    assert data["resources"][0]["loop"]["mode"] == "serial"
    text = CliRunner().invoke(cli, ["inspect", str(f)]).output
    assert "loop x3" in text and "parallel" not in text
