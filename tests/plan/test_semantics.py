"""Resource Manager's schedule as written: parallel starts, dependencies, loops, serial batches,
nested deployments, existing and conditional resources, unknown counts and durations."""

from __future__ import annotations

import pytest

from armguard.plan import Options, plan_graph


def times(plan, name="as_written"):
    s = plan.schedules[name]
    return {op.id: (s.start[i], s.end[i]) for i, op in enumerate(plan.ops)}


def test_independent_writes_start_together(ir):
    g = ir.graph(ir.res("a", ir.STORAGE, ["sa1"]), ir.res("b", ir.STORAGE, ["sa2"]),
                 ir.res("hub", ir.HUB, ["hub1"]))
    plan = plan_graph(g, ir.catalog({ir.STORAGE: 30}))
    t = times(plan)
    assert t == {"a": (0, 30), "b": (0, 30), "hub": (0, 360)}
    assert plan.makespan("as_written") == 360
    assert [w["ops"] for w in __import__("armguard.plan.report", fromlist=["waves"]).waves(plan)] == [["a", "b", "hub"]]


def test_dependencies_chain(ir):
    g = ir.graph(ir.res("c", ir.STORAGE, ["c"], deps=["b"]), ir.res("b", ir.STORAGE, ["b"], deps=["a"]),
                 ir.res("a", ir.STORAGE, ["a"]))
    plan = plan_graph(g, ir.catalog({ir.STORAGE: 10}))
    assert times(plan) == {"a": (0, 10), "b": (10, 20), "c": (20, 30)}


def test_dependency_on_a_loop_waits_for_every_iteration(ir):
    g = ir.graph(
        ir.res("subnets", ir.SUBNET, ["v", ir.var("s", "subnets")], loop=[["v1", "s1"], ["v2", "s2"], ["v3", "s3"]]),
        ir.res("after", ir.STORAGE, ["x"], deps=["subnets"]),
    )
    cat = ir.catalog({ir.SUBNET: 20, ir.STORAGE: 5})
    g.nodes[0].instance_segments = [["v1", "s1"], ["v2", "s2"], ["v3", "s3"]]
    plan = plan_graph(g, cat)
    t = times(plan)
    assert [t[f"subnets[{i}]"] for i in range(3)] == [(0, 20)] * 3
    assert t["after"] == (20, 25)


@pytest.mark.parametrize(("batch", "starts"), [
    (1, [0, 10, 20, 30, 40]),
    (2, [0, 0, 10, 10, 20]),
    (3, [0, 0, 0, 10, 10]),
    (5, [0, 0, 0, 0, 0]),
])
def test_serial_loop_runs_in_consecutive_batches(ir, batch, starts):
    loop = [["zone.example.com", f"l{i}"] for i in range(5)]
    g = ir.graph(ir.res("links", ir.LINK, ["zone.example.com", ir.var("n", "links")], loop=loop, batch=batch))
    plan = plan_graph(g, ir.catalog({ir.LINK: 10}))
    t = times(plan)
    assert [t[f"links[{i}]"][0] for i in range(5)] == starts


def test_batch_waits_for_the_slowest_member_of_the_previous_batch(ir):
    # A module loop with batch size 2 whose iterations take 10, 30, 10, 10 s: batch 2 starts at 30.
    mods = [ir.graph(ir.res("sa", ir.STORAGE if i != 1 else ir.HUB, [f"x{i}"], path=f"m{i}.bicep"), path=f"m{i}.bicep")
            for i in range(4)]
    g = ir.graph(ir.mod("m", mods, batch=2))
    plan = plan_graph(g, ir.catalog({ir.STORAGE: 10, ir.HUB: 30}))
    t = times(plan)
    assert t["m[0]/sa"] == (0, 10)
    assert t["m[1]/sa"] == (0, 30)
    assert t["m[2]/sa"] == (30, 40)
    assert t["m[3]/sa"] == (30, 40)


def test_serial_mode_without_batch_size_is_one_at_a_time(ir):
    node = ir.res("links", ir.LINK, ["z", ir.var("n", "links")], loop=[["z", "a"], ["z", "b"]])
    node.loop.mode = "serial"
    node.loop.batch_size = None
    plan = plan_graph(ir.graph(node), ir.catalog({ir.LINK: 10}))
    assert plan.makespan("as_written") == 20


def test_nested_deployment_starts_after_its_dependencies_and_ends_with_its_contents(ir):
    inner = ir.graph(
        ir.res("first", ir.STORAGE, ["i1"], path="mod.bicep"),
        ir.res("second", ir.STORAGE, ["i2"], deps=["first"], path="mod.bicep"),
        path="mod.bicep",
    )
    g = ir.graph(
        ir.res("pre", ir.HUB, ["hub"]),
        ir.mod("m", inner, deps=["pre"]),
        ir.res("post", ir.STORAGE, ["p"], deps=["m"]),
    )
    plan = plan_graph(g, ir.catalog({ir.STORAGE: 10, ir.HUB: 100}))
    t = times(plan)
    assert t["pre"] == (0, 100)
    assert t["m/first"] == (100, 110)
    assert t["m/second"] == (110, 120)
    assert t["post"] == (120, 130)
    assert plan.makespan("as_written") == 130


def test_deployment_overhead_is_added_per_nested_deployment(ir):
    inner = ir.graph(ir.res("x", ir.STORAGE, ["x"], path="mod.bicep"), path="mod.bicep")
    g = ir.graph(ir.mod("m", inner), ir.res("post", ir.STORAGE, ["p"], deps=["m"]))
    plan = plan_graph(g, ir.catalog({ir.STORAGE: 10}), Options(overhead=5))
    assert times(plan)["post"] == (15, 25)


def test_module_loop_expands_per_iteration_with_each_iterations_domain(ir):
    # Five peers as a module loop: five BGP connections, each holding its hub.
    mods = [ir.graph(ir.res("hub", ir.HUB, ["hub-weu"], existing=True, path="bgp.bicep"),
                     ir.res("bgp", ir.BGP, ["hub-weu", f"nva-{i}"], deps=["hub"], path="bgp.bicep"),
                     path="bgp.bicep") for i in range(5)]
    plan = plan_graph(ir.graph(ir.mod("peers", mods)))
    assert [op.id for op in plan.ops] == [f"peers[{i}]/bgp" for i in range(5)]
    assert {plan.domains[d].describe for op in plan.ops for d in op.domains} == {
        "Microsoft.Network/virtualHubs 'hub-weu'"}


def test_existing_and_false_conditions_take_no_time_but_pass_dependencies_on(ir):
    g = ir.graph(
        ir.res("a", ir.STORAGE, ["a"]),
        ir.res("ghost", ir.STORAGE, ["g"], deps=["a"], existing=True),
        ir.res("off", ir.STORAGE, ["o"], deps=["ghost"], condition=False),
        ir.res("b", ir.STORAGE, ["b"], deps=["off"]),
    )
    plan = plan_graph(g, ir.catalog({ir.STORAGE: 10}))
    assert [op.id for op in plan.ops] == ["a", "b"]
    assert times(plan) == {"a": (0, 10), "b": (10, 20)}


def test_unknown_count_is_one_iteration_unless_assumed(ir):
    node = ir.res("links", ir.LINK, ["zone", ir.var("n", "links")], unknown_count=True)
    plan = plan_graph(ir.graph(node), ir.catalog({ir.LINK: 10}))
    assert [op.id for op in plan.ops] == ["links[*]"]
    assert any("count not known" in a and "--assume-count" in a for a in plan.assumptions)
    node = ir.res("links", ir.LINK, ["zone", ir.var("n", "links")], unknown_count=True)
    plan = plan_graph(ir.graph(node), ir.catalog({ir.LINK: 10}), Options(assume_count=4))
    assert [op.id for op in plan.ops] == [f"links[{i}]" for i in range(4)]
    # the zone does not depend on the loop variable: every assumed iteration writes it
    assert len(plan.collisions["as_written"]) == 1
    assert plan.makespan("optimal") == 40


def test_unknown_duration_uses_the_default_and_says_so(ir):
    plan = plan_graph(ir.graph(ir.res("z", ir.ZONE, ["z"])), ir.catalog(), Options(default_seconds=42))
    assert plan.makespan("as_written") == 42
    assert plan.ops[0].assumed
    assert any("assumed 42 s" in a and ir.ZONE in a for a in plan.assumptions)


def test_unknown_condition_is_assumed_true(ir):
    from armguard.values import Unknown

    plan = plan_graph(ir.graph(ir.res("a", ir.STORAGE, ["a"], condition=Unknown("deploy", {"param:deploy"}))),
                      ir.catalog({ir.STORAGE: 10}))
    assert plan.makespan("as_written") == 10
    assert any("condition of 'a'" in a for a in plan.assumptions)


def test_a_dependency_cycle_is_reported(ir):
    from armguard.errors import ArmguardError

    g = ir.graph(ir.res("a", ir.STORAGE, ["a"], deps=["b"]), ir.res("b", ir.STORAGE, ["b"], deps=["a"]))
    with pytest.raises(ArmguardError, match="cycle"):
        plan_graph(g, ir.catalog({ir.STORAGE: 10}))


def test_property_domain_by_resource_id_meets_the_parent_domain(ir):
    # A spoke-to-hub peering (remote: the hub VNet by id) and a hub-to-spoke peering (parent: the
    # hub VNet) hold the same domain.
    hub_id = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet-hub"
    g = ir.graph(
        ir.res("toHub", ir.PEERING, ["vnet-spoke", "to-hub"], props={"properties": {"remoteVirtualNetwork": {"id": hub_id}}}),
        ir.res("fromHub", ir.PEERING, ["vnet-hub", "to-spoke"]),
    )
    plan = plan_graph(g, ir.catalog({ir.PEERING: 30}))
    (c,) = plan.collisions["as_written"]
    assert plan.domains[c.domain].describe == "Microsoft.Network/virtualNetworks 'vnet-hub'"
    assert sorted(plan.ops[m].id for m in c.members) == ["fromHub", "toHub"]


def test_failure_chance_between_zero_and_one(ir):
    # 'a' (100 s) and 'b' share a domain; 'b' waits for 'c' (90 s): with ±30 % jitter they overlap
    # whenever 'c' finishes before 'a' does.
    g = ir.graph(
        ir.res("a", ir.SUBNET, ["vnet", "a"]),
        ir.res("c", ir.STORAGE, ["c"]),
        ir.res("b", ir.SUBNET, ["vnet", "b"], deps=["c"]),
    )
    cat = ir.catalog({ir.SUBNET: 100, ir.STORAGE: 90})
    plan = plan_graph(g, cat, Options(seed=7))
    assert 0.3 < plan.chance.value < 0.9
    assert plan.chance.samples == 1000
    again = plan_graph(g, cat, Options(seed=7))
    assert again.chance.value == plan.chance.value  # seeded
    assert plan_graph(g, cat, Options(jitter=0.0)).chance.value == 1.0


def test_no_failure_chance_when_a_domain_is_ordered(ir):
    g = ir.graph(ir.res("a", ir.SUBNET, ["vnet", "a"]), ir.res("b", ir.SUBNET, ["vnet", "b"], deps=["a"]))
    plan = plan_graph(g, ir.catalog({ir.SUBNET: 100}))
    assert plan.chance.value == 0.0
    assert plan.collisions["as_written"] == []
    assert plan.changes == []
