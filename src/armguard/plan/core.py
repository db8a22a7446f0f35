"""`plan_graph` / `plan_file`: schedules, makespans, collisions and changes for one deployment."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from armguard.catalog import Catalog, load_catalog
from armguard.errors import ArmguardError
from armguard.model import DeploymentGraph
from armguard.plan.dag import Dag, Overrides, build_dag
from armguard.plan.expand import DEFAULT_SECONDS, Expansion, expand
from armguard.plan.schedule import (
    EPS,
    Chance,
    LowerBound,
    Schedule,
    earliest,
    failure_chance,
    lower_bound,
    optimal,
    overlaps,
    retime,
)
from armguard.plan.serialfix import all_serial_overrides


@dataclass
class Options:
    default_seconds: float = DEFAULT_SECONDS  # duration of a write the catalog has no figure for
    assume_count: int | None = None  # iterations of a loop whose count is not known
    overhead: float = 0.0  # seconds a nested deployment adds of its own
    jitter: float = 0.3  # Monte Carlo: durations uniform in typical x [1 - jitter, 1 + jitter]
    seed: int = 0
    samples: int = 1000
    changes: bool = True  # compute template changes (and their schedule)
    improve: bool = True  # forward-backward improvement of the optimal schedule


@dataclass
class Collision:
    domain: int
    members: list[int]
    start: float
    end: float


@dataclass
class Plan:
    graph: DeploymentGraph
    expansion: Expansion
    options: Options
    dags: dict[str, Dag]
    schedules: dict[str, Schedule]
    lower_bound: LowerBound
    chance: Chance
    collisions: dict[str, list[Collision]]  # per schedule
    all_serial_fixes: list[str]
    changes: list[Any] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ops(self) -> list[Any]:
        return self.expansion.ops

    @property
    def domains(self) -> list[Any]:
        return self.expansion.domains

    def makespan(self, name: str) -> float:
        s = self.schedules.get(name)
        return s.makespan if s is not None else 0.0

    def members(self) -> list[list[int]]:
        return [d.members for d in self.expansion.domains]


def _collisions(sched: Schedule, members: list[list[int]]) -> list[Collision]:
    return [Collision(d, ms, a, b) for d, ms, a, b in overlaps(sched, members)]


def plan_graph(graph: DeploymentGraph, catalog: Catalog | None = None, options: Options | None = None) -> Plan:
    """Plan the deployment of `graph` (see the package docstring for what each schedule means).

    The cyclic garbage collector is paused while planning (it would rescan the growing, acyclic
    working set over and over on large estates) and restored afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _plan(graph, catalog, options)
    finally:
        if enabled:
            gc.enable()


def _plan(graph: DeploymentGraph, catalog: Catalog | None, options: Options | None) -> Plan:
    opts = options or Options()
    catalog = catalog if catalog is not None else load_catalog()
    clock = time.perf_counter
    t0 = clock()
    ex = expand(graph, catalog, default_seconds=opts.default_seconds, assume_count=opts.assume_count)
    members = [d.members for d in ex.domains]
    nd = len(ex.domains)
    t1 = clock()
    written_dag = build_dag(ex, Overrides(), overhead=opts.overhead)
    written = earliest(written_dag)
    t2 = clock()
    serial_ov, serial_fixes = all_serial_overrides(ex, catalog)
    serial_dag = build_dag(ex, serial_ov, overhead=opts.overhead)
    serial = earliest(serial_dag)
    t3 = clock()
    opt_dag = build_dag(ex, Overrides(ignore_batches=True), overhead=opts.overhead)
    lb = lower_bound(opt_dag, members)
    best = optimal(opt_dag, nd, improve=opts.improve, target=lb.value, seed=opts.seed)
    t4 = clock()
    chance = failure_chance(written_dag, members, jitter=opts.jitter, seed=opts.seed, max_samples=opts.samples)
    t5 = clock()
    dags = {"as_written": written_dag, "all_serial": serial_dag, "optimal": opt_dag}
    schedules = {"as_written": written, "all_serial": serial, "optimal": best}
    plan = Plan(graph, ex, opts, dags, schedules, lb, chance,
                {k: _collisions(s, members) for k, s in schedules.items()}, serial_fixes)
    plan.timings = {"expand": t1 - t0, "as_written": t2 - t1, "all_serial": t3 - t2, "optimal": t4 - t3,
                    "failure_chance": t5 - t4}
    if opts.changes:
        from armguard.plan.changes import plan_changes

        t6 = clock()
        plan.changes, ov = plan_changes(plan, catalog)
        dag = build_dag(ex, ov, overhead=opts.overhead)
        plan.dags["with_changes"] = dag
        plan.schedules["with_changes"] = earliest(dag)
        plan.collisions["with_changes"] = _collisions(plan.schedules["with_changes"], members)
        plan.timings["changes"] = clock() - t6
    _keep_best(plan, members)
    plan.assumptions = _assumptions(plan)
    return plan


def _keep_best(plan: Plan, members: list[list[int]]) -> None:
    """Replace the optimal schedule by a retimed conflict-free alternative when that is shorter."""
    best = plan.schedules["optimal"]
    for name in ("with_changes", "all_serial"):
        other = plan.schedules.get(name)
        if other is None or plan.collisions[name] or other.makespan >= best.makespan - EPS:
            continue
        candidate = retime(plan.dags["optimal"], other.start)
        if candidate.makespan < best.makespan - EPS and not overlaps(candidate, members):
            best = candidate
    if best is not plan.schedules["optimal"]:
        plan.schedules["optimal"] = best
        plan.collisions["optimal"] = []


def _assumptions(plan: Plan) -> list[str]:
    o = plan.options
    out = list(plan.expansion.assumptions)
    out.append("existing resources and resources whose condition is false take no time; a nested deployment "
               f"(module) adds {o.overhead:g} s of its own and ends when its contents end")
    out.append("serial copy loops without a batch size run one iteration at a time")
    c = plan.chance
    if c.certain is not None:
        out.append("failure_chance: 1, because two writes of one lock domain have the same dependencies and "
                   "so always start together; otherwise it is estimated by Monte Carlo (durations uniform within "
                   f"±{c.jitter * 100:g} % of typical, seeded)")
    elif c.samples:
        out.append(f"failure_chance: share of {c.samples} Monte Carlo runs (durations uniform within "
                   f"±{c.jitter * 100:g} % of typical, seed {c.seed}) in which two writes of one lock domain "
                   "overlap")
    out.append("lower_bound: the longest of the critical path and, for every lock domain and every set of its "
               "writes, the earliest any of them can start + their total work + the shortest chain that must "
               "follow them (at least the busiest domain's total work)")
    return out


def load_catalog_for(path: str) -> Catalog:
    from armguard.lint.config import find_config

    config = find_config(Path(path))
    try:
        return load_catalog(config.catalog)
    except ArmguardError as e:
        raise ArmguardError(f"catalog in config: {e.message}", path=config.path) from None


def plan_file(path: str, params: str | None = None, options: Options | None = None) -> Plan:
    """Load a Bicep, .bicepparam or ARM JSON template and plan it."""
    from armguard.cli import load_any

    graph = load_any(path, params)
    errors = [e for e in graph.errors if e.severity == "error"]
    if errors:
        e = errors[0]
        raise ArmguardError(e.message, path=e.path, line=e.line, column=e.column)
    return plan_graph(graph, load_catalog_for(path), options)
