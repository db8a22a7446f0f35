"""The verdict: `decide(facts, catalog, now)` -> `Diagnosis`. Pure: reads `Facts`, does no I/O.

Verdicts, first match wins:

1. locked: a management lock, not an operation, blocks the write (a ReadOnly lock at or above the
   target; any lock for a delete; or the error says ScopeLocked). Waiting will not help.
2. stuck: the write holding the target has run longer than the catalog's `max_seconds` for its type
   (`DEFAULT_MAX_SECONDS` when the catalog has no maximum).
3. collision: by design, not bad luck: a loop of this template wrote into one lock domain in parallel
   (a failed write's holder belongs to the same deployment run: same correlation id), two deployments
   wrote into one lock domain at once, or a deployment of the same name is still running
   (DeploymentActive).
4. wait: a write related to the target (the same resource, its parent or child, or a shared lock
   domain) is in flight: the blocker, when it should end, and the `armguard wait` command.
5. clear: nothing related is in flight now: safe to retry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from armguard.catalog import Catalog
from armguard.guard.errors_codes import WAIT, classify

from . import steps
from .evidence import Evidence, describe
from .facts import Deployment, Facts, Lock, Operation, is_terminal, key
from .inflight import all_operations, in_flight, is_deployment_op
from .relate import (
    RESOURCE_GROUP_TYPE,
    SUBSCRIPTION_TYPE,
    entry_for,
    is_ancestor,
    parent_of,
    relation,
    shared_domain,
    type_of,
)
from .texts import duration, name_of, short_id, when

VERDICTS = ("clear", "wait", "stuck", "locked", "collision")
EXIT_CODES = {"clear": 0, "wait": 10, "stuck": 11, "locked": 12, "collision": 13}
DEFAULT_MAX_SECONDS = 7200.0
"""When the catalog has no maximum for a type: Resource Manager's own timeout moves a hung operation to
Failed after 1-2 hours, and Terraform's longest default timeouts are 90-120 minutes."""
CLOCK_SLACK = dt.timedelta(seconds=2)
STATUS_URI_RELATION = "named by the error's status URI"
_RELATION_RANK = ("the same deployment name",
                  "the same resource", "its parent", "its ancestor", "its child", "the same lock domain",
                  "a resource it references", "in the scope")


@dataclass(frozen=True)
class Blocker:
    """What holds the target. The first eight fields are the JSON `blocker` object."""

    id: str | None
    operation: str | None
    state: str | None
    started: dt.datetime | None
    caller: str | None
    running_seconds: float | None
    typical_seconds: float | None
    max_seconds: float | None
    kind: str = "operation"
    """'operation', 'deployment', 'lock', 'status URI' (known only by its status URI) or
    'provisioning state' (a busy resource whose operation was not found)."""
    deployment: str | None = None
    correlation_id: str | None = None
    relation: str | None = None
    max_assumed: bool = False
    """True when `max_seconds` is `DEFAULT_MAX_SECONDS`, not the catalog's."""
    running_at_least: float | None = None
    """For a busy resource whose start is older than the activity-log window."""
    resource_type: str | None = None
    named_by_status: bool = False
    """The operation the error's status URI names."""

    @property
    def limit(self) -> float:
        return self.max_seconds if self.max_seconds is not None else DEFAULT_MAX_SECONDS

    @property
    def is_stuck(self) -> bool:
        running = self.running_seconds if self.running_seconds is not None else self.running_at_least
        return self.kind not in ("lock", "deployment") and running is not None and running > self.limit

    def estimated_end(self) -> tuple[dt.datetime | None, str]:
        """When it should end and on what basis: the typical duration, else the maximum."""
        if self.started is None:
            return None, "its start is unknown"
        typical = self.typical_seconds
        if typical is not None and (self.running_seconds or 0) < typical:
            return (self.started + dt.timedelta(seconds=typical),
                    f"the catalog's typical duration for {self.resource_type}: {duration(typical)}")
        if self.max_seconds is not None:
            past = "past its typical duration" if typical is not None else "no typical duration known"
            return (self.started + dt.timedelta(seconds=self.max_seconds),
                    f"at the latest: the catalog's maximum for {self.resource_type} is "
                    f"{duration(self.max_seconds)}; {past}")
        return None, f"the catalog has no duration for {self.resource_type}"

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "operation": self.operation, "state": self.state,
                "started": _iso(self.started), "caller": self.caller,
                "running_seconds": None if self.running_seconds is None else round(self.running_seconds, 1),
                "typical_seconds": self.typical_seconds, "max_seconds": self.max_seconds}


@dataclass(frozen=True)
class Diagnosis:
    verdict: str
    summary: str
    blocker: Blocker | None
    evidence: tuple[Evidence, ...]
    next: tuple[str, ...]
    """Commands to run, in order."""
    advice: tuple[str, ...] = ()
    """What to do that is not a command."""
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    estimated_end: dt.datetime | None = None
    others: tuple[Blocker, ...] = ()
    """Further writes in flight that also hold the target."""
    scope: str | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]


def decide(facts: Facts, catalog: Catalog, now: dt.datetime | None = None, *,
           extra_flags: Sequence[str] = ()) -> Diagnosis:
    """The verdict for `facts`. `now` defaults to the server's time; `extra_flags` are appended to the
    armguard commands recommended (the --arm-endpoint / --subscription the user passed)."""
    now = now or facts.server_now or dt.datetime.now(dt.UTC)
    ctx = _Context(facts, catalog, now, tuple(extra_flags))
    evidence = describe(facts, now)
    locks = ctx.blocking_locks()
    if locks:
        return ctx.locked(locks, evidence)
    blockers = ctx.related_blockers()
    stuck = ctx.stuck(blockers)
    if stuck is not None:
        return ctx.stuck_diagnosis(stuck, blockers, evidence)
    collision = ctx.collision(blockers)
    if collision is not None:
        return ctx.collision_diagnosis(collision, blockers, evidence)
    if blockers:
        return ctx.wait(blockers, evidence)
    return ctx.clear(evidence)


def is_conflict(code: str | None) -> bool:
    """A failure because another operation held the resource (not throttling, not a bad request)."""
    if not code:
        return False
    low = code.lower()
    if low == "conflict":
        return True
    return classify(code) == WAIT and "throttl" not in low and low != "toomanyrequests"


@dataclass(frozen=True)
class _Collision:
    kind: str
    """'same name', 'loop' or 'deployments'."""
    blocker: Blocker
    text: str


@dataclass
class _Context:
    facts: Facts
    catalog: Catalog
    now: dt.datetime
    extra: tuple[str, ...]

    # -- what the write is -------------------------------------------------------------------

    @property
    def target(self) -> str | None:
        """The resource written; None for a deployment, a resource group or a subscription (then
        everything in the scope counts)."""
        target = self.facts.target_id
        if not target or "/providers/microsoft.resources/deployments/" in key(target):
            return None
        return None if type_of(target) in (RESOURCE_GROUP_TYPE, SUBSCRIPTION_TYPE) else target

    def failing_deployments(self) -> list[Deployment]:
        """The deployment the error came from (by name, id or correlation), else the newest finished
        one in the window when it failed."""
        error = self.facts.error
        named = {key(error.deployment_name)} if error and error.deployment_name else set()
        target = key(self.facts.target_id)
        corr = (error.correlation_id or "").lower() if error else ""
        found = [d for d in self.facts.deployments if key(d.name) in named or key(d.id) == target
                 or (corr and (d.correlation_id or "").lower() == corr)]
        if found or error is not None:
            return [d for d in found if not d.running or any(op.state == "Failed" for op in d.operations)]
        since = self.now - dt.timedelta(seconds=self.facts.window_seconds)
        finished = [d for d in self.facts.deployments if not d.running and d.timestamp and d.timestamp >= since]
        finished.sort(key=lambda d: d.timestamp, reverse=True)  # type: ignore[arg-type, return-value]
        return finished[:1] if finished and finished[0].state == "Failed" else []

    def family(self, dep: Deployment) -> list[Deployment]:
        """A deployment and those of the same run (modules share the top deployment's correlation id)."""
        corr = (dep.correlation_id or "").lower()
        return [d for d in self.facts.deployments if d is dep or (corr and (d.correlation_id or "").lower() == corr)]

    def conflict_failures(self, dep: Deployment) -> list[Operation]:
        return [op for d in self.family(dep) for op in d.operations
                if op.state == "Failed" and is_conflict(op.error_code) and not is_deployment_op(op)]

    def targets(self) -> list[str]:
        found = [self.target] if self.target else []
        for dep in self.failing_deployments():
            found += [op.resource_id for op in self.conflict_failures(dep)]
        return list(dict.fromkeys(found))

    # -- locks -------------------------------------------------------------------------------

    def blocking_locks(self) -> list[Lock]:
        error = self.facts.error
        scope = self.target or self.facts.scope
        says_locked = error is not None and (error.code or "").lower() == "scopelocked"
        deleting = says_locked and "delete operation" in (error.message or "").lower() if error else False
        found = []
        for lock in self.facts.locks:
            above = key(lock.scope) == key(scope) or is_ancestor(lock.scope, scope)
            below = is_ancestor(scope, lock.scope)
            blocks_delete = deleting and (above or below)
            blocks_write = above and lock.level.lower() == "readonly"
            named = says_locked and error is not None and f"'{key(lock.scope)}'" in (error.message or "").lower()
            if blocks_delete or blocks_write or named:
                found.append(lock)
        return list(dict.fromkeys(found))

    def lock_blocker(self, lock: Lock) -> Blocker:
        running = (self.now - lock.created).total_seconds() if lock.created else None
        return Blocker(id=lock.id, operation="Microsoft.Authorization/locks/write", state=lock.level,
                       started=lock.created, caller=lock.caller, running_seconds=running, typical_seconds=None,
                       max_seconds=None, kind="lock", relation="a management lock")

    # -- what is in flight -------------------------------------------------------------------

    def blocker_of(self, op: Operation, relation_text: str | None) -> Blocker:
        deployment = is_deployment_op(op)
        rtype = "Microsoft.Resources/deployments" if deployment else type_of(op.resource_id)
        entry = None if deployment else entry_for(self.catalog, op.resource_id)
        typical = entry.typical_seconds if entry else None
        maximum = entry.max_seconds if entry else None
        end = op.ended if not op.in_flight and op.ended else self.now
        running = max(0.0, (end - op.started).total_seconds()) if op.started else None
        return Blocker(id=op.resource_id, operation=op.operation, state=op.state, started=op.started,
                       caller=op.caller, running_seconds=running, typical_seconds=typical, max_seconds=maximum,
                       kind="deployment" if deployment else "operation", deployment=op.deployment,
                       correlation_id=op.correlation_id, relation=relation_text, max_assumed=maximum is None,
                       resource_type=rtype)

    def related_blockers(self) -> list[Blocker]:
        """The writes in flight that hold the target (or, with no target, anything in the scope),
        the one the error's status URI names first."""
        flying = [op for op in in_flight(self.facts) if not self._is_the_error(op)]
        targets = self.targets()
        error = self.facts.error
        related: list[tuple[Operation, str]] = []
        for op in flying:
            why = self._relation(op, targets, error.deployment_name if error else None)
            if why:
                related.append((op, why))
        if not targets and not (error and error.deployment_name):
            resources = [(op, "in the scope") for op in flying if not is_deployment_op(op)]
            related = resources or [(op, "in the scope") for op in flying]
        named = self._status_operation(flying, related)
        blockers = [self.blocker_of(op, why) for op, why in related if op is not named]
        if named is not None:
            why = next((w for op, w in related if op is named), STATUS_URI_RELATION)
            blockers.append(replace(self.blocker_of(named, why), named_by_status=True))
        elif self.facts.status is not None and self.facts.status.running:
            blockers.append(self._status_blocker())
        blockers.sort(key=lambda b: (not b.named_by_status, _rank(b.relation), b.started is None,
                                     b.started or self.now))
        if not blockers:
            blockers = self._busy_resources()
        return blockers

    def _is_the_error(self, op: Operation) -> bool:
        """The failed request itself can show as in flight in a lagging log: never its own blocker."""
        error = self.facts.error
        return bool(error and error.correlation_id and op.correlation_id and not op.deployment
                    and op.correlation_id.lower() == error.correlation_id.lower()
                    and key(op.resource_id) == key(error.resource_id))

    def _relation(self, op: Operation, targets: list[str], deployment_name: str | None) -> str | None:
        if is_deployment_op(op):
            if deployment_name and op.deployment and key(op.deployment) == key(deployment_name):
                return "the same deployment name"
            if self.facts.target_id and key(op.resource_id) == key(self.facts.target_id):
                return "the same resource"
            return None
        for target in targets:
            why = relation(self.catalog, op.resource_id, target)
            if why:
                return why
        return None

    def _status_operation(self, flying: list[Operation], related: list[tuple[Operation, str]]
                          ) -> Operation | None:
        status = self.facts.status
        if status is None or not status.running:
            return None
        guid = status.operation_id.lower()
        for op in flying:
            if op.operation_id and op.operation_id.lower() == guid:
                return op
        if status.started is not None:
            for op, _ in related:
                if op.started is not None and abs(op.started - status.started) <= CLOCK_SLACK:
                    return op
        return None

    def _status_blocker(self) -> Blocker:
        status = self.facts.status
        assert status is not None
        error = self.facts.error
        running = (self.now - status.started).total_seconds() if status.started else None
        operation = (error.blocking_operation if error else None) or f"operation {status.operation_id}"
        return Blocker(id=None, operation=operation, state=status.status, started=status.started, caller=None,
                       running_seconds=running, typical_seconds=None, max_seconds=None, kind="status URI",
                       relation=STATUS_URI_RELATION, max_assumed=True, named_by_status=True)

    def _busy_resources(self) -> list[Blocker]:
        """No operation found, but the target or its parent says Creating/Updating/Deleting."""
        found = []
        for res in self.facts.resources:
            if not res.found or res.provisioning_state is None or is_terminal(res.provisioning_state):
                continue
            entry = entry_for(self.catalog, res.id)
            at_least = self.facts.window_seconds if "activity log" in self.facts.read else None
            found.append(Blocker(id=res.id, operation=None, state=res.provisioning_state, started=None, caller=None,
                                 running_seconds=None, typical_seconds=entry.typical_seconds,
                                 max_seconds=entry.max_seconds, kind="provisioning state",
                                 relation="the same resource" if res.role == "target" else "its parent",
                                 max_assumed=entry.max_seconds is None, running_at_least=at_least,
                                 resource_type=type_of(res.id)))
        return found

    def inner_operations(self, blockers: list[Blocker]) -> list[Blocker]:
        """The writes in flight inside the deployments among `blockers` (what a deployment waits for)."""
        names = {key(b.deployment) for b in blockers if b.kind == "deployment" and b.deployment}
        return [self.blocker_of(op, "inside the deployment") for op in in_flight(self.facts)
                if op.deployment and key(op.deployment) in names and not is_deployment_op(op)]

    def stuck(self, blockers: list[Blocker]) -> Blocker | None:
        return next((b for b in [*blockers, *self.inner_operations(blockers)] if b.is_stuck), None)

    # -- collisions --------------------------------------------------------------------------

    def collision(self, blockers: list[Blocker]) -> _Collision | None:
        return (self._same_name(blockers) or self._failed_by_design() or self._status_by_design(blockers)
                or self._concurrent_deployments())

    def _same_name(self, blockers: list[Blocker]) -> _Collision | None:
        error = self.facts.error
        if error is None or (error.code or "").lower() != "deploymentactive":
            return None
        for blocker in blockers:
            if blocker.kind == "deployment" and blocker.relation == "the same deployment name":
                text = (f"deployment '{blocker.deployment}' is still running in {short_id(self.facts.scope)} "
                        f"(started {when(blocker.started)}{_by(blocker.caller)}); a second deployment of the same "
                        "name was rejected with DeploymentActive: two runs of this template deploy under one "
                        "deployment name at once")
                return _Collision("same name", blocker, text)
        return None

    def _failed_by_design(self) -> _Collision | None:
        """A failed deployment's conflict failures, each with the write that held its lock domain."""
        known = all_operations(self.facts)
        for dep in self.failing_deployments():
            failures = self.conflict_failures(dep)
            for failed in failures:
                holder = self._holder(failed, known, failures)
                if holder is None:
                    continue
                same_run = bool(holder.correlation_id and failed.correlation_id
                                and holder.correlation_id.lower() == failed.correlation_id.lower())
                if same_run:
                    return self._loop(dep, failures, holder)
                if holder.deployment:
                    return self._two_deployments(dep.name, failed, holder)
        return None

    def _holder(self, failed: Operation, known: list[Operation], failures: list[Operation]) -> Operation | None:
        """The write that held `failed`'s lock domain when it was rejected."""
        best = None
        for op in known:
            if op is failed or op in failures or is_deployment_op(op) or (
                    op.state == "Failed" and is_conflict(op.error_code)):
                continue
            if not relation(self.catalog, op.resource_id, failed.resource_id):
                continue
            if failed.started is not None and op.started is not None:
                if op.started > failed.started + CLOCK_SLACK:
                    continue
                if op.ended is not None and op.ended <= failed.started:
                    continue
            if best is None or (op.started or self.now) < (best.started or self.now):
                best = op
        return best

    def _loop(self, dep: Deployment, failures: list[Operation], holder: Operation) -> _Collision:
        domain = shared_domain(self.catalog, holder.resource_id, failures[0].resource_id) or parent_of(
            holder.resource_id) or holder.resource_id
        same_domain = [op for op in failures if relation(self.catalog, holder.resource_id, op.resource_id)]
        rtype = type_of(same_domain[0].resource_id)
        names = ", ".join(name_of(op.resource_id) for op in same_domain[:6])
        more = f" and {len(same_domain) - 6} more" if len(same_domain) > 6 else ""
        count = len(same_domain) + 1
        text = (f"deployment '{dep.name}' wrote {count} {rtype} in parallel into one lock domain "
                f"({short_id(domain)}): {names}{more} failed with {same_domain[0].error_code} while "
                f"{name_of(holder.resource_id)} held it. This is a loop (or parallel resources) of this "
                "template: serialize it (@batchSize(1) on the loop, or dependsOn)")
        return _Collision("loop", self.blocker_of(holder, "the same lock domain"), text)

    def _two_deployments(self, failing: str, failed: Operation, holder: Operation) -> _Collision:
        domain = shared_domain(self.catalog, holder.resource_id, failed.resource_id) or holder.resource_id
        text = (f"deployments '{failing}' and '{holder.deployment}' wrote into one lock domain "
                f"({short_id(domain)}) at once: {name_of(failed.resource_id)} failed with {failed.error_code} "
                f"while '{holder.deployment}' wrote {short_id(holder.resource_id)}")
        return _Collision("deployments", self.blocker_of(holder, "the same lock domain"), text)

    def _status_by_design(self, blockers: list[Blocker]) -> _Collision | None:
        """The error came from a deployment and its status URI names a write of a deployment."""
        error = self.facts.error
        if not blockers or not blockers[0].named_by_status or not blockers[0].deployment or not error:
            return None
        holder = blockers[0]
        mine = next((d for d in self.failing_deployments()), None)
        corr = (error.correlation_id or (mine.correlation_id if mine else "") or "").lower()
        if corr and holder.correlation_id and holder.correlation_id.lower() == corr:
            written = short_id(error.resource_id or self.target) if error.resource_id or self.target else "it"
            text = (f"the write that holds {written} is {short_id(holder.id)} of the same "
                    f"deployment run ('{holder.deployment}'): a loop (or parallel resources) of this template "
                    "writes into one lock domain")
            return _Collision("loop", holder, text)
        if mine is not None:
            text = (f"deployment '{mine.name}' met '{holder.deployment}' writing {short_id(holder.id)} in one "
                    "lock domain")
            return _Collision("deployments", holder, text)
        return None

    def _concurrent_deployments(self) -> _Collision | None:
        """Two running deployments (different runs) writing into one lock domain right now."""
        flying = [op for op in in_flight(self.facts) if op.deployment and not is_deployment_op(op)]
        targets = self.targets()
        for i, first in enumerate(flying):
            for second in flying[i + 1:]:
                if (first.correlation_id or "").lower() == (second.correlation_id or "").lower():
                    continue
                if not relation(self.catalog, first.resource_id, second.resource_id):
                    continue
                if targets and not any(relation(self.catalog, op.resource_id, t)
                                       for op in (first, second) for t in targets):
                    continue
                domain = shared_domain(self.catalog, first.resource_id, second.resource_id) or first.resource_id
                text = (f"deployments '{first.deployment}' and '{second.deployment}' are writing into one lock "
                        f"domain ({short_id(domain)}) at once: {short_id(first.resource_id)} and "
                        f"{short_id(second.resource_id)}")
                return _Collision("deployments", self.blocker_of(first, "the same lock domain"), text)
        return None

    # -- diagnoses ---------------------------------------------------------------------------

    def _diagnosis(self, verdict: str, summary: str, blocker: Blocker | None, evidence: list[Evidence],
                   next_steps: list[str], advice: list[str], *, estimated_end: dt.datetime | None = None,
                   others: Sequence[Blocker] = ()) -> Diagnosis:
        if self.facts.gaps:
            summary += f" (not everything could be read: {', '.join(g.partition(':')[0] for g in self.facts.gaps)})"
        return Diagnosis(verdict, summary, blocker, tuple(evidence), tuple(s for s in next_steps if s),
                         tuple(advice), self.now, estimated_end, tuple(others), self.facts.scope)

    def _wait_command(self, blocker: Blocker | None, timeout: float | None = None) -> str:
        status = self.facts.status
        uri = status.url if status is not None and status.running and (
            blocker is None or blocker.named_by_status) else None
        resource = blocker.id if blocker is not None and blocker.kind in ("operation", "provisioning state") else None
        deployment = blocker.deployment if blocker is not None and blocker.kind == "deployment" else None
        group = self.facts.resource_group or _group_of(blocker.id if blocker else None)
        return steps.wait_command(status_uri=uri, resource_id=resource, deployment=deployment,
                                  resource_group=group, subscription=self.facts.subscription, timeout=timeout,
                                  extra=self.extra)

    def locked(self, locks: list[Lock], evidence: list[Evidence]) -> Diagnosis:
        lock = min(locks, key=lambda lk: len(lk.scope))
        blocker = self.lock_blocker(lock)
        target = self.target or self.facts.scope
        where = "on it" if key(lock.scope) == key(target) else f"on {short_id(lock.scope)}"
        summary = (f"LOCKED: the {lock.level} management lock '{lock.name}' {where} blocks writes to "
                   f"{short_id(target)}; no operation is holding it, so waiting will not help.")
        advice = [f"Ask the lock's owner{_by(lock.caller, ' (created by {})')} whether the change is intended; "
                  f"remove the lock only with their agreement (az lock delete --ids {lock.id}), deploy, and "
                  "put it back.",
                  "Or deploy the change somewhere the lock does not cover."]
        evidence = [*evidence, Evidence("lock list", f"{len(locks)} lock(s) block this write; the widest is at "
                                                     f"{short_id(lock.scope)}")]
        return self._diagnosis("locked", summary, blocker, evidence, [steps.lock_show_command(lk.id) for lk in locks],
                               advice, others=[self.lock_blocker(lk) for lk in locks if lk is not lock])

    def stuck_diagnosis(self, blocker: Blocker, blockers: list[Blocker], evidence: list[Evidence]) -> Diagnosis:
        running = blocker.running_seconds if blocker.running_seconds is not None else blocker.running_at_least
        limit = "the default of " + duration(blocker.limit) + " (the catalog has no maximum for " + \
            f"{blocker.resource_type})" if blocker.max_assumed else f"the catalog's maximum of {duration(blocker.limit)}"
        what = blocker.operation or f"a write ({blocker.state})"
        more = "more than " if blocker.running_seconds is None else ""
        summary = (f"STUCK: {what}{_on(blocker)}{_by(blocker.caller)} has been running for "
                   f"{more}{duration(running)}, past {limit} for {blocker.resource_type}.")
        failed = [op for dep in self.facts.deployments for op in dep.operations if op.state == "Failed"]
        evidence = list(evidence)
        if failed:
            evidence.append(Evidence("deployment operation list", f"{len(failed)} failed sub-operation(s): " + ", ".join(
                f"{short_id(op.resource_id)} ({op.error_code})" for op in failed[:6])))
        else:
            evidence.append(Evidence("deployment operation list", "no failed sub-operations found"))
        corr = f" (correlation id {blocker.correlation_id})" if blocker.correlation_id else ""
        advice = ["Resource Manager's own timeout can take 1-2 hours to move a hung operation to Failed; "
                  "waiting longer than that will not help.",
                  f"Open an Azure support case for a hung control-plane operation on {blocker.id}{corr}; "
                  "quote the operation and its start time."]
        next_steps = [self._wait_command(blocker, timeout=2 * 3600)]
        if blocker.deployment:
            next_steps.append(steps.deployment_operations_command(blocker.deployment, self.facts.resource_group))
        return self._diagnosis("stuck", summary, blocker, evidence, next_steps, advice,
                               others=[b for b in blockers if b is not blocker])

    def collision_diagnosis(self, collision: _Collision, blockers: list[Blocker],
                            evidence: list[Evidence]) -> Diagnosis:
        summary = f"COLLISION: {collision.text}."
        next_steps = [steps.lint_command()]
        advice = ["Run `armguard lint` on the template: it finds loops and resources writing one lock domain "
                  "in parallel (AG101, AG102) and non-unique deployment names (AG301); `--fix` serializes them."]
        if collision.kind == "same name":
            next_steps.insert(0, self._wait_command(collision.blocker))
            advice.append("Give each run its own deployment name, or serialize runs of the pipeline: "
                          "`armguard lock run --key <scope> -- <your deployment command>`.")
        elif collision.blocker.state and not is_terminal(collision.blocker.state):
            next_steps.append(self._wait_command(collision.blocker))
        if collision.kind == "deployments":
            advice.append("Serialize the deployments that share the lock domain: "
                          "`armguard lock run --key <scope> -- <your deployment command>`.")
        return self._diagnosis("collision", summary, collision.blocker, evidence, next_steps, advice,
                               others=[b for b in blockers if b.id != collision.blocker.id])

    def wait(self, blockers: list[Blocker], evidence: list[Evidence]) -> Diagnosis:
        blocker = blockers[0]
        ends = [b.estimated_end() for b in [*blockers, *self.inner_operations(blockers)]]
        _, basis = blocker.estimated_end() if blocker.kind != "deployment" else max(
            ends, key=lambda e: e[0] or self.now)
        latest = max((e for e, _ in ends if e is not None), default=None)
        what = blocker.operation or f"a write ({blocker.state})"
        running = "" if blocker.running_seconds is None else f", running for {duration(blocker.running_seconds)}"
        summary = (f"WAIT: {what}{_on(blocker)}{_by(blocker.caller)} holds "
                   f"{_target_phrase(self, blocker)}{running}.")
        if latest is not None:
            summary += f" It should end by about {when(latest)} ({basis})."
        else:
            summary += f" No estimate: {basis}."
        timeout = None
        if latest is not None:
            timeout = max(60.0, (latest - self.now).total_seconds()) + 300
        catalog_line = (f"{blocker.resource_type}: typical {duration(blocker.typical_seconds)}, "
                        f"maximum {duration(blocker.max_seconds)}")
        evidence = [*evidence, Evidence("catalog", catalog_line)]
        advice = ["Retry after it ends: `armguard wait` returns when it does."]
        if len(blockers) > 1:
            advice.append(f"{len(blockers) - 1} more write(s) in flight hold it too: see the evidence.")
        return self._diagnosis("wait", summary, blocker, evidence, [self._wait_command(blocker, timeout)], advice,
                               estimated_end=latest, others=blockers[1:])

    def clear(self, evidence: list[Evidence]) -> Diagnosis:
        status = self.facts.status
        summary = f"CLEAR: nothing is in flight in {short_id(self.target or self.facts.scope)} now; safe to retry."
        if status is not None and not status.running and status.status:
            summary += f" The operation in the error ended {status.status} at {when(status.ended)}."
        return self._diagnosis("clear", summary, None, evidence, [], ["Retry the deployment or command."])


def _rank(relation_text: str | None) -> int:
    for index, prefix in enumerate(_RELATION_RANK):
        if relation_text and relation_text.startswith(prefix):
            return index
    return len(_RELATION_RANK)


def _on(blocker: Blocker) -> str:
    return f" on {short_id(blocker.id)}" if blocker.id else " (known only by the error's status URI)"


def _by(caller: str | None, pattern: str = " by {}") -> str:
    return pattern.format(caller) if caller else ""


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _group_of(resource_id: str | None) -> str | None:
    parts = (resource_id or "").split("/")
    return parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else None


def _target_phrase(ctx: _Context, blocker: Blocker) -> str:
    target = ctx.target
    if target is None:
        return f"{short_id(ctx.facts.scope)}"
    if blocker.id and key(blocker.id) == key(target):
        return "it"
    return f"{short_id(target)} ({blocker.relation})" if blocker.relation else short_id(target)


