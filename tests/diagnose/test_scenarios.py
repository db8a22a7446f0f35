"""`armguard diagnose` end to end: one emulator scenario per verdict, through the CLI and its JSON.

Each scenario has its own caller, so a blocker's caller can only come from the activity log of that
scenario. Writes are started without pollers (`polling=False`) and left running.
"""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError

from armguard.emulator.faults import Fault

NET = "2024-05-01"
VNET_PROPERTIES = {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}
SUBNET = {"properties": {"addressPrefix": "10.0.1.0/24"}}
OTHER_SUBNET = {"properties": {"addressPrefix": "10.0.2.0/24"}}


def template(*resources: dict) -> dict:
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0", "resources": list(resources)}


def rejected(write) -> str:
    """The error text of a write that Resource Manager must reject."""
    with pytest.raises(HttpResponseError) as failure:
        write()
    return str(failure.value)


def test_wait_names_the_running_write_its_caller_and_the_wait_command(arm_for, diagnose) -> None:
    # 1/100 of real time: the subnet's catalog maximum (30 min) is 18 real seconds away.
    with arm_for(caller="alice@contoso.com", time_scale=0.01) as arm:
        arm.create_group("rg-wait")
        vnet = arm.create_vnet("rg-wait")
        arm.emulator.inject(Fault("slow", pattern="*/subnets/app", multiplier=1000))
        arm.start_write(f"{vnet}/subnets/app", SUBNET)
        error = rejected(lambda: arm.start_write(f"{vnet}/subnets/db", OTHER_SUBNET))
        assert "AnotherOperationInProgress" in error

        outcome = diagnose(arm, "--id", f"{vnet}/subnets/db", "--error", error, "--format", "json")
        # As Network RP prints it: a regional host. Read on the configured endpoint, never sent our token.
        regional = error.replace(arm.emulator.endpoint, "https://westeurope.network.azure.com")
        rebased = diagnose(arm, "--id", f"{vnet}/subnets/db", "--format", "json", stdin=regional)

    assert outcome.exit_code == 10, outcome.stdout + outcome.stderr
    report = outcome.json
    assert report["verdict"] == "wait"
    blocker = report["blocker"]
    assert blocker["id"] == f"{vnet}/subnets/app"
    assert blocker["operation"] == "Microsoft.Network/virtualNetworks/subnets/write"
    assert blocker["caller"] == "alice@contoso.com"
    assert blocker["state"] == "Running"
    assert blocker["max_seconds"] == 1800 and blocker["typical_seconds"] is None
    assert 0 <= blocker["running_seconds"] < 1800
    assert report["estimated_end"] is not None
    status_uri = next(e["text"] for e in report["evidence"] if e["text"].startswith("status URI "))[11:]
    assert report["next"][0].startswith(f"armguard wait --operation-url '{status_uri}'")
    sources = {e["source"] for e in report["evidence"]}
    assert {"error", "status URI", "resource show", "deployment list", "activity log", "lock list"} <= sources
    assert rebased.exit_code == 10 and rebased.json["blocker"] == blocker | {
        "running_seconds": rebased.json["blocker"]["running_seconds"]}
    assert rebased.json["next"][0].startswith(f"armguard wait --operation-url '{status_uri}'")
    status_lines = [e["text"] for e in rebased.json["evidence"] if e["source"] == "status URI"]
    assert status_lines[0] == f"read at {status_uri} (the configured endpoint)"
    assert status_lines[1].startswith("InProgress since")


def test_stuck_when_the_holder_runs_past_the_catalog_maximum(arm_for, diagnose) -> None:
    # 1/2000 of real time: the virtual WAN's catalog maximum (30 min) passes in 0.9 real seconds.
    with arm_for(caller="bob@contoso.com", time_scale=0.0005) as arm:
        arm.create_group("rg-stuck")
        arm.emulator.inject(Fault("stuck", type="Microsoft.Network/virtualWans", timeout=10**7))
        wan = f"{arm.group_id('rg-stuck')}/providers/Microsoft.Network/virtualWans/wan1"
        arm.start_deployment("rg-stuck", "core", template(
            {"type": "Microsoft.Network/virtualWans", "apiVersion": NET, "name": "wan1", "location": "westeurope",
             "properties": {}}))
        wait_for_virtual_seconds(arm, "rg-stuck", "core", 2400)
        error = rejected(lambda: arm.start_write(wan, {"location": "westeurope", "properties": {}}))

        outcome = diagnose(arm, "--id", wan, "--error", error, "--format", "json")
        text = diagnose(arm, "--id", wan, "--error", error)

    assert outcome.exit_code == 11, outcome.stdout + outcome.stderr
    report = outcome.json
    assert report["verdict"] == "stuck"
    blocker = report["blocker"]
    assert blocker["id"] == wan
    assert blocker["operation"] == "Microsoft.Network/virtualWans/write"
    assert blocker["caller"] == "bob@contoso.com"
    assert blocker["max_seconds"] == 1800
    assert blocker["running_seconds"] > 1800
    assert any("support case" in line for line in report["advice"])
    assert any("1-2 hours" in line for line in report["advice"])
    assert any(e["source"] == "deployment operation list" and "no failed sub-operations" in e["text"]
               for e in report["evidence"])
    assert text.exit_code == 11
    assert text.stdout.startswith("STUCK: Microsoft.Network/virtualWans/write on virtualWans/wan1 by bob@contoso.com")


def wait_for_virtual_seconds(arm, group: str, deployment: str, seconds: float) -> None:
    """Until the deployment's running operation has run `seconds` of emulated time."""
    from armguard.diagnose.gather import iso_seconds

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ops = list(arm.deployments.deployment_operations.list(group, deployment))
        if ops and (iso_seconds(ops[0].properties.duration) or 0) >= seconds:
            return
        time.sleep(0.1)
    raise AssertionError(f"the deployment's operation did not reach {seconds} s")


def test_locked_names_the_lock_and_who_set_it(arm_for, diagnose) -> None:
    with arm_for(caller="carol@contoso.com", time_scale=0.01) as arm:
        arm.create_group("rg-locked")
        vnet = arm.create_vnet("rg-locked")
        arm.locks.management_locks.create_or_update_at_resource_group_level(
            "rg-locked", "freeze", {"level": "ReadOnly", "notes": "change freeze"})
        lock_id = f"{arm.group_id('rg-locked')}/providers/Microsoft.Authorization/locks/freeze"
        error = rejected(lambda: arm.start_write(f"{vnet}/subnets/app", SUBNET))
        assert "ScopeLocked" in error

        outcome = diagnose(arm, "--id", f"{vnet}/subnets/app", "--error", error, "--format", "json")

    assert outcome.exit_code == 12, outcome.stdout + outcome.stderr
    report = outcome.json
    assert report["verdict"] == "locked"
    blocker = report["blocker"]
    assert blocker["id"] == lock_id
    assert blocker["operation"] == "Microsoft.Authorization/locks/write"
    assert blocker["state"] == "ReadOnly"
    assert blocker["caller"] == "carol@contoso.com"
    assert "waiting will not help" in report["summary"]
    assert report["next"] == [f"az lock show --ids {lock_id}"]
    assert any(e["source"] == "lock list" and "change freeze" in e["text"] for e in report["evidence"])


def test_collision_for_two_deployments_of_one_name(arm_for, diagnose) -> None:
    with arm_for(caller="dave@contoso.com", time_scale=0.01) as arm:
        arm.create_group("rg-twice")
        arm.emulator.inject(Fault("slow", type="Microsoft.Network/virtualNetworks", multiplier=1000))
        body = template({"type": "Microsoft.Network/virtualNetworks", "apiVersion": NET, "name": "vnet1",
                         "location": "westeurope", "properties": VNET_PROPERTIES})
        arm.start_deployment("rg-twice", "app", body)
        error = rejected(lambda: arm.start_deployment("rg-twice", "app", body))
        assert "DeploymentActive" in error

        outcome = diagnose(arm, "-g", "rg-twice", "--error", error, "--format", "json")

    assert outcome.exit_code == 13, outcome.stdout + outcome.stderr
    report = outcome.json
    assert report["verdict"] == "collision"
    blocker = report["blocker"]
    assert blocker["id"] == arm.deployment_id("rg-twice", "app")
    assert blocker["operation"] == "Microsoft.Resources/deployments/write"
    assert blocker["caller"] == "dave@contoso.com"
    assert blocker["state"] == "Running"
    assert "armguard lint ." in report["next"]
    assert f"armguard wait --deployment app -g rg-twice --subscription {arm.subscription}" in report["next"][0]
    assert any(e["source"] == "deployment list" and e["text"].startswith("'app' Running since")
               and "by dave@contoso.com" in e["text"] for e in report["evidence"])


def test_collision_for_a_parallel_loop_of_one_template(arm_for, diagnose) -> None:
    routes = {"type": "Microsoft.Network/routeTables/routes", "apiVersion": NET,
              "name": "[format('rt1/r{0}', copyIndex())]", "copy": {"name": "routes", "count": 4},
              "dependsOn": ["[resourceId('Microsoft.Network/routeTables', 'rt1')]"],
              "properties": {"addressPrefix": "[format('10.{0}.0.0/16', copyIndex())]", "nextHopType": "None"}}
    table = {"type": "Microsoft.Network/routeTables", "apiVersion": NET, "name": "rt1", "location": "westeurope",
             "properties": {}}
    with arm_for(caller="frank@contoso.com", time_scale=0.001) as arm:
        arm.create_group("rg-loop")
        poller = arm.deployments.deployments.begin_create_or_update(
            "rg-loop", "routes", {"properties": {"mode": "Incremental", "template": template(table, routes)}},
            polling_interval=0.02)
        error = rejected(poller.result)

        outcome = diagnose(arm, "-g", "rg-loop", "--error", error, "--format", "json")

    assert outcome.exit_code == 13, outcome.stdout + outcome.stderr
    report = outcome.json
    assert report["verdict"] == "collision"
    blocker = report["blocker"]
    table_id = f"{arm.group_id('rg-loop')}/providers/Microsoft.Network/routeTables/rt1"
    assert blocker["id"].startswith(f"{table_id}/routes/r")
    assert blocker["operation"] == "Microsoft.Network/routeTables/routes/write"
    assert blocker["caller"] == "frank@contoso.com"
    assert "loop" in report["summary"] and "routeTables/rt1" in report["summary"]
    assert report["next"][0] == "armguard lint ."


def test_clear_for_a_quiet_resource_group_even_with_unreadable_error_text(arm_for, diagnose) -> None:
    with arm_for(caller="erin@contoso.com", time_scale=0.001) as arm:
        arm.create_group("rg-clear")
        arm.create_vnet("rg-clear")

        outcome = diagnose(arm, "-g", "rg-clear", "--format", "json", stdin="this is not an ARM error")
        text = diagnose(arm, "-g", "rg-clear")
        missing = diagnose(arm, "-g", "rg-missing")

    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    report = outcome.json
    assert report["verdict"] == "clear"
    assert report["blocker"] is None
    assert report["next"] == []
    assert any(e["source"] == "activity log" and "0 not finished" in e["text"] for e in report["evidence"])
    assert text.exit_code == 0
    assert text.stdout.startswith("CLEAR: nothing is in flight in resource group rg-clear now; safe to retry.")
    assert missing.exit_code == 2 and missing.stdout == ""
    assert missing.stderr == (f"armguard diagnose: error: resource group 'rg-missing' not found in subscription "
                              f"{arm.subscription}\n")
