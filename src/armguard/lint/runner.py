"""Running lint over paths: find the files, lint each (in parallel across cores), apply suppressions."""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from armguard.catalog import Catalog, load_catalog
from armguard.errors import ArmguardError
from armguard.lint.config import Config, find_config
from armguard.lint.context import LintContext
from armguard.lint.findings import Finding
from armguard.lint.rules import all_rules
from armguard.source import SourceFile

_TEMPLATE_SCHEMA = re.compile(r'"\$schema"\s*:\s*"[^"]*deploymentTemplate\.json', re.I)
_SKIP_DIRS = {".git", "node_modules", ".venv", "__pycache__", ".terraform"}
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
    for raw in paths:
        p = Path(raw)
        if p.is_file():
            found.append(p)
        elif p.is_dir():
            found.extend(_walk(p))
        else:
            missing.append(FileError(raw, 1, 1, "no such file or directory"))
    seen: set[str] = set()
    out = []
    for f in found:
        key = os.path.normcase(os.path.abspath(f))
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out, missing


_MAX_TEMPLATE_BYTES = 16 * 1024 * 1024


def _walk(root: Path) -> list[Path]:
    out: list[Path] = []
    ignores = _enclosing_gitignores(root)
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        own = _gitignore(d)
        if own is not None:
            ignores = [*[(b, sp) for b, sp in ignores if _within(d, b)], (d, own)]
        excludes = _config_excludes(d)
        dirnames[:] = sorted(n for n in dirnames if n not in _SKIP_DIRS
                             and not _ignored(d / n, ignores, excludes, is_dir=True))
        bicep_stems = {Path(n).stem for n in filenames if n.endswith(".bicep")}
        for name in sorted(filenames):
            f = d / name
            if _ignored(f, ignores, excludes, is_dir=False):
                continue
            if name.endswith(".bicep") or (
                    name.endswith(".json") and Path(name).stem not in bicep_stems and _is_template(f)):
                out.append(f)
    return out


def _within(path: Path, base: Path) -> bool:
    return not os.path.relpath(os.path.abspath(path), os.path.abspath(base)).startswith("..")


def _spec(lines: list[str]) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _gitignore(directory: Path) -> pathspec.PathSpec | None:
    try:
        lines = (directory / ".gitignore").read_text("utf-8").splitlines()
    except OSError:
        return None
    return _spec(lines)


def _config_excludes(directory: Path) -> tuple[Path, pathspec.PathSpec] | None:
    """The exclude patterns of the config governing `directory`, relative to that config's folder."""
    config = find_config(directory)
    if not config.exclude or config.root is None:
        return None
    return config.root, _spec(list(config.exclude))


def _enclosing_gitignores(root: Path) -> list[tuple[Path, pathspec.PathSpec]]:
    """The .gitignore files of the directories above `root`, up to the enclosing repository's top."""
    specs: list[tuple[Path, pathspec.PathSpec]] = []
    for d in reversed(Path(os.path.abspath(root)).parents):
        if (d / ".git").exists():
            specs = []  # ignore files outside the repository do not apply inside it
        own = _gitignore(d)
        if own is not None:
            specs.append((d, own))
    return specs


def _ignored(path: Path, ignores: list[tuple[Path, pathspec.PathSpec]],
             excludes: tuple[Path, pathspec.PathSpec] | None, *, is_dir: bool) -> bool:
    """git's rule: the deepest .gitignore with a matching pattern decides (so `!keep` re-includes)."""
    suffix = "/" if is_dir else ""
    full = os.path.abspath(path)
    decision = False
    for base, spec in ignores:
        rel = os.path.relpath(full, os.path.abspath(base))
        if rel.startswith(".."):
            continue
        result = spec.check_file(Path(rel).as_posix() + suffix)
        if result.include is not None:
            decision = result.include
    if decision:
        return True
    if excludes is not None:
        base, spec = excludes
        rel = os.path.relpath(full, os.path.abspath(base))
        if not rel.startswith("..") and spec.match_file(Path(rel).as_posix() + suffix):
            return True
    return False


def _is_template(path: Path) -> bool:
    """A deployment template: its top-level `$schema` names deploymentTemplate.json. A file that
    says so but is not valid JSON counts too, so that lint reports it instead of skipping it."""
    try:
        if path.stat().st_size > _MAX_TEMPLATE_BYTES:
            return False
        data = path.read_bytes()
    except OSError:
        return False
    if b"deploymentTemplate.json" not in data and b"deploymenttemplate.json" not in data.lower():
        return False
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return bool(_TEMPLATE_SCHEMA.search(data[:65536].decode("utf-8", "replace")))
    schema = parsed.get("$schema") if isinstance(parsed, dict) else None
    return isinstance(schema, str) and "deploymenttemplate.json" in schema.lower()


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
        config = find_config(Path(path))
        source = SourceFile.read(path)
        result.text = source.text
        result.bom = source.bom
        graph = _load(path)
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
        ctx = LintContext(graph, catalog, source, config.levels)
        findings: list[Finding] = []
        for rule in all_rules():
            level = config.levels.get(rule.id, rule.level)
            if level == "off":
                continue
            for f in rule.check(ctx):
                if f.path != path:
                    continue
                if rule.id in config.levels:
                    f.level = level  # type: ignore[assignment]
                findings.append(f)
        result.findings = sorted(_unsuppressed(findings, graph, source), key=lambda f: f.sort_key())
    except ArmguardError as e:
        result.errors.append(FileError(e.path or path, e.line or 1, e.column or 1, e.message))
    except RecursionError:
        result.errors.append(FileError(path, 1, 1, "template nested too deeply to analyse"))
    return result


def _load(path: str):  # type: ignore[no-untyped-def]
    if not path.lower().endswith((".bicep", ".bicepparam", ".json")):
        raise ArmguardError("unsupported file type (expected .bicep or an ARM .json template)", path=path)
    if path.lower().endswith((".bicep", ".bicepparam")):
        from armguard.bicep import load_graph

        return load_graph(path, lazy_modules=True)
    from armguard.arm import load_graph as load_arm

    return load_arm(path)


def lint_paths(paths: list[str], *, jobs: int | None = None) -> tuple[list[FileResult], int]:
    """Lint every template under `paths`. Returns the per-file results and the number of files."""
    found, missing = discover(paths)
    files = [str(p) for p in found]
    workers = jobs or os.cpu_count() or 1
    if len(files) >= _PARALLEL_THRESHOLD and workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lint_file, files, chunksize=max(1, len(files) // (workers * 8))))
    else:
        results = [lint_file(f) for f in files]
    results.extend(FileResult(e.path, errors=[e]) for e in missing)
    return results, len(files)


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
