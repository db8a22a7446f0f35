"""The plan as one self-contained HTML file: inline CSS, inline SVG Gantt charts, a little inline
JavaScript (hover highlighting; it also records what it rendered on <body>), no external assets.

One chart per schedule (as written, all serial, optimal, with changes), on one shared time axis.
A lane per lock domain written by more than one operation, plus one lane for unconstrained work;
overlapping bars in a lane stack in rows. Every operation is one `<rect class="op" data-id=...>`
in its first domain's lane (its other domains are listed in its tooltip). Writes that collide get
the `collision` class (red outline) and a red marker at the lane's left edge of the overlap.
"""

from __future__ import annotations

import hashlib
import json
from html import escape
from typing import Any

from armguard.plan.core import Plan
from armguard.plan.report import SCHEDULES, TITLES, duration, to_json

WIDTH = 1320
LABEL = 330
RIGHT = 56
ROW = 13
GAP = 3
LANE_PAD = 5
MAX_ROWS = 40
AXIS = 24

CSS = """
body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 20px; color: #1d2330; background: #fff; }
h1 { font-size: 20px; margin: 0 0 8px; }
h2 { font-size: 16px; margin: 22px 0 6px; }
table.totals { border-collapse: collapse; margin: 8px 0 10px; }
table.totals th, table.totals td { border: 1px solid #d0d5de; padding: 4px 10px; text-align: right; }
table.totals th { background: #f1f3f7; }
.bad { color: #c0182b; font-weight: 600; }
.ok { color: #1a7f37; font-weight: 600; }
svg { display: block; background: #fbfcfe; border: 1px solid #e1e5ec; }
.lane-bg { fill: #f4f6fa; }
.lane-bg.alt { fill: #ffffff; }
.lane-label { font-size: 11px; fill: #30384a; }
.axis { stroke: #c8ced8; stroke-width: 1; }
.tick { font-size: 10px; fill: #6b7385; }
rect.op { stroke: #2b3550; stroke-width: 0.5; rx: 2; cursor: pointer; }
rect.op.assumed { stroke-dasharray: 3 2; }
rect.op.collision { stroke: #e3162d; stroke-width: 2; }
rect.op.hl { stroke: #000; stroke-width: 2.5; }
.collision-marker { fill: #e3162d; }
.bar-label { font-size: 9.5px; fill: #101522; pointer-events: none; }
.makespan-line { stroke: #5a6478; stroke-dasharray: 4 3; }
pre { background: #f6f8fa; border: 1px solid #e1e5ec; padding: 8px; overflow-x: auto; font-size: 12px; }
ul.assumptions li, ol.changes li { margin: 4px 0; }
.legend span { display: inline-block; margin-right: 14px; }
.swatch { display: inline-block; width: 14px; height: 10px; vertical-align: middle; margin-right: 4px; border: 1px solid #2b3550; }
"""

JS = """
(function () {
  var ops = document.querySelectorAll('rect.op');
  function mark(id, on) {
    document.querySelectorAll('rect.op[data-id="' + CSS.escape(id) + '"]').forEach(function (r) {
      r.classList.toggle('hl', on);
    });
  }
  ops.forEach(function (r) {
    r.addEventListener('mouseenter', function () { mark(r.dataset.id, true); });
    r.addEventListener('mouseleave', function () { mark(r.dataset.id, false); });
  });
  var counts = {};
  document.querySelectorAll('section.schedule').forEach(function (s) {
    counts[s.dataset.schedule] = {
      ops: s.querySelectorAll('rect.op').length,
      collisions: s.querySelectorAll('rect.op.collision').length,
      markers: s.querySelectorAll('.collision-marker').length
    };
    s.dataset.renderedOps = String(counts[s.dataset.schedule].ops);
  });
  document.body.dataset.rendered = JSON.stringify(counts);
})();
"""


def _color(rtype: str) -> str:
    h = int(hashlib.sha1(rtype.lower().encode()).hexdigest()[:6], 16)
    return f"hsl({h % 360}, 55%, 62%)"


def _rows(items: list[tuple[float, float, int]]) -> dict[int, int]:
    """Row of each interval in a lane: the first row free at its start (capped)."""
    ends: list[float] = []
    out: dict[int, int] = {}
    for s, e, i in sorted(items):
        for r, last in enumerate(ends):
            if last <= s + 1e-9:
                ends[r] = e
                out[i] = r
                break
        else:
            if len(ends) < MAX_ROWS:
                ends.append(e)
                out[i] = len(ends) - 1
            else:
                r = min(range(len(ends)), key=ends.__getitem__)
                ends[r] = max(ends[r], e)
                out[i] = r
    return out


def _short(label: str, limit: int = 50) -> str:
    """'Microsoft.Network/privateDnsZones 'a.b.c'' -> "privateDnsZones 'a.b.c'", shortened in the middle."""
    head, sep, rest = label.partition(" ")
    if sep and "/" in head:
        label = head.rsplit("/", 1)[-1] + " " + rest
    if len(label) <= limit:
        return label
    keep = limit - 1
    return label[:keep // 2] + "…" + label[-(keep - keep // 2):]


def _ticks(total: float) -> list[float]:
    if total <= 0:
        return [0.0]
    for step in (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400):
        if total / step <= 12:
            break
    out = []
    t = 0.0
    while t <= total + 1e-9:
        out.append(t)
        t += step
    return out


def _chart(plan: Plan, name: str, scale: float, total: float) -> str:
    sched = plan.schedules[name]
    colliding: set[int] = set()
    markers: list[tuple[int, float, str]] = []
    for c in plan.collisions.get(name, []):
        colliding.update(c.members)
        markers.append((c.domain, c.start, ", ".join(plan.ops[m].id for m in c.members)))
    lanes: dict[int, list[int]] = {}
    for i, op in enumerate(plan.ops):
        lanes.setdefault(op.domains[0] if op.domains else -1, []).append(i)
    order = sorted((d for d in lanes if d >= 0), key=lambda d: (min(sched.start[i] for i in lanes[d]), d))
    if -1 in lanes:
        order.append(-1)
    parts: list[str] = []
    y = AXIS
    lane_y: dict[int, int] = {}
    x0 = LABEL
    for k, d in enumerate(order):
        members = lanes[d]
        rows = _rows([(sched.start[i], sched.end[i], i) for i in members])
        nrows = max(rows.values(), default=0) + 1
        height = nrows * (ROW + GAP) - GAP + 2 * LANE_PAD
        lane_y[d] = y
        label = plan.domains[d].describe if d >= 0 else "unconstrained (no shared lock domain)"
        short = _short(label)
        parts.append(f'<g class="lane" data-domain="{escape(label)}">')
        parts.append(f'<rect class="lane-bg{" alt" if k % 2 else ""}" x="0" y="{y}" width="{WIDTH}" height="{height}"/>')
        parts.append(f'<text class="lane-label" x="6" y="{y + LANE_PAD + ROW - 3}"><title>{escape(label)}</title>'
                     f'{escape(short)}</text>')
        for i in members:
            op = plan.ops[i]
            s, e = sched.start[i], sched.end[i]
            bx = x0 + s * scale
            bw = max(1.5, (e - s) * scale)
            by = y + LANE_PAD + rows[i] * (ROW + GAP)
            cls = "op" + (" collision" if i in colliding else "") + (" assumed" if op.assumed else "")
            doms = "; ".join(plan.domains[x].describe for x in op.domains) or "none"
            tip = (f"{op.id} ({op.type})\n{duration(s)} - {duration(e)} ({e - s:g} s"
                   f"{', assumed' if op.assumed else ''})\nlock domains: {doms}")
            parts.append(f'<rect class="{cls}" data-id="{escape(op.id)}" data-start="{s:g}" data-end="{e:g}" '
                         f'x="{bx:.2f}" y="{by}" width="{bw:.2f}" height="{ROW}" fill="{_color(op.type)}">'
                         f'<title>{escape(tip)}</title></rect>')
            if bw > 46:
                label = op.id if len(op.id) * 6 < bw - 6 else op.id[:max(1, int((bw - 6) / 6) - 1)] + "…"
                parts.append(f'<text class="bar-label" x="{bx + 3:.2f}" y="{by + ROW - 3}">{escape(label)}</text>')
        parts.append("</g>")
        y += height
    for d, start, who in markers:
        if d not in lane_y:
            continue
        mx = x0 + start * scale
        my = lane_y[d] + 1
        parts.append(f'<path class="collision-marker" d="M{mx - 6:.2f},{my} L{mx + 6:.2f},{my} L{mx:.2f},{my + 9} Z">'
                     f'<title>{escape("collision: " + who)}</title></path>')
    height = y + 6
    axis = [f'<line class="axis" x1="{x0}" y1="{AXIS - 4}" x2="{WIDTH - RIGHT}" y2="{AXIS - 4}"/>']
    for t in _ticks(total):
        tx = x0 + t * scale
        axis.append(f'<line class="axis" x1="{tx:.2f}" y1="{AXIS - 8}" x2="{tx:.2f}" y2="{height}" opacity="0.35"/>')
        axis.append(f'<text class="tick" x="{tx + 2:.2f}" y="{AXIS - 10}">{duration(t)}</text>')
    mk = x0 + sched.makespan * scale
    axis.append(f'<line class="makespan-line" x1="{mk:.2f}" y1="{AXIS - 8}" x2="{mk:.2f}" y2="{height}"/>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(TITLES[name])} schedule">'
           + "".join(axis) + "".join(parts) + "</svg>")
    return svg


def to_html(plan: Plan) -> str:
    data = to_json(plan)
    names = [n for n in SCHEDULES if n in plan.schedules]
    total = max((plan.makespan(n) for n in names), default=0.0)
    scale = (WIDTH - LABEL - RIGHT) / total if total > 0 else 1.0
    ms = data["makespan"]
    head = "".join(f"<th>{escape(TITLES[k])}</th>" for k in ms)
    row = "".join(f"<td>{duration(v)}<br><small>{v} s</small></td>" for v in ms.values())
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>armguard plan: {escape(data['file'])}</title>",
        f"<style>{CSS}</style></head>",
        f'<body data-operations="{len(plan.ops)}">',
        f"<h1>armguard plan: {escape(data['file'])}</h1>",
        f"<p>{len(plan.ops)} operations; {len(plan.domains)} lock domain{'' if len(plan.domains) == 1 else 's'} "
        "written by more than one.</p>",
        f'<table class="totals"><tr>{head}</tr><tr>{row}</tr></table>',
    ]
    chance = data["failure_chance"]
    cls = "bad" if chance > 0 else "ok"
    mc = data["monte_carlo"]
    how = (f"{escape(mc['certain'][0])} and {escape(mc['certain'][1])} always start together" if mc["certain"]
           else f"{mc['samples']} Monte Carlo runs, durations ±{mc['jitter'] * 100:g} %")
    out.append(f'<p>Chance the deployment as written fails with AnotherOperationInProgress: '
               f'<span class="{cls}" id="failure-chance">{chance * 100:.0f} %</span> ({how}).</p>')
    out.append('<p class="legend"><span><span class="swatch" style="border:2px solid #e3162d"></span>collides</span>'
               '<span><span class="swatch" style="border-style:dashed"></span>duration assumed</span>'
               '<span>&#9660; collision starts</span><span>dashed line: makespan</span></p>')
    for n in names:
        svg = _chart(plan, n, scale, total)
        coll = plan.collisions.get(n, [])
        note = (f'<span class="bad">{len(coll)} collision{"s" if len(coll) != 1 else ""}</span>' if coll
                else '<span class="ok">no collisions</span>')
        out.append(f'<section class="schedule" id="schedule-{n}" data-schedule="{n}" '
                   f'data-operations="{len(plan.ops)}" data-collisions="{len(coll)}" data-makespan="{plan.makespan(n):g}">')
        out.append(f"<h2>{escape(TITLES[n].capitalize())}: {duration(plan.makespan(n))} &middot; {note}</h2>")
        out.append(svg)
        out.append("</section>")
    if data["collisions"]:
        out.append("<h2>Collisions as written</h2><ul>")
        for c in data["collisions"]:
            out.append(f"<li>{escape(c['domain'])}: {escape(', '.join(c['members']))} "
                       f"({duration(c['start'])} - {duration(c['end'])})</li>")
        out.append("</ul>")
    out.append("<h2>Changes</h2>")
    if plan.changes:
        out.append('<ol class="changes">')
        for c in data["changes"]:
            out.append(f"<li><b>{escape(c['kind'])}</b> {escape(c['file'])}:{c['line']}: {escape(c['description'])}")
            body = c["diff"] or c["sketch"]
            if body:
                out.append(f"<pre>{escape(body)}</pre>")
            out.append("</li>")
        out.append("</ol>")
    else:
        out.append("<p>None needed.</p>")
    out.append('<h2>Assumptions</h2><ul class="assumptions">')
    out.extend(f"<li>{escape(a)}</li>" for a in data["assumptions"])
    out.append("</ul>")
    out.append(f'<script type="application/json" id="plan-summary">{_json_for_script(data)}</script>')
    out.append(f"<script>{JS}</script>")
    out.append("</body></html>")
    return "\n".join(out)


def _json_for_script(data: dict[str, Any]) -> str:
    summary = {k: data[k] for k in ("makespan", "failure_chance", "collisions", "operations")}
    return json.dumps(summary).replace("</", "<\\/")
