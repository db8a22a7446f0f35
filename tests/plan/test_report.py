"""JSON shape, text output and the `plan` command."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from armguard.plan import plan_file
from armguard.plan.cli import plan as plan_command
from armguard.plan.report import to_json, to_text

ROOT = Path(__file__).resolve().parents[2]
VWAN = str(ROOT / "examples" / "vwan-bgp-peers" / "broken" / "main.bicep")
DNS = str(ROOT / "examples" / "private-dns" / "broken" / "main.bicep")


def test_json_shape():
    data = to_json(plan_file(VWAN))
    assert set(data) >= {"makespan", "failure_chance", "collisions", "schedule", "waves", "changes", "assumptions"}
    assert set(data["makespan"]) >= {"as_written", "all_serial", "optimal", "lower_bound"}
    assert data["makespan"] == {"as_written": 510, "all_serial": 870, "optimal": 870, "lower_bound": 870,
                                "with_changes": 870}
    assert isinstance(data["failure_chance"], float) and data["failure_chance"] == 1.0
    (c,) = data["collisions"]
    assert c["domain"] == "Microsoft.Network/virtualHubs 'hub-weu'"
    assert c["members"] == [f"bgpPeers[{i}]/bgp" for i in range(5)]
    assert set(data["schedule"]) >= {"as_written", "all_serial", "optimal"}
    for rows in data["schedule"].values():
        assert len(rows) == 7
        for r in rows:
            assert set(r) >= {"id", "symbol", "type", "start", "end", "domain"}
            assert r["end"] >= r["start"]
    bgp = next(r for r in data["schedule"]["optimal"] if r["id"] == "bgpPeers[4]/bgp")
    assert bgp["symbol"] == "bgp" and bgp["type"] == "Microsoft.Network/virtualHubs/bgpConnections"
    assert bgp["domain"] == "Microsoft.Network/virtualHubs 'hub-weu'"
    assert data["waves"][0] == {"wave": 1, "start": 0, "end": 60, "ops": ["wan"]}
    assert data["waves"][-1]["ops"] == [f"bgpPeers[{i}]/bgp" for i in range(5)]
    (ch,) = data["changes"]
    assert ch["kind"] == "batch_size" and ch["batch_size"] == 1 and "@batchSize(1)" in ch["diff"]
    assert "description" in ch
    assert data["patch"] == ch["diff"]
    assert any("assumed 60 s" in a for a in data["assumptions"])
    json.dumps(data)  # serializable


def test_text_output():
    text = to_text(plan_file(DNS))
    assert "as written" in text and "all serial" in text and "optimal" in text and "lower bound" in text
    assert "3m00s" in text and "5m00s" in text
    assert "Collisions as written (1):" in text
    assert "spokeLinks[0], spokeLinks[1], spokeLinks[2] in flight together" in text
    assert "All serial still collides" not in text
    assert "Changes for a conflict-free deployment (1):" in text
    assert "+@batchSize(1)" in text
    assert "Assumptions:" in text


def test_plan_command_formats(tmp_path):
    runner = CliRunner()
    r = runner.invoke(plan_command, [VWAN])
    assert r.exit_code == 0, r.output
    assert "Collisions as written (1)" in r.output
    r = runner.invoke(plan_command, [VWAN, "--format", "json"])
    assert r.exit_code == 0
    assert json.loads(r.output)["makespan"]["optimal"] == 870
    out = tmp_path / "plan.html"
    r = runner.invoke(plan_command, [VWAN, "--format", "html", "-o", str(out)])
    assert r.exit_code == 0 and r.output == ""
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count('class="op') == 4 * 7
    r = runner.invoke(plan_command, [VWAN, "--fail-on-collision"])
    assert r.exit_code == 1
    fixed = str(ROOT / "examples" / "vwan-bgp-peers" / "fixed" / "main.bicep")
    r = runner.invoke(plan_command, [fixed, "--fail-on-collision", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output)["collisions"] == []


def test_plan_command_options(tmp_path):
    runner = CliRunner()
    r = runner.invoke(plan_command, [DNS, "--format", "json", "--default-seconds", "10", "--seed", "3",
                                     "--samples", "20", "--jitter", "0.1"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["makespan"]["as_written"] == 30  # zones, then hub links, then spoke links
    assert data["monte_carlo"]["seed"] == 3 and data["monte_carlo"]["jitter"] == 0.1
    assert data["monte_carlo"]["samples"] <= 20


def test_plan_command_errors(tmp_path):
    from armguard.errors import ArmguardError

    bad = tmp_path / "bad.bicep"
    bad.write_text("resource x 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n")
    r = CliRunner().invoke(plan_command, [str(bad)])
    assert r.exit_code != 0 and isinstance(r.exception, ArmguardError)
    r = CliRunner().invoke(plan_command, [str(tmp_path / "missing.bicep")])
    assert r.exit_code != 0


def test_arm_json_template():
    data = to_json(plan_file(str(ROOT / "tests" / "arm" / "fixtures" / "nested.json")))
    ids = [r["id"] for r in data["schedule"]["as_written"]]
    assert "innerScoped/name_suffix" in ids and "outerScoped/name_suffix" in ids
    start = {r["id"]: r for r in data["schedule"]["as_written"]}
    # outerScoped depends on innerScoped: its contents start when innerScoped's have ended
    assert start["outerScoped/name_suffix"]["start"] == start["innerScoped/name_suffix"]["end"]


def test_parameters_file_changes_the_plan():
    template = str(ROOT / "tests" / "arm" / "fixtures" / "classic.json")
    params = str(ROOT / "tests" / "arm" / "fixtures" / "classic.parameters.json")
    runner = CliRunner()
    without = json.loads(runner.invoke(plan_command, [template, "--format", "json"]).output)
    with_params = json.loads(runner.invoke(plan_command, [template, "-p", params, "--format", "json"]).output)
    ids = {r["id"] for r in without["schedule"]["as_written"]}
    ids_p = {r["id"] for r in with_params["schedule"]["as_written"]}
    assert "storageLoop[2]" in ids and "storageLoop[2]" not in ids_p  # storageCount: 2
    assert "diag" not in ids and "diag" in ids_p  # deployDiagnostics: true
