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

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
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
    directory = start if start.is_dir() else start.parent
    return _find(directory.resolve())


@lru_cache(maxsize=512)
def _find(directory: Path) -> Config:
    for d in (directory, *directory.parents):
        candidate = d / "armguard.toml"
        if candidate.is_file():
            return parse_config(candidate, _read(candidate))
        candidate = d / "pyproject.toml"
        if candidate.is_file():
            data = _read(candidate)
            section = data.get("tool", {}).get("armguard")
            if isinstance(section, dict):
                return parse_config(candidate, section)
    return Config()


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
