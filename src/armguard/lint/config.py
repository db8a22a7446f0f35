"""armguard.toml / [tool.armguard] in pyproject.toml, found by walking up from the linted file
(as Bicep finds bicepconfig.json).

```toml
[rules]
AG101 = "error"        # error | warning | info | off
[lint]
exclude = ["**/tests/**"]
[catalog.types."Microsoft.Example/widgets/parts"]
serial = "serial"
domains = ["parent"]
sources = ["user config: our incident 2024-05"]
```
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from armguard.errors import ArmguardError

_LEVELS = ("error", "warning", "info", "off")
_TOP_KEYS = {"rules", "lint", "catalog"}


@dataclass(frozen=True)
class Config:
    path: str | None = None
    levels: dict[str, str] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    catalog: dict[str, Any] | None = None

    @property
    def root(self) -> Path | None:
        return Path(self.path).parent if self.path else None


def find_config(start: Path) -> Config:
    """The nearest armguard.toml, or pyproject.toml with [tool.armguard], at or above `start`."""
    key = os.path.join(os.getcwd(), start)
    found = _BY_START.get(key)
    if found is None:
        directory = key if os.path.isdir(key) else os.path.dirname(key)
        if ".." in directory.split(os.sep):  # a `..` after a symbolic link leaves the link's target
            found = _BY_START[key] = _find(os.path.realpath(directory))
        else:
            found = _BY_START[key] = _find(_resolved(os.path.normpath(directory)))
    return found


# Lint asks once per file and once per walked directory: answers are kept for the process.
_BY_START: dict[str, Config] = {}


def config_of_directory(resolved: str) -> Config:
    """As `find_config`, for a directory given as an absolute path without symbolic links."""
    return _find(resolved)


@cache
def _resolved(directory: str) -> str:
    """As os.path.realpath, for a normalized absolute path without `..`: one directory at a time,
    each resolved once (lint asks for the directories of thousands of files, mostly siblings)."""
    parent = os.path.dirname(directory)
    if parent == directory or os.path.islink(directory):
        return os.path.realpath(directory)
    return os.path.join(_resolved(parent), os.path.basename(directory))


@cache
def _find(directory: str) -> Config:
    """The config governing a resolved directory; each directory's own files are looked at once."""
    candidate = os.path.join(directory, "armguard.toml")
    if os.path.isfile(candidate):
        return parse_config(Path(candidate), _read(Path(candidate)))
    candidate = os.path.join(directory, "pyproject.toml")
    if os.path.isfile(candidate):
        data = _read(Path(candidate))
        section = data.get("tool", {}).get("armguard")
        if isinstance(section, dict):
            return parse_config(Path(candidate), section)
    parent = os.path.dirname(directory)
    return Config() if parent == directory else _find(parent)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ArmguardError(f"invalid TOML: {e}", path=str(path)) from None
    except OSError as e:
        raise ArmguardError(f"cannot read config: {e.strerror}", path=str(path)) from None


def parse_config(path: Path, data: dict[str, Any]) -> Config:
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ArmguardError(f"unknown config section(s): {', '.join(sorted(unknown))} "
                            f"(expected rules, lint, catalog)", path=str(path))
    levels: dict[str, str] = {}
    from armguard.lint.rules import all_rules

    known = {r.id for r in all_rules()}
    for rule, level in (data.get("rules") or {}).items():
        if rule.upper() not in known:
            raise ArmguardError(f"rules.{rule}: unknown rule (known: {', '.join(sorted(known))})", path=str(path))
        if not isinstance(level, str) or level.lower() not in _LEVELS:
            raise ArmguardError(f"rules.{rule}: level must be one of {', '.join(_LEVELS)}, got {level!r}",
                                path=str(path))
        levels[rule.upper()] = level.lower()
    lint = data.get("lint") or {}
    exclude = lint.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(x, str) for x in exclude):
        raise ArmguardError("lint.exclude must be a list of glob patterns", path=str(path))
    catalog = data.get("catalog")
    if catalog is not None and not isinstance(catalog, dict):
        raise ArmguardError("catalog must be a table", path=str(path))
    return Config(str(path), levels, tuple(exclude), catalog)
