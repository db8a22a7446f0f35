"""`armguard simulate`: repeated deployments on the emulator in virtual time (issue #8)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from armguard.cli import cli
from armguard.errors import ArmguardError
from armguard.plan.simulate import (
    RunResult,
    innermost_code,
    median,
    parse_duration,
    run_once,
    run_seed,
    simulate,
    summarize,
    to_json,
)
from armguard.plan.simulate_load import deployment_name, load_target
from armguard.plan.simulate_report import fmt_seconds, short_resource

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BGP_BROKEN = str(EXAMPLES / "vwan-bgp-peers" / "broken" / "main.bicep")
BGP_FIXED = str(EXAMPLES / "vwan-bgp-peers" / "fixed" / "main.bicep")
DNS_BROKEN = str(EXAMPLES / "private-dns" / "broken" / "main.bicep")
DNS_FIXED = str(EXAMPLES / "private-dns" / "fixed" / "main.bicep")
ARM_PARALLEL = str(ROOT / "tests" / "emulator" / "fixtures" / "bgp-peers-parallel.json")
ARM_SERIAL = str(ROOT / "tests" / "emulator" / "fixtures" / "bgp-peers-serial.json")
SCOPE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-simulate"
HUB = f"{SCOPE}/providers/Microsoft.Network/virtualHubs/hub-weu"
PEERS = [f"{HUB}/bgpConnections/nva-{i}" for i in range(1, 6)]
BLOB_LINKS = f"{SCOPE}/providers/Microsoft.Network/privateDnsZones/privatelink.blob.core.windows.net/virtualNetworkLinks"
KEYS = {"runs", "failed_runs", "failures", "makespan"}


def invoke(*args: str):
    return CliRunner().invoke(cli, ["simulate", *args])


# ---------------------------------------------------------------------------------------------
# The examples, 100 runs each


@pytest.fixture(scope="module")
def bgp_broken():
    return simulate(load_target(BGP_BROKEN), runs=100, seed=0)


def test_five_peers_in_parallel_fail_on_the_later_peers(bgp_broken):
    s = bgp_broken
    assert s.runs == 100 and s.failed_runs == 100
    assert {f.code for f in s.failures} == {"AnotherOperationInProgress"}
    assert [f.resource for f in s.failures] == PEERS  # every peer loses the race in some runs
    # In each run the first PUT to reach the hub holds it and the four later ones are rejected.
    assert sum(f.count for f in s.failures) == 4 * 100
    for r in s.results:
        assert len(r.failures) == 4 and {res for res, _ in r.failures} < set(PEERS)
        assert r.state == "Failed" and r.operations == 12  # wan, hub, 5 modules, 5 peerings
    m = s.makespan
    assert 0 < m["min"] < m["median"] < m["max"]


def test_five_peers_with_batch_size_one_never_fail(bgp_broken):
    s = simulate(load_target(BGP_FIXED), runs=100, seed=0)
    assert s.runs == 100 and s.failed_runs == 0 and s.failures == []
    assert all(r.state == "Succeeded" and r.failures == () for r in s.results)
    # One peering at a time: every run takes longer than the parallel one did with the same seed.
    for fixed, broken in zip(s.results, bgp_broken.results, strict=True):
        assert fixed.seed == broken.seed and fixed.makespan > broken.makespan
    # The emulator's jitter (x0.75..x1.5) spreads the makespan of the serial chain.
    assert s.makespan["min"] < s.makespan["median"] < s.makespan["max"] < 2 * s.makespan["min"]


def test_private_dns_spoke_links_fail_in_parallel_and_not_in_series():
    broken = simulate(load_target(DNS_BROKEN), runs=100, seed=1)
    assert broken.failed_runs == 100
    assert {f.code for f in broken.failures} == {"AnotherOperationInProgress"}
    assert {f.resource for f in broken.failures} <= {f"{BLOB_LINKS}/link-{x}" for x in ("hub", "spoke-0", "spoke-1",
                                                                                       "spoke-2")}
    assert all(len([1 for res, _ in r.failures if "link-spoke" in res]) >= 2 for r in broken.results)
    fixed = simulate(load_target(DNS_FIXED), runs=100, seed=1)
    assert fixed.failed_runs == 0 and fixed.failures == []


def test_arm_json_copy_loop_parallel_and_serial():
    parallel = simulate(load_target(ARM_PARALLEL), runs=30, seed=2)
    assert parallel.failed_runs == 30
    assert [f.resource for f in parallel.failures] == PEERS
    assert {f.code for f in parallel.failures} == {"AnotherOperationInProgress"}
    serial = simulate(load_target(ARM_SERIAL), runs=30, seed=2)
    assert serial.failed_runs == 0 and serial.makespan["min"] > parallel.makespan["max"] / 2


def test_arm_json_with_parameters_file_and_resource_group(tmp_path):
    template = json.loads(Path(ARM_PARALLEL).read_text())
    del template["parameters"]["hubName"]["defaultValue"]  # now required
    (tmp_path / "t.json").write_text(json.dumps(template))
    (tmp_path / "t.parameters.json").write_text(json.dumps({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0", "parameters": {"hubName": {"value": "hub-neu"}}}))
    r = invoke(str(tmp_path / "t.json"), "-p", str(tmp_path / "t.parameters.json"), "-g", "rg-net", "--runs", "5",
               "--format", "json")
    assert r.exit_code == 1, r.output
    data = json.loads(r.stdout)
    assert data["failed_runs"] == 5
    assert all(f["resource"].startswith("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net/"
                                        "providers/Microsoft.Network/virtualHubs/hub-neu/bgpConnections/nva-")
               for f in data["failures"])
    # Without the parameters file the required parameter is missing: a user error, exit 2.
    r = invoke(str(tmp_path / "t.json"))
    assert r.exit_code == 2 and "missing a value for required parameter 'hubName'" in r.stderr
    assert f"{tmp_path / 't.json'}:" in r.stderr  # the user's file, not the emulator's copy


def test_subscription_scope_template(tmp_path):
    path = tmp_path / "sub.bicep"
    path.write_text("targetScope = 'subscription'\n"
                    "resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = [for i in range(0, 3): {\n"
                    "  name: 'rg-app-${i}'\n  location: deployment().location\n}]\n")
    target = load_target(str(path))
    assert target.scope == "subscription" and target.group is None and target.name == "sub"
    s = simulate(target, runs=3, seed=0)
    assert s.failed_runs == 0 and all(r.operations == 3 for r in s.results)


# ---------------------------------------------------------------------------------------------
# The command


def test_command_text_and_exit_codes():
    r = invoke(BGP_BROKEN, "--runs", "20")
    assert r.exit_code == 1, r.output
    assert "failed runs  20 of 20 (100 %)" in r.stdout
    assert "makespan     min " in r.stdout and " median " in r.stdout
    lines = [ln for ln in r.stdout.splitlines() if "AnotherOperationInProgress" in ln]
    assert [ln.split()[-1] for ln in lines] == [
        f"Microsoft.Network/virtualHubs/hub-weu/bgpConnections/nva-{i}" for i in range(1, 6)]
    r = invoke(BGP_FIXED, "--runs", "20")
    assert r.exit_code == 0 and "failed runs  0 of 20 (0 %)" in r.stdout and "no run failed" in r.stdout


def test_compare_json_shape_and_text():
    r = invoke(BGP_BROKEN, "--compare", BGP_FIXED, "--format", "json")
    assert r.exit_code == 0, r.output  # the fixed template never failed
    data = json.loads(r.stdout)
    assert set(data) == {"before", "after"}
    for side in data.values():
        assert set(side) == KEYS and side["runs"] == 100
        assert set(side["makespan"]) == {"min", "median", "max"}
        assert side["makespan"]["min"] <= side["makespan"]["median"] <= side["makespan"]["max"]
        for f in side["failures"]:
            assert set(f) == {"resource", "code", "count"} and 1 <= f["count"] <= 100
    assert data["before"]["failed_runs"] == 100 and data["after"]["failed_runs"] == 0
    assert data["after"]["failures"] == []
    assert [f["resource"] for f in data["before"]["failures"]] == PEERS
    # The same seeds as simulating each template alone.
    alone = json.loads(invoke(BGP_BROKEN, "--format", "json").stdout)
    assert data["before"] == alone

    r = invoke(BGP_BROKEN, "--compare", BGP_FIXED, "--runs", "10")
    assert r.exit_code == 0
    text = r.stdout
    assert "before" in text and "after" in text and "failed runs      10 of 10 (100 %)  0 of 10 (0 %)" in text
    row = next(ln for ln in text.splitlines() if ln.rstrip().endswith("bgpConnections/nva-1"))
    before, after, code = row.split()[:3]
    assert int(before) > 0 and after == "0" and code == "AnotherOperationInProgress"
    # A fixed template that still fails makes the command fail.
    r = invoke(BGP_FIXED, "--compare", BGP_BROKEN, "--runs", "5", "--format", "json")
    assert r.exit_code == 1 and json.loads(r.stdout)["after"]["failed_runs"] == 5


def test_output_file(tmp_path):
    out = tmp_path / "report.json"
    r = invoke(DNS_BROKEN, "--runs", "7", "--format", "json", "-o", str(out))
    assert r.exit_code == 1 and r.stdout == ""
    data = json.loads(out.read_text())
    assert set(data) == KEYS and data["runs"] == 7 and data["failed_runs"] == 7
    assert not list(tmp_path.glob(".*armguard-tmp"))


def test_same_seed_same_report_other_seed_other_jitter():
    a = invoke(DNS_BROKEN, "--runs", "25", "--seed", "11", "--format", "json")
    b = invoke(DNS_BROKEN, "--runs", "25", "--seed", "11", "--format", "json")
    c = invoke(DNS_BROKEN, "--runs", "25", "--seed", "12", "--format", "json")
    assert a.stdout == b.stdout
    assert json.loads(a.stdout)["makespan"] != json.loads(c.stdout)["makespan"]


def test_reproducible_across_processes():
    code = ("import json; from armguard.plan.simulate import simulate, to_json; "
            "from armguard.plan.simulate_load import load_target; "
            f"print(json.dumps(to_json(simulate(load_target({BGP_BROKEN!r}), 10, 5))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": ""}).stdout
    assert json.loads(out) == to_json(simulate(load_target(BGP_BROKEN), 10, 5))


def test_runs_are_independent_of_each_other():
    """Run i of a simulation equals run i deployed alone from a freshly loaded template: the
    shared graph carries nothing from one run to the next, and runs differ in jitter."""
    target = load_target(BGP_BROKEN)
    s = simulate(target, runs=6, seed=3)
    for i, r in enumerate(s.results):
        assert r == run_once(load_target(BGP_BROKEN), run_seed(3, i), i)
    assert len({r.makespan for r in s.results}) == 6
    assert len({r.seed for r in s.results}) == 6


@pytest.mark.parametrize(("args", "message"), [
    (["missing.bicep"], "missing.bicep: error: no such template"),
    (["."], ".: error: the template is not a file"),
    ([BGP_BROKEN, "-p", "nope.bicepparam"], "nope.bicepparam: error: no such parameters file"),
    ([BGP_BROKEN, "--bogus"], "No such option '--bogus'"),
    ([BGP_BROKEN, "--runs", "0"], "Invalid value for '--runs'"),
    ([BGP_BROKEN, "--runs", "100001"], "Invalid value for '--runs'"),
    ([BGP_BROKEN, "--format", "xml"], "Invalid value for '--format'"),
    ([], "Missing argument 'TEMPLATE'"),
    ([BGP_BROKEN, "--compare-params", "x.json"], "--compare-params needs --compare"),
    ([BGP_BROKEN, "--compare", "missing-fixed.bicep"], "missing-fixed.bicep: error: no such template"),
])
def test_user_errors_are_one_line_and_exit_2(args, message):
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    err = r.stderr.strip()
    assert "\n" not in err and "Traceback" not in err and "Usage:" not in err
    assert message in err


def test_template_errors_are_one_line_and_exit_2(tmp_path):
    cases = {
        "syntax.bicep": ("resource x 'Microsoft.Network/virtualHubs@2024-05-01' = {\n  name: \n", "syntax.bicep:2:"),
        "mg.bicep": ("targetScope = 'managementGroup'\n", "target scope 'managementGroup' cannot be simulated"),
        "notes.txt": ("hello\n", "unsupported file type"),
        "params.json": (json.dumps({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
                                              "deploymentParameters.json#", "parameters": {}}), "not a template"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        r = invoke(str(tmp_path / name))
        assert r.exit_code == 2, (name, r.output)
        err = r.stderr.strip()
        assert "\n" not in err and "Traceback" not in err and message in err, (name, err)


def test_a_deployment_the_emulator_rejects_is_a_user_error(tmp_path):
    path = tmp_path / "zones.bicep"
    path.write_text("param names array\n"
                    "resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [for n in names: {\n"
                    "  name: n\n  location: 'global'\n}]\n")
    target = load_target(str(path))  # the graph is fine; the loop's count is not known to deploy it
    with pytest.raises(ArmguardError, match=r"the emulator rejected the deployment: InvalidTemplate: .* loop 'zones'"):
        run_once(target, 1)
    r = invoke(str(path))
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.count("\n") == 1
    assert r.stderr.startswith(f"{path}: error: the emulator rejected the deployment: InvalidTemplate")
    params = tmp_path / "zones.bicepparam"
    params.write_text("using 'zones.bicep'\nparam names = ['a.example', 'b.example']\n")
    r = invoke(str(params), "--runs", "3", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["failed_runs"] == 0
    with pytest.raises(ArmguardError, match="runs must be between"):
        simulate(target, runs=0)


def test_command_is_registered_and_documents_exit_codes():
    r = CliRunner().invoke(cli, ["--help"])
    assert "simulate" in r.stdout
    r = invoke("--help")
    assert r.exit_code == 0
    assert "0  no run failed" in r.stdout and "1  some run failed" in r.stdout and "2  usage error" in r.stdout


# ---------------------------------------------------------------------------------------------
# Pure parts


def test_innermost_code_walks_wrappers_details_and_json_messages():
    inner = {"error": {"code": "AnotherOperationInProgress", "message": "Another operation ..."}}
    nested = {"status": "Failed", "error": {
        "code": "DeploymentFailed", "message": "At least one resource deployment operation failed.",
        "details": [{"code": "Conflict", "message": json.dumps(inner, indent=2)}]}}
    assert innermost_code(nested) == "AnotherOperationInProgress"
    assert innermost_code({"status": "Failed", "error": {"code": "InvalidTemplate", "message": "bad"}}) == \
        "InvalidTemplate"
    # A conflict code wins over other leaves; wrapper codes lose to a specific one.
    mixed = {"code": "DeploymentFailed", "details": [{"code": "ResourceNotFound"}, {"code": "Conflict", "message":
                                                                                    json.dumps(inner)}]}
    assert innermost_code(mixed) == "AnotherOperationInProgress"
    assert innermost_code({"code": "DeploymentFailed", "details": [{"code": "Conflict", "message": "plain"}]}) == \
        "Conflict"
    assert innermost_code({"code": "Conflict", "message": "{not json"}) == "Conflict"
    assert innermost_code(None) is None and innermost_code({}) is None and innermost_code("text") is None
    deep: dict = {"code": "X"}
    for _ in range(200):
        deep = {"code": "DeploymentFailed", "details": [deep]}
    assert innermost_code(deep) == "DeploymentFailed"  # bounded depth, no RecursionError
    shallow: dict = {"code": "X"}
    for _ in range(20):
        shallow = {"code": "DeploymentFailed", "details": [shallow]}
    assert innermost_code(shallow) == "X"


def test_median_duration_and_formatting():
    assert median([3.0]) == 3.0 and median([4.0, 1.0, 3.0]) == 3.0 and median([1.0, 2.0, 4.0, 10.0]) == 3.0
    with pytest.raises(ValueError):
        median([])
    assert parse_duration("PT9M40.2788723S") == pytest.approx(580.2788723)
    assert parse_duration("PT1H0M2S") == 3602 and parse_duration("P1DT1S") == 86401 and parse_duration("PT0S") == 0
    with pytest.raises(ValueError):
        parse_duration("9 minutes")
    assert fmt_seconds(42.04) == "42.0 s" and fmt_seconds(498.76) == "498.8 s (8m19s)"
    assert fmt_seconds(3723) == "3723.0 s (1h02m03s)"
    assert short_resource(f"{HUB}/bgpConnections/nva-1", SCOPE) == \
        "Microsoft.Network/virtualHubs/hub-weu/bgpConnections/nva-1"
    assert short_resource("/subscriptions/x/resourceGroups/other/providers/A/b/c", SCOPE) == \
        "/subscriptions/x/resourceGroups/other/providers/A/b/c"
    assert deployment_name("dir/main.bicep") == "main" and deployment_name("a b$.json") == "a-b-"


def test_summarize_counts_runs_not_occurrences_and_sorts_naturally():
    def run(i: int, span: float, *failures: tuple[str, str]) -> RunResult:
        return RunResult(i, i, "Failed" if failures else "Succeeded", span, failures, 3)

    results = [
        run(0, 10.0, ("p/nva-10", "AnotherOperationInProgress"), ("p/nva-2", "AnotherOperationInProgress"),
            ("p/nva-2", "AnotherOperationInProgress")),
        run(1, 30.0),
        run(2, 20.0, ("p/nva-2", "AnotherOperationInProgress"), ("p/nva-2", "Conflict")),
        run(3, 40.0),
    ]
    s = summarize(results, seed=9)
    assert s.runs == 4 and s.failed_runs == 2 and s.operations == 12
    assert [(f.resource, f.code, f.count) for f in s.failures] == [
        ("p/nva-2", "AnotherOperationInProgress", 2), ("p/nva-2", "Conflict", 1),
        ("p/nva-10", "AnotherOperationInProgress", 1)]
    assert to_json(s)["makespan"] == {"min": 10.0, "median": 25.0, "max": 40.0}
    assert set(to_json(s)) == KEYS
    with pytest.raises(ValueError):
        summarize([])


def test_run_seeds_are_distinct_and_stable():
    seeds = [run_seed(0, i) for i in range(10_000)]
    assert len(set(seeds)) == 10_000 and all(0 <= x < 2 ** 63 for x in seeds)
    assert run_seed(0, 0) != run_seed(1, 0)
    assert run_seed(0, 0) == 5_160_545_567_872_570_018  # blake2b: the same in every process and version


REGISTRY_MAIN = """param hubName string = 'hub-weu'
resource rt 'Microsoft.Network/routeTables@2024-05-01' = {
  name: 'rt'
  location: 'westeurope'
}

module peers 'br/public:avm/res/network/virtual-hub:0.4.0' = {
  name: 'peers'
  params: { name: hubName }
}
"""


def test_a_bicep_file_with_registry_modules_without_the_bicep_cli_is_one_line_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no bicep, no az
    main = tmp_path / "main.bicep"
    main.write_text(REGISTRY_MAIN)
    r = invoke("--runs", "1", str(main))
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{main}:7: error: module 'peers' cannot be "
                                                   "simulated from Bicep")
    assert "install the bicep CLI" in lines[0] and "bicep build main.bicep" in lines[0]


def test_a_bicep_file_with_registry_modules_is_simulated_as_the_bicep_cli_compiles_it(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "bicep"  # stands in for the compiler: prints the parallel BGP template
    fake.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write(open({ARM_PARALLEL!r}).read())\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    main = tmp_path / "main.bicep"
    main.write_text(REGISTRY_MAIN)
    target = load_target(str(main))
    assert target.graph is None and target.body is not None
    summary = simulate(target, runs=5, seed=1)
    assert summary.failed_runs == 5  # the compiled parallel loop collides in every run


def test_a_template_the_emulator_cannot_deploy_is_one_line_exit_2_naming_what_is_missing(tmp_path):
    main = tmp_path / "main.bicep"
    main.write_text("param principalId string\n"
                    "resource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {\n"
                    "  name: guid(resourceGroup().id, principalId)\n"
                    "  properties: { principalId: principalId, roleDefinitionId: 'x' }\n}\n")
    r = invoke("--runs", "3", str(main))
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{main}: error: the emulator could not deploy")
    assert "it needs a value for parameter 'principalId' (give it with --params)" in lines[0]


def test_nullable_parameters_left_out_are_null_and_modules_deploy_to_a_declared_group(tmp_path):
    (tmp_path / "mod.bicep").write_text("resource rt 'Microsoft.Network/routeTables@2024-05-01' = {\n"
                                        "  name: 'rt'\n  location: resourceGroup().location\n}\n")
    main = tmp_path / "main.bicep"
    main.write_text("targetScope = 'subscription'\n"
                    "param extraGroups array?\n"
                    "resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {\n"
                    "  name: 'rg-new'\n  location: 'northeurope'\n}\n"
                    "resource more 'Microsoft.Resources/resourceGroups@2024-03-01' = [for g in (extraGroups ?? []): {\n"
                    "  name: g\n  location: 'northeurope'\n}]\n"
                    "module tables 'mod.bicep' = {\n  name: 'tables'\n  scope: rg\n}\n")
    target = load_target(str(main))
    result = run_once(target, 1)
    assert result.state == "Succeeded", result.failures
    assert result.operations == 3  # the group, the module, its route table; the loop over null has none
