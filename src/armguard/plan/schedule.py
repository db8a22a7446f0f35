"""Schedules over a precedence DAG: Resource Manager's (everything ready starts at once), the
optimal safe one (each serial lock domain a unit-capacity resource), a lower bound, collisions,
and the chance that jittered durations make two writes of one domain overlap.

Algorithms:

- `earliest`: Resource Manager as written. Every node starts when all its predecessors have ended
  (the longest path from the start): one pass in topological order.
- `list_schedule`: resource-constrained list scheduling. At each event (time 0, and whenever
  something ends) the ready nodes are taken in priority order and each starts if none of its lock
  domains is held; one that cannot waits on a held domain and is reconsidered when that domain is
  released (only the best waiter per released domain is woken, so a domain with thousands of
  waiters costs O(log n) per release). No two writes of a domain ever overlap, by construction.
- `optimal`: list scheduling with critical-path priority (the longest chain of work from a node to
  the end), then forward-backward improvement: schedule the reversed DAG with priority to what
  ended last, then forward again with priority to what started first in that backward schedule
  (double justification), then a few seeded restarts with priorities jittered by up to 30 % (each
  justified too) as long as they fit a work budget, stopping early once the lower bound is met;
  the shortest schedule found wins. The planner also retimes the
  conflict-free schedules it knows (all serial, with changes) onto the same DAG (`retime`) and
  keeps whichever is shortest, so "optimal" is never worse than a fix it proposes.
- `lower_bound`: no schedule can beat the longest dependency chain (the critical path), nor, for
  any lock domain, the busiest domain's total work, nor, more sharply, for any set S of one
  domain's writes: the earliest any write of S can start + the work of S + the shortest chain that
  must still follow the last write of S. `domain_bound` scans the sets "writes that cannot start
  before r" and "writes followed by at least q" for every r and q (the whole domain is one of them).
  Heads and tails themselves count serialization (`bounded_heads_tails`): a node waits at least
  for the writes of one domain among its direct predecessors run back to back.
- `failure_chance`: 1 when two writes of one domain have exactly the same predecessors (they
  always start together: a parallel loop into one domain); otherwise Monte Carlo over durations
  drawn uniformly from ±`jitter` around typical (seeded): the share of runs in which some pair of
  writes of one domain overlaps.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from heapq import heappop, heappush

from armguard.plan.dag import Dag

EPS = 1e-6


@dataclass
class Schedule:
    start: list[float]
    end: list[float]

    @property
    def makespan(self) -> float:
        return max(self.end, default=0.0)


def earliest(dag: Dag, dur: list[float] | None = None) -> Schedule:
    d = dag.dur if dur is None else dur
    preds = dag.preds
    start = [0.0] * len(preds)
    end = [0.0] * len(preds)
    get = end.__getitem__
    for v in dag.topo:
        ps = preds[v]
        s = max(map(get, ps)) if ps else 0.0
        start[v] = s
        end[v] = s + d[v]
    return Schedule(start, end)


def tails(dag: Dag) -> list[float]:
    """For each node: the longest chain of work from its start to the end of the deployment."""
    succ = dag.succ
    dur = dag.dur
    tail = [0.0] * len(dur)
    for v in reversed(dag.topo):
        best = 0.0
        for s in succ[v]:
            t = tail[s]
            if t > best:
                best = t
        tail[v] = dur[v] + best
    return tail


def bounded_heads_tails(dag: Dag) -> tuple[list[float], list[float]]:
    """Earliest starts and tails that also count serialization: a node cannot start before the
    writes of one domain among its direct predecessors have run one after another (and,
    symmetrically, its tail covers its direct successors of one domain run one after another).
    Every value is a valid bound for any conflict-free schedule."""
    preds, succ, dur, doms = dag.preds, dag.succ, dag.dur, dag.doms
    n = len(preds)
    head = [0.0] * n
    tail = [0.0] * n
    topo = dag.topo
    for v in topo:
        h = 0.0
        group: dict[int, list[int]] | None = None
        for p in preds[v]:
            e = head[p] + dur[p]
            if e > h:
                h = e
            ds = doms[p]
            if ds:
                if group is None:
                    group = {}
                for d in ds:
                    group.setdefault(d, []).append(p)
        if group:
            for ps in group.values():
                if len(ps) > 1:
                    b, _ = domain_bound([head[p] for p in ps], [dur[p] for p in ps], [0.0] * len(ps))
                    if b > h:
                        h = b
        head[v] = h
    for v in reversed(topo):
        t = 0.0
        group = None
        for s in succ[v]:
            if tail[s] > t:
                t = tail[s]
            ds = doms[s]
            if ds:
                if group is None:
                    group = {}
                for d in ds:
                    group.setdefault(d, []).append(s)
        if group:
            for ss in group.values():
                if len(ss) > 1:
                    b, _ = domain_bound([0.0] * len(ss), [dur[s] for s in ss], [tail[s] - dur[s] for s in ss])
                    if b > t:
                        t = b
        tail[v] = dur[v] + t
    return head, tail


def list_schedule(dag: Dag, prio: list[float], n_domains: int, *, reverse: bool = False) -> Schedule:
    """Resource-constrained list scheduling (higher `prio` first). With `reverse` the DAG is
    scheduled backwards (successors first) and the result mirrored, which right-justifies it."""
    n = len(dag.preds)
    if reverse:
        before, after = dag.succ, dag.preds
    else:
        before, after = dag.preds, dag.succ
    dur = dag.dur
    doms = dag.doms
    indeg = [len(p) for p in before]
    start = [0.0] * n
    end = [0.0] * n
    busy = [False] * n_domains
    waiters: list[list[tuple[float, int]]] = [[] for _ in range(n_domains)]
    cand: list[tuple[float, int, int]] = [(-prio[v], v, -1) for v in range(n) if indeg[v] == 0]
    cand.sort()
    running: list[tuple[float, int]] = []
    t = 0.0
    while True:
        while cand:
            negp, v, origin = heappop(cand)
            ds = doms[v]
            blocked = -1
            for d in ds:
                if busy[d]:
                    blocked = d
                    break
            if blocked >= 0:
                heappush(waiters[blocked], (negp, v))
                if origin >= 0 and not busy[origin] and waiters[origin]:
                    p2, v2 = heappop(waiters[origin])
                    heappush(cand, (p2, v2, origin))
                continue
            start[v] = t
            e = t + dur[v]
            end[v] = e
            if e == t and not ds:
                for s in after[v]:
                    indeg[s] -= 1
                    if indeg[s] == 0:
                        heappush(cand, (-prio[s], s, -1))
                continue
            for d in ds:
                busy[d] = True
            heappush(running, (e, v))
        if not running:
            break
        t = running[0][0]
        freed: list[int] = []
        while running and running[0][0] <= t:
            _, v = heappop(running)
            for d in doms[v]:
                busy[d] = False
                freed.append(d)
            for s in after[v]:
                indeg[s] -= 1
                if indeg[s] == 0:
                    heappush(cand, (-prio[s], s, -1))
        for d in freed:
            if waiters[d] and not busy[d]:
                p2, v2 = heappop(waiters[d])
                heappush(cand, (p2, v2, d))
    if any(k > 0 for k in indeg):
        raise RuntimeError("list scheduling stalled")  # cannot happen on a DAG
    if reverse:
        total = max(end, default=0.0)
        start, end = [total - e for e in end], [total - s for s in start]
    return Schedule(start, end)


def optimal(dag: Dag, n_domains: int, *, improve: bool = True, target: float = 0.0, seed: int = 0,
            budget: int = 3_000_000) -> Schedule:
    """The shortest conflict-free schedule found: critical-path list scheduling with
    forward-backward improvement, then randomized restarts (priorities jittered by up to 30 %,
    seeded) while the work stays within `budget` node visits; stops early on reaching `target`
    (a lower bound)."""
    tail = tails(dag)
    best = list_schedule(dag, tail, n_domains)
    if not improve or n_domains == 0 or best.makespan <= target + EPS:
        return best
    best = _justify(dag, best, n_domains)
    size = len(dag.preds) + sum(len(p) for p in dag.preds)
    rng = random.Random(seed)
    for _ in range(min(30, budget // max(1, 3 * size))):
        if best.makespan <= target + EPS:
            break
        prio = [t * (1.0 + 0.3 * rng.random()) for t in tail]
        cand = _justify(dag, list_schedule(dag, prio, n_domains), n_domains)
        if cand.makespan < best.makespan - EPS:
            best = cand
    return best


def _justify(dag: Dag, sched: Schedule, n_domains: int) -> Schedule:
    """Forward-backward improvement: right-justify (schedule the reversed DAG, latest end first),
    then left-justify (earliest start in that first), while it shortens the schedule."""
    best = sched
    for _ in range(4):
        back = list_schedule(dag, best.end, n_domains, reverse=True)
        fwd = list_schedule(dag, [-x for x in back.start], n_domains)
        if fwd.makespan < best.makespan - EPS:
            best = fwd
        else:
            break
    return best


def retime(dag: Dag, key: list[float]) -> Schedule:
    """A conflict-free schedule of `dag` that keeps the order of another conflict-free schedule
    (`key`: each write's start there, for a DAG with the same writes and at least the same
    ordering): writes are placed in that order, each as early as its predecessors and the previous
    write of each of its domains allow, so none starts later than it did there."""
    preds, succ, dur, doms = dag.preds, dag.succ, dag.dur, dag.doms
    n = len(preds)
    n_ops = dag.n_ops
    indeg = [len(p) for p in preds]
    free: dict[int, float] = {}
    start = [0.0] * n
    end = [0.0] * n
    heap = [(key[v] if v < n_ops else float("-inf"), v) for v in range(n) if indeg[v] == 0]
    heap.sort()
    while heap:
        _, v = heappop(heap)
        s = max((end[p] for p in preds[v]), default=0.0)
        for d in doms[v]:
            s = max(s, free.get(d, 0.0))
        start[v] = s
        end[v] = s + dur[v]
        for d in doms[v]:
            free[d] = end[v]
        for w in succ[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                heappush(heap, (key[w] if w < n_ops else float("-inf"), w))
    return Schedule(start, end)


@dataclass
class LowerBound:
    value: float
    critical_path: float
    domain: int | None  # the domain that gives the bound, if one does
    domain_work: float
    domain_bound: float
    simple: float = 0.0  # the longer of the critical path and the busiest domain's total work


def lower_bound(dag: Dag, members: list[list[int]]) -> LowerBound:
    cp = earliest(dag).makespan
    head, tail = bounded_heads_tails(dag)
    best_d: int | None = None
    best_v = max((h + t for h, t in zip(head, tail, strict=True)), default=0.0)
    best_w = 0.0
    dur = dag.dur
    busiest = 0.0
    for d, ms in enumerate(members):
        if len(ms) < 2:
            continue
        busiest = max(busiest, sum(dur[m] for m in ms))
        v, w = domain_bound([head[m] for m in ms], [dur[m] for m in ms], [tail[m] - dur[m] for m in ms])
        if v > best_v:
            best_d, best_v, best_w = d, v, w
    return LowerBound(max(cp, best_v), cp, best_d, best_w, best_v, max(cp, busiest))


def domain_bound(heads: list[float], work: list[float], after: list[float]) -> tuple[float, float]:
    """The single-machine bound of one lock domain: for every subset of its writes that cannot start
    before r (or must be followed by at least q), r + their work + q. Returns (bound, its work).
    Both one-sided families are scanned in O(m log m); the whole domain (r = min head, q = min
    tail) is one member of each."""
    m = len(heads)
    best, best_w = 0.0, 0.0
    for key, other in ((heads, after), (after, heads)):
        order = sorted(range(m), key=key.__getitem__, reverse=True)
        total = 0.0
        low = float("inf")
        for i in order:
            total += work[i]
            if other[i] < low:
                low = other[i]
            v = key[i] + total + low
            if v > best:
                best, best_w = v, total
    return best, best_w


def overlaps(sched: Schedule, members: list[list[int]]) -> list[tuple[int, list[int], float, float]]:
    """Groups of writes of one domain in flight together: (domain, members, from, to)."""
    out = []
    start, end = sched.start, sched.end
    for d, ms in enumerate(members):
        if len(ms) < 2:
            continue
        order = sorted(ms, key=lambda m: (start[m], end[m], m))
        group = [order[0]]
        reach = end[order[0]]
        for m in order[1:]:
            if start[m] < reach - EPS:
                group.append(m)
                reach = max(reach, end[m])
                continue
            if len(group) > 1:
                out.append((d, group, start[group[0]], max(end[g] for g in group)))
            group = [m]
            reach = end[m]
        if len(group) > 1:
            out.append((d, group, start[group[0]], max(end[g] for g in group)))
    return out


def any_overlap(start: list[float], end: list[float], members: list[list[int]]) -> bool:
    for ms in members:
        if len(ms) < 2:
            continue
        if len(ms) == 2:
            a, b = ms
            if start[a] < end[b] - EPS and start[b] < end[a] - EPS:
                return True
            continue
        order = sorted(ms, key=start.__getitem__)
        reach = end[order[0]]
        for m in order[1:]:
            if start[m] < reach - EPS:
                return True
            if end[m] > reach:
                reach = end[m]
    return False


@dataclass
class Chance:
    value: float
    samples: int
    jitter: float
    seed: int
    certain: tuple[int, int] | None = None  # two writes of one domain that always start together


def certain_overlap(dag: Dag, members: list[list[int]]) -> tuple[int, int] | None:
    """Two writes of one domain with exactly the same predecessors: whatever the durations, they
    start at the same moment, so they always overlap."""
    preds, dur = dag.preds, dag.dur
    for ms in members:
        seen: dict[tuple[int, ...], int] = {}
        for m in ms:
            if dur[m] <= 0:
                continue
            key = tuple(sorted(set(preds[m])))
            other = seen.get(key)
            if other is not None:
                return other, m
            seen[key] = m
    return None


def failure_chance(dag: Dag, members: list[list[int]], *, jitter: float = 0.3, seed: int = 0,
                   max_samples: int = 1000, budget: int = 4_000_000) -> Chance:
    """The share of Monte Carlo runs (durations uniform in typical x [1-jitter, 1+jitter]) in which
    two writes of one serial domain overlap. Stops early once 200 runs all agree (then a chance
    below about 1.5 % can read as 0); never spends more than about `budget` node visits (at least
    20 runs)."""
    relevant = [ms for ms in members if len(ms) > 1]
    if not relevant:
        return Chance(0.0, 0, jitter, seed)
    pair = certain_overlap(dag, relevant)
    if pair is not None:
        return Chance(1.0, 0, jitter, seed, pair)
    size = len(dag.preds) + sum(len(p) for p in dag.preds)
    cap = max(20, min(max_samples, budget // max(1, size)))
    rng = random.Random(seed)
    base = dag.dur
    n_ops = dag.n_ops
    hits = 0
    n = 0
    lo, width = 1.0 - jitter, 2.0 * jitter
    rand = rng.random
    ops_base = base[:n_ops]
    while n < cap:
        dur = [b * (lo + width * rand()) for b in ops_base]
        dur.extend(base[n_ops:])
        s = earliest(dag, dur)
        n += 1
        if any_overlap(s.start, s.end, relevant):
            hits += 1
        if n >= 200 and (hits == 0 or hits == n):
            break
    return Chance(hits / n, n, jitter, seed)
