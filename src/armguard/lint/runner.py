"""Running lint over paths: find the files, lint each (in parallel across cores), apply suppressions."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from armguard.catalog import Catalog, load_catalog
from armguard.errors import ArmguardError
from armguard.lint.config import Config, find_config
from armguard.lint.context import LintContext
from armguard.lint.discovery import Missing, iter_templates
from armguard.lint.findings import Finding
from armguard.lint.rules import all_rules
from armguard.model import DeploymentGraph, Node
from armguard.source import SourceFile

_PARALLEL_THRESHOLD = 8


@dataclass
class FileError:
    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: error: {self.message}"


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    language: str = "bicep"
    text: str | None = None
    bom: bool = False


# ------------------------------------------------------------------ discovery

def discover(paths: list[str]) -> tuple[list[Path], list[FileError]]:
    """The Bicep and ARM JSON template files named by `paths` (directories walked), and an error
    for each path that does not exist."""
    found: list[Path] = []
    missing: list[FileError] = []
    for item in iter_templates(paths):
        if isinstance(item, Missing):
            missing.append(_missing(item))
        else:
            found.append(Path(item))
    return found, missing


def _missing(item: Missing) -> FileError:
    return FileError(item.path, 1, 1, "no such file or directory")


# ---------------------------------------------------------------------- lint

_CATALOGS: dict[str | None, Catalog] = {}


def _catalog_for(config: Config) -> Catalog:
    found = _CATALOGS.get(config.path)
    if found is None:
        found = _CATALOGS[config.path] = load_catalog(config.catalog)
    return found


def lint_file(path: str) -> FileResult:
    """Lint one file. Never raises for bad input: problems become errors of the result."""
    result = FileResult(path)
    try:
        config = find_config(Path(path).parent)
        graph, source = _load_with_source(path)
        result.text = source.text
        result.bom = source.bom
        result.language = graph.language
        for e in graph.errors:
            if e.severity == "error" and e.path == path:
                result.errors.append(FileError(e.path, e.line, e.column, e.message))
        if result.errors:
            return result
        try:
            catalog = _catalog_for(config)
        except ArmguardError as e:
            raise ArmguardError(f"catalog in config: {e.message}", path=config.path) from None
        findings: list[Finding] = []
        seen: set[tuple[str, int, int, str]] = set()
        for part, via in _parts(graph):
            ctx = LintContext(part, catalog, source if via is None else None, config.levels, nested=part is not graph)
            for rule in all_rules():
                level = config.levels.get(rule.id, rule.level)
                if level == "off":
                    continue
                for f in rule.check(ctx):
                    if via is not None:
                        f = _through_module(f, via, path)
                    key = (f.rule, f.line, f.column, f.message if via is not None else "")
                    if f.path != path or key in seen:
                        continue
                    if rule.id in config.levels:
                        f.level = level  # type: ignore[assignment]
                    if part is not graph and f.level == "info":
                        continue
                    seen.add(key)
                    findings.append(f)
        result.findings = sorted(_unsuppressed(findings, graph, source), key=lambda f: f.sort_key())
    except ArmguardError as e:
        result.errors.append(FileError(e.path or path, e.line or 1, e.column or 1, e.message))
    except RecursionError:
        result.errors.append(FileError(path, 1, 1, "template nested too deeply to analyse"))
    return result


def _parts(graph: DeploymentGraph) -> Iterator[tuple[DeploymentGraph, Node | None]]:
    """What a file's lint checks, each with the module declaration it is reached through: the
    file's graph, the nested templates written inside it, and (Bicep) the templates of registry
    modules restored in Bicep's local cache, whose findings are shown at the module declaration:
    the module is not the user's to edit, but the deployment that fails is theirs."""
    yield graph, None
    for nested in inline_graphs(graph):
        yield nested, None
    if graph.language != "bicep":
        return
    for node in graph.nodes:
        if node.kind == "module" and (node.module_ref or "").startswith(("br:", "br/")) and node.module_readable:
            module = node.module
            if module is not None:
                yield module, node
                for nested in inline_graphs(module):
                    yield nested, node


def _through_module(f: Finding, via: Node, path: str) -> Finding:
    """A finding inside a registry module, shown at the declaration that deploys it (no fix)."""
    return Finding(rule=f.rule, level=f.level, path=path, line=via.line, column=via.column,
                   message=f"in module '{via.symbol}' ({via.module_ref}): {f.message}", domain=f.domain,
                   members=f.members, reason=f.reason, fix=None, symbol=via.symbol)


def inline_graphs(graph: DeploymentGraph, depth: int = 0) -> Iterator[DeploymentGraph]:
    """The graphs of the nested deployments whose templates are written inside this file (ARM
    JSON `properties.template`; a compiled Bicep file holds every local and registry module this
    way), outermost first. Their loops and siblings are this file's and get the same rules, but
    only findings that predict a failure (warning, error) are kept there: info findings (cost,
    naming hygiene) inside what are mostly modules written elsewhere would be noise."""
    if graph.language != "arm" or depth > 32:
        return
    for node in graph.nodes:
        if node.kind != "module" or node.existing:
            continue
        nested = node.module
        if nested is not None and nested.path == graph.path:
            yield nested
            yield from inline_graphs(nested, depth + 1)


def _load_with_source(path: str):  # type: ignore[no-untyped-def]
    """The file's graph and text; a Bicep template's text is read once, by the front end."""
    if path.lower().endswith(".bicep"):
        graph = _load(path)
        return graph, graph.syntax.source
    source = SourceFile.read(path)
    return _load(path), source


def _load(path: str):  # type: ignore[no-untyped-def]
    if not path.lower().endswith((".bicep", ".bicepparam", ".json")):
        raise ArmguardError("unsupported file type (expected .bicep or an ARM .json template)", path=path)
    if path.lower().endswith((".bicep", ".bicepparam")):
        from armguard.bicep import load_graph

        return load_graph(path, lazy_modules=True)
    from armguard.arm import load_graph as load_arm

    return load_arm(path)


def lint_paths(paths: list[str], *, jobs: int | None = None) -> tuple[list[FileResult], int]:
    """Lint every template under `paths`. Returns the per-file results, in discovery order (paths
    that do not exist last), and the number of files."""
    files: list[str] = []
    missing: list[FileError] = []

    def found() -> Iterator[str]:
        for item in iter_templates(paths):
            if isinstance(item, Missing):
                missing.append(_missing(item))
            else:
                files.append(item)
                yield item

    workers = jobs or os.cpu_count() or 1
    stream = found()
    head = list(itertools.islice(stream, _PARALLEL_THRESHOLD)) if workers > 1 else []
    if len(head) < _PARALLEL_THRESHOLD:
        results = [lint_file(f) for f in (*head, *stream)]
    else:
        from armguard.lint.parallel import lint_in_parallel

        results = lint_in_parallel(itertools.chain(head, stream), workers, _lint_chunk)
    results.extend(FileResult(e.path, errors=[e]) for e in missing)
    return results, len(files)


def _lint_chunk(paths: list[str]) -> list[FileResult]:
    """Lint files in a worker process. The source text goes back only where a report or a fix
    reads it (files with findings): pickling every file's text would cost more than linting it."""
    out = []
    for path in paths:
        r = lint_file(path)
        if not r.findings:
            r.text = None
        out.append(r)
    return out


# --------------------------------------------------------------- suppression

# The rule ids are the leading run of ids; what follows is the reason.
_DISABLE_COMMENT = re.compile(r"//\s*armguard-disable-next-line\s+([A-Za-z]+\d+(?:\s*,\s*[A-Za-z]+\d+|\s+[A-Za-z]+\d+)*)")


def _unsuppressed(findings: list[Finding], graph, source: SourceFile) -> list[Finding]:  # type: ignore[no-untyped-def]
    if graph.language != "bicep" or not findings:
        return findings
    program = graph.syntax.program
    disabled_lines: dict[int, set[str]] = {}
    for d in program.directives:
        line, _ = source.position(d.start)
        if d.name == "disable-next-line":
            disabled_lines.setdefault(line, set()).update(c.upper() for c in d.codes)
    for c in program.comments:
        m = _DISABLE_COMMENT.search(c.text)
        if m:
            line, _ = source.position(c.start)
            codes = {x.upper() for x in re.split(r"[,\s]+", m.group(1)) if re.fullmatch(r"[A-Za-z]+\d+", x)}
            disabled_lines.setdefault(line, set()).update(codes)
    ranges = _disabled_ranges(program, source)
    out = []
    for f in findings:
        if _suppressed_above(f, disabled_lines, source, graph.syntax) or any(
                f.rule in codes and lo <= f.line <= hi for lo, hi, codes in ranges):
            continue
        out.append(f)
    return out


def _suppressed_above(f: Finding, disabled: dict[int, set[str]], source: SourceFile, model) -> bool:  # type: ignore[no-untyped-def]
    """A disable directive or comment among the declaration's decorators, or in the block of comment
    and directive lines directly above it."""
    decl = model.declarations.get(f.symbol) if f.symbol else None
    first = source.position(decl.decl.start)[0] if decl is not None else f.line
    if any(f.rule in disabled.get(line, ()) for line in range(first, f.line + 1)):
        return True
    line = first - 1
    while line >= 1:
        if f.rule in disabled.get(line, ()):
            return True
        text = source.line_text(line).strip()
        if not text.startswith(("//", "#", "/*", "*")):
            return False
        line -= 1
    return False


def _disabled_ranges(program, source: SourceFile) -> list[tuple[int, int, set[str]]]:  # type: ignore[no-untyped-def]
    ranges: list[tuple[int, int, set[str]]] = []
    open_at: dict[str, int] = {}
    for d in program.directives:
        line, _ = source.position(d.start)
        codes = {c.upper() for c in d.codes}
        if d.name == "disable-diagnostics":
            for c in codes:
                open_at.setdefault(c, line)
        elif d.name == "restore-diagnostics":
            for c in codes:
                if c in open_at:
                    ranges.append((open_at.pop(c), line, {c}))
    for c, line in open_at.items():
        ranges.append((line, source.line_count, {c}))
    return ranges
