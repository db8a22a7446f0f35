"""Saving and loading the whole state as JSON (`ArmState.to_json` / `ArmState.from_json`).

Everything is kept: subscriptions, groups, resources, management locks, operations (in-flight ones
with their absolute virtual end times), the event queue, deployments with their step states, the
activity log, faults, generator states and the clock's time and epoch. On load the clock is moved
forward to the saved time (`resume`), so in-flight operations end when they would have; time spent
stopped does not count.

Deployments started with `put_deployment` (template in the body) are rebuilt from their body and
carry on. Child deployments are rebuilt by materializing their parent's step again (reference()
values are read from the state as it is then). Deployments started with `deploy_graph` cannot be
rebuilt (the graph is not JSON): if they were still running they end Canceled on load.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from typing import Any

from armguard.catalog import Catalog
from armguard.emulator.activity import ActivityLog
from armguard.emulator.clock import VirtualClock
from armguard.emulator.engine import Executor, Step, shuffler
from armguard.emulator.faults import Fault
from armguard.emulator.ids import parse
from armguard.emulator.operations import IN_PROGRESS, Operation
from armguard.emulator.resources import Resource, ResourceGroup, Subscription
from armguard.emulator.scope_locks import ManagementLock

FORMAT = "armguard-emulator-state"
VERSION = 1


def _rng_state(rng: Any) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _set_rng(rng: Any, data: list[Any]) -> None:
    rng.setstate((data[0], tuple(data[1]), data[2]))


def dump(state: Any) -> dict[str, Any]:
    deployments = []
    for dep in state.deployments.values():
        deployments.append({
            "scope": dep.scope, "name": dep.name, "run": dep.run, "location": dep.location, "mode": dep.mode,
            "body": dep.body, "parameters": dep.parameters, "state": dep.state, "started": dep.started,
            "ended": dep.ended, "caller": dep.caller, "correlation_id": dep.correlation_id, "error": dep.error,
            "outputs": dep.outputs, "op": dep.op.id if dep.op is not None else None, "parent": dep.parent,
            "parent_step": dep.parent_step, "template_hash": dep.template_hash, "language": dep.language,
            "steps": [s.to_json() for s in dep.executor.steps] if dep.executor is not None else None,
            "canceled": dep.executor.canceled if dep.executor is not None else False,
        })
    return {
        "format": FORMAT,
        "version": VERSION,
        "now": state.clock.now(),
        "epoch": state.clock.epoch.isoformat(),
        "seed": state.seed,
        "unknown_as": state.unknown_as,
        "base_url": state.base_url,
        "default_subscription": state.default_subscription,
        "seq": state._seq,
        "guids": state._guid_count,
        "runs": state._runs,
        "rng": {"durations": _rng_state(state._rng), "faults": _rng_state(state._fault_rng),
                "ids": _rng_state(state._id_rng), "order": _rng_state(state._order_rng)},
        "subscriptions": [s.to_json() for s in state.subscriptions.values()],
        "groups": [g.to_json() for g in state.groups.values()],
        "resources": [r.to_json() for r in state.resources.values()],
        "locks": [lk.to_json() for lk in state.scope_locks.locks.values()],
        "operations": [op.to_json() for op in state.operations.values()],
        "events": [[t, seq, kind, ref.id if kind == "op" else ref] for t, seq, kind, ref in state._events],
        "deployments": deployments,
        "activity": state.activity.to_json(),
        "faults": [f.to_json() for f in state.faults.faults],
        "registrations": state.registrations,
    }


def load(cls: Any, data: dict[str, Any], clock: Any, catalog: Catalog | None) -> Any:
    if data.get("format") != FORMAT:
        raise ValueError("not an armguard emulator state")
    if data.get("version") != VERSION:
        raise ValueError(f"unsupported emulator state version {data.get('version')!r}")
    epoch = dt.datetime.fromisoformat(data["epoch"])
    if clock is None:
        clock = VirtualClock(data["now"], epoch=epoch)
    else:
        clock.epoch = epoch
        clock.resume(data["now"])
    state = cls(catalog=catalog, clock=clock, seed=data["seed"], unknown_as=data.get("unknown_as", "safe"))
    state.base_url = data.get("base_url", state.base_url)
    state.default_subscription = data.get("default_subscription", state.default_subscription)
    _set_rng(state._rng, data["rng"]["durations"])
    _set_rng(state._fault_rng, data["rng"]["faults"])
    _set_rng(state._id_rng, data["rng"]["ids"])
    _set_rng(state._order_rng, data["rng"]["order"])
    for s in data["subscriptions"]:
        state.subscriptions[s["id"].lower()] = Subscription(s["id"], s.get("display_name"), s.get("tenant_id"))
    for op_data in data["operations"]:
        op = Operation.from_json(op_data)
        op._state = state
        state.operations[op.id] = op
        if op.status == IN_PROGRESS and op.holds():
            state.locks.acquire(op)
    for g in data["groups"]:
        group = ResourceGroup(g["subscription"], g["name"], g["location"], g.get("tags"), g.get("managed_by"))
        group.state = g["state"]
        group.delete_op = state.operations.get(g["delete_op"]) if g.get("delete_op") else None
        state.groups[group.key] = group
        state.by_group.setdefault(group.key, {})
    for r in data["resources"]:
        rid = parse(r["id"])
        res = Resource(r["id"], rid.key, r["type"], r["body"], r["state"], r["created"], rid.group_key,
                       r.get("api_version"))
        res.changed = r["changed"]
        res.op = state.operations.get(r["op"]) if r.get("op") else None
        state._add_resource(res, rid)
    for lk in data["locks"]:
        lock = ManagementLock(lk["scope"], lk["name"], lk["level"], lk.get("notes"), lk.get("owners"))
        state.scope_locks.locks[lock.key] = lock
    state._events = [(t, seq, kind, state.operations[ref] if kind == "op" else ref)
                     for t, seq, kind, ref in data["events"]]
    state._seq = data["seq"]
    state._restore_guids(data["guids"])
    state._runs = data["runs"]
    state.activity = ActivityLog.from_json(data["activity"], state.seed, state.operations)
    for f in data["faults"]:
        state.faults.add(Fault.from_json(f))
    state.registrations = {k: (v[0], v[1]) for k, v in (data.get("registrations") or {}).items()}
    _load_deployments(state, data["deployments"])
    return state


def _load_deployments(state: Any, items: list[dict[str, Any]]) -> None:
    from armguard.emulator.deployments import ACTIVE, Deployment

    records = []
    for d in items:
        dep = Deployment(d["scope"], d["name"], d["run"], d["started"], d["caller"], d["correlation_id"])
        for name in ("location", "mode", "body", "parameters", "state", "ended", "error", "outputs", "parent",
                     "parent_step", "template_hash", "language"):
            setattr(dep, name, d.get(name))
        dep.op = state.operations.get(d["op"]) if d.get("op") else None
        dep.launch = functools.partial(state._launch_step, dep)
        state.deployments[dep.key] = dep
        records.append((dep, d))
    # Parents first: a child's level comes from its parent's step.
    pending = list(records)
    for _ in range(len(pending) + 1):
        if not pending:
            break
        later = []
        for dep, d in pending:
            if d.get("steps") is None:
                continue
            if dep.parent is not None:
                parent = state._by_ref(dep.parent)
                if parent is not None and parent.executor is None and any(p is parent for p, _ in pending):
                    later.append((dep, d))
                    continue
            _rebuild(state, dep, d, ACTIVE)
        if len(later) == len(pending):
            for dep, d in later:
                _rebuild(state, dep, d, ACTIVE)
            break
        pending = later


def _rebuild(state: Any, dep: Any, d: dict[str, Any], active: frozenset[str]) -> None:
    level = None
    try:
        if dep.parent is None and dep.body is not None:
            level, _, _ = state._level_from_body(dep.scope, dep.subscription, dep.group, dep.name, dep.body)
        elif dep.parent is not None:
            parent = state._by_ref(dep.parent)
            if parent is not None and parent.level is not None and dep.parent_step is not None:
                step = parent.executor.steps[dep.parent_step] if parent.executor else None
                target = parent.level.materialize(step, state) if step is not None else None
                level = target.level() if target is not None and target.level is not None else None
    except Exception:  # a template that no longer evaluates: keep the record, stop the run
        level = None
    saved = d["steps"] or []
    if level is None:
        if dep.state in active:
            dep.state = "Canceled"
            dep.ended = dep.ended if dep.ended is not None else state.clock.now()
            if dep.op is not None and dep.op.status == IN_PROGRESS:
                dep.op.status = "Canceled"
                dep.op.finished = dep.ended
        return
    steps = level.plan()
    for _ in saved[len(steps):]:  # complete mode's deletes, added after planning
        steps.append(Step(len(steps), "(complete mode)", "delete", None, None))
    for step, data in zip(steps, saved, strict=False):
        step.restore(data, state.operations)
    for i, step in enumerate(steps):
        step.operation_id = hashlib.blake2b(f"{dep.ref}:{i}".encode(), digest_size=8).hexdigest().upper()
    executor = Executor(steps, shuffler(state._order_rng))
    executor.canceled = d.get("canceled", False)
    executor.recount()
    dep.level = level
    dep.executor = executor
