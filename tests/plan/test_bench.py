"""The benchmark's generated estates (bench/schedule.py), at sizes that keep the suite quick."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

from armguard.plan import plan_graph

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_schedule", ROOT / "bench" / "schedule.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("size", "seed"), [(10, 1), (100, 2), (1000, 3), (3000, 1)])
def test_generated_estates(bench, size, seed):
    graph = bench.estate(size, seed)
    t = time.perf_counter()
    plan = plan_graph(graph, bench.bench_catalog())
    elapsed = time.perf_counter() - t
    assert len(plan.ops) >= size
    assert plan.makespan("optimal") <= 1.05 * plan.lower_bound.value
    assert plan.makespan("optimal") >= plan.lower_bound.value - 1e-6
    assert plan.collisions["as_written"] and plan.collisions["optimal"] == []
    assert plan.collisions["with_changes"] == []
    assert plan.makespan("with_changes") <= plan.makespan("all_serial") or plan.collisions["all_serial"]
    assert elapsed < 10 * max(1, size / 1000)  # generous: the 5 s bar at 10,000 is the benchmark's


def test_estates_are_reproducible(bench):
    a, b = bench.estate(500, 7), bench.estate(500, 7)
    assert [(n.symbol, n.type, n.instance_segments) for n in a.nodes] == [
        (n.symbol, n.type, n.instance_segments) for n in b.nodes]
