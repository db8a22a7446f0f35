"""Text edits for fixes: insert `@batchSize(1)`, add dependsOn, rename module deployments.

Edits are computed against the original text, keep its indentation and line endings, and are
applied only when the result still parses (see fixes.py).
"""

from __future__ import annotations

import re

from armguard.bicep import syntax as s
from armguard.lint.findings import TextEdit


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def indentation(text: str, offset: int) -> str:
    start = line_start(text, offset)
    m = re.match(r"[ \t]*", text[start:])
    return m.group() if m else ""


def apply_edits(text: str, edits: list[TextEdit]) -> str:
    """Apply non-overlapping edits (later ones first so offsets stay valid)."""
    out = text
    last = len(text) + 1
    for e in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        if e.end > last:
            continue  # overlaps an edit already applied: skip rather than corrupt
        out = out[:e.start] + e.text + out[e.end:]
        last = e.start
    return out


# ------------------------------------------------------------------- Bicep

def bicep_batch_size(text: str, decl: s.ResourceDecl | s.ModuleDecl, comment: str) -> list[TextEdit]:
    """Make a loop declaration serial: `@batchSize(1)` with a comment saying why."""
    nl = newline_of(text)
    existing = next((d for d in decl.decorators if d.name == "batchSize"), None)
    if existing is not None:
        edits = []
        if existing.call.args:
            arg = existing.call.args[0]
            edits.append(TextEdit(arg.start, arg.end, "1"))
        at = line_start(text, existing.start)
        edits.append(TextEdit(at, at, f"{indentation(text, existing.start)}// {comment}{nl}"))
        return edits
    at = line_start(text, decl.name_start)
    indent = indentation(text, decl.name_start)
    return [TextEdit(at, at, f"{indent}// {comment}{nl}{indent}@batchSize(1){nl}")]


def bicep_add_depends_on(text: str, body: s.ObjectExpr, targets: list[str]) -> list[TextEdit]:
    """Add symbols to a declaration's dependsOn, creating the property when it is missing."""
    nl = newline_of(text)
    current = body.get("dependsOn")
    if isinstance(current, s.ArrayExpr):
        present = {text[i.start:i.end] for i in current.items}
        new = [t for t in targets if t not in present]
        if not new:
            return []
        if current.items:
            last = current.items[-1]
            multiline = "\n" in text[current.start:current.end]
            if multiline:
                indent = indentation(text, last.start)
                return [TextEdit(last.end, last.end, "".join(f"{nl}{indent}{t}" for t in new))]
            return [TextEdit(last.end, last.end, "".join(f", {t}" for t in new))]
        return [TextEdit(current.start, current.end, "[" + ", ".join(new) + "]")]
    props = body.properties
    if "\n" not in text[body.start:body.end] or not props:
        inner = ", ".join(targets)
        if body.items:
            at = body.items[-1].end
            return [TextEdit(at, at, f", dependsOn: [{inner}]")]
        return [TextEdit(body.end - 1, body.end - 1, f" dependsOn: [{inner}] ")]
    last = body.items[-1]
    indent = indentation(text, props[0].start)
    inner_indent = indent + _indent_unit(text, body, indent)
    lines = "".join(f"{nl}{inner_indent}{t}" for t in targets)
    return [TextEdit(last.end, last.end, f"{nl}{indent}dependsOn: [{lines}{nl}{indent}]")]


def _indent_unit(text: str, body: s.ObjectExpr, indent: str) -> str:
    closing = indentation(text, body.end - 1)
    unit = indent[len(closing):] if indent.startswith(closing) else ""
    return unit or "  "


def bicep_replace(node: s.Node, replacement: str) -> TextEdit:
    return TextEdit(node.start, node.end, replacement)


# ----------------------------------------------------------------- ARM JSON

def json_set_serial(text: str, copy_start: int, copy_end: int) -> list[TextEdit]:
    """Rewrite a resource's `copy` object (text[copy_start:copy_end], braces included) to serial mode."""
    body = text[copy_start:copy_end]
    out = body
    out = _json_set(out, "mode", '"serial"')
    out = _json_set(out, "batchSize", "1")
    return [TextEdit(copy_start, copy_end, out)] if out != body else []


def _json_set(obj_text: str, key: str, value: str) -> str:
    pattern = re.compile(r'("' + key + r'"\s*:\s*)("(?:[^"\\]|\\.)*"|-?\d+|\[[^\]]*\]|true|false|null)', re.I)
    if pattern.search(obj_text):
        return pattern.sub(lambda m: m.group(1) + value, obj_text, count=1)
    close = obj_text.rstrip().rfind("}")
    before = obj_text[:close].rstrip()
    nl = "\r\n" if "\r\n" in obj_text else "\n"
    if nl in obj_text:
        lines = obj_text.split(nl)
        indent = re.match(r"[ \t]*", lines[1]).group() if len(lines) > 2 else "  "  # type: ignore[union-attr]
        return f'{before},{nl}{indent}"{key}": {value}{obj_text[len(before):]}'
    return f'{before}, "{key}": {value}{obj_text[len(before):]}'
