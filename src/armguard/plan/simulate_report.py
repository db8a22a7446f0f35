"""Text reports of `armguard simulate` (pure: a Summary in, a string out)."""

from __future__ import annotations

from armguard.plan.simulate import Summary, natural_key


def fmt_seconds(seconds: float) -> str:
    """'498.8 s (8m19s)'; '42.0 s' under a minute; hours as '1h02m03s'."""
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.1f} s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
    return f"{seconds:.1f} s ({clock})"


def fmt_failed(summary: Summary) -> str:
    share = 100.0 * summary.failed_runs / summary.runs if summary.runs else 0.0
    return f"{summary.failed_runs} of {summary.runs} ({share:.3g} %)"


def short_resource(resource: str, scope_id: str) -> str:
    """A resource id relative to the deployment scope ('Microsoft.Network/virtualHubs/hub/...')."""
    prefix = f"{scope_id}/providers/"
    if scope_id and resource.lower().startswith(prefix.lower()):
        return resource[len(prefix):]
    return resource


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        out.append(("  " + "  ".join(cells)).rstrip())
    return out


def to_text(summary: Summary) -> str:
    lines = [f"{summary.path}: {summary.runs} deployment{'s' if summary.runs != 1 else ''} simulated in virtual "
             f"time (seed {summary.seed})",
             f"  failed runs  {fmt_failed(summary)}",
             "  makespan     " + "   ".join(f"{k} {fmt_seconds(summary.makespan[k])}"
                                           for k in ("min", "median", "max"))]
    if summary.failures:
        lines += ["", "failures (runs in which the resource failed, by innermost error code):"]
        rows = [["runs", "code", "resource"]]
        rows += [[str(f.count), f.code, short_resource(f.resource, summary.scope_id)] for f in summary.failures]
        lines += _table(rows, {0})
    else:
        lines += ["", "no run failed"]
    return "\n".join(lines)


def compare_text(before: Summary, after: Summary) -> str:
    lines = [f"{before.runs} deployment{'s' if before.runs != 1 else ''} of each template simulated in virtual "
             f"time (seed {before.seed}; run i of both uses the same seed)",
             f"  before: {before.path}",
             f"  after:  {after.path}",
             ""]
    rows = [["", "before", "after"], ["failed runs", fmt_failed(before), fmt_failed(after)]]
    for k in ("min", "median", "max"):
        rows.append([f"makespan {k}", fmt_seconds(before.makespan[k]), fmt_seconds(after.makespan[k])])
    lines += _table(rows, set())
    b = {(short_resource(f.resource, before.scope_id), f.code): f.count for f in before.failures}
    a = {(short_resource(f.resource, after.scope_id), f.code): f.count for f in after.failures}
    keys = sorted(set(b) | set(a), key=lambda k: (natural_key(k[0]), k[1]))
    if keys:
        lines += ["", "failures (runs in which the resource failed, by innermost error code):"]
        rows = [["before", "after", "code", "resource"]]
        rows += [[str(b.get(k, 0)), str(a.get(k, 0)), k[1], k[0]] for k in keys]
        lines += _table(rows, {0, 1})
    else:
        lines += ["", "no run failed"]
    return "\n".join(lines)
