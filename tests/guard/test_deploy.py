"""`armguard deploy` in child processes against the emulator over HTTPS (and Azurite for the blob lock)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from armguard.emulator.faults import Fault
from support.emulated import armguard, client, state_of

FIXTURES = Path(__file__).resolve().parents[1] / "emulator" / "fixtures"
PARALLEL = str(FIXTURES / "bgp-peers-parallel.json")
SERIAL = str(FIXTURES / "bgp-peers-serial.json")
FAST = ("--poll-min", "0.02s", "--poll-max", "0.1s")


@pytest.fixture
def group(arm) -> str:
    with client(arm) as c:
        c.resource_groups.create_or_update("rg-bgp", {"location": "westeurope"})
    return "rg-bgp"


def hub_id(arm) -> str:
    return (f"/subscriptions/{arm.subscription_id}/resourceGroups/rg-bgp/providers/Microsoft.Network/"
            "virtualHubs/hub-weu")


def file_lock(tmp_path: Path) -> dict[str, str]:
    return {"ARMGUARD_LOCK_BACKEND": f"file://{tmp_path / 'locks'}"}


def iso_seconds(duration: str) -> float:
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", duration)
    assert match, duration
    hours, minutes, seconds = (float(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def deployment(arm, name: str) -> dict:
    with arm.lock:
        return arm.state.get_deployment(f"/subscriptions/{arm.subscription_id}/resourceGroups/rg-bgp", name)


def test_parallel_bgp_template_succeeds_by_redeploying_serialized(arm, group, tmp_path) -> None:
    done = armguard(arm, "deploy", "-g", group, "-f", PARALLEL, *FAST, extra_env=file_lock(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "attempt 1: 4 operation(s) failed on conflicts (AnotherOperationInProgress)" in done.stderr
    assert "loop(s) bgpPeers one at a time (batchSize 1)" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(
        "armguard deploy: deployment bgp-peers-parallel Succeeded after 2 attempts")
    for i in range(1, 6):
        assert state_of(arm, f"{hub_id(arm)}/bgpConnections/nva-{i}") == "Succeeded"
    assert deployment(arm, "bgp-peers-parallel")["properties"]["provisioningState"] == "Succeeded"


def test_colliding_siblings_are_chained_when_deploying_again(arm, group, tmp_path) -> None:
    template = json.loads(Path(PARALLEL).read_text())
    loop = template["resources"].pop()
    for i in range(4):  # the loop written out as four resources, one with an expression name
        peer = {k: v for k, v in loop.items() if k != "copy"}
        peer = json.loads(json.dumps(peer).replace("copyIndex()", str(i)))
        if i != 2:
            peer["name"] = f"hub-weu/nva-{i + 1}"
        template["resources"].append(peer)
    path = tmp_path / "siblings.json"
    path.write_text(json.dumps(template))
    done = armguard(arm, "deploy", "-g", group, "-f", str(path), *FAST, extra_env=file_lock(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "attempt 1: 3 operation(s) failed on conflicts (AnotherOperationInProgress)" in done.stderr
    assert ("hub-weu/nva-1 -> hub-weu/nva-2 -> [format('{0}/{1}', parameters('hubName'), variables('peers')[2].name)]"
            " -> hub-weu/nva-4 one after the other (dependsOn)") in done.stderr
    assert "Succeeded after 2 attempts" in done.stderr.strip().splitlines()[-1]
    for i in range(1, 5):
        assert state_of(arm, f"{hub_id(arm)}/bgpConnections/nva-{i}") == "Succeeded"


def test_a_failure_waiting_cannot_fix_is_listed_and_not_retried(arm, group, tmp_path) -> None:
    arm.inject(Fault("fail", pattern="*/bgpconnections/nva-3", code="InvalidBgpPeerIp", message="peer ip in use"))
    done = armguard(arm, "deploy", "-g", group, "-f", SERIAL, "-n", "peers", *FAST, extra_env=file_lock(tmp_path))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert "  failed: virtualHubs/hub-weu/bgpConnections/nva-3: InvalidBgpPeerIp: peer ip in use" in lines
    assert lines[-1] == ("armguard deploy: deployment peers Failed after 1 attempt "
                         "(a failure that waiting will not fix)")


def test_two_concurrent_deploys_of_one_group_serialize_through_the_lock(arm, group, tmp_path) -> None:
    env = {**os.environ, "ARMGUARD_ARM_ENDPOINT": arm.endpoint, "ARMGUARD_CA_BUNDLE": arm.ca_bundle,
           "AZURE_SUBSCRIPTION_ID": arm.subscription_id, **file_lock(tmp_path)}
    runs = [subprocess.Popen([sys.executable, "-m", "armguard.cli", "deploy", "-g", group, "-f", SERIAL, "-n",
                              name, *FAST], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name in ("first", "second")]
    outputs = [r.communicate(timeout=120) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    waited = [err for _, err in outputs if "waiting for lock" in err]
    assert len(waited) == 1 and "held by" in waited[0]
    spans = []
    for name in ("first", "second"):
        props = deployment(arm, name)["properties"]
        end = time.mktime(time.strptime(props["timestamp"][:19], "%Y-%m-%dT%H:%M:%S"))
        seconds = iso_seconds(props["duration"])
        spans.append((end - seconds, end))
    spans.sort()
    assert spans[0][1] <= spans[1][0] + 1.0  # emulated seconds: the second began after the first ended


def test_a_stuck_holder_ends_in_a_clean_timeout(arm, group, tmp_path) -> None:
    arm.inject(Fault("stuck", type="Microsoft.Network/virtualHubs"))
    with client(arm) as c:
        c.resources.begin_create_or_update_by_id(hub_id(arm).replace("/virtualHubs/hub-weu", "/virtualWans/wan-core"),
                                                  api_version="2024-05-01",
                                                  parameters={"location": "westeurope", "properties": {}},
                                                  polling_interval=0.02).result()
        c.resources.begin_create_or_update_by_id(hub_id(arm), api_version="2024-05-01", parameters={
            "location": "westeurope", "properties": {"addressPrefix": "10.0.0.0/23"}}, polling_interval=0.02)
    done = armguard(arm, "deploy", "-g", group, "-f", SERIAL, "--timeout", "2s", "-q", *FAST,
                    extra_env=file_lock(tmp_path))
    assert done.returncode == 124, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "armguard deploy: pre-flight: virtualHubs/hub-weu is Creating; waiting"
    assert lines[-1].startswith("armguard deploy: timed out after")
    assert lines[-1].endswith("waiting on virtualHubs/hub-weu: still Creating")
    assert len(lines) == 2


def test_lost_lease_cancels_the_deployment_and_exits_4(arm, group, azurite_blob) -> None:
    from azure.storage.blob import BlobLeaseClient

    from armguard.guard.locks import key_file_name, scope_key

    arm.inject(Fault("slow", type="Microsoft.Network/virtualHubs", multiplier=30))  # about 10 s of wall time
    env = {**azurite_blob.env(), "ARMGUARD_ARM_ENDPOINT": arm.endpoint, "ARMGUARD_CA_BUNDLE": arm.ca_bundle,
           "AZURE_SUBSCRIPTION_ID": arm.subscription_id}
    run = subprocess.Popen([sys.executable, "-m", "armguard.cli", "deploy", "-g", group, "-f", SERIAL, "-n", "long",
                            "--lock-backend", azurite_blob.backend("deploy-locks"), "--lease-seconds", "15", *FAST],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    key = scope_key(arm.subscription_id, group)
    deadline = time.monotonic() + 30
    while True:
        with arm.lock:
            names = [d["name"] for d in arm.state.list_deployments(
                f"/subscriptions/{arm.subscription_id}/resourceGroups/rg-bgp")]
        if "long" in names:
            break
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.05)
    blob = azurite_blob.service_client().get_blob_client("deploy-locks", key_file_name(key) + ".lock")
    BlobLeaseClient(blob).break_lease(lease_break_period=0)
    BlobLeaseClient(blob).acquire(lease_duration=15)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 4, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("armguard deploy: lost the single-writer lock: the lease renewal was refused")
    assert last.endswith("deployment long was cancelled")
    assert deployment(arm, "long")["properties"]["provisioningState"] == "Canceled"


def test_input_errors_are_one_line_exit_2(arm, group, tmp_path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "resources": [\n    {,\n  ]\n}\n')
    done = armguard(arm, "deploy", "-g", group, "-f", str(broken))
    assert done.returncode == 2
    assert done.stderr.strip() == f"{broken}:3:6: error: not valid JSON: Expecting property name enclosed in double quotes"
    bicep = tmp_path / "main.bicep"
    bicep.write_text("param location string\n")
    no_bicep = armguard(arm, "deploy", "-g", group, "-f", str(bicep), extra_env={"PATH": str(tmp_path)})
    assert no_bicep.returncode == 2
    assert no_bicep.stderr.strip().startswith(f"{bicep}: error: cannot compile main.bicep: the bicep CLI is not "
                                              "installed; install it")
    usage = armguard(arm, "deploy", "-f", SERIAL)
    assert usage.returncode == 2 and "give -g RG or --subscription-scope" in usage.stderr
    params = armguard(arm, "deploy", "-g", group, "-f", SERIAL, "-p", "nonsense")
    assert params.returncode == 2 and "parameter 'nonsense'" in params.stderr


def test_bicep_input_is_compiled_with_the_bicep_cli(arm, group, tmp_path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "calls.txt"
    fake = bindir / "bicep"  # stands in for the real compiler: records its arguments, prints the template
    fake.write_text(f"#!{sys.executable}\nimport sys\nopen({str(calls)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
                    f"sys.stdout.write(open({SERIAL!r}).read())\n")
    fake.chmod(0o755)
    main = tmp_path / "main.bicep"
    main.write_text("// compiled by the stand-in\n")
    done = armguard(arm, "deploy", "-g", group, "-f", str(main), "-p", "hubName=hub-weu", *FAST,
                    extra_env={"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", **file_lock(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert calls.read_text().split() == ["build", str(main), "--stdout"]
    props = deployment(arm, "main")["properties"]
    assert props["provisioningState"] == "Succeeded"
    assert json.dumps(props.get("parameters", {})).count("hub-weu") >= 1


def test_subscription_scope_deploy(arm, tmp_path) -> None:
    template = tmp_path / "sub.json"
    template.write_text(json.dumps({
        "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "contentVersion": "1.0.0.0", "parameters": {"name": {"type": "string"}},
        "resources": [{"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2024-03-01",
                       "name": "[parameters('name')]", "location": "westeurope"}]}))
    done = armguard(arm, "deploy", "--subscription-scope", "-l", "westeurope", "-f", str(template), "-p",
                    "name=rg-from-sub", *FAST, extra_env=file_lock(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("armguard deploy: deployment sub Succeeded after 1 attempt")
    with arm.lock:
        assert arm.state.get_resource_group(arm.subscription_id, "rg-from-sub")["name"] == "rg-from-sub"
    no_location = armguard(arm, "deploy", "--subscription-scope", "-f", str(template))
    assert no_location.returncode == 2 and "needs -l/--location" in no_location.stderr
