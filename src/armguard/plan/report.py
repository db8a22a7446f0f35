"""The plan as JSON and as text."""

from __future__ import annotations

from typing import Any

from armguard.plan.changes import combined_patch, display_path
from armguard.plan.core import Collision, Plan

SCHEDULES = ("as_written", "all_serial", "optimal", "with_changes")
TITLES = {
    "as_written": "as written",
    "all_serial": "all serial",
    "optimal": "optimal",
    "lower_bound": "lower bound",
    "with_changes": "with changes",
}


def _num(x: float) -> float | int:
    r = round(x, 3)
    return int(r) if r == int(r) else r


def op_rows(plan: Plan, name: str) -> list[dict[str, Any]]:
    sched = plan.schedules[name]
    rows = []
    for i, op in enumerate(plan.ops):
        doms = [plan.domains[d].describe for d in op.domains]
        rows.append({
            "id": op.id,
            "symbol": op.symbol,
            "type": op.type,
            "name": op.name,
            "start": _num(sched.start[i]),
            "end": _num(sched.end[i]),
            "domain": doms[0] if doms else None,
            "domains": doms,
            "assumed_duration": op.assumed,
        })
    rows.sort(key=lambda r: (r["start"], r["end"], r["id"]))
    return rows


def collision_rows(plan: Plan, found: list[Collision]) -> list[dict[str, Any]]:
    return [{"domain": plan.domains[c.domain].describe, "members": [plan.ops[m].id for m in c.members],
             "start": _num(c.start), "end": _num(c.end)} for c in found]


def waves(plan: Plan, name: str = "as_written") -> list[dict[str, Any]]:
    """Operations grouped by the moment they start."""
    sched = plan.schedules[name]
    by_start: dict[float, list[int]] = {}
    for i in range(len(plan.ops)):
        by_start.setdefault(round(sched.start[i], 6), []).append(i)
    out = []
    for k, t in enumerate(sorted(by_start), start=1):
        ids = sorted(by_start[t], key=lambda i: plan.ops[i].id)
        out.append({"wave": k, "start": _num(t), "end": _num(max(sched.end[i] for i in ids)),
                    "ops": [plan.ops[i].id for i in ids]})
    return out


def to_json(plan: Plan) -> dict[str, Any]:
    lb = plan.lower_bound
    makespan = {k: _num(plan.makespan(k)) for k in SCHEDULES if k in plan.schedules}
    makespan["lower_bound"] = _num(lb.value)
    return {
        "file": display_path(plan.graph.path),
        "operations": len(plan.ops),
        "makespan": {k: makespan[k] for k in ("as_written", "all_serial", "optimal", "lower_bound", "with_changes")
                     if k in makespan},
        "failure_chance": round(plan.chance.value, 4),
        "monte_carlo": {"samples": plan.chance.samples, "jitter": plan.chance.jitter, "seed": plan.chance.seed,
                        "distribution": "uniform",
                        "certain": None if plan.chance.certain is None else
                        [plan.ops[i].id for i in plan.chance.certain]},
        "lower_bound": {
            "value": _num(lb.value),
            "critical_path": _num(lb.critical_path),
            "domain": plan.domains[lb.domain].describe if lb.domain is not None else None,
            "domain_work": _num(lb.domain_work),
            "critical_path_or_busiest_domain": _num(lb.simple),
        },
        "collisions": collision_rows(plan, plan.collisions["as_written"]),
        "residual_collisions": {k: collision_rows(plan, v) for k, v in plan.collisions.items() if k != "as_written"},
        "schedule": {k: op_rows(plan, k) for k in SCHEDULES if k in plan.schedules},
        "waves": waves(plan),
        "changes": [c.to_json() for c in plan.changes],
        "patch": combined_patch(plan.changes),
        "all_serial_fixes": plan.all_serial_fixes,
        "assumptions": plan.assumptions,
    }


def duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m{sec:02d}s"
    return f"{m}m{sec:02d}s"


def _ids(ids: list[str], limit: int = 8) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f", ... ({len(ids)} in all)" if len(ids) > limit else "")


def to_text(plan: Plan) -> str:
    data = to_json(plan)
    out: list[str] = []
    shared = len(plan.domains)
    out.append(f"Plan for {data['file']}: {len(plan.ops)} operations, {shared} lock domain"
               f"{'' if shared == 1 else 's'} written by more than one")
    out.append("")
    keys = [k for k in ("as_written", "all_serial", "optimal", "lower_bound", "with_changes") if k in data["makespan"]]
    out.append("  ".join(f"{TITLES[k]:>13}" for k in keys))
    out.append("  ".join(f"{duration(data['makespan'][k]):>13}" for k in keys))
    out.append("  ".join(f"{str(data['makespan'][k]) + ' s':>13}" for k in keys))
    mc = data["monte_carlo"]
    out.append("")
    if mc["certain"]:
        a, b = mc["certain"]
        out.append(f"Chance the deployment as written fails with AnotherOperationInProgress: 100 % "
                   f"({a} and {b} always start together)")
    elif mc["samples"]:
        out.append(f"Chance the deployment as written fails with AnotherOperationInProgress: "
                   f"{data['failure_chance'] * 100:.0f} % ({mc['samples']} runs, durations ±{mc['jitter'] * 100:g} %)")
    else:
        out.append("Chance the deployment as written fails with AnotherOperationInProgress: 0 % "
                   "(no two writes share a lock domain)")
    lb = data["lower_bound"]
    if lb["domain"]:
        out.append(f"Lower bound from {lb['domain']} ({duration(lb['domain_work'])} of work); "
                   f"critical path {duration(lb['critical_path'])}")
    out.append("")
    coll = data["collisions"]
    if coll:
        out.append(f"Collisions as written ({len(coll)}):")
        for c in coll:
            out.append(f"  {c['domain']}: {_ids(c['members'])} in flight together at "
                       f"{duration(c['start'])}-{duration(c['end'])}")
    else:
        out.append("No collisions as written.")
    for k, rows in data["residual_collisions"].items():
        if rows:
            out.append(f"{TITLES[k].capitalize()} still collides ({len(rows)}):")
            for c in rows:
                out.append(f"  {c['domain']}: {_ids(c['members'])}")
    out.append("")
    out.append("Waves as written (operations that start together):")
    for w in data["waves"][:30]:
        out.append(f"  {w['wave']:>3}  {duration(w['start']):>9}  {_ids(w['ops'], 6)}")
    if len(data["waves"]) > 30:
        out.append(f"  ... {len(data['waves']) - 30} more waves")
    out.append("")
    if plan.changes:
        out.append(f"Changes for a conflict-free deployment ({len(plan.changes)}):")
        for i, c in enumerate(plan.changes, start=1):
            out.append(f"  {i}. {display_path(c.file)}:{c.line}: {c.description}")
            body = c.diff or c.sketch
            if body:
                out.extend("       " + line for line in body.rstrip("\n").splitlines())
    else:
        out.append("No changes needed.")
    out.append("")
    out.append("Assumptions:")
    out.extend(f"  - {a}" for a in data["assumptions"])
    return "\n".join(out)
