"""Fixes: build them for findings, and apply them to files without ever breaking a file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from armguard.bicep import syntax as s
from armguard.errors import ArmguardError
from armguard.lint import edits
from armguard.lint.findings import Finding, Fix, TextEdit
from armguard.model import Node


def _bicep_decl(ctx, node: Node) -> s.ResourceDecl | s.ModuleDecl | None:  # type: ignore[no-untyped-def]
    model = ctx.bicep
    if model is None or node.path != ctx.path:
        return None
    d = model.declarations.get(node.symbol)
    return d.decl if d is not None else None


def batch_size_fix(ctx, node: Node, comment: str) -> Fix | None:  # type: ignore[no-untyped-def]
    if ctx.source is None:
        return None
    text = ctx.source.text
    if ctx.language == "bicep":
        decl = _bicep_decl(ctx, node)
        if decl is None:
            return None
        return Fix("add @batchSize(1) with a comment saying why", edits.bicep_batch_size(text, decl, comment))
    span = _json_copy_span(ctx, node)
    if span is None:
        return None
    found = edits.json_set_serial(text, *span)
    return Fix('set "copy": {"mode": "serial", "batchSize": 1}', found) if found else None


def depends_on_fix(ctx, node: Node, targets: list[str]) -> Fix | None:  # type: ignore[no-untyped-def]
    if ctx.source is None or ctx.language != "bicep":
        return None
    decl = _bicep_decl(ctx, node)
    body = decl.body if decl is not None else None
    if body is None:
        return None
    found = edits.bicep_add_depends_on(ctx.source.text, body, targets)
    return Fix(f"add dependsOn: [{', '.join(targets)}]", found) if found else None


def replace_fix(ctx, node: s.Node, replacement: str, description: str) -> Fix:  # type: ignore[no-untyped-def]
    return Fix(description, [edits.bicep_replace(node, replacement)])


def _json_copy_span(ctx, node: Node) -> tuple[int, int] | None:  # type: ignore[no-untyped-def]
    """The character span of the resource's `copy` object in an ARM JSON file."""
    if node.span is None or ctx.source is None:
        return None
    text = ctx.source.text
    start, end = node.span.start, node.span.end
    i = _find_key(text, start, end, "copy")
    if i is None:
        return None
    j = text.find("{", i, end)
    if j == -1:
        return None
    k = _matching_brace(text, j, end)
    return (j, k + 1) if k is not None else None


def _find_key(text: str, start: int, end: int, key: str) -> int | None:
    """Offset just past `"key":` at depth 1 of the JSON object text[start:end]."""
    depth = 0
    i = start
    target = f'"{key}"'.lower()
    while i < end:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < end and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if depth == 1 and text[i:j + 1].lower() == target:
                k = j + 1
                while k < end and text[k] in " \t\r\n":
                    k += 1
                if k < end and text[k] == ":":
                    return k + 1
            i = j + 1
            continue
        if c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
        i += 1
    return None


def _matching_brace(text: str, start: int, end: int) -> int | None:
    depth = 0
    i = start
    while i < end:
        c = text[i]
        if c == '"':
            i += 1
            while i < end and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


@dataclass
class FixResult:
    path: str
    original: str
    fixed: str
    applied: list[Finding]
    skipped: list[tuple[Finding, str]]


def fix_text(path: str, text: str, findings: list[Finding], language: str) -> FixResult:
    """Apply the fixes of `findings` to `text`; a fix whose result does not parse is skipped."""
    applied: list[Finding] = []
    skipped: list[tuple[Finding, str]] = []
    accepted: list[TextEdit] = []
    for f in sorted(findings, key=lambda f: f.sort_key()):
        if f.fix is None or f.path != path:
            continue
        candidate = accepted + f.fix.edits
        if _overlapping(candidate):
            skipped.append((f, "overlaps another fix"))
            continue
        result = edits.apply_edits(text, candidate)
        problem = _parse_problem(path, result, language)
        if problem is not None:
            skipped.append((f, problem))
            continue
        accepted = candidate
        applied.append(f)
    return FixResult(path, text, edits.apply_edits(text, accepted), applied, skipped)


def _overlapping(es: list[TextEdit]) -> bool:
    ordered = sorted(es, key=lambda e: (e.start, e.end))
    return any(b.start < a.end for a, b in pairwise(ordered))


def _parse_problem(path: str, text: str, language: str) -> str | None:
    if language == "bicep":
        from armguard.bicep import parse_text

        program = parse_text(text, path)
        if program.diagnostics:
            return f"the fixed file would not parse: {program.diagnostics[0].message}"
        return None
    import json

    try:
        json.loads(text)
    except ValueError as e:
        return f"the fixed file would not be valid JSON: {e}"
    return None


def write_atomically(path: Path, text: str, *, bom: bool = False) -> None:
    """Write through a temporary file and rename, so a crash never leaves a half-written file.
    Line endings are written exactly as given; `bom` restores a byte order mark the file had."""
    tmp = path.with_name(f".{path.name}.armguard-tmp")
    try:
        with tmp.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ArmguardError(f"cannot write file: {e.strerror}", path=str(path)) from None
