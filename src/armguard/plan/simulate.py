"""`armguard simulate`: deploy one template many times on the emulator, in virtual time.

    target = load_target("main.bicep")                      # simulate_load: files -> Target
    summary = simulate(target, runs=100, seed=0)
    summary.failed_runs, summary.failures, summary.makespan  # to_json(summary)

Each run is a fresh `ArmState` (a VirtualClock, the catalog's durations with seeded triangular
jitter) seeded with `run_seed(seed, i)`, so runs differ in durations and in the start order of
steps that become ready together, while the whole simulation is reproducible from `seed`. The
template is parsed once; every run deploys the same graph (Bicep) or request body (ARM JSON).

A run failed when its deployment did not end `Succeeded`. Its failures are the deployment
operations that failed, followed into nested deployments (modules) down to the resource writes
that were rejected, each named by its resource id with the innermost error code of its
`statusMessage` (`AnotherOperationInProgress` rather than the `Conflict` and `DeploymentFailed`
wrapped around it). A failure is counted once per run. The makespan of a run is its deployment's
duration (end - start, virtual seconds), whether it succeeded or not.

Nothing here reads or writes files (see `simulate_load` and `simulate_cli`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from armguard.catalog import Catalog
from armguard.emulator.errors import ArmError
from armguard.emulator.state import DEFAULT_SUBSCRIPTION, ArmState
from armguard.errors import ArmguardError, one_line
from armguard.guard.errors_codes import WAIT_CODES
from armguard.model import DeploymentGraph

DEFAULT_GROUP = "rg-simulate"
DEFAULT_LOCATION = "westeurope"
MAX_RUNS = 100_000
DEPLOYMENTS_TYPE = "Microsoft.Resources/deployments"
_DEPLOYMENTS_SEP = f"/providers/{DEPLOYMENTS_TYPE}/".lower()
# Codes that only wrap the real cause (the real one is in `details` or in the JSON `message`).
_WRAPPERS = frozenset({"DeploymentFailed", "Conflict", "BadRequest", "ResourceDeploymentFailure"})
_MAX_DEPTH = 64


@dataclass(frozen=True)
class Target:
    """A template ready to deploy: a Bicep graph (`graph`) or an ARM deployment request (`body`)."""

    path: str
    scope: str  # "resourceGroup" | "subscription"
    name: str  # the deployment's name
    group: str | None = DEFAULT_GROUP  # resource-group scope: the group created for each run
    location: str = DEFAULT_LOCATION
    graph: DeploymentGraph | None = None
    body: dict[str, Any] | None = None
    catalog: Catalog | None = None


@dataclass(frozen=True)
class RunResult:
    run: int
    seed: int
    state: str  # the deployment's provisioningState at the end
    makespan: float  # virtual seconds
    failures: tuple[tuple[str, str], ...]  # (resource, code), each once, in operation order
    operations: int  # deployment operations, nested deployments included

    @property
    def failed(self) -> bool:
        return self.state != "Succeeded"


@dataclass(frozen=True)
class FailureCount:
    resource: str
    code: str
    count: int  # runs in which the resource failed with the code


@dataclass
class Summary:
    path: str
    scope_id: str  # the deployment scope of every run (resource ids are shown relative to it)
    seed: int
    runs: int
    failed_runs: int
    failures: list[FailureCount]
    makespan: dict[str, float]  # min, median, max
    operations: int  # over all runs
    results: list[RunResult] = field(default_factory=list, repr=False)


# ---------------------------------------------------------------------------------------------
# Pure helpers


def run_seed(seed: int, run: int) -> int:
    """The emulator seed of run `run` of a simulation seeded `seed` (stable across processes)."""
    digest = hashlib.blake2b(f"armguard-simulate:{seed}:{run}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def median(values: Iterable[float]) -> float:
    xs = sorted(values)
    if not xs:
        raise ValueError("median of no values")
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def innermost_code(error: Any) -> str | None:
    """The most specific error code inside an ARM error: `{"error": ...}` wrappers, `details` and
    JSON-encoded `message`s are followed to the innermost codes; a conflict (wait) code among them
    wins, else the first. None when there is no code at all."""
    leaves = _leaf_codes(error, 0)
    if not leaves:
        return None
    for code in leaves:
        if code in WAIT_CODES:
            return code
    for code in leaves:
        if code not in _WRAPPERS:
            return code
    return leaves[0]


def _leaf_codes(e: Any, depth: int) -> list[str]:
    if depth > _MAX_DEPTH:
        return []
    if isinstance(e, str):
        text = e.strip()
        if not text.startswith("{"):
            return []
        try:
            return _leaf_codes(json.loads(text), depth + 1)
        except ValueError:
            return []
    if not isinstance(e, dict):
        return []
    inner = e.get("error")
    if isinstance(inner, dict | str):
        found = _leaf_codes(inner, depth + 1)
        if found:
            return found
    leaves: list[str] = []
    details = e.get("details")
    if isinstance(details, list):
        for d in details:
            leaves.extend(_leaf_codes(d, depth + 1))
    message = e.get("message")
    if isinstance(message, str):
        leaves.extend(_leaf_codes(message, depth + 1))
    if leaves:
        return leaves
    code = e.get("code")
    return [code] if isinstance(code, str) and code else []


def parse_duration(text: str) -> float:
    """Seconds of an ISO 8601 duration as deployments report it ('PT1H2M3.5S', 'P1DT2S')."""
    m = re.fullmatch(r"P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?",
                     text.strip())
    if m is None:
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    d, h, mi, s = (float(x) if x else 0.0 for x in m.groups())
    return d * 86400 + h * 3600 + mi * 60 + s


def natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def summarize(results: list[RunResult], *, path: str = "", scope_id: str = "", seed: int = 0) -> Summary:
    """Counts per (resource, code), failed runs and the makespan distribution of a list of runs."""
    if not results:
        raise ValueError("no runs to summarize")
    counts: dict[tuple[str, str], int] = {}
    for r in results:
        for key in dict.fromkeys(r.failures):
            counts[key] = counts.get(key, 0) + 1
    failures = [FailureCount(res, code, n) for (res, code), n in counts.items()]
    failures.sort(key=lambda f: (natural_key(f.resource), f.code))
    spans = [r.makespan for r in results]
    makespan = {"min": min(spans), "median": median(spans), "max": max(spans)}
    return Summary(path, scope_id, seed, len(results), sum(1 for r in results if r.failed), failures, makespan,
                   sum(r.operations for r in results), results)


def to_json(summary: Summary) -> dict[str, Any]:
    return {
        "runs": summary.runs,
        "failed_runs": summary.failed_runs,
        "failures": [{"resource": f.resource, "code": f.code, "count": f.count} for f in summary.failures],
        "makespan": {k: round(v, 3) for k, v in summary.makespan.items()},
    }


def compare_json(before: Summary, after: Summary) -> dict[str, Any]:
    return {"before": to_json(before), "after": to_json(after)}


# ---------------------------------------------------------------------------------------------
# Running


def scope_id(target: Target, subscription: str) -> str:
    if target.scope == "subscription":
        return f"/subscriptions/{subscription}"
    return f"/subscriptions/{subscription}/resourceGroups/{target.group or DEFAULT_GROUP}"


def run_once(target: Target, seed: int, run: int = 0) -> RunResult:
    """Deploy `target` once on a fresh emulator seeded `seed` and run virtual time until idle.

    A deployment the emulator rejects outright (an invalid template, a missing parameter) raises
    ArmguardError: every run would be rejected the same way."""
    state = ArmState(catalog=target.catalog, seed=seed)
    sub = state.default_subscription
    scope = scope_id(target, sub)
    try:
        if target.scope != "subscription":
            state.put_resource_group(sub, target.group or DEFAULT_GROUP, {"location": target.location})
        if target.graph is not None:
            location = target.location if target.scope == "subscription" else None
            state.deploy_graph(scope, target.name, target.graph, location=location)
        elif target.body is not None:
            body = target.body
            if target.scope == "subscription" and "location" not in body:
                body = {**body, "location": target.location}
            state.put_deployment(scope, target.name, body)
        else:
            raise ArmguardError("nothing to deploy", path=target.path)
    except ArmError as e:
        raise ArmguardError(f"the emulator rejected the deployment: {e.code}: {one_line(e.message)}",
                            path=target.path) from None
    state.run_until_idle()
    view = state.get_deployment(scope, target.name)
    props = view["properties"]
    dep_state = str(props.get("provisioningState"))
    failures: list[tuple[str, str]] = []
    seen: set[str] = set()
    try:
        operations = _walk(state, scope, target.name, failures, seen, 0)
    except ArmguardError as e:
        raise ArmguardError(e.message, path=target.path) from None
    if dep_state != "Succeeded" and not failures:
        code = innermost_code(props.get("error")) or dep_state
        failures.append((view["id"], code))
    makespan = parse_duration(props["duration"]) if props.get("duration") else 0.0
    return RunResult(run, seed, dep_state, makespan, tuple(dict.fromkeys(failures)), operations)


def _walk(state: ArmState, scope: str, name: str, out: list[tuple[str, str]], seen: set[str], depth: int) -> int:
    """Failed operations of a deployment and of the nested deployments it started; returns the
    number of operations seen."""
    key = f"{scope}/providers/{DEPLOYMENTS_TYPE}/{name}".lower()
    if key in seen or depth > _MAX_DEPTH:
        return 0
    seen.add(key)
    try:
        ops = state.list_deployment_operations(scope, name)
    except ArmError:
        return 0
    count = len(ops)
    for op in ops:
        props = op.get("properties") or {}
        target = props.get("targetResource") or {}
        rid = str(target.get("id") or "")
        failed = props.get("provisioningState") == "Failed"
        message = props.get("statusMessage")
        child = _child_deployment(rid, target.get("resourceType"))
        if child is not None and (not failed or _ran_and_failed(message)):
            before = len(out)
            count += _walk(state, child[0], child[1], out, seen, depth + 1)
            if len(out) > before or not failed:
                continue
        if failed:
            resource = rid or f"{name}/{target.get('resourceType') or 'unknown'}"
            code = innermost_code(message) or str(props.get("statusCode") or "Failed")
            if code == "InvalidTemplate":  # the template, not the run: every run would fail the same way
                raise ArmguardError(f"the emulator could not deploy {target.get('resourceName') or resource}: "
                                    f"{one_line(_error_message(message))}")
            out.append((resource, code))
    return count


def _error_message(message: Any) -> str:
    error = message.get("error") if isinstance(message, dict) else None
    return str(error.get("message")) if isinstance(error, dict) else str(message)


def _child_deployment(rid: str, rtype: Any) -> tuple[str, str] | None:
    if not rid or not isinstance(rtype, str) or rtype.lower() != DEPLOYMENTS_TYPE.lower():
        return None
    at = rid.lower().rfind(_DEPLOYMENTS_SEP)
    if at < 0:
        return None
    return rid[:at], rid[at + len(_DEPLOYMENTS_SEP):]


def _ran_and_failed(message: Any) -> bool:
    """A module operation whose child deployment ran and failed (rather than being rejected, e.g.
    DeploymentActive on a name another iteration holds: its operations are not this one's)."""
    if not isinstance(message, dict):
        return False
    error = message.get("error")
    return isinstance(error, dict) and error.get("code") == "DeploymentFailed"


def simulate(target: Target, runs: int = 100, seed: int = 0,
             on_run: Callable[[RunResult], None] | None = None) -> Summary:
    """`runs` independent deployments of `target`, run i seeded `run_seed(seed, i)`."""
    if not 1 <= runs <= MAX_RUNS:
        raise ArmguardError(f"runs must be between 1 and {MAX_RUNS:,}, not {runs}")
    results = []
    for i in range(runs):
        r = run_once(target, run_seed(seed, i), i)
        results.append(r)
        if on_run is not None:
            on_run(r)
    return summarize(results, path=target.path, scope_id=scope_id(target, DEFAULT_SUBSCRIPTION), seed=seed)
