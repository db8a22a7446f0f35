"""Speed of the emulator's core in virtual time.

    python bench/emulator_core.py [--operations N] [--resources N] [--repeat N] [--profile] [--wall]

Two measurements, each the best of `--repeat` runs:

1. the issue's measure: a generated 1,000-resource ARM template (copy loops, per-instance dependsOn,
   a serial loop, copyIndex()-dependent bodies) deployed with `put_deployment` + `run_until_idle`:
   time to validate and plan it, time to simulate it, and simulated resource operations per second.
   Bars: >= 100,000 simulated operations/s, and the whole deployment in under a second.
2. a heavier mixed workload, reported beside it (no bar of its own): N API calls straight on the
   state (PUTs, same-body PUTs, updates, deletes and rejected conflicting writes, each building
   its response view) over `N / 50 * 6` resources (parents and serial-domain children; 6,000 by
   default), with the VirtualClock advanced event by event (`run_until_idle`).

Times are CPU time of this process (`time.process_time`), best of `--repeat` runs, so that other
work on a shared machine does not count; `--wall` uses wall-clock time instead. Each timed section
starts with a full garbage collection (`gc.collect()`, not timed), so that freeing the previous
run's state (its reference cycles) is not counted against the next one; collections the measured
work itself causes are counted. The machine's speed is printed first (CPython's
`sum(range(1000))`, about 8-10 us on a current laptop) to read the figures against.

Exit status 1 when a bar is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from armguard.emulator.errors import ArmError
from armguard.emulator.state import ArmState

SUB = "00000000-0000-0000-0000-000000000000"
SCOPE = f"/subscriptions/{SUB}/resourceGroups/rg"
NET = f"{SCOPE}/providers/Microsoft.Network"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
OPS_BAR = 100_000
DEPLOY_BAR = 1.0
clock = time.process_time


def fresh(seed: int = 1) -> ArmState:
    state = ArmState(seed=seed)
    state.put_resource_group(SUB, "rg", {"location": "westeurope"})
    return state


# ---------------------------------------------------------------------------------------------
# 1. Core throughput


def core_run(operations: int) -> tuple[int, float]:
    """Drive `operations` requests; returns (requests handled, wall seconds)."""
    state = fresh()
    hubs = max(1, operations // 50)
    for h in range(hubs):
        state.put_resource(f"{NET}/virtualHubs/hub{h}", {"location": "westeurope"})
        state.put_resource(f"{SCOPE}/providers/Microsoft.Storage/storageAccounts/sa{h}", {"location": "westeurope"})
    state.run_until_idle()
    handled = 0
    body = {"properties": {"peerAsn": 65001}}
    gc.collect()
    started = clock()
    i = 0
    while handled < operations:
        h = i % hubs
        peer = f"{NET}/virtualHubs/hub{h}/bgpConnections/p{(i // hubs) % 4}"
        try:  # noqa: SIM105 (contextlib.suppress costs more than the work measured)
            state.put_resource(peer, body)  # a serial-domain child: conflicts whenever the hub is busy
        except ArmError:
            pass
        handled += 1
        try:  # noqa: SIM105 (a safe top-level resource: updates and same-body PUTs)
            state.put_resource(f"{SCOPE}/providers/Microsoft.Storage/storageAccounts/sa{h}",
                               {"location": "westeurope", "tags": {"i": str(i % 3)}})
        except ArmError:
            pass
        handled += 1
        if i % 7 == 6:
            try:  # noqa: SIM105
                state.delete_resource(peer)
            except ArmError:
                pass
            handled += 1
        i += 1
        if i % hubs == 0:
            state.run_until_idle()
    state.run_until_idle()
    elapsed = clock() - started
    return handled, elapsed


# ---------------------------------------------------------------------------------------------
# 2. A generated 1,000-resource deployment


def generated_template(resources: int) -> dict:
    """Loops of safe resources with per-instance bodies and dependencies, and one serial loop."""
    serial = max(1, resources // 10)
    per_loop = (resources - serial - 1) // 4
    rest = resources - serial - 1 - 4 * per_loop
    counts = [per_loop + (1 if k < rest else 0) for k in range(4)]

    def loop(name: str, rtype: str, count: int, name_expr: str, body: dict, **extra) -> dict:
        return {"type": rtype, "apiVersion": "2024-05-01", "name": name_expr, "location": "westeurope",
                "copy": {"name": name, "count": count}, **body, **extra}

    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0",
            "parameters": {"prefix": {"type": "string", "defaultValue": "bench"}},
            "variables": {"tags": {"purpose": "bench"}},
            "resources": [
                loop("accounts", "Microsoft.Storage/storageAccounts", counts[0], "[format('{0}sa{1}', parameters('prefix'), copyIndex())]",
                     {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "tags": "[variables('tags')]"}),
                loop("identities", "Microsoft.ManagedIdentity/userAssignedIdentities", counts[1],
                     "[format('id{0}', copyIndex())]", {"tags": {"n": "[string(copyIndex())]"}},
                     dependsOn=["[resourceId('Microsoft.Storage/storageAccounts', format('{0}sa{1}', parameters('prefix'), mod(copyIndex(), 10)))]"]),
                loop("nsgs", "Microsoft.Network/networkSecurityGroups", counts[2], "[format('nsg{0}', copyIndex())]",
                     {"properties": {"securityRules": []}}),
                loop("ips", "Microsoft.Network/publicIPAddresses", counts[3], "[format('ip{0}', copyIndex())]",
                     {"sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static",
                                                                  "idleTimeoutInMinutes": "[add(4, mod(copyIndex(), 26))]"}}),
                {"type": "Microsoft.Network/routeTables", "apiVersion": "2024-05-01", "name": "rt",
                 "location": "westeurope", "properties": {}},
                {"type": "Microsoft.Network/routeTables/routes", "apiVersion": "2024-05-01",
                 "name": "[format('rt/r{0}', copyIndex())]", "dependsOn": ["rt"],
                 "copy": {"name": "routes", "count": serial, "mode": "serial", "batchSize": 1},
                 "properties": {"addressPrefix": "[format('10.{0}.0.0/16', copyIndex())]", "nextHopType": "Internet"}},
            ]}


def deploy_run(resources: int) -> dict[str, float]:
    from armguard.emulator import deployments

    deployments._FRONT_END_CACHE.clear()  # validate+plan from scratch every run (no cached graph)
    state = fresh()
    template = generated_template(resources)
    body = {"properties": {"mode": "Incremental", "template": template}}
    gc.collect()
    t0 = clock()
    state.put_deployment(SCOPE, "bench", body)
    t1 = clock()
    state.run_until_idle()
    t2 = clock()
    result = state.get_deployment(SCOPE, "bench")["properties"]
    ops = state.list_deployment_operations(SCOPE, "bench")
    assert result["provisioningState"] == "Succeeded", result.get("error")
    assert len(ops) == resources, len(ops)
    return {"validate": t1 - t0, "simulate": t2 - t1, "total": t2 - t0, "operations": len(ops),
            "virtual": state.clock.now()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--operations", type=int, default=50_000)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile of each measurement")
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    args = parser.parse_args(argv)
    global clock
    if args.wall:
        clock = time.perf_counter
    import timeit

    calibration = min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6
    print(f"machine: sum(range(1000)) takes {calibration:.1f} us; times are "
          f"{'wall-clock' if args.wall else 'CPU'} time, best of {args.repeat}")

    runs = [deploy_run(args.resources) for _ in range(args.repeat)]
    best = {key: min(r[key] for r in runs) for key in ("validate", "simulate", "total")}
    best.update(operations=runs[0]["operations"], virtual=runs[0]["virtual"])
    rate = best["operations"] / best["simulate"]
    print(f"template: {best['operations']:.0f} resources simulated in {best['simulate'] * 1000:.1f} ms = "
          f"{rate:,.0f} simulated operations/s (bar >= {OPS_BAR:,}) {'OK' if rate >= OPS_BAR else 'MISSED'}")
    print(f"template: validate+plan {best['validate'] * 1000:.1f} ms, total {best['total'] * 1000:.1f} ms for "
          f"{best['virtual'] / 60:.1f} virtual minutes (bar < {DEPLOY_BAR:.0f} s) "
          f"{'OK' if best['total'] < DEPLOY_BAR else 'MISSED'}")

    handled, elapsed = min((core_run(args.operations) for _ in range(args.repeat)), key=lambda r: r[1])
    resources = 6 * max(1, args.operations // 50)  # hubs, storage accounts, four BGP peers per hub
    print(f"mixed calls (no bar): {handled} API calls on {resources:,} resources in {elapsed:.3f} s = "
          f"{handled / elapsed:,.0f} operations/s")

    if args.profile:
        for label, call in (("core", lambda: core_run(args.operations)),
                            ("deployment", lambda: deploy_run(args.resources))):
            profiler = cProfile.Profile()
            profiler.enable()
            call()
            profiler.disable()
            print(f"\n--- profile: {label}")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
    return 0 if rate >= OPS_BAR and best["total"] < DEPLOY_BAR else 1


if __name__ == "__main__":
    sys.exit(main())
