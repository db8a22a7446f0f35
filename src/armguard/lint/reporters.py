"""Lint output: compiler-style text, JSON, SARIF 2.1.0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from armguard import __version__
from armguard.lint.findings import Finding
from armguard.lint.rules import all_rules
from armguard.lint.runner import FileError, FileResult

_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
HELP_URI = "https://github.com/armguard/armguard#rules"


def text_report(results: list[FileResult], files: int) -> str:
    """`path(line,col) : Warning AG101: message` plus a code frame and the reason, like a compiler."""
    lines: list[str] = []
    findings = 0
    for r in results:
        source_lines = r.text.splitlines() if r.text else []
        for e in r.errors:
            lines.append(str(e))
        for f in r.findings:
            findings += 1
            lines.append(f"{f.path}({f.line},{f.column}) : {f.level.capitalize()} {f.rule}: {f.message}")
            if 0 < f.line <= len(source_lines):
                lines.append(f"  {f.line:>5} | {source_lines[f.line - 1].rstrip()}")
                lines.append(f"        | {' ' * max(0, f.column - 1)}^")
            if f.domain:
                members = f" ({', '.join(f.members[:8])}{', ...' if len(f.members) > 8 else ''})" if f.members else ""
                lines.append(f"        = shared lock domain: {f.domain}{members}")
            if f.reason:
                lines.append(f"        = why: {f.reason}")
            if f.fix:
                lines.append(f"        = fix (--fix): {f.fix.description}")
    errors = sum(len(r.errors) for r in results)
    lines.append(f"{files} file(s) checked, {findings} finding(s), {errors} error(s)")
    return "\n".join(lines)


def json_report(results: list[FileResult], files: int) -> str:
    data = {
        "findings": [f.to_json() for r in results for f in r.findings],
        "files": files,
        "errors": [_error_json(e) for r in results for e in r.errors],
    }
    return json.dumps(data, indent=2)


def _error_json(e: FileError) -> dict[str, Any]:
    return {"path": e.path, "line": e.line, "column": e.column, "message": e.message}


def sarif_report(results: list[FileResult], files: int, base: Path | None = None) -> str:
    rules = all_rules()
    index = {r.id: i for i, r in enumerate(rules)}
    base = (base or Path.cwd()).resolve()
    sarif_results = []
    for r in results:
        for f in r.findings:
            sarif_results.append(_sarif_result(f, index, base))
    notifications = [
        {
            "level": "error",
            "message": {"text": e.message},
            "locations": [_location(e.path, e.line, e.column, base)],
        }
        for r in results for e in r.errors
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "armguard",
                "version": __version__,
                "informationUri": HELP_URI,
                "rules": [
                    {
                        "id": rule.id,
                        "name": rule.name,
                        "shortDescription": {"text": rule.doc.split(". ")[0].rstrip(".") + "."},
                        "fullDescription": {"text": rule.doc},
                        "help": {"text": rule.doc},
                        "helpUri": f"{HELP_URI}-{rule.id.lower()}",
                        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.level]},
                    }
                    for rule in rules
                ],
            }
        },
        "results": sarif_results,
        "invocations": [{"executionSuccessful": not notifications, "toolExecutionNotifications": notifications}],
        "originalUriBaseIds": {"SRCROOT": {"uri": base.as_uri() + "/"}},
    }
    return json.dumps({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    }, indent=2)


def _location(path: str, line: int, column: int, base: Path) -> dict[str, Any]:
    p = Path(path).resolve()
    try:
        uri = p.relative_to(base).as_posix()
        loc: dict[str, Any] = {"uri": uri, "uriBaseId": "SRCROOT"}
    except ValueError:
        loc = {"uri": p.as_uri()}
    return {"physicalLocation": {"artifactLocation": loc,
                                 "region": {"startLine": max(1, line), "startColumn": max(1, column)}}}


def _sarif_result(f: Finding, index: dict[str, int], base: Path) -> dict[str, Any]:
    text = f.message
    if f.reason:
        text += f" Why: {f.reason}"
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index.get(f.rule, 0),
        "level": _SARIF_LEVEL.get(f.level, "warning"),
        "message": {"text": text},
        "locations": [_location(f.path, f.line, f.column, base)],
        "partialFingerprints": {"armguardSymbol/v1": f"{f.rule}:{f.symbol or ''}"},
    }
    props: dict[str, Any] = {}
    if f.domain:
        props["lockDomain"] = f.domain
    if f.members:
        props["members"] = f.members
    if props:
        result["properties"] = props
    return result
