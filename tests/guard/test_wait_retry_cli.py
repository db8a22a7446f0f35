"""`armguard wait` and `armguard retry` in child processes, against the emulator over HTTPS."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from armguard.guard.wait import WaitTarget, wait_for
from support.emulated import NET, POLL, armguard, client, make_hub, start_holder, state_of, timed

HOLDER_SECONDS = 1.5
FIXTURES = Path(__file__).resolve().parents[1] / "emulator" / "fixtures"


@pytest.fixture
def hub(arm) -> str:
    return make_hub(arm)


def test_wait_on_the_status_uri_until_the_holder_succeeds(arm, hub) -> None:
    holder, status_uri = start_holder(arm, hub, HOLDER_SECONDS)
    done, elapsed = timed(armguard, arm, "wait", "--operation-url", status_uri, "--poll-min", "0.05s")
    assert done.returncode == 0, done.stderr
    assert "Succeeded" in done.stderr
    assert "waiting on operation" in done.stderr
    assert elapsed >= HOLDER_SECONDS * 0.6
    assert state_of(arm, holder) == "Succeeded"


def test_wait_on_a_resource_id(arm, hub) -> None:
    holder, _ = start_holder(arm, hub, HOLDER_SECONDS)
    done = armguard(arm, "wait", "--id", holder, "--poll-min", "0.05s", "--poll-max", "0.2s")
    assert done.returncode == 0, done.stderr
    assert "virtualHubs/hub/bgpConnections/p1" in done.stderr
    assert "Creating" in done.stderr  # the progress line named its state while it ran
    assert state_of(arm, holder) == "Succeeded"


def test_wait_times_out_on_a_stuck_holder_with_one_clear_line(arm, hub) -> None:
    _, status_uri = start_holder(arm, hub, None)
    done, elapsed = timed(armguard, arm, "wait", "--operation-url", status_uri, "--timeout", "1s", "--poll-min",
                          "0.1s", "-q")
    assert done.returncode == 124
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("armguard wait: timed out after")
    assert "still InProgress" in lines[0]
    assert elapsed < 30


def test_wait_for_a_deployment_that_fails_exits_1(arm) -> None:
    with client(arm) as c:
        c.resource_groups.create_or_update("rg-bgp", {"location": "westeurope"})
    from azure.mgmt.resource.deployments import DeploymentsMgmtClient

    template = json.loads((FIXTURES / "bgp-peers-parallel.json").read_text())
    with DeploymentsMgmtClient(arm.credential, arm.subscription_id, **arm.client_kwargs()) as deployments:
        deployments.deployments.begin_create_or_update("rg-bgp", "bgp", {"properties": {
            "mode": "Incremental", "template": template}}, **POLL)
    done = armguard(arm, "wait", "--deployment", "bgp", "-g", "rg-bgp", "--poll-min", "0.05s", "--poll-max", "0.2s")
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("armguard wait: deployment bgp ended Failed")
    quiet = armguard(arm, "wait", "-g", "rg-bgp", "--poll-min", "0.05s")
    assert quiet.returncode == 0, quiet.stderr
    assert "no running deployment" in quiet.stderr


def test_wait_usage_and_unreachable_endpoint(arm, hub) -> None:
    usage = armguard(arm, "wait")
    assert usage.returncode == 2 and "give --operation-url" in usage.stderr
    gone = armguard(arm, "wait", "--id", hub, extra_env={"ARMGUARD_ARM_ENDPOINT": "https://127.0.0.1:9"})
    assert gone.returncode == 2
    assert gone.stderr.strip().splitlines() == [gone.stderr.strip()]
    assert gone.stderr.startswith("error: cannot reach Resource Manager at https://127.0.0.1:9")
    assert "Traceback" not in gone.stderr


def test_wait_for_python_api_on_the_error_text(arm, hub) -> None:
    holder, status_uri = start_holder(arm, hub, HOLDER_SECONDS)
    from armguard.guard.connection import connect

    conn = connect(arm_endpoint=arm.endpoint, ca_bundle=arm.ca_bundle, subscription=arm.subscription_id)
    az_text = ("ERROR: (AnotherOperationInProgress) Another operation on this or dependent resource is in progress. "
               f"To retrieve status of the operation use uri: {status_uri}.\nCode: AnotherOperationInProgress\n")
    assert WaitTarget.from_error(az_text) == WaitTarget(operation_url=status_uri)
    result = wait_for(error=az_text, conn=conn, poll_floor=0.05, timeout=60)
    conn.close()
    assert result.ok and result.state == "Succeeded" and result.polls >= 2
    assert state_of(arm, holder) == "Succeeded"


CREATE_P2 = textwrap.dedent("""
    import sys
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.resource.resources import ResourceManagementClient
    from armguard.guard.connection import connect
    conn = connect()
    client = conn.client(ResourceManagementClient)
    print("creating p2", flush=True)
    try:
        client.resources.begin_create_or_update_by_id(sys.argv[1] + "/bgpConnections/p2", api_version=sys.argv[2],
            parameters={"properties": {"peerAsn": 65002, "peerIp": "10.1.0.2"}}, polling_interval=0.02).result()
    except HttpResponseError as e:
        print("ERROR: " + str(e), file=sys.stderr)   # as the az CLI prints it
        sys.exit(1)
    print("p2 created")
""")


def test_retry_runs_the_command_again_after_the_holder_finishes(arm, hub, tmp_path) -> None:
    holder, _ = start_holder(arm, hub, HOLDER_SECONDS)
    script = tmp_path / "create_p2.py"
    script.write_text(CREATE_P2)
    done = armguard(arm, "retry", "--poll-min", "0.05s", "--", sys.executable, str(script), hub, NET)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("creating p2") == 2  # output streamed through, both attempts
    assert done.stdout.strip().endswith("p2 created")
    assert done.stderr.count("ERROR: (AnotherOperationInProgress)") == 1
    assert "attempt 1 hit AnotherOperationInProgress; waiting on operation" in done.stderr
    assert "succeeded on attempt 2" in done.stderr
    assert state_of(arm, holder) == "Succeeded"
    assert state_of(arm, hub + "/bgpConnections/p2") == "Succeeded"


def test_retry_passes_other_failures_through(arm, tmp_path) -> None:
    failing = [sys.executable, "-c", "import sys; print('ERROR: (InvalidTemplate) bad', file=sys.stderr); sys.exit(3)"]
    done = armguard(arm, "retry", "--", *failing)
    assert done.returncode == 3
    assert done.stderr.count("InvalidTemplate") == 1 and "armguard retry" not in done.stderr
    missing = armguard(arm, "retry", "--", "no-such-command-armguard")
    assert missing.returncode == 127 and "command not found: no-such-command-armguard" in missing.stderr


def test_retry_gives_up_after_max_attempts(arm, hub, tmp_path) -> None:
    start_holder(arm, hub, None)
    script = tmp_path / "create_p2.py"
    script.write_text(CREATE_P2)
    done = armguard(arm, "retry", "--max-attempts", "2", "--timeout", "1s", "--poll-min", "0.1s", "-q", "--",
                    sys.executable, str(script), hub, NET)
    assert done.returncode == 1
    assert "giving up" in done.stderr.strip().splitlines()[-1]
