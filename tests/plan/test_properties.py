"""Properties over random small deployment graphs (hypothesis): the optimal schedule never lets two
writes of one lock domain overlap and respects every dependency; no schedule beats the lower
bound; the proposed changes leave no collision."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from armguard.plan import plan_graph
from armguard.plan.schedule import EPS, earliest, retime

HUBS = ["hub-a", "hub-b"]
ZONES = ["z1.example.com", "z2.example.com", "z3.example.com"]
VNETS = ["vnet-1", "vnet-2"]


@st.composite
def resource(draw, ir, symbol: str, earlier: list[str], path: str = "main.bicep"):
    kind = draw(st.sampled_from(["bgp", "link", "subnet", "storage", "peering"]))
    looped = draw(st.booleans())
    count = draw(st.integers(1, 5)) if looped else 1
    batch = draw(st.one_of(st.none(), st.integers(1, 3))) if looped else None
    deps = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=2)) if earlier else []

    def parent(choices):
        return [draw(st.sampled_from(choices)) for _ in range(count)]

    props = None
    if kind == "bgp":
        rtype, segs = ir.BGP, [[p, f"{symbol}-{i}"] for i, p in enumerate(parent(HUBS))]
    elif kind == "link":
        rtype, segs = ir.LINK, [[p, f"{symbol}-{i}"] for i, p in enumerate(parent(ZONES))]
    elif kind == "subnet":
        rtype, segs = ir.SUBNET, [[p, f"{symbol}-{i}"] for i, p in enumerate(parent(VNETS))]
    elif kind == "peering":
        remote = draw(st.sampled_from(VNETS))
        rid = f"/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/{remote}"
        rtype, segs = ir.PEERING, [[p, f"{symbol}-{i}"] for i, p in enumerate(parent(["vnet-3", *VNETS]))]
        props = {"properties": {"remoteVirtualNetwork": {"id": rid}}}
    else:
        rtype, segs = ir.STORAGE, [[f"{symbol}{i}"] for i in range(count)]
    head = [ir.var("x", symbol) for _ in segs[0]]
    if looped:
        return ir.res(symbol, rtype, head, loop=segs, batch=batch, deps=deps, props=props, path=path)
    return ir.res(symbol, rtype, segs[0], deps=deps, props=props, path=path)


@st.composite
def deployment(draw, ir):
    nodes = []
    symbols: list[str] = []
    for k in range(draw(st.integers(1, 6))):
        symbol = f"r{k}"
        if draw(st.integers(0, 5)) == 0:
            # a module (loop) of one or two resources, possibly a different hub per iteration
            # (one file: the same declarations in every iteration, only names differ)
            count = draw(st.integers(1, 3))
            two = draw(st.booleans())
            first = draw(resource(ir, f"m{k}a", [], path=f"mod{k}.bicep"))
            second = draw(resource(ir, f"m{k}b", [f"m{k}a"], path=f"mod{k}.bicep")) if two else None
            graphs = []
            for _ in range(count):
                inner = [_vary(draw, first)] + ([_vary(draw, second)] if second is not None else [])
                graphs.append(ir.graph(*inner, path=f"mod{k}.bicep"))
            deps = draw(st.lists(st.sampled_from(symbols), unique=True, max_size=2)) if symbols else []
            batch = draw(st.one_of(st.none(), st.just(1)))
            nodes.append(ir.mod(symbol, graphs if count > 1 else graphs[0], deps=deps,
                                batch=batch if count > 1 else None))
        else:
            nodes.append(draw(resource(ir, symbol, list(symbols))))
        symbols.append(symbol)
    seconds = {t: draw(st.integers(1, 120)) for t in (ir.BGP, ir.LINK, ir.SUBNET, ir.STORAGE, ir.PEERING)}
    return ir.graph(*nodes), ir.catalog(seconds)


def _vary(draw, node):
    """A copy of a declaration whose parent resource may differ (as module parameters make it)."""
    import copy

    n = copy.copy(node)
    pool = {"Microsoft.Network/virtualHubs/bgpConnections": HUBS,
            "Microsoft.Network/privateDnsZones/virtualNetworkLinks": ZONES,
            "Microsoft.Network/virtualNetworks/subnets": VNETS}.get(n.type)
    if pool is None:
        return n
    if n.instance_segments is not None:
        n.instance_segments = [[draw(st.sampled_from(pool)), s[1]] for s in n.instance_segments]
    else:
        n.name_segments = [draw(st.sampled_from(pool)), n.name_segments[1]]
    return n


def check_dependencies(plan, name):
    dag = plan.dags[name]
    s = plan.schedules[name]
    for v, preds in enumerate(dag.preds):
        for p in preds:
            assert s.start[v] >= s.end[p] - EPS, (name, v, p)
        assert abs(s.end[v] - s.start[v] - dag.dur[v]) < EPS


def overlapping(plan, name):
    s = plan.schedules[name]
    bad = []
    for d in plan.domains:
        ms = sorted(d.members, key=lambda m: s.start[m])
        for a, b in itertools.pairwise(ms):
            if s.start[b] < s.end[a] - EPS:
                bad.append((d.describe, plan.ops[a].id, plan.ops[b].id))
    return bad


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_optimal_is_safe_and_bounded(ir, data):
    graph, catalog = data.draw(deployment(ir))
    plan = plan_graph(graph, catalog)
    assert overlapping(plan, "optimal") == []
    check_dependencies(plan, "optimal")
    check_dependencies(plan, "as_written")
    lb = plan.lower_bound
    assert plan.makespan("optimal") >= lb.value - EPS
    assert lb.value >= lb.critical_path - EPS
    assert lb.critical_path == earliest(plan.dags["optimal"]).makespan
    for d in plan.domains:
        assert lb.value >= sum(plan.ops[m].duration for m in d.members) - EPS
    # what the changes produce is conflict-free and cannot beat the optimal schedule's bound
    assert overlapping(plan, "with_changes") == []
    assert plan.collisions["with_changes"] == []
    check_dependencies(plan, "with_changes")
    assert plan.makespan("with_changes") >= lb.value - EPS
    assert plan.makespan("optimal") <= plan.makespan("with_changes") + EPS
    # collisions reported as written are exactly the overlaps
    assert bool(plan.collisions["as_written"]) == bool(overlapping(plan, "as_written"))
    if not plan.collisions["all_serial"]:
        assert plan.makespan("optimal") <= plan.makespan("all_serial") + EPS
    # retiming the changed schedule onto the optimal DAG keeps it safe and never makes it longer
    again = retime(plan.dags["optimal"], plan.schedules["with_changes"].start)
    assert again.makespan <= plan.makespan("with_changes") + EPS
    plan.schedules["retimed"] = again
    plan.dags["retimed"] = plan.dags["optimal"]
    assert overlapping(plan, "retimed") == []
    check_dependencies(plan, "retimed")
    assert 0.0 <= plan.chance.value <= 1.0
    if not plan.domains:
        assert plan.chance.value == 0.0
