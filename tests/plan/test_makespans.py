"""Makespans of small hand-made graphs whose answers are known."""

from __future__ import annotations

from armguard.plan import plan_graph


def makespans(plan):
    return {k: plan.makespan(k) for k in ("as_written", "all_serial", "optimal")} | {
        "lower_bound": plan.lower_bound.value}


def test_five_peers_on_one_hub(ir):
    peers = [["hub-weu", f"nva-{i}"] for i in range(5)]
    g = ir.graph(ir.res("bgp", ir.BGP, ["hub-weu", ir.var("p.name", "bgp")], loop=peers))
    plan = plan_graph(g, ir.catalog())  # the catalog: 90 s per BGP connection
    assert makespans(plan) == {"as_written": 90, "all_serial": 450, "optimal": 450, "lower_bound": 450}
    assert plan.chance.value == 1.0
    (c,) = plan.collisions["as_written"]
    assert plan.domains[c.domain].describe == "Microsoft.Network/virtualHubs 'hub-weu'"
    assert len(c.members) == 5
    assert plan.makespan("with_changes") == 450
    assert [(ch.kind, ch.batch_size) for ch in plan.changes] == [("batch_size", 1)]


def test_six_links_over_three_zones(ir):
    d = 40
    links = [[z, f"link-{v}"] for v in ("v1", "v2") for z in ("a.example.com", "b.example.com", "c.example.com")]
    g = ir.graph(ir.res("links", ir.LINK, [ir.var("l.zone", "links"), ir.var("l.name", "links")], loop=links))
    plan = plan_graph(g, ir.catalog({ir.LINK: d}))
    assert makespans(plan) == {"as_written": d, "all_serial": 6 * d, "optimal": 2 * d, "lower_bound": 2 * d}
    assert len(plan.collisions["as_written"]) == 3
    # interleaved by zone: batches of three hit three zones
    assert [(ch.kind, ch.batch_size) for ch in plan.changes] == [("batch_size", 3)]
    assert plan.makespan("with_changes") == 2 * d
    assert plan.collisions["with_changes"] == []


def test_links_grouped_by_zone_without_text_to_reorder_are_split(ir):
    d = 40
    links = [[z, f"link-{v}"] for z in ("a.example.com", "b.example.com", "c.example.com") for v in ("v1", "v2")]
    g = ir.graph(ir.res("links", ir.LINK, [ir.var("l.zone", "links"), ir.var("l.name", "links")], loop=links))
    plan = plan_graph(g, ir.catalog({ir.LINK: d}))
    assert plan.makespan("optimal") == 2 * d
    (ch,) = plan.changes
    assert ch.kind == "split" and ch.sketch and "@batchSize(1)" in ch.sketch
    assert plan.makespan("with_changes") == 2 * d
    assert plan.collisions["with_changes"] == []


def test_serializing_only_within_each_domain_beats_serializing_everything(ir):
    # Two hubs with three peers each in one module-free loop: 3 x 90 per hub in parallel.
    peers = [[h, f"nva-{i}"] for h in ("hub-a", "hub-b") for i in range(3)]
    g = ir.graph(ir.res("bgp", ir.BGP, [ir.var("p.hub", "bgp"), ir.var("p.name", "bgp")], loop=peers))
    plan = plan_graph(g, ir.catalog())
    assert makespans(plan) == {"as_written": 90, "all_serial": 540, "optimal": 270, "lower_bound": 270}


def test_siblings_in_one_domain_and_an_independent_chain(ir):
    # Three subnets of one VNet declared separately (60 s each) next to a 200 s chain elsewhere:
    # optimal serializes the subnets (180 s) alongside the chain; the bound is the chain.
    g = ir.graph(
        ir.res("s1", ir.SUBNET, ["vnet", "s1"]),
        ir.res("s2", ir.SUBNET, ["vnet", "s2"]),
        ir.res("s3", ir.SUBNET, ["vnet", "s3"]),
        ir.res("a", ir.STORAGE, ["a"]),
        ir.res("b", ir.STORAGE, ["b"], deps=["a"]),
    )
    plan = plan_graph(g, ir.catalog({ir.SUBNET: 60, ir.STORAGE: 100}))
    assert makespans(plan) == {"as_written": 200, "all_serial": 200, "optimal": 200, "lower_bound": 200}
    assert len(plan.collisions["as_written"]) == 1
    assert plan.collisions["all_serial"] == []  # AG102 chains the three subnets
    assert sorted(c.kind for c in plan.changes) == ["depends_on", "depends_on"]
    assert plan.collisions["with_changes"] == []


def test_lower_bound_counts_the_wait_before_a_domain(ir):
    # A 360 s hub, then five 90 s peers on it: nothing can beat 360 + 450.
    peers = [["hub-weu", f"nva-{i}"] for i in range(5)]
    g = ir.graph(ir.res("hub", ir.HUB, ["hub-weu"]),
                 ir.res("bgp", ir.BGP, ["hub-weu", ir.var("p.name", "bgp")], loop=peers, deps=["hub"]))
    plan = plan_graph(g, ir.catalog())
    assert plan.lower_bound.value == 810
    assert plan.makespan("optimal") == 810
    assert plan.lower_bound.critical_path == 450


def test_optimal_ignores_batch_sizes_that_serialize_distinct_domains(ir):
    links = [[f"z{i}.example.com", "link-hub"] for i in range(4)]
    g = ir.graph(ir.res("links", ir.LINK, [ir.var("z", "links"), "link-hub"], loop=links, batch=1))
    plan = plan_graph(g, ir.catalog({ir.LINK: 30}))
    assert plan.makespan("as_written") == 120
    assert plan.makespan("optimal") == 30
    (ch,) = plan.changes
    assert ch.kind == "batch_size" and ch.batch_size == 4
    assert plan.makespan("with_changes") == 30


def test_lower_bound_parts(ir):
    peers = [["hub-weu", f"nva-{i}"] for i in range(5)]
    g = ir.graph(ir.res("hub", ir.HUB, ["hub-weu"]),
                 ir.res("bgp", ir.BGP, ["hub-weu", ir.var("p.name", "bgp")], loop=peers, deps=["hub"]))
    lb = plan_graph(g, ir.catalog()).lower_bound
    # the simple bound: max(critical path 450, the hub's work 360 + 5 x 90); the sharper one adds
    # nothing here because the hub's own write is in the domain and starts at 0
    assert (lb.simple, lb.value, lb.critical_path) == (810, 810, 450)


def test_lower_bound_counts_serialization_before_a_domain(ir):
    # Three subnets of one spoke (one at a time: 180 s), then two peerings on the hub VNet that wait
    # for all of them: nothing beats 180 + 2 x 60, though the critical path is 120 and the busiest
    # domain holds 180 s of work.
    subnets = [["vnet-spoke", f"s{i}"] for i in range(3)]
    g = ir.graph(
        ir.res("subnets", ir.SUBNET, ["vnet-spoke", ir.var("s", "subnets")], loop=subnets),
        ir.res("peerings", ir.PEERING, ["vnet-hub", ir.var("p", "peerings")],
               loop=[["vnet-hub", "p1"], ["vnet-hub", "p2"]], deps=["subnets"]),
    )
    plan = plan_graph(g, ir.catalog({ir.SUBNET: 60, ir.PEERING: 60}))
    lb = plan.lower_bound
    assert (lb.critical_path, lb.simple, lb.value) == (120, 180, 300)
    assert plan.makespan("optimal") == 300
