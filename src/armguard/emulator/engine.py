"""The deployment engine: a pure, event-driven executor of one deployment's steps.

Steps that become ready at the same moment are started in an order drawn from the state's seeded
generator (Resource Manager does not define which PUT reaches the provider first).

A step is one resource instance (one iteration of a copy loop) or one nested deployment. As Resource
Manager does, every step whose dependencies are done starts at once; a serial copy loop with
`batchSize` n is deployed in batches of n in index order (batch k+1 waits for all of batch k); a
step whose condition is false is skipped and counts as done for its dependants; a step whose
dependency failed is not started ("blocked"). The deployment is over when no step is running and
none can start.

The executor knows nothing about resources: `launch(step, now)` (given by the host, the state)
performs the step's PUT or starts its child deployment and answers RUNNING, SUCCEEDED, SKIPPED or
FAILED; the host calls `finish(step, status, now, launch)` when a running step ends.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

PENDING = "pending"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
SKIPPED = "skipped"
BLOCKED = "blocked"
CANCELED = "Canceled"
SETTLED_BAD = frozenset({FAILED, BLOCKED, CANCELED})

Launch = Callable[["Step", float], str]


class Step:
    """One unit of a deployment and, once launched, one deployment operation."""

    __slots__ = ("api_version", "blocked", "body_known", "child", "copy_index", "dependents", "deps", "ended", "error",
                 "http_status", "index", "kind", "launched", "name", "node", "op", "operation_id", "prepared",
                 "resource_id", "started", "status", "symbol", "type", "waiting")

    def __init__(self, index: int, symbol: str, kind: str, node: Any, copy_index: int | None):
        self.index = index
        self.symbol = symbol
        self.kind = kind  # "resource" | "module" | "delete" (complete mode)
        self.node = node
        self.copy_index = copy_index
        self.deps: dict[Step, None] = {}  # a set that keeps the order they were added in
        self.dependents: list[Step] = []
        self.waiting = 0
        self.blocked = False
        self.status = PENDING
        self.launched = False
        self.resource_id: str | None = None  # known at plan time when the name is
        self.type: str = getattr(node, "type", "") or ""
        self.name: str | None = None
        self.api_version: str | None = getattr(node, "api_version", None)
        self.op: Any = None  # the resource operation it started
        self.child: str | None = None  # key of the child deployment
        self.started: float | None = None
        self.ended: float | None = None
        self.error: dict[str, Any] | None = None  # {"error": {...}} of a rejection, or the async error
        self.http_status: int | None = None
        self.operation_id: str = ""
        self.body_known = False
        self.prepared: Any = None  # what it does, when known before deployment (see plan.Level.prepare)

    @property
    def label(self) -> str:
        return self.symbol if self.copy_index is None else f"{self.symbol}[{self.copy_index}]"

    @property
    def op_id(self) -> str | None:
        return self.op.id if self.op is not None else None

    def depends(self, other: Step) -> None:
        if other is self or other in self.deps:
            return
        self.deps[other] = None
        other.dependents.append(self)
        self.waiting += 1

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "launched": self.launched, "resource_id": self.resource_id,
                "type": self.type, "name": self.name, "api_version": self.api_version, "op_id": self.op_id,
                "child": self.child, "started": self.started, "ended": self.ended, "error": self.error,
                "http_status": self.http_status, "blocked": self.blocked}

    def restore(self, data: dict[str, Any], operations: dict[str, Any]) -> None:
        for k, v in data.items():
            if k == "op_id":
                self.op = operations.get(v) if v else None
            else:
                setattr(self, k, v)

    def __repr__(self) -> str:
        return f"Step({self.label} {self.status})"


class Executor:
    """Runs steps as their dependencies complete."""

    __slots__ = ("canceled", "remaining", "shuffle", "steps")

    def __init__(self, steps: list[Step], shuffle: Callable[[list[Step]], None] | None = None):
        self.steps = steps
        self.remaining = len(steps)
        self.canceled = False
        # Orders steps that become ready at the same moment (Resource Manager starts them "at once":
        # which PUT reaches the provider first is not defined). None keeps template order.
        self.shuffle = shuffle

    def start(self, now: float, launch: Launch) -> None:
        ready = [s for s in self.steps if s.waiting == 0 and s.status == PENDING]
        if self.shuffle is not None and len(ready) > 1:
            self.shuffle(ready)
        self._drain(deque(ready), now, launch)

    def run(self, steps: list[Step], now: float, launch: Launch) -> None:
        """Start steps added after planning (complete mode's deletes) that wait for nothing."""
        self._drain(deque(s for s in steps if s.waiting == 0 and s.status == PENDING), now, launch)

    def finish(self, step: Step, status: str, now: float, launch: Launch) -> None:
        """A running step ended (its operation or child deployment reached `status`)."""
        if step.status != RUNNING:
            return
        step.status = status
        step.ended = now
        self.remaining -= 1
        if step.dependents:
            ready = self._release(step)
            if ready:
                self._drain(deque(ready), now, launch)

    def cancel(self) -> None:
        """No step starts any more; running ones continue to their end."""
        self.canceled = True
        for s in self.steps:
            if s.status == PENDING:
                s.status = CANCELED
                self.remaining -= 1

    def _drain(self, queue: deque[Step], now: float, launch: Launch) -> None:
        while queue:
            s = queue.popleft()
            if s.status != PENDING:
                continue
            if self.canceled:
                s.status = CANCELED
            elif s.blocked:
                s.status = BLOCKED
            else:
                s.started = now
                outcome = launch(s, now)
                s.status = outcome
                if outcome == RUNNING:
                    s.launched = True
                    continue
                if outcome != SKIPPED:
                    s.launched = True
                s.ended = now
            self._settled(s, queue)

    def _settled(self, s: Step, queue: deque[Step]) -> None:
        self.remaining -= 1
        if s.dependents:
            ready = self._release(s)
            if ready:
                queue.extend(ready)

    def _release(self, s: Step) -> list[Step]:
        """The dependants of a settled step that can start now (in the drawn order)."""
        bad = s.status in SETTLED_BAD
        ready = []
        for d in s.dependents:
            d.waiting -= 1
            if bad:
                d.blocked = True
            if d.waiting == 0 and d.status == PENDING:
                ready.append(d)
        if self.shuffle is not None and len(ready) > 1:
            self.shuffle(ready)
        return ready

    def recount(self) -> None:
        """Recompute waiting counts and `remaining` from step statuses (after loading saved state)."""
        settled = {SUCCEEDED, FAILED, SKIPPED, BLOCKED, CANCELED}
        self.remaining = sum(1 for s in self.steps if s.status not in settled)
        for s in self.steps:
            s.waiting = sum(1 for d in s.deps if d.status not in settled)
            s.blocked = s.blocked or any(d.status in SETTLED_BAD for d in s.deps)


def shuffler(rng: Any) -> Callable[[list[Step]], None]:
    """Shuffles a list in place in an order drawn from `rng` (a `random.Random`): sorting by one draw
    per item gives every order the same chance at a fraction of `rng.shuffle`'s cost."""
    draw = rng.random

    def shuffle(items: list[Step]) -> None:
        items.sort(key=lambda _item: draw())

    return shuffle


def link_batches(steps: list[Step], batch_size: int) -> None:
    """Serial copy: batch k+1 (of `batch_size` steps, in index order) waits for all of batch k."""
    size = max(1, batch_size)
    for start in range(size, len(steps), size):
        previous = steps[start - size:start]
        for s in steps[start:start + size]:
            for p in previous:
                s.depends(p)
