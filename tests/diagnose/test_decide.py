"""`decide` on constructed facts: the edge cases the emulator scenarios do not reach."""

from __future__ import annotations

import datetime as dt

import pytest

from armguard.catalog import default_catalog, load_catalog_data
from armguard.diagnose import (
    DEFAULT_MAX_SECONDS,
    Deployment,
    ErrorFacts,
    Facts,
    Lock,
    Operation,
    OperationStatus,
    ResourceState,
    decide,
)
from armguard.diagnose.relate import relation
from armguard.diagnose.report import render_text, to_json
from armguard.diagnose.timeline import Event, group_events

SUB = "11111111-2222-3333-4444-555555555555"
RG = f"/subscriptions/{SUB}/resourceGroups/rg"
VNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/vnet1"
HUB = f"{RG}/providers/Microsoft.Network/virtualHubs/hub1"
WIDGET = f"{RG}/providers/Contoso.Widgets/factories/f1"
NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
READ_ALL = ("resource show", "deployment list", "activity log", "lock list")
CATALOG = default_catalog()


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


def running(resource_id: str, seconds_ago: float, *, caller: str = "ci@contoso.com", op_id: str | None = None,
            correlation: str | None = None, deployment: str | None = None, kind: str = "write") -> Operation:
    rtype = resource_id.split("/providers/", 1)[1].split("/")
    type_name = "/".join([rtype[0], *rtype[1::2]])
    return Operation(resource_id=resource_id, operation=f"{type_name}/{kind}", state="Running",
                     started=ago(seconds_ago), caller=caller, operation_id=op_id, correlation_id=correlation,
                     deployment=deployment)


def facts(**fields) -> Facts:
    fields.setdefault("read", READ_ALL)
    return Facts(subscription=SUB, resource_group="rg", **fields)


def test_unknown_type_past_the_default_maximum_is_stuck() -> None:
    diagnosis = decide(facts(target_id=WIDGET, operations=(running(WIDGET, 3 * 3600),)), CATALOG, NOW)
    assert diagnosis.verdict == "stuck" and diagnosis.exit_code == 11
    assert diagnosis.blocker.id == WIDGET and diagnosis.blocker.max_seconds is None
    assert diagnosis.blocker.max_assumed and diagnosis.blocker.limit == DEFAULT_MAX_SECONDS
    assert "the default of 2h00m (the catalog has no maximum for Contoso.Widgets/factories)" in diagnosis.summary


def test_unknown_type_within_the_default_maximum_waits_without_an_estimate() -> None:
    diagnosis = decide(facts(target_id=WIDGET, operations=(running(WIDGET, 3600),)), CATALOG, NOW)
    assert diagnosis.verdict == "wait" and diagnosis.exit_code == 10
    assert diagnosis.estimated_end is None
    assert "No estimate: the catalog has no duration for Contoso.Widgets/factories" in diagnosis.summary
    assert diagnosis.next == (f"armguard wait --id {WIDGET}",)


def test_known_typical_duration_gives_the_estimate() -> None:
    peer = f"{HUB}/bgpConnections/p1"
    diagnosis = decide(facts(target_id=f"{HUB}/bgpConnections/p2", operations=(running(peer, 30),)), CATALOG, NOW)
    assert diagnosis.verdict == "wait"
    assert diagnosis.blocker.id == peer and diagnosis.blocker.relation.startswith("the same lock domain")
    assert diagnosis.blocker.typical_seconds == 90
    assert diagnosis.estimated_end == ago(30) + dt.timedelta(seconds=90)
    assert diagnosis.next == (f"armguard wait --id {peer} --timeout 6m",)  # 60 s left + 5 min margin


def test_several_blockers_the_status_uri_first_and_the_latest_end() -> None:
    uri = f"https://management.azure.com/subscriptions/{SUB}/providers/Microsoft.Network/locations/weu/operations/op-vnet?api-version=2024-05-01"
    subnet_app, vnet_write = running(f"{VNET}/subnets/app", 600), running(VNET, 60, op_id="OP-VNET")
    diagnosis = decide(facts(target_id=f"{VNET}/subnets/db", operations=(subnet_app, vnet_write),
                             error=ErrorFacts(code="AnotherOperationInProgress", status_uri=uri),
                             status=OperationStatus(uri, 200, "InProgress", started=ago(60))), CATALOG, NOW)
    assert diagnosis.verdict == "wait"
    assert diagnosis.blocker.id == VNET and diagnosis.blocker.named_by_status
    assert [b.id for b in diagnosis.others] == [f"{VNET}/subnets/app"]
    # the VNet has no catalog durations; the subnet's maximum (30 min) bounds the wait
    assert diagnosis.estimated_end == ago(600) + dt.timedelta(seconds=1800)
    assert diagnosis.next[0].startswith(f"armguard wait --operation-url '{uri}' --timeout ")


def test_one_stuck_blocker_among_several_makes_it_stuck() -> None:
    fine, hung = running(f"{VNET}/subnets/app", 60, op_id="a"), running(f"{VNET}/subnets/web", 3600, op_id="b")
    diagnosis = decide(facts(target_id=f"{VNET}/subnets/db", operations=(fine, hung)), CATALOG, NOW)
    assert diagnosis.verdict == "stuck"
    assert diagnosis.blocker.id == f"{VNET}/subnets/web"
    assert diagnosis.blocker.running_seconds == 3600 and diagnosis.blocker.max_seconds == 1800


def test_status_uri_naming_an_operation_not_in_the_log() -> None:
    uri = f"https://management.azure.com/subscriptions/{SUB}/providers/Microsoft.Network/locations/weu/operations/x1"
    diagnosis = decide(facts(target_id=f"{VNET}/subnets/db", error=ErrorFacts(
        code="AnotherOperationInProgress", status_uri=uri, blocking_operation="PutSubnetOperation"),
        status=OperationStatus(uri, 200, "InProgress", started=ago(100))), CATALOG, NOW)
    assert diagnosis.verdict == "wait"
    assert diagnosis.blocker.id is None and diagnosis.blocker.operation == "PutSubnetOperation"
    assert diagnosis.blocker.running_seconds == 100
    assert diagnosis.summary.startswith("WAIT: PutSubnetOperation (known only by the error's status URI) holds")
    assert diagnosis.next == (f"armguard wait --operation-url {uri}",)


@pytest.mark.parametrize(("window", "verdict"), [(1800.0, "wait"), (3 * 3600.0, "stuck")])
def test_busy_parent_with_no_operation_in_the_window(window: float, verdict: str) -> None:
    diagnosis = decide(facts(target_id=f"{VNET}/subnets/db", window_seconds=window, resources=(
        ResourceState(f"{VNET}/subnets/db", "target", False), ResourceState(VNET, "parent", True, "Updating"))),
        CATALOG, NOW)
    assert diagnosis.verdict == verdict
    assert diagnosis.blocker.id == VNET and diagnosis.blocker.kind == "provisioning state"
    assert diagnosis.blocker.state == "Updating" and diagnosis.blocker.started is None


def test_a_can_not_delete_lock_does_not_block_a_write_but_does_block_a_delete() -> None:
    lock = Lock(f"{RG}/providers/Microsoft.Authorization/locks/keep", "keep", "CanNotDelete", RG)
    write = decide(facts(target_id=VNET, locks=(lock,)), CATALOG, NOW)
    assert write.verdict == "clear" and write.exit_code == 0
    message = (f"The scope '{VNET}' cannot perform delete operation because following scope(s) are locked: "
               f"'{RG}'. Please remove the lock and try again.")
    delete = decide(facts(target_id=VNET, locks=(lock,), error=ErrorFacts(code="ScopeLocked", message=message)),
                    CATALOG, NOW)
    assert delete.verdict == "locked" and delete.exit_code == 12
    assert delete.blocker.id == lock.id and delete.blocker.state == "CanNotDelete"


def test_a_read_only_lock_wins_over_an_operation_in_flight() -> None:
    lock = Lock(f"{VNET}/providers/Microsoft.Authorization/locks/ro", "ro", "ReadOnly", VNET, caller="sec@contoso.com",
                created=ago(86400))
    diagnosis = decide(facts(target_id=f"{VNET}/subnets/db", locks=(lock,),
                             operations=(running(f"{VNET}/subnets/app", 30),)), CATALOG, NOW)
    assert diagnosis.verdict == "locked"
    assert diagnosis.blocker.caller == "sec@contoso.com" and diagnosis.blocker.running_seconds == 86400


def test_deployment_active_after_the_deployment_ended_is_clear() -> None:
    ended = Deployment(f"{RG}/providers/Microsoft.Resources/deployments/app", "app", "Succeeded", started=ago(600),
                       timestamp=ago(30))
    diagnosis = decide(facts(deployments=(ended,), error=ErrorFacts(code="DeploymentActive", deployment_name="app")),
                       CATALOG, NOW)
    assert diagnosis.verdict == "clear" and diagnosis.blocker is None


def test_a_failed_loop_of_one_deployment_is_a_collision_even_when_nothing_runs() -> None:
    corr = "c0ffee00-0000-0000-0000-000000000001"

    def op(name: str, state: str, error: str | None = None, ended: float = 0.0) -> Operation:
        return Operation(f"{HUB}/bgpConnections/{name}", "Microsoft.Network/virtualHubs/bgpConnections/write",
                         state, started=ago(300), ended=ago(ended), correlation_id=corr, deployment="bgp",
                         error_code=error, source="deployment operation list")

    ops = (op("nva-1", "Succeeded", ended=210), op("nva-2", "Failed", "AnotherOperationInProgress", 300),
           op("nva-3", "Failed", "AnotherOperationInProgress", 300))
    dep = Deployment(f"{RG}/providers/Microsoft.Resources/deployments/bgp", "bgp", "Failed", started=ago(300),
                     timestamp=ago(200), correlation_id=corr, caller="pipeline@contoso.com", operations=ops)
    diagnosis = decide(facts(deployments=(dep,), error=ErrorFacts(code="AnotherOperationInProgress",
                                                                  deployment_name="bgp")), CATALOG, NOW)
    assert diagnosis.verdict == "collision" and diagnosis.exit_code == 13
    assert diagnosis.blocker.id == f"{HUB}/bgpConnections/nva-1"
    assert diagnosis.blocker.caller == "pipeline@contoso.com"
    assert "wrote 3 Microsoft.Network/virtualHubs/bgpConnections in parallel" in diagnosis.summary
    assert "nva-2, nva-3 failed" in diagnosis.summary and "virtualHubs/hub1" in diagnosis.summary
    assert diagnosis.next == ("armguard lint .",)


def test_two_running_deployments_in_one_lock_domain_collide() -> None:
    first = running(f"{HUB}/bgpConnections/p1", 40, correlation="aaaa", deployment="peers-a")
    second = running(f"{HUB}/bgpConnections/p2", 10, correlation="bbbb", deployment="peers-b")
    diagnosis = decide(facts(operations=(first, second)), CATALOG, NOW)
    assert diagnosis.verdict == "collision"
    assert "deployments 'peers-a' and 'peers-b'" in diagnosis.summary
    assert diagnosis.blocker.id == first.resource_id


def test_a_failed_deployment_blocked_by_another_running_deployment() -> None:
    holder = running(f"{HUB}/bgpConnections/p1", 120, correlation="aaaa", deployment="peers-a")
    failed = Operation(f"{HUB}/bgpConnections/p2", "Microsoft.Network/virtualHubs/bgpConnections/write", "Failed",
                       started=ago(60), ended=ago(60), correlation_id="bbbb", deployment="peers-b",
                       error_code="AnotherOperationInProgress", source="deployment operation list")
    mine = Deployment(f"{RG}/providers/Microsoft.Resources/deployments/peers-b", "peers-b", "Failed",
                      started=ago(61), timestamp=ago(59), correlation_id="bbbb", operations=(failed,))
    diagnosis = decide(facts(operations=(holder,), deployments=(mine,),
                             error=ErrorFacts(code="DeploymentFailed", deployment_name="peers-b")), CATALOG, NOW)
    assert diagnosis.verdict == "collision"
    assert diagnosis.blocker.id == holder.resource_id and diagnosis.blocker.state == "Running"
    assert "deployments 'peers-b' and 'peers-a'" in diagnosis.summary
    assert any(step.startswith("armguard wait --id ") for step in diagnosis.next)


def test_finished_status_and_nothing_in_flight_is_clear() -> None:
    uri = f"https://management.azure.com/subscriptions/{SUB}/providers/Microsoft.Network/locations/weu/operations/x"
    diagnosis = decide(facts(target_id=VNET, status=OperationStatus(uri, 200, "Succeeded", ended=ago(5))),
                       CATALOG, NOW)
    assert diagnosis.verdict == "clear"
    assert "The operation in the error ended Succeeded" in diagnosis.summary


def test_now_defaults_to_the_servers_clock() -> None:
    diagnosis = decide(facts(target_id=WIDGET, operations=(running(WIDGET, 60),), server_now=NOW), CATALOG)
    assert diagnosis.now == NOW and diagnosis.blocker.running_seconds == 60


def test_a_catalog_overlay_sets_the_maximum() -> None:
    catalog = load_catalog_data({"types": {"Contoso.Widgets/factories": {
        "serial": "serial", "typical_seconds": 30, "max_seconds": 120, "sources": ["user config: test"]}}})
    diagnosis = decide(facts(target_id=WIDGET, operations=(running(WIDGET, 600),)), catalog, NOW)
    assert diagnosis.verdict == "stuck" and diagnosis.blocker.max_seconds == 120


def test_json_has_the_documented_shape_and_text_names_sources() -> None:
    diagnosis = decide(facts(target_id=WIDGET, operations=(running(WIDGET, 60),)), CATALOG, NOW)
    data = to_json(diagnosis)
    assert {"verdict", "blocker", "evidence", "next"} <= set(data)
    assert set(data["blocker"]) == {"id", "operation", "state", "started", "caller", "running_seconds",
                                    "typical_seconds", "max_seconds"}
    assert data["blocker"]["started"] == "2026-05-01T11:59:00Z"
    assert all(set(e) == {"source", "text"} for e in data["evidence"])
    text = render_text(diagnosis)
    assert text.startswith("WAIT: Contoso.Widgets/factories/write on factories/f1 by ci@contoso.com")
    assert "[activity log]" in text and "[lock list]" in text


def test_activity_events_group_into_operations() -> None:
    rid = f"{VNET}/subnets/app"
    events = [Event(ago(10), "Microsoft.Network/virtualNetworks/subnets/write", "Started", rid, "a@x", "c1", "o1"),
              Event(ago(10), "Microsoft.Network/virtualNetworks/subnets/write", "Accepted", rid, "a@x", "c1", "o1"),
              Event(ago(5), "Microsoft.Network/virtualNetworks/subnets/write", "Started", rid, "b@x", "c2", "o2"),
              Event(ago(5), "Microsoft.Network/virtualNetworks/subnets/write", "Failed", rid, "b@x", "c2", "o2",
                    sub_status="Conflict")]
    ops = group_events(events)
    assert [(op.operation_id, op.state, op.caller, op.error_code) for op in ops] == [
        ("o2", "Failed", "b@x", "Conflict"), ("o1", "Running", "a@x", None)]
    assert ops[1].started == ago(10) and ops[1].ended is None


def test_relations_from_ancestry_and_the_catalog() -> None:
    assert relation(CATALOG, f"{HUB}/bgpConnections/p1", f"{HUB}/bgpConnections/p2").startswith("the same lock domain")
    assert relation(CATALOG, VNET, f"{VNET}/subnets/a") == "its parent"
    assert relation(CATALOG, f"{VNET}/subnets/a", VNET) == "its child"
    assert relation(CATALOG, VNET, f"{RG}/providers/Microsoft.Network/virtualNetworks/vnet2") is None
    assert relation(CATALOG, RG, f"{VNET}/subnets/a") == "its ancestor"
