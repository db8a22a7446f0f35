"""Module references: local files, Bicep registry (`br:`, `br/alias:`) and template specs (`ts:`).

Registry modules cannot be downloaded here. One that `bicep restore` (or any build) put in Bicep's
local module cache is read from there: its compiled main.json, found where the Bicep CLI writes it
(`{cacheRootDirectory or ~/.bicep}/br/{registry}/{repository, '/' as '$'}/{tag, encoded}/main.json`).
Azure Verified Modules are also mapped to the resource types they deploy through a table built
from the AVM repository (avm_modules.json). Anything else is reported as unresolved, never guessed.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

PUBLIC_REGISTRY = "mcr.microsoft.com"
_BUILTIN_ALIASES = {"br": {"public": {"registry": PUBLIC_REGISTRY, "modulePath": "bicep"}}, "ts": {}}


@dataclass(frozen=True, slots=True)
class ModuleTarget:
    """Where a module reference points: a local file, a known registry module, or nothing usable."""

    kind: str  # "local" | "registry" | "template-spec" | "invalid"
    path: Path | None = None
    avm_key: str | None = None
    types: tuple[str, ...] = ()
    reason: str | None = None


@lru_cache(maxsize=1)
def avm_table() -> dict[str, Any]:
    try:
        text = resources.files("armguard.bicep").joinpath("avm_modules.json").read_text("utf-8")
    except (FileNotFoundError, OSError):
        return {}
    data = json.loads(text)
    return {k: v for k, v in data.items() if not k.startswith("_")}


def resolve_module(reference: str, from_file: Path) -> ModuleTarget:
    """Where a module reference in `from_file` points."""
    if from_file.is_absolute():
        return _resolve_from_absolute(reference, from_file)
    return _resolve(reference, from_file)


# Templates name the same modules over and over. bicepconfig.json files are read once (see
# `find_bicepconfig`), so the answer for a reference in a file does not change; a relative path
# depends on the working directory and is not kept.
@lru_cache(maxsize=4096)
def _resolve_from_absolute(reference: str, from_file: Path) -> ModuleTarget:
    return _resolve(reference, from_file)


def _resolve(reference: str, from_file: Path) -> ModuleTarget:
    if reference.startswith(("br:", "br/")):
        return _resolve_registry(reference, from_file)
    if reference.startswith(("ts:", "ts/")):
        return ModuleTarget("template-spec", reason=f"template spec '{reference}' cannot be read offline")
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", reference) and not re.match(r"^[a-zA-Z]:[\\/]", reference):
        return ModuleTarget("invalid", reason=f"unsupported module reference scheme in '{reference}'")
    return ModuleTarget("local", path=(from_file.parent / reference))


def _resolve_registry(reference: str, from_file: Path) -> ModuleTarget:
    body = reference[3:]
    if reference.startswith("br/"):
        alias, _, rest = body.partition(":")
        config = _alias_config(from_file).get(alias)
        if config is None:
            return ModuleTarget("registry", reason=f"module alias 'br/{alias}' is not defined in bicepconfig.json")
        registry = config.get("registry", "")
        prefix = config.get("modulePath", "")
        path = f"{prefix}/{rest}" if prefix else rest
    else:
        registry, _, path = body.partition("/")
    module_path = re.split(r"[:@]", path, maxsplit=1)[0]
    cached = _cached_main(registry, path, from_file)
    if registry.lower() == PUBLIC_REGISTRY and module_path.startswith("bicep/avm/"):
        key = module_path[len("bicep/"):]
        entry = avm_table().get(key)
        types = tuple(entry.get("deploys") or ()) if entry is not None else ()
        if cached is not None:
            return ModuleTarget("local", path=cached, avm_key=key, types=types)
        if entry is None:
            return ModuleTarget("registry", avm_key=key,
                                reason=f"Azure Verified Module '{key}' is not in armguard's module table")
        return ModuleTarget("registry", avm_key=key, types=types)
    if cached is not None:
        return ModuleTarget("local", path=cached)
    return ModuleTarget("registry", reason=f"registry module '{reference}' cannot be downloaded offline "
                                           "(run `bicep restore` to put it in the local module cache)")


def _cached_main(registry: str, path: str, from_file: Path) -> Path | None:
    """The compiled main.json of `registry`/`path` (`repo:tag` or `repo@digest`) in Bicep's local
    module cache, if it was restored there."""
    repository, sep, version = path.partition("@") if "@" in path else path.partition(":")
    if not sep or not version or not registry:
        return None
    br = _registry_cache(os.path.dirname(os.path.abspath(from_file)))
    if br is None:
        return None  # nothing was ever restored there (the usual case on a build machine)
    folder = version.replace(":", "#") if sep == "@" else encode_tag(version)
    main = br / registry.replace(":", "$").lower() / repository.replace("/", "$") / folder / "main.json"
    return main if main.is_file() else None


@lru_cache(maxsize=256)
def _registry_cache(directory: str) -> Path | None:
    """The `br` folder of the module cache that files in `directory` use, when it exists (looked at
    once per folder: lint runs are short, and most machines have no cache at all)."""
    br = cache_root(Path(directory)) / "br"
    return br if br.is_dir() else None


def cache_root(directory: Path) -> Path:
    """Bicep's local artifact cache for files in `directory`: bicepconfig.json's
    `cacheRootDirectory`, else ~/.bicep."""
    config = find_bicepconfig(directory)
    custom = config.get("cacheRootDirectory") if isinstance(config, dict) else None
    if isinstance(custom, str) and custom.strip():
        return Path(os.path.expanduser(custom.strip()))
    return Path.home() / ".bicep"


def encode_tag(tag: str) -> str:
    """A tag as the Bicep CLI names its cache folder (case kept on case-insensitive file systems):
    the tag, '$', then a hex mask of its upper-case positions (none when there are none)."""
    mask = 0
    for i, ch in enumerate(tag):
        if ch.isupper():
            mask |= 1 << i
    if not mask:
        return f"{tag}$"
    low, high = mask & (2**64 - 1), mask >> 64
    return f"{tag}${high:x}{low:016x}" if high else f"{tag}${low:x}"


def _alias_config(from_file: Path) -> dict[str, Any]:
    return _aliases_in(os.path.dirname(os.path.abspath(from_file)))


@lru_cache(maxsize=256)
def _aliases_in(directory: str) -> dict[str, Any]:
    """The `br/` module aliases for files in a directory (callers only read them)."""
    aliases = dict(_BUILTIN_ALIASES["br"])
    config = find_bicepconfig(Path(directory))
    if config is not None:
        user = config.get("moduleAliases", {}).get("br", {})
        if isinstance(user, dict):
            aliases.update(user)
    return aliases


@lru_cache(maxsize=256)
def find_bicepconfig(directory: Path) -> dict[str, Any] | None:
    """The nearest bicepconfig.json at or above a directory, as Bicep finds it (comments allowed)."""
    for d in (directory, *directory.parents):
        candidate = d / "bicepconfig.json"
        if candidate.is_file():
            try:
                text = candidate.read_text("utf-8-sig")
                return json.loads(_strip_json_comments(text))
            except (OSError, ValueError):
                return None
    return None


def _strip_json_comments(text: str) -> str:
    out = re.sub(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', lambda m: m.group(1) or "", text, flags=re.S)
    return re.sub(r",(\s*[}\]])", r"\1", out)
