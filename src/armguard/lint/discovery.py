"""Which files lint reads: the Bicep and ARM JSON templates under the given paths.

Directories are walked depth-first in sorted order, honouring `.gitignore` files (those above the
walked directory included, up to the repository's top) and the `exclude` patterns of the config
governing each directory. A compiled `main.json` next to `main.bicep` is skipped. Paths are plain
strings here: the walk visits every file of large repositories, and `pathlib` objects cost more
than the checks themselves.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from armguard.lint.config import config_of_directory

_TEMPLATE_SCHEMA = re.compile(r'"\$schema"\s*:\s*"[^"]*deploymentTemplate\.json', re.I)
_SKIP_DIRS = {".git", "node_modules", ".venv", "__pycache__", ".terraform"}
_MAX_TEMPLATE_BYTES = 16 * 1024 * 1024


@dataclass
class Missing:
    """A path given on the command line that does not exist."""

    path: str


@dataclass(frozen=True)
class _Spec:
    """Patterns that apply below `base` (an absolute directory), matched on paths relative to it."""

    base: str
    spec: pathspec.PathSpec

    def relative(self, full: str) -> str | None:
        """`full` relative to the base, in `/` form; None when it is not below the base."""
        base = self.base
        prefix = base if base.endswith(os.sep) else base + os.sep
        if not full.startswith(prefix):
            return None
        rel = full[len(prefix):]
        return rel if os.sep == "/" else rel.replace(os.sep, "/")


def iter_templates(paths: list[str]) -> Iterator[str | Missing]:
    """The template files named by `paths` (directories walked), each once, in a stable order; a
    `Missing` for each path that does not exist."""
    seen: set[str] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_file():
            found: Iterator[str] = iter((str(p),))
        elif p.is_dir():
            found = _walk(str(p))
        else:
            yield Missing(raw)
            continue
        for f in found:
            key = os.path.normcase(os.path.abspath(f))
            if key not in seen:
                seen.add(key)
                yield f


def _walk(root: str) -> Iterator[str]:
    yield from _walk_dir(root, os.path.abspath(root), os.path.realpath(root), _enclosing_gitignores(root), None)


# Files that may hold a config: a directory without them is governed by its parent's config.
_CONFIG_FILES = ("armguard.toml", "pyproject.toml")


def _child(directory: str, name: str) -> str:
    # As pathlib joins: Path(".") / "x" is "x", not "./x".
    return name if directory == "." else os.path.join(directory, name)


def _walk_dir(directory: str, full: str, resolved: str, ignores: list[_Spec],
              parent_excludes: tuple[_Spec | None] | None) -> Iterator[str]:
    """`directory` as the walk names it, `full` its absolute path, `resolved` without symbolic links;
    `parent_excludes` the config excludes of the directory walked into it, if any was."""
    try:
        with os.scandir(directory) as it:
            entries = list(it)
    except OSError:
        return  # as os.walk: an unreadable directory is skipped
    names = {e.name for e in entries}
    own = _gitignore(full) if ".gitignore" in names else None
    if own is not None:
        ignores = [*ignores, _Spec(full, own)]
    if parent_excludes is not None and not any(n in names for n in _CONFIG_FILES):
        (excludes,) = parent_excludes
    else:
        excludes = _config_excludes(resolved)
    dirs: list[tuple[str, bool]] = []
    files: list[str] = []
    for e in entries:
        try:
            is_dir = e.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if e.name not in _SKIP_DIRS:
                dirs.append((e.name, e.is_symlink()))
        else:
            files.append(e.name)
    bicep_stems = {_stem(n) for n in files if n.endswith(".bicep")}
    for name in sorted(files):
        if name.endswith(".bicep"):
            is_bicep = True
        elif name.endswith(".json") and _stem(name) not in bicep_stems:
            is_bicep = False  # a template if it says so: read after the cheaper ignore check
        else:
            continue
        path = _child(directory, name)
        if _ignored(os.path.join(full, name), ignores, excludes, is_dir=False):
            continue
        if is_bicep or _is_template(path):
            yield path
    for name, is_link in sorted(dirs):
        sub_full = os.path.join(full, name)
        if is_link or _ignored(sub_full, ignores, excludes, is_dir=True):
            continue  # as os.walk, symbolic links to directories are not followed
        yield from _walk_dir(_child(directory, name), sub_full, os.path.join(resolved, name), ignores, (excludes,))


def _stem(name: str) -> str:
    """As PurePath.stem."""
    i = name.rfind(".")
    return name[:i] if 0 < i < len(name) - 1 else name


def _spec(lines: list[str]) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _gitignore(directory: str) -> pathspec.PathSpec | None:
    try:
        with open(os.path.join(directory, ".gitignore"), encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    return _spec(lines)


def _config_excludes(resolved: str) -> _Spec | None:
    """The exclude patterns of the config governing a directory, relative to that config's folder."""
    config = config_of_directory(resolved)
    if not config.exclude or config.root is None:
        return None
    return _EXCLUDES.get(config.path) or _EXCLUDES.setdefault(
        config.path, _Spec(os.path.abspath(config.root), _spec(list(config.exclude))))


_EXCLUDES: dict[str | None, _Spec] = {}


def _enclosing_gitignores(root: str) -> list[_Spec]:
    """The .gitignore files of the directories above `root`, up to the enclosing repository's top."""
    specs: list[_Spec] = []
    for d in reversed(Path(os.path.abspath(root)).parents):
        if (d / ".git").exists():
            specs = []  # ignore files outside the repository do not apply inside it
        own = _gitignore(str(d))
        if own is not None:
            specs.append(_Spec(str(d), own))
    return specs


def _ignored(full: str, ignores: list[_Spec], excludes: _Spec | None, *, is_dir: bool) -> bool:
    """git's rule: the deepest .gitignore with a matching pattern decides (so `!keep` re-includes)."""
    suffix = "/" if is_dir else ""
    decision = False
    for s in ignores:
        rel = s.relative(full)
        if rel is None:
            continue
        result = s.spec.check_file(rel + suffix)
        if result.include is not None:
            decision = result.include
    if decision:
        return True
    if excludes is not None:
        rel = excludes.relative(full)
        if rel is not None and excludes.spec.match_file(rel + suffix):
            return True
    return False


def _is_template(path: str) -> bool:
    """A deployment template: its top-level `$schema` names deploymentTemplate.json. A file that
    says so but is not valid JSON counts too, so that lint reports it instead of skipping it."""
    try:
        if os.stat(path).st_size > _MAX_TEMPLATE_BYTES:
            return False
        with open(path, "rb") as fh:
            data = fh.read()
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
