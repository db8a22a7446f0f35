"""`armguard lint`: conflict-prone loops and siblings, explained and fixed."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

from armguard.lint.fixes import fix_text, write_atomically
from armguard.lint.runner import FileResult, lint_file, lint_paths

__all__ = ["FileResult", "apply_fixes", "lint_file", "lint_paths", "report"]


def report(results: list[FileResult], files: int, fmt: str) -> str:
    from armguard.lint import reporters

    if fmt == "json":
        return reporters.json_report(results, files)
    if fmt == "sarif":
        return reporters.sarif_report(results, files)
    return reporters.text_report(results, files)


def apply_fixes(results: list[FileResult], *, write: bool, echo: Callable[[str], None]) -> int:
    """Fix what can be fixed; with write=False print a unified diff instead. Returns files changed."""
    changed = 0
    for r in results:
        fixable = [f for f in r.findings if f.fix is not None]
        if not fixable or r.text is None:
            continue
        result = fix_text(r.path, r.text, fixable, r.language)
        for f, why in result.skipped:
            echo(f"{f.path}({f.line},{f.column}) : {f.rule}: fix not applied: {why}")
        if result.fixed == result.original:
            continue
        changed += 1
        if write:
            write_atomically(Path(r.path), result.fixed, bom=r.bom)
            echo(f"fixed {len(result.applied)} finding(s) in {r.path}")
        else:
            echo("".join(difflib.unified_diff(
                result.original.splitlines(keepends=True), result.fixed.splitlines(keepends=True),
                fromfile=f"a/{r.path}", tofile=f"b/{r.path}")))
    return changed
