"""What `armguard deploy` sends: the ARM JSON template and its parameters, from the user's files.

`.json` templates are read as they are. `.bicep` and `.bicepparam` files are compiled with the
`bicep` CLI (`bicep build --stdout`, `bicep build-params --stdout`), or with `az bicep` when only the
az CLI is installed; armguard compiles nothing itself. Parameters come in az's forms: an ARM
parameters file (`{"parameters": {"name": {"value": ...}}}` or a bare `{"name": value}` object,
`@file.json` too), a `.bicepparam` file, and `name=value` pairs (the value read as JSON when it
parses, else as a string).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from armguard.errors import ArmguardError

COMPILE_TIMEOUT_SECONDS = 300
INSTALL_HINT = ("install it (https://aka.ms/bicep-install, or `az bicep install`) or pass the compiled ARM JSON "
                "template (`bicep build main.bicep`)")


@dataclass
class DeployInput:
    template: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    """ARM deployment parameters: name -> {"value": ...} (or {"reference": ...})."""
    source: str = ""


def bicep_command() -> list[str] | None:
    """How to run the Bicep compiler here: `bicep`, else `az bicep`, else None."""
    if shutil.which("bicep"):
        return [shutil.which("bicep") or "bicep"]
    if shutil.which("az"):
        return [shutil.which("az") or "az", "bicep"]
    return None


def _compile(args: list[str], path: Path) -> str:
    command = bicep_command()
    if command is None:
        raise ArmguardError(f"cannot compile {path.name}: the bicep CLI is not installed; {INSTALL_HINT}", path=str(path))
    if command[-1] == "bicep" and len(command) == 2:  # az bicep build --file F --stdout
        full = [*command, args[0], "--file", str(path), "--stdout"]
    else:
        full = [*command, args[0], str(path), "--stdout"]
    try:
        done = subprocess.run(full, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ArmguardError(f"cannot run the bicep CLI: {e}", path=str(path)) from None
    if done.returncode != 0:
        first = next((line for line in done.stderr.splitlines() if ": Error " in line or "error" in line.lower()),
                     done.stderr.strip().splitlines()[0] if done.stderr.strip() else f"exit code {done.returncode}")
        raise ArmguardError(f"bicep could not compile it: {first.strip()}", path=str(path))
    return done.stdout


def _json_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise ArmguardError(f"cannot read: {e.strerror or e}", path=str(path)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ArmguardError(f"not valid JSON: {e.msg}", path=str(path), line=e.lineno, column=e.colno) from None


def load_template(path_text: str) -> dict[str, Any]:
    path = Path(path_text)
    if not path.is_file():
        raise ArmguardError("no such file", path=path_text)
    suffix = path.suffix.lower()
    if suffix == ".bicep":
        try:
            data = json.loads(_compile(["build"], path))
        except json.JSONDecodeError as e:
            raise ArmguardError(f"the bicep CLI printed no JSON template: {e.msg}", path=path_text) from None
    elif suffix == ".json":
        data = _json_file(path)
    else:
        raise ArmguardError("unsupported template type (expected .json or .bicep)", path=path_text)
    if not isinstance(data, dict) or "resources" not in data:
        raise ArmguardError("not an ARM template (no 'resources')", path=path_text)
    return data


def _as_parameters(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ArmguardError("parameters must be a JSON object", path=where)
    if "parameters" in data and isinstance(data["parameters"], dict) and (
            "$schema" in data or "contentVersion" in data or len(data) == 1):
        data = data["parameters"]
    out: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, dict) and ("value" in value or "reference" in value) and len(value) <= 2:
            out[name] = value
        else:
            out[name] = {"value": value}
    return out


def load_parameters(items: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Merge parameter sources in order (later wins), as `az deployment ... -p` does."""
    merged: dict[str, Any] = {}
    for item in items:
        text = item[1:] if item.startswith("@") else item
        path = Path(text)
        if text.lower().endswith(".bicepparam"):
            if not path.is_file():
                raise ArmguardError("no such file", path=text)
            printed = _compile(["build-params"], path)
            try:
                data = json.loads(printed)
            except json.JSONDecodeError as e:
                raise ArmguardError(f"the bicep CLI printed no JSON parameters: {e.msg}", path=text) from None
            if isinstance(data, dict) and isinstance(data.get("parametersJson"), str):
                data = json.loads(data["parametersJson"])
            merged.update(_as_parameters(data, text))
        elif text.lower().endswith(".json") or item.startswith("@"):
            if not path.is_file():
                raise ArmguardError("no such file", path=text)
            merged.update(_as_parameters(_json_file(path), text))
        elif "=" in item:
            name, _, raw = item.partition("=")
            if not name.strip():
                raise ArmguardError(f"parameter {item!r}: expected name=value")
            try:
                value: Any = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
            merged[name.strip()] = {"value": value}
        elif item.lstrip().startswith("{"):
            try:
                merged.update(_as_parameters(json.loads(item), "-p"))
            except json.JSONDecodeError as e:
                raise ArmguardError(f"-p: not valid JSON: {e.msg}") from None
        else:
            raise ArmguardError(f"parameter {item!r}: expected a .json/.bicepparam file, @file, JSON or name=value")
    return merged


def template_types(template: dict[str, Any]) -> set[str]:
    """Resource types a template writes (lower-case), nested inline deployments included."""
    found: set[str] = set()

    def walk(resources: Any) -> None:
        items = resources.values() if isinstance(resources, dict) else resources or []
        for r in items:
            if not isinstance(r, dict) or r.get("existing"):
                continue
            rtype = r.get("type")
            if isinstance(rtype, str) and not rtype.startswith("["):
                found.add(rtype.lower())
            walk(r.get("resources"))
            inner = (r.get("properties") or {}).get("template") if isinstance(r.get("properties"), dict) else None
            if isinstance(inner, dict):
                walk(inner.get("resources"))

    walk(template.get("resources"))
    return found
