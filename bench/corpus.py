"""The decisive check of the Bicep front end against the Bicep compiler, over a corpus.

Usage: python bench/corpus.py PATH [--json] [--report FILE] [--arm] [--limit N] [--no-graph]

PATH defaults to $ARMGUARD_AVM_CORPUS. Two phases:

1. Parse every .bicep and .bicepparam file under PATH with `armguard.bicep.parse_source`: files
   without syntax error (%), crashes (exceptions escaping the parser; each listed with file and
   exception), and throughput in MB/s: total bytes / total time spent inside `parse_source`, one core,
   reading and decoding the file excluded.
2. For every `main.bicep` with a sibling `main.json` (the compiler's output): build the graph with
   `armguard.bicep.load_graph` and compare each resource with the compiled template on
   type, loop present, batch size (`@batchSize(n)` compiles to `copy: {mode: serial, batchSize: n}`),
   dependsOn (set of symbols), and for modules the resource types deployed (`deploys`; reported
   separately, not part of "all"). With `--arm`, the expected side is `armguard.arm.load_graph(main.json)`
   instead of the raw JSON (the issue-3 figure: Bicep front end vs ARM front end); both modes share
   `compare()`.

Matching (see `match()`):

- languageVersion 2.0 templates key `resources` by Bicep symbol; a resource declared nested inside
  another is `parent::child` (one `::` per level). A Bicep symbol matches a key when one's
  `::`-segments are a suffix of the other's and the candidate is unique, so `child`,
  `parent::child` and `grand::parent::child` all find `grand::parent::child`. dependsOn entries are
  keys, or `[format('sym[{0}]', i)]` for one loop iteration, normalised to `sym`.
- classic templates (a `resources` array) have no symbols. Resources are matched by
  (type, kind, order of emission): the n-th Bicep resource of a type matches the n-th compiled one;
  `Microsoft.Resources/deployments` compiled from a Bicep `module` (inner scope, Bicep-generated
  template) count as kind module, hand-written deployments (telemetry) as kind resource. Classic
  templates do not emit `existing` resources, so those Bicep nodes are left out, and a Bicep
  dependency on an existing resource is replaced by that resource's own dependencies (transitively),
  which is what the compiler emits. Compiled dependsOn entries are mapped back to resources: a plain
  string is a copy-loop name; `[resourceId('T', a, b)]` (and subscription-/tenant-/extensionResourceId)
  is the resource of type T whose name expression has the same segments (`[format('{0}/{1}', a, b)]`,
  `[parameters('n')]`, literals), or the only resource of type T.
- What cannot be matched is counted, never dropped: compiled resources without a Bicep node
  ("unmatched expected"), Bicep nodes without a compiled resource ("unmatched actual"), and dependsOn
  entries that map to no resource ("unresolved dependency", e.g. a resourceId over a name built by
  an expression the mapping does not read). Agreement percentages are over matched resources; the
  "strict" figure counts unmatched compiled resources as disagreeing.

Known matching limits: classic templates with two resources of one type declared in an order the
compiler changes (nested children are emitted after their parents), and resourceId dependencies
whose name segments are computed differently from the target's name expression.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from make_avm_table import is_module_deployment, nested_template, template_deploys

DEPLOYMENTS = "microsoft.resources/deployments"
ASPECTS = ("type", "loop", "batch", "dependsOn")

# --------------------------------------------------------------------------- records


@dataclass(slots=True)
class Rec:
    """One resource as either side sees it. `deps` holds ids of records on the same side;
    entries that could not be resolved start with "?"."""

    id: str
    symbol: str | None
    type: str
    kind: str
    existing: bool = False
    loop: bool = False
    batch: int | None = None
    deps: set[str] = field(default_factory=set)
    deploys: list[str] | None = None
    line: int = 0
    copy_name: str | None = None
    name_expr: Any = None
    deploys_cause: str | None = None  # for Bicep modules: "local" | "registry" | "registry-version-skew"
    origins: dict[str, set[str]] = field(default_factory=dict)  # dep -> Dependency.origin(s), from a graph


@dataclass(slots=True)
class Side:
    """All records of one template, and whether its format emits `existing` resources."""

    recs: list[Rec]
    symbolic: bool
    emits_existing: bool


INDEXED_DEP = re.compile(r"^\[format\('((?:[^']|'')*)\[\{0\}\]',.*\)\]$", re.S)


def _norm_symbolic_dep(dep: str) -> str:
    m = INDEXED_DEP.match(dep)
    if m:
        return m.group(1).replace("''", "'")
    if dep.startswith("[") and not dep.startswith("[["):
        return "?" + dep
    return dep


def _batch_of(copy: Any) -> int | None:
    if not isinstance(copy, dict) or str(copy.get("mode", "")).lower() != "serial":
        return None
    b = copy.get("batchSize")
    return b if isinstance(b, int) else None


def side_from_template(template: dict[str, Any]) -> Side:
    """Expected records from a compiled template (classic or 2.0)."""
    res = template.get("resources") or []
    recs: list[Rec] = []
    if isinstance(res, dict):
        for key, r in res.items():
            if isinstance(r, dict):
                rec = _rec_from_json(key, key, r, template)
                rec.deps = {_norm_symbolic_dep(d) for d in (r.get("dependsOn") or []) if isinstance(d, str)}
                recs.append(rec)
        return Side(recs, symbolic=True, emits_existing=True)
    raw: list[dict[str, Any]] = [r for r in res if isinstance(r, dict)]
    for i, r in enumerate(raw):
        recs.append(_rec_from_json(f"#{i}", None, r, template))
    for rec, r in zip(recs, raw, strict=True):
        rec.deps = {_resolve_classic_dep(d, recs) for d in (r.get("dependsOn") or []) if isinstance(d, str)}
    return Side(recs, symbolic=False, emits_existing=False)


def _rec_from_json(rid: str, symbol: str | None, r: dict[str, Any], template: dict[str, Any]) -> Rec:
    rtype = str(r.get("type", ""))
    is_dep = rtype.lower() == DEPLOYMENTS
    kind = "module" if is_dep and is_module_deployment(r, template) else "resource"
    copy = r.get("copy")
    deploys = None
    if kind == "module":
        inner = nested_template(r, template)
        deploys = sorted(template_deploys(inner)) if inner is not None else None
    return Rec(id=rid, symbol=symbol, type=rtype, kind=kind, existing=r.get("existing") is True,
               loop=isinstance(copy, dict), batch=_batch_of(copy), deploys=deploys,
               copy_name=copy.get("name") if isinstance(copy, dict) else None, name_expr=r.get("name"))


# ---- classic dependsOn -> record


def split_args(text: str) -> list[str]:
    """Top-level comma-separated arguments of an ARM expression argument list (no outer parens)."""
    out, depth, buf, i, n = [], 0, [], 0, len(text)
    while i < n:
        c = text[i]
        if c == "'":
            j = i + 1
            while j < n:
                if text[j] == "'" and not (j + 1 < n and text[j + 1] == "'"):
                    break
                j += 2 if text[j] == "'" else 1
            buf.append(text[i:j + 1])
            i = j + 1
            continue
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        if c == "," and depth == 0:
            out.append("".join(buf).strip())
            buf = []
        else:
            buf.append(c)
        i += 1
    if buf or out:
        out.append("".join(buf).strip())
    return out


def _call(expr: str) -> tuple[str, list[str]] | None:
    """'[f(a, b)]' or 'f(a, b)' -> ('f', ['a', 'b']) when the whole expression is one call."""
    e = expr.strip()
    if e.startswith("[") and e.endswith("]"):
        e = e[1:-1].strip()
    m = re.match(r"^([A-Za-z][\w.]*)\(", e)
    if not m or not e.endswith(")"):
        return None
    inner = e[m.end():-1]
    # make sure the closing paren matches the opening one
    depth = 0
    in_str = False
    for i, c in enumerate(e[m.end() - 1:]):
        if c == "'":
            in_str = not in_str
        elif not in_str:
            depth += c == "("
            depth -= c == ")"
            if depth == 0 and m.end() - 1 + i != len(e) - 1:
                return None
    return m.group(1).lower(), split_args(inner)


TYPE_LITERAL = re.compile(r"^'[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)+(/[A-Za-z0-9]+)+'$")


def _ws(s: str) -> str:
    return re.sub(r"\s+", "", s)


def name_segments(name: Any) -> list[str] | None:
    """Name segments of a compiled resource name, as ARM expression text, for resourceId matching."""
    if not isinstance(name, str):
        return None
    if not name.startswith("[") or name.startswith("[["):
        return [f"'{p}'" for p in name.split("/")]
    call = _call(name)
    if call and call[0] == "format" and call[1] and call[1][0].startswith("'") and "/" in call[1][0]:
        fmt = call[1][0][1:-1]
        args = call[1][1:]
        segs = []
        for part in fmt.split("/"):
            m = re.fullmatch(r"\{(\d+)\}", part)
            if m and int(m.group(1)) < len(args):
                segs.append(args[int(m.group(1))])
            elif "{" not in part:
                segs.append(f"'{part}'")
            else:
                return None
        return [_ws(s) for s in segs]
    return [_ws(name[1:-1])]


def _resolve_classic_dep(dep: str, recs: list[Rec]) -> str:
    if not dep.startswith("[") or dep.startswith("[["):
        for r in recs:
            if r.copy_name == dep:
                return r.id
        return "?" + dep
    call = _call(dep)
    if not call or call[0] not in ("resourceid", "subscriptionresourceid", "tenantresourceid",
                                   "extensionresourceid"):
        return "?" + dep
    args = call[1][1:] if call[0] == "extensionresourceid" else call[1]
    idx = next((i for i, a in enumerate(args) if TYPE_LITERAL.match(a)), None)
    if idx is None:
        return "?" + dep
    rtype = args[idx][1:-1].lower()
    segs = [_ws(a) for a in args[idx + 1:]]
    cands = [r for r in recs if r.type.lower() == rtype]
    if len(cands) == 1:
        return cands[0].id
    exact = [r for r in cands if name_segments(r.name_expr) == segs]
    if len(exact) == 1:
        return exact[0].id
    return "?" + dep


# ---- graph (inspect_json shape) -> records


def side_from_inspect(doc: dict[str, Any], *, symbolic: bool = True, emits_existing: bool = True) -> Side:
    """Records from `armguard.model.inspect_json(graph)` (either front end)."""
    recs = []
    for r in doc.get("resources", []):
        loop = r.get("loop")
        recs.append(Rec(
            id=r["symbol"], symbol=r["symbol"], type=str(r.get("type") or ""), kind=r.get("kind", "resource"),
            existing=bool(r.get("existing")), loop=loop is not None,
            batch=loop.get("batchSize") if isinstance(loop, dict) else None,
            deps=set(r.get("dependsOn") or []),
            deploys=(list(r.get("deploys") or []) if r.get("kind") == "module"
                     and not r.get("unresolved") else None),
            line=r.get("line") or 0))
    return Side(recs, symbolic=symbolic, emits_existing=emits_existing)


def side_from_graph(graph: Any, *, symbolic: bool = True, emits_existing: bool = True) -> Side:
    """Records from a DeploymentGraph, with the origin of every dependency (dependsOn, reference,
    parent, scope) kept for triage."""
    from armguard.model import inspect_json

    side = side_from_inspect(inspect_json(graph), symbolic=symbolic, emits_existing=emits_existing)
    nodes = {n.symbol: n for n in graph.nodes}
    for r in side.recs:
        n = nodes.get(r.id)
        if n is not None:
            for d in n.dependencies:
                r.origins.setdefault(d.target, set()).add(d.origin)
    return side


def without_existing(side: Side) -> Side:
    """What a classic compile would keep: existing nodes dropped, dependencies on them replaced by
    their own dependencies, transitively."""
    by_id = {r.id: r for r in side.recs}

    def expand(dep: str, seen: set[str]) -> set[str]:
        r = by_id.get(dep)
        if r is None or not r.existing:
            return {dep}
        if dep in seen:
            return set()
        seen.add(dep)
        out: set[str] = set()
        for d in r.deps:
            out |= expand(d, seen)
        return out

    recs = []
    for r in side.recs:
        if r.existing:
            continue
        deps: set[str] = set()
        for d in r.deps:
            deps |= expand(d, {r.id})
        deps.discard(r.id)
        recs.append(Rec(r.id, r.symbol, r.type, r.kind, r.existing, r.loop, r.batch, deps, r.deploys,
                        r.line, r.copy_name, r.name_expr, r.deploys_cause, r.origins))
    return Side(recs, side.symbolic, side.emits_existing)


# --------------------------------------------------------------------------- matching and comparing


def _segments_suffix(a: str, b: str) -> bool:
    sa, sb = a.split("::"), b.split("::")
    n = min(len(sa), len(sb))
    return sa[-n:] == sb[-n:]


def match(expected: Side, actual: Side) -> dict[str, str]:
    """actual id -> expected id. Symbols first (when the expected side has them), then
    (type, kind, order) for whatever is left."""
    pairs: dict[str, str] = {}
    taken: set[str] = set()
    if expected.symbolic:
        exp_ids = {r.id for r in expected.recs}
        for a in actual.recs:
            if a.symbol in exp_ids and a.symbol not in taken:
                pairs[a.id] = a.symbol
                taken.add(a.symbol)
        for a in actual.recs:
            if a.id in pairs or not a.symbol:
                continue
            cands = [e.id for e in expected.recs if e.id not in taken and e.symbol
                     and _segments_suffix(e.symbol, a.symbol)]
            if len(cands) == 1:
                pairs[a.id] = cands[0]
                taken.add(cands[0])
    # (type, kind, order) for what symbols did not match: all of a classic template; in a symbolic
    # one only where the type and kind leave a single candidate on both sides
    if expected.symbolic:
        left_e = [e for e in expected.recs if e.id not in taken]
        left_a = [a for a in actual.recs if a.id not in pairs]
        for a in left_a:
            k = (a.type.lower(), a.kind, a.existing)
            ce = [e for e in left_e if (e.type.lower(), e.kind, e.existing) == k and e.id not in taken]
            ca = [x for x in left_a if (x.type.lower(), x.kind, x.existing) == k]
            if len(ce) == 1 and len(ca) == 1:
                pairs[a.id] = ce[0].id
                taken.add(ce[0].id)
    else:
        # kind first (a module and a hand-written deployment share a type), then type alone: a
        # front end that cannot tell them apart (the ARM one) still pairs them in order
        for with_kind in (True, False):
            queues: dict[tuple[str, str], list[Rec]] = defaultdict(list)
            for e in expected.recs:
                if e.id not in taken:
                    queues[(e.type.lower(), e.kind if with_kind else "")].append(e)
            for a in actual.recs:
                if a.id in pairs:
                    continue
                q = queues.get((a.type.lower(), a.kind if with_kind else ""))
                if q:
                    e = q.pop(0)
                    pairs[a.id] = e.id
                    taken.add(e.id)
    return pairs


@dataclass
class FileResult:
    path: str
    matched: int = 0
    agree: Counter = field(default_factory=Counter)
    deploys_compared: int = 0
    deploys_agree: int = 0
    deploys_by_cause: Counter = field(default_factory=Counter)  # (cause, agrees) -> n
    unmatched_expected: list[str] = field(default_factory=list)
    unmatched_actual: list[str] = field(default_factory=list)
    unresolved_deps: list[str] = field(default_factory=list)
    disagreements: list[dict[str, Any]] = field(default_factory=list)


def _label(rec: Rec) -> str:
    return rec.symbol or f"{rec.type}{rec.id}"


def compare(expected: Side, actual: Side, path: str = "") -> FileResult:
    """Compare one file's resources; `expected` is the compiler's (or the ARM front end's) view."""
    if not expected.emits_existing:
        actual = without_existing(actual)
    pairs = match(expected, actual)
    back = {e: a for a, e in pairs.items()}
    exp_by_id = {r.id: r for r in expected.recs}
    act_by_id = {r.id: r for r in actual.recs}
    res = FileResult(path)
    res.unmatched_expected = [_label(e) for e in expected.recs if e.id not in back]
    res.unmatched_actual = [_label(a) for a in actual.recs if a.id not in pairs]
    for e in expected.recs:
        res.unresolved_deps += [f"{_label(e)}: {d[1:]}" for d in e.deps if d.startswith("?")]

    def exp_label(eid: str) -> str:
        r = exp_by_id.get(eid)
        return _label(r) if r else eid

    for a_id, e_id in pairs.items():
        a, e = act_by_id[a_id], exp_by_id[e_id]
        res.matched += 1
        where = {"file": path, "resource": _label(e), "symbol": a.symbol, "line": a.line}
        ok = {}
        ok["type"] = a.type.lower() == e.type.lower()
        if not ok["type"]:
            res.disagreements.append({**where, "kind": "type", "expected": e.type, "actual": a.type})
        ok["loop"] = a.loop == e.loop
        if not ok["loop"]:
            res.disagreements.append({**where, "kind": "loop", "expected": e.loop, "actual": a.loop})
        ok["batch"] = (a.batch if a.loop else None) == (e.batch if e.loop else None)
        if not ok["batch"]:
            res.disagreements.append({**where, "kind": "batch", "expected": e.batch, "actual": a.batch})
        exp_deps = {d for d in e.deps if not d.startswith("?")}
        act_deps = {pairs.get(d, "?" + d) for d in a.deps}
        missing = sorted(exp_label(d) for d in exp_deps - act_deps)
        extra = sorted((exp_label(d) if not d.startswith("?") else d[1:]) for d in act_deps - exp_deps)
        ok["dependsOn"] = not missing and not extra
        # the same, ignoring dependencies on `existing` resources (not deployed, so they order nothing
        # that can conflict); reported beside the four aspects, not part of "all"
        deployed_diff = {d for d in exp_deps ^ act_deps if not (d in exp_by_id and exp_by_id[d].existing)}
        res.agree["dependsOn (deployed targets)"] += not deployed_diff
        if missing or extra:
            act_origin = {pairs.get(t, "?" + t): o for t, o in a.origins.items()}
            res.disagreements.append({
                **where, "kind": "dependsOn", "missing": missing, "extra": extra,
                "missing_existing": [m for m in missing if _is_existing(exp_by_id, m)],
                "extra_existing": [x for x in extra if _is_existing(exp_by_id, x)],
                "missing_origins": {exp_label(d): sorted(e.origins.get(d, ())) for d in exp_deps - act_deps
                                    if e.origins.get(d)},
                "extra_origins": {(exp_label(d) if not d.startswith("?") else d[1:]): sorted(act_origin.get(d, ()))
                                  for d in act_deps - exp_deps if act_origin.get(d)}})
        for k, v in ok.items():
            res.agree[k] += v
        res.agree["all"] += all(ok.values())
        if e.kind == "module" and e.deploys is not None and a.deploys is not None:
            res.deploys_compared += 1
            # Nested deployments themselves are plumbing: Node.deploys() leaves them out.
            a_types = {t.lower(): t for t in a.deploys if t.lower() != DEPLOYMENTS}
            e_types = {t.lower(): t for t in e.deploys if t.lower() != DEPLOYMENTS}
            res.deploys_by_cause[(a.deploys_cause or "unknown", a_types.keys() == e_types.keys())] += 1
            if a_types.keys() == e_types.keys():
                res.deploys_agree += 1
            else:
                res.disagreements.append({
                    **where, "kind": "deploys", "cause": a.deploys_cause,
                    "missing": sorted(e_types[t] for t in e_types.keys() - a_types.keys()),
                    "extra": sorted(a_types[t] for t in a_types.keys() - e_types.keys())})
    return res


def _is_existing(exp_by_id: dict[str, Rec], label: str) -> bool:
    for r in exp_by_id.values():
        if _label(r) == label:
            return r.existing
    return False


# --------------------------------------------------------------------------- the bench


@dataclass
class Totals:
    files: int = 0
    bytes: int = 0
    parse_seconds: float = 0.0
    parse_cpu_seconds: float = 0.0
    parsed_ok: int = 0
    syntax_errors: list[dict[str, Any]] = field(default_factory=list)
    crashes: list[dict[str, Any]] = field(default_factory=list)
    pairs: int = 0
    graph_seconds: float = 0.0
    graph_crashes: list[dict[str, Any]] = field(default_factory=list)
    results: list[FileResult] = field(default_factory=list)
    mode: str = "compiled"
    skipped: str | None = None


def discover(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    out = [p for p in root.rglob("*") if p.suffix in (".bicep", ".bicepparam") and p.is_file()]
    return sorted(out)


def _crash(path: Path, exc: BaseException) -> dict[str, Any]:
    tb = traceback.extract_tb(exc.__traceback__)
    frame = tb[-1] if tb else None
    return {"file": str(path), "exception": f"{type(exc).__name__}: {exc}",
            "at": f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}" if frame else None}


def run_parse(files: Iterable[Path], totals: Totals) -> None:
    from armguard.bicep import parse_source
    from armguard.source import SourceFile

    clock, cpu = time.perf_counter, time.process_time
    for p in files:
        data = p.read_bytes()
        totals.files += 1
        try:
            src = SourceFile.from_bytes(str(p), data)
        except Exception as e:  # a decode error is the file's fault, not the parser's
            totals.syntax_errors.append({"file": str(p), "line": 0, "column": 0, "message": str(e)})
            continue
        totals.bytes += len(data)
        t0, c0 = clock(), cpu()
        try:
            prog = parse_source(src)
        except Exception as e:
            totals.parse_seconds += clock() - t0
            totals.parse_cpu_seconds += cpu() - c0
            totals.crashes.append(_crash(p, e))
            continue
        totals.parse_seconds += clock() - t0
        totals.parse_cpu_seconds += cpu() - c0
        errors = [d for d in getattr(prog, "diagnostics", []) if getattr(d, "severity", "error") == "error"]
        if errors:
            d = errors[0]
            totals.syntax_errors.append({"file": str(p), "line": d.line, "column": d.column,
                                         "message": d.message, "count": len(errors)})
        else:
            totals.parsed_ok += 1


def arm_loader() -> Callable[[str], Any] | None:
    """`armguard.arm.load_graph` (or `armguard.arm.loader.load_graph`), once it exists."""
    try:
        import armguard.arm as arm
    except ImportError:
        return None
    fn = getattr(arm, "load_graph", None)
    if fn is None:
        try:
            from armguard.arm import loader
        except ImportError:
            return None
        fn = getattr(loader, "load_graph", None)
    return fn


def _load_expected(json_path: Path, arm: bool) -> Side:
    if arm:

        load = arm_loader()
        assert load is not None
        template = json.loads(json_path.read_text(encoding="utf-8-sig"))
        classic = not isinstance(template.get("resources"), dict)
        return side_from_graph(load(str(json_path)), symbolic=not classic, emits_existing=not classic)
    return side_from_template(json.loads(json_path.read_text(encoding="utf-8-sig")))


def run_compare(files: Iterable[Path], totals: Totals, arm: bool) -> None:
    try:
        from armguard.bicep import load_graph
    except ImportError:
        totals.skipped = "armguard.bicep.load_graph is not available yet"
        return
    if arm:
        if arm_loader() is None:
            totals.skipped = "armguard.arm.load_graph is not available yet (--arm)"
            return
        totals.mode = "arm"
    for p in files:
        if p.name != "main.bicep" or not (p.parent / "main.json").is_file():
            continue
        totals.pairs += 1
        t0 = time.perf_counter()
        try:
            graph = load_graph(str(p))
            actual = side_from_graph(graph)
            causes = {n.symbol: module_cause(n) for n in graph.nodes if n.kind == "module"}
            for r in actual.recs:
                r.deploys_cause = causes.get(r.id)
        except Exception as e:
            totals.graph_seconds += time.perf_counter() - t0
            totals.graph_crashes.append(_crash(p, e))
            continue
        totals.graph_seconds += time.perf_counter() - t0
        try:
            expected = _load_expected(p.parent / "main.json", arm)
        except Exception as e:
            totals.graph_crashes.append({**_crash(p.parent / "main.json", e), "side": "expected"})
            continue
        totals.results.append(compare(expected, actual, str(p)))


def _avm_versions() -> dict[str, str | None]:
    path = Path(__file__).resolve().parent.parent / "src" / "armguard" / "bicep" / "avm_modules.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v.get("version") for k, v in data.items() if not k.startswith("_") and isinstance(v, dict)}


_AVM_REF = re.compile(r"^br(?:/public:|:mcr\.microsoft\.com/bicep/)(avm/[^:@]+)[:@](\S+)$", re.I)


def module_cause(node: Any, _versions: dict[str, Any] = {}) -> str:  # noqa: B006 - cache
    """Where a module's `deploys` come from: "local" files only, "registry" (the AVM table, same
    major.minor as the reference), or "registry-version-skew" (the table was built from another
    version of that module than the one the reference pins, so types may legitimately differ)."""
    if not _versions:
        _versions.update(_avm_versions() or {"": None})
    cause = "local"
    stack = [node]
    while stack:
        n = stack.pop()
        ref = getattr(n, "module_ref", None) or ""
        if ref.startswith(("br:", "br/", "ts:", "ts/")):
            m = _AVM_REF.match(ref)
            table_version = _versions.get(m.group(1)) if m else None
            pinned = ".".join(m.group(2).split(".")[:2]) if m else None
            if not m or table_version != pinned:
                return "registry-version-skew"
            cause = "registry"
        if getattr(n, "module", None) is not None:
            stack.extend(x for x in n.module.nodes if x.kind == "module")
    return cause


def _pct(n: int, d: int) -> float:
    return round(100.0 * n / d, 2) if d else 100.0


def summary(totals: Totals, root: Path) -> dict[str, Any]:
    matched = sum(r.matched for r in totals.results)
    agree: Counter = Counter()
    for r in totals.results:
        agree.update(r.agree)
    expected_total = matched + sum(len(r.unmatched_expected) for r in totals.results)
    dcmp = sum(r.deploys_compared for r in totals.results)
    dok = sum(r.deploys_agree for r in totals.results)
    kinds = Counter(d["kind"] for r in totals.results for d in r.disagreements)
    by_cause: Counter = Counter()
    for r in totals.results:
        by_cause.update(r.deploys_by_cause)
    causes = sorted({c for c, _ok in by_cause})
    deploys_by_cause = {c: {"compared": by_cause[(c, True)] + by_cause[(c, False)],
                            "agreement_pct": _pct(by_cause[(c, True)], by_cause[(c, True)] + by_cause[(c, False)])}
                        for c in causes}
    mb = totals.bytes / 1e6
    return {
        "root": str(root),
        "parse": {
            "files": totals.files,
            "parsed_ok": totals.parsed_ok,
            "parsed_ok_pct": _pct(totals.parsed_ok, totals.files),
            "syntax_error_files": len(totals.syntax_errors),
            "crashes": len(totals.crashes),
            "megabytes": round(mb, 3),
            "parse_seconds": round(totals.parse_seconds, 3),
            "mb_per_s": round(mb / totals.parse_seconds, 3) if totals.parse_seconds else None,
            "mb_per_cpu_s": round(mb / totals.parse_cpu_seconds, 3) if totals.parse_cpu_seconds else None,
        },
        "compare": None if totals.skipped else {
            "mode": totals.mode,
            "pairs": totals.pairs,
            "graph_crashes": len(totals.graph_crashes),
            "graph_seconds": round(totals.graph_seconds, 3),
            "resources_matched": matched,
            "unmatched_expected": expected_total - matched,
            "unmatched_actual": sum(len(r.unmatched_actual) for r in totals.results),
            "unresolved_dependencies": sum(len(r.unresolved_deps) for r in totals.results),
            "agreement_pct": {k: _pct(agree[k], matched) for k in (*ASPECTS, "all", "dependsOn (deployed targets)")},
            "all_strict_pct": _pct(agree["all"], expected_total),
            "deploys_compared": dcmp,
            "deploys_agreement_pct": _pct(dok, dcmp),
            "deploys_by_source": deploys_by_cause,
            "disagreements_by_kind": dict(kinds.most_common()),
        },
        "skipped": totals.skipped,
    }


def dependency_categories(results: list[FileResult]) -> Counter:
    """Sub-kinds of dependsOn disagreements, for triage."""
    c: Counter = Counter()
    for r in results:
        for d in r.disagreements:
            if d["kind"] != "dependsOn":
                continue
            for m in d["missing"]:
                origin = "/".join(d.get("missing_origins", {}).get(m, ()))
                c[("missing dep on existing" if m in d["missing_existing"] else "missing dep")
                  + (f" ({origin})" if origin else "")] += 1
            for x in d["extra"]:
                origin = "/".join(d.get("extra_origins", {}).get(x, ()))
                c[("extra dep on existing" if x in d["extra_existing"] else "extra dep")
                  + (f" ({origin})" if origin else "")] += 1
    return c


def report_doc(totals: Totals, summ: dict[str, Any]) -> dict[str, Any]:
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in totals.results:
        for d in r.disagreements:
            by_kind[d["kind"]].append(d)
    return {
        "summary": summ,
        "crashes": totals.crashes,
        "graph_crashes": totals.graph_crashes,
        "syntax_errors": totals.syntax_errors,
        "dependency_categories": dict(dependency_categories(totals.results).most_common()),
        "disagreements": dict(by_kind),
        "unmatched_expected": {r.path: r.unmatched_expected for r in totals.results if r.unmatched_expected},
        "unmatched_actual": {r.path: r.unmatched_actual for r in totals.results if r.unmatched_actual},
        "unresolved_dependencies": {r.path: r.unresolved_deps for r in totals.results if r.unresolved_deps},
    }


def print_table(totals: Totals, s: dict[str, Any], out: Callable[[str], None] = print) -> None:
    p = s["parse"]
    out(f"armguard Bicep front end vs corpus {s['root']}")
    out("")
    out(f"  {'files (.bicep, .bicepparam)':34} {p['files']:>10}")
    out(f"  {'parsed without syntax error':34} {p['parsed_ok']:>10}  {p['parsed_ok_pct']:6.2f} %")
    out(f"  {'crashes':34} {p['crashes']:>10}")
    mbs = f"{p['mb_per_s']:.2f}" if p["mb_per_s"] is not None else "-"
    out(f"  {'parse throughput':34} {mbs:>10}  MB/s ({p['megabytes']:.2f} MB in {p['parse_seconds']:.2f} s; "
        f"{p['mb_per_cpu_s'] or 0:.2f} MB per CPU second)")
    for c in totals.crashes[:20]:
        out(f"    CRASH {c['file']}: {c['exception']} ({c['at']})")
    for e in totals.syntax_errors[:10]:
        out(f"    syntax {e['file']}:{e['line']}:{e['column']}: {e['message']}")
    if len(totals.syntax_errors) > 10:
        out(f"    ... {len(totals.syntax_errors) - 10} more files with syntax errors")
    out("")
    c = s["compare"]
    if c is None:
        out(f"  comparison skipped: {s['skipped']}")
        return
    vs = "ARM JSON front end (armguard.arm.load_graph)" if c["mode"] == "arm" else "compiled main.json"
    out(f"  main.bicep vs {vs}: {c['pairs']} pairs, {c['graph_seconds']:.2f} s to build graphs")
    out(f"  {'graph crashes':34} {c['graph_crashes']:>10}")
    for g in totals.graph_crashes[:20]:
        out(f"    CRASH {g['file']}: {g['exception']} ({g['at']})")
    out(f"  {'resources matched':34} {c['resources_matched']:>10}")
    exp_name = "ARM-graph" if c["mode"] == "arm" else "compiled"
    out(f"  {'unmatched ' + exp_name + ' resources':34} {c['unmatched_expected']:>10}")
    out(f"  {'unmatched Bicep resources':34} {c['unmatched_actual']:>10}")
    out(f"  {'unresolved compiled dependsOn':34} {c['unresolved_dependencies']:>10}")
    out("")
    out(f"  {'agreement':34} {'%':>10}")
    for k in (*ASPECTS, "all"):
        out(f"  {k:34} {c['agreement_pct'][k]:>10.2f}")
    out(f"  {'all (unmatched count as wrong)':34} {c['all_strict_pct']:>10.2f}")
    out(f"  {'dependsOn, deployed targets only':34} {c['agreement_pct']['dependsOn (deployed targets)']:>10.2f}")
    out(f"  {'deploys (modules, ' + str(c['deploys_compared']) + ' compared)':34} "
        f"{c['deploys_agreement_pct']:>10.2f}")
    for cause, v in c["deploys_by_source"].items():
        out(f"    {cause + ' (' + str(v['compared']) + ')':32} {v['agreement_pct']:>10.2f}")
    if c["disagreements_by_kind"]:
        out("")
        out("  disagreements by kind: " + ", ".join(f"{k} {v}" for k, v in c["disagreements_by_kind"].items()))
        cats = dependency_categories(totals.results)
        if cats:
            out("  dependsOn entries: " + ", ".join(f"{k} {v}" for k, v in cats.most_common()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Check the Bicep front end against a corpus of compiled templates.")
    ap.add_argument("path", nargs="?", default=os.environ.get("ARMGUARD_AVM_CORPUS"))
    ap.add_argument("--json", action="store_true", help="machine-readable summary on stdout")
    ap.add_argument("--report", metavar="FILE", help="write crashes and disagreements as JSON for triage")
    ap.add_argument("--arm", action="store_true",
                    help="compare against armguard.arm.load_graph(main.json) instead of the raw JSON")
    ap.add_argument("--no-graph", action="store_true", help="parse phase only")
    ap.add_argument("--limit", type=int, help="only the first N files (sorted), for quick runs")
    args = ap.parse_args(argv)
    if not args.path:
        ap.error("PATH not given and ARMGUARD_AVM_CORPUS not set")
    root = Path(args.path)
    if not root.exists():
        ap.error(f"{root} does not exist")
    files = discover(root)
    if args.limit:
        files = files[: args.limit]
    totals = Totals()
    run_parse(files, totals)
    if args.no_graph:
        totals.skipped = "--no-graph"
    else:
        run_compare(files, totals, args.arm)
    s = summary(totals, root)
    if args.report:
        Path(args.report).write_text(json.dumps(report_doc(totals, s), indent=1, default=str) + "\n",
                                     encoding="utf-8")
    if args.json:
        print(json.dumps(s, indent=1))
    else:
        print_table(totals, s)
    return 1 if totals.crashes or totals.graph_crashes else 0


if __name__ == "__main__":
    sys.exit(main())
