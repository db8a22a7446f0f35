"""Benchmark of `armguard plan` on generated estates of 10 to 10,000 resources.

    python bench/schedule.py [--sizes 10,100,1000,10000] [--seeds 1,2,3] [--profile]

Estates are built directly as deployment graphs (armguard.model IR, no Bicep text), from a seeded
mix of blocks, each written the way templates usually are (parallel loops):

- virtual WAN hubs (360 s) with 2-8 BGP peers each (a bgpConnections loop; one hub = one domain);
- hub VNets with 2-30 spokes: a spoke VNet loop, a loop of spoke-to-hub peerings (parent: the
  spoke, remote: the hub VNet) and a loop of hub-to-spoke peerings (parent: the hub VNet), so each
  peering holds two VNet domains;
- private DNS zones, alone or in groups of 2-4 zones whose VNet-link loop spreads over all zones of
  the group (links depend on the spoke VNets they link); some groups' links are interleaved by zone,
  some grouped by zone;
- storage accounts (safe: no lock domain), about a fifth of the estate.

Durations are the catalog's, with figures assumed for the types it has none for (`BENCH_SECONDS`).

Per size it prints the plan time (expansion, three schedules, lower bound, Monte Carlo, changes),
the makespans as written / all-serial / optimal / with the proposed changes, the lower bound and
optimal / lower bound. Bars: optimal within 5 % of the lower bound; a 10,000-resource plan in
under 5 s.

Beside the plan figures it prints `armguard simulate` throughput on the same estate, written out as
a Bicep file (`estate_bicep`) and deployed as the command does (parsed once, one fresh emulator per
run in virtual time): runs/s and simulated deployment operations/s, with the runs that failed (the
estates are written with parallel loops, so most runs fail on a shared lock domain and stop early)
and the median makespan. `--sim-runs N` sets the runs per estate (default: 100 up to 100 resources,
fewer above, 2 at 10,000); `--sim-runs 0` skips the simulation.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from armguard.catalog import default_catalog, load_catalog
from armguard.model import Dependency, DeploymentGraph, Loop, Node
from armguard.plan import Options, plan_graph
from armguard.plan.simulate import Target, simulate
from armguard.plan.simulate_load import load_target
from armguard.values import Unknown

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers"
NET = "Microsoft.Network"


class Estate:
    def __init__(self, size: int, seed: int):
        self.rng = random.Random(seed * 1_000_003 + size)
        self.nodes: list[Node] = []
        self.count = 0
        self.cap = max(2, min(30, size // 25))  # block sizes grow with the estate
        self.central = [f"privatelink.central-{z}.azure.net" for z in range(1 + size // 500)]
        self.blocks = 0
        # Per-instance bodies where the graph's are Unknown (the simulation's Bicep needs values).
        self.instance_props: dict[str, list[dict]] = {}

    def add(self, symbol: str, rtype: str, segs: list, *, loop: list[list] | None = None,
            deps: list[str] = (), props: dict | None = None, instance_props: list[dict] | None = None) -> Node:
        n = Node(symbol=symbol, kind="resource", type=rtype, path="estate.bicep")
        n.dependencies = [Dependency(d, "dependsOn") for d in deps]
        n.name_segments = segs
        n.name = segs[-1]
        n._properties = props
        if loop is not None:
            n.loop = Loop(name=symbol, count=len(loop), item="x", index="i")
            n.instance_segments = loop
            n.instance_names = [s[-1] for s in loop]
            self.count += len(loop)
        else:
            self.count += 1
        if instance_props is not None:
            self.instance_props[symbol] = instance_props
        self.nodes.append(n)
        return n

    def var(self, text: str, symbol: str) -> Unknown:
        return Unknown(text, {f"loop:{symbol}"})

    def central_zones(self) -> None:
        self.add("central", f"{NET}/privateDnsZones", [self.var("zone", "central")], loop=[[z] for z in self.central])

    def vwan_hub(self, k: int) -> None:
        hub = f"hub{k}"
        self.add(hub, f"{NET}/virtualHubs", [f"hub-{k}"])
        peers = self.rng.randint(2, max(2, min(8, self.cap)))
        self.add(f"bgp{k}", f"{NET}/virtualHubs/bgpConnections", [f"hub-{k}", self.var("peer.name", f"bgp{k}")],
                 loop=[[f"hub-{k}", f"nva-{i}"] for i in range(peers)], deps=[hub])

    def hub_vnet(self, k: int) -> None:
        """A hub VNet and its spokes: spoke VNets, their subnets (one loop over all of them, grouped by
        spoke), peerings both ways, and a link of every spoke into one of the central DNS zones."""
        hub = f"hubVnet{k}"
        self.add(hub, f"{NET}/virtualNetworks", [f"vnet-hub-{k}"])
        n = self.rng.randint(2, self.cap)
        spokes = f"spokes{k}"
        names = [f"vnet-spoke-{k}-{i}" for i in range(n)]
        self.add(spokes, f"{NET}/virtualNetworks", [self.var("spoke.name", spokes)], loop=[[v] for v in names])
        subnets = [[v, f"snet-{j}"] for v in names for j in range(self.rng.randint(1, 4))]
        self.add(f"subnets{k}", f"{NET}/virtualNetworks/subnets",
                 [self.var("s.vnet", f"subnets{k}"), self.var("s.name", f"subnets{k}")], loop=subnets, deps=[spokes])
        hub_id = f"{SUB}/{NET}/virtualNetworks/vnet-hub-{k}"
        self.add(f"toHub{k}", f"{NET}/virtualNetworks/virtualNetworkPeerings",
                 [self.var("spoke.name", f"toHub{k}"), "to-hub"],
                 loop=[[v, "to-hub"] for v in names], deps=[hub, f"subnets{k}"],
                 props={"properties": {"remoteVirtualNetwork": {"id": hub_id}}})
        self.add(f"fromHub{k}", f"{NET}/virtualNetworks/virtualNetworkPeerings",
                 [f"vnet-hub-{k}", self.var("'to-${spoke.name}'", f"fromHub{k}")],
                 loop=[[f"vnet-hub-{k}", f"to-{v}"] for v in names], deps=[hub, f"subnets{k}"],
                 props={"properties": {"remoteVirtualNetwork": {"id": self.var(f"spokes{k}[i].id", f"fromHub{k}")}}},
                 instance_props=[{"properties": {"remoteVirtualNetwork": {"id": f"{SUB}/{NET}/virtualNetworks/{v}"}}}
                                 for v in names])
        zone = self.central[k % len(self.central)]
        self.add(f"spokeLinks{k}", f"{NET}/privateDnsZones/virtualNetworkLinks",
                 [zone, self.var("'link-${spoke.name}'", f"spokeLinks{k}")],
                 loop=[[zone, f"link-{v}"] for v in names], deps=["central", spokes])

    def dns(self, k: int) -> None:
        """Private DNS zones with VNet links: one zone, or a group of 2-4 zones whose link loop
        spreads over all of them (interleaved by zone or grouped by zone)."""
        zones = self.rng.choice([1, 1, 2, 3, 4])
        per = self.rng.randint(2, max(2, min(12, self.cap)))
        names = [f"privatelink.z{k}-{z}.azure.net" for z in range(zones)]
        zsym = f"zones{k}"
        self.add(zsym, f"{NET}/privateDnsZones", [self.var("zone", zsym)], loop=[[z] for z in names])
        if self.rng.random() < 0.5:
            links = [[z, f"link-{i}"] for i in range(per) for z in names]
        else:
            links = [[z, f"link-{i}"] for z in names for i in range(per)]
        self.add(f"links{k}", f"{NET}/privateDnsZones/virtualNetworkLinks",
                 [self.var("link.zone", f"links{k}"), self.var("link.name", f"links{k}")], loop=links, deps=[zsym])

    def storage(self, k: int) -> None:
        n = self.rng.randint(1, max(1, min(10, self.cap)))
        self.add(f"sa{k}", "Microsoft.Storage/storageAccounts", [self.var("sa", f"sa{k}")],
                 loop=[[f"st{k}x{i}"] for i in range(n)])


def estate(size: int, seed: int = 1) -> DeploymentGraph:
    """A generated estate of about `size` resources (never fewer)."""
    return DeploymentGraph(path="estate.bicep", language="bicep", nodes=_build(size, seed).nodes)


def estate_bicep(size: int, seed: int = 1) -> str:
    """The same estate as `estate(size, seed)`, written as a Bicep file: one loop over an array of
    names (or of names and bodies) per loop declaration, dependencies as `dependsOn`."""
    e = _build(size, seed)
    out = ["// Generated by bench/schedule.py (estate_bicep): parallel loops, as templates are usually written."]
    for n in e.nodes:
        head = f"resource {n.symbol} '{n.type}@{_api_version(n.type)}' = "
        deps = [d.target for d in n.dependencies]
        fields: list[str] = []
        located = n.type.count("/") == 1
        per = e.instance_props.get(n.symbol)
        if n.loop is None:
            fields.append("name: " + _bicep_value("/".join(str(x) for x in n.name_segments)))
        elif per is None:
            out.append(f"var {n.symbol}Names = {_bicep_value(['/'.join(x) for x in n.instance_segments])}")
            fields.append("name: x")
        else:
            items = [{"name": "/".join(x), "body": b["properties"]} for x, b in zip(n.instance_segments, per,
                                                                                    strict=True)]
            out.append(f"var {n.symbol}Items = {_bicep_value(items)}")
            fields += ["name: x.name", "properties: x.body"]
        if located:
            fields.append("location: 'westeurope'")
        if per is None and n._properties:
            fields += [f"{k}: {_bicep_value(v, '  ')}" for k, v in n._properties.items()]
        if deps:
            fields.append(f"dependsOn: [{', '.join(deps)}]")
        body = "{\n" + "".join(f"  {f}\n" for f in fields) + "}"
        if n.loop is not None:
            body = f"[for x in {n.symbol}{'Names' if per is None else 'Items'}: {body}]"
        out.append(head + body)
    return "\n".join(out) + "\n"


def _build(size: int, seed: int) -> Estate:
    e = Estate(size, seed)
    e.central_zones()
    makers = [e.vwan_hub, e.hub_vnet, e.hub_vnet, e.dns, e.storage]
    k = 0
    while e.count < size:
        maker = [e.hub_vnet, e.vwan_hub][k] if k < 2 else e.rng.choice(makers)
        maker(k)
        k += 1
    return e


API_VERSIONS = {"microsoft.network/privatednszones": "2024-06-01", "microsoft.network": "2024-05-01",
                "microsoft.storage": "2023-05-01"}


def _api_version(rtype: str) -> str:
    t = rtype.lower()
    for prefix, version in API_VERSIONS.items():
        if t.startswith(prefix):
            return version
    return "2024-03-01"


def _bicep_value(v: Any, indent: str = "") -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    if isinstance(v, str):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    inner = indent + "  "
    if isinstance(v, dict):
        return "{\n" + "".join(f"{inner}{k}: {_bicep_value(x, inner)}\n" for k, x in v.items()) + indent + "}"
    if isinstance(v, list):
        return "[\n" + "".join(f"{inner}{_bicep_value(x, inner)}\n" for x in v) + indent + "]"
    raise TypeError(f"no Bicep literal for {type(v).__name__}")


# Durations the shipped catalog has no figure for (it says "unknown" rather than guess): varied
# here so that the schedules are not all multiples of one number.
BENCH_SECONDS = {
    f"{NET}/virtualNetworks": 45,
    f"{NET}/virtualNetworks/subnets": 25,
    f"{NET}/virtualNetworks/virtualNetworkPeerings": 40,
    f"{NET}/privateDnsZones": 50,
    f"{NET}/privateDnsZones/virtualNetworkLinks": 35,
    "Microsoft.Storage/storageAccounts": 30,
}


def bench_catalog():  # type: ignore[no-untyped-def]
    shipped = default_catalog()
    types = {}
    for t, v in BENCH_SECONDS.items():
        types[t] = {"typical_seconds": v, "sources": ["bench/schedule.py: assumed for the benchmark"]}
        if t not in shipped:
            types[t]["serial"] = "unknown"
    return load_catalog({"types": types})


def default_sim_runs(size: int) -> int:
    """Simulated runs per estate: 100 up to 200 resources, then fewer (20 at 1,000, 2 at 10,000)."""
    return max(2, min(100, 20_000 // max(1, size)))


def simulate_estate(size: int, seed: int, runs: int, catalog) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """`armguard simulate` on the estate written as Bicep: load once, then `runs` runs."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "estate.bicep"
        path.write_text(estate_bicep(size, seed), encoding="utf-8")
        t0 = time.perf_counter()
        target: Target = load_target(str(path), group="rg", catalog=catalog)
        t1 = time.perf_counter()
        summary = simulate(target, runs, seed)
        t2 = time.perf_counter()
    return {"runs": runs, "load": t1 - t0, "seconds": t2 - t1, "runs_per_s": runs / (t2 - t1),
            "ops_per_s": summary.operations / (t2 - t1), "ops_per_run": summary.operations / runs,
            "failed_runs": summary.failed_runs, "median": summary.makespan["median"]}


def run(sizes: list[int], seeds: list[int], profile: bool, sim_runs: int | None = None) -> int:
    catalog = bench_catalog()
    print(f"{'size':>6} {'seed':>4} {'resources':>9} {'decls':>6} {'domains':>7} {'plan s':>7} {'as written':>10} "
          f"{'all serial':>10} {'optimal':>9} {'lower bnd':>9} {'opt/LB':>7} {'w/ changes':>10} {'fail %':>6}")
    failed = 0
    gc.set_threshold(100_000, 50, 50)  # as the armguard command does
    for size, seed in [(z, s) for z in sizes for s in seeds]:
        graph = estate(size, seed)
        gc.collect()  # the previous estate's plan, not this one, would otherwise be collected on the clock
        t = time.perf_counter()
        if profile:
            prof = cProfile.Profile()
            prof.enable()
        plan = plan_graph(graph, catalog, Options())
        elapsed = time.perf_counter() - t
        if profile:
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        opt = plan.makespan("optimal")
        lb = plan.lower_bound.value
        ratio = opt / lb if lb else 1.0
        print(f"{size:>6} {seed:>4} {len(plan.ops):>9} {len(graph.nodes):>6} {len(plan.domains):>7} {elapsed:>7.2f} "
              f"{plan.makespan('as_written'):>10.0f} {plan.makespan('all_serial'):>10.0f} {opt:>9.0f} {lb:>9.0f} "
              f"{ratio:>7.3f} {plan.makespan('with_changes'):>10.0f} {plan.chance.value * 100:>6.1f}")
        print("          timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in plan.timings.items()))
        runs = default_sim_runs(size) if sim_runs is None else sim_runs
        if runs > 0:
            gc.collect()
            sim = simulate_estate(size, seed, runs, catalog)
            print(f"          simulate: {sim['runs']} runs in {sim['seconds']:.2f} s (load {sim['load']:.2f} s) = "
                  f"{sim['runs_per_s']:,.1f} runs/s, {sim['ops_per_s']:,.0f} operations/s "
                  f"({sim['ops_per_run']:,.0f} operations/run, {sim['failed_runs']} of {sim['runs']} runs failed, "
                  f"makespan median {sim['median']:.0f} s)")
        if ratio > 1.05:
            failed += 1
            print(f"          FAIL: optimal is {100 * (ratio - 1):.1f} % above the lower bound")
        if size >= 10_000 and elapsed >= 5.0 and not profile:
            failed += 1
            print(f"          FAIL: planning took {elapsed:.2f} s (bar: 5 s)")
    return 1 if failed else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--seeds", default="1", help="comma-separated estate seeds")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--sim-runs", type=int, help="simulated runs per estate (default: by size; 0: no simulation)")
    args = ap.parse_args()
    sys.exit(run([int(s) for s in args.sizes.split(",")], [int(s) for s in args.seeds.split(",")], args.profile,
                 args.sim_runs))


if __name__ == "__main__":
    main()
