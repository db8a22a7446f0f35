"""Templates to simulate, read once: `.bicep` / `.bicepparam` become a graph for `deploy_graph`,
ARM `.json` (with a deploymentParameters file) a request body for `put_deployment`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from armguard.catalog import Catalog
from armguard.errors import ArmguardError
from armguard.plan.simulate import DEFAULT_GROUP, DEFAULT_LOCATION, Target
from armguard.values import Unknown

SCOPES = ("resourceGroup", "subscription")


def load_target(path: str, params: str | None = None, *, group: str = DEFAULT_GROUP,
                location: str = DEFAULT_LOCATION, name: str | None = None, catalog: Catalog | None = None) -> Target:
    """Read and check a template (and its parameters) once; raises ArmguardError (one line).

    The catalog is the one `armguard plan` uses for the file (the shipped one with the overrides of
    the nearest armguard.toml) unless `catalog` is given."""

    _require_file(path, "template")
    if params is not None:
        _require_file(params, "parameters file")
    suffix = Path(path).suffix.lower()
    deployment = name or deployment_name(path)
    if suffix in (".bicep", ".bicepparam"):
        from armguard.bicep import load_graph

        graph = load_graph(path, params)
        errors = [e for e in graph.errors if e.severity == "error"]
        if errors:
            e = errors[0]
            raise ArmguardError(e.message, path=e.path, line=e.line, column=e.column)
        scope = _check_scope(graph.target_scope, path)
        return Target(path, scope, deployment, group if scope == "resourceGroup" else None, location, graph=graph,
                      catalog=catalog if catalog is not None else _catalog_for(path))
    if suffix == ".json":
        from armguard.arm.graph import build_graph
        from armguard.arm.loader import load_parameters_file, load_template_file

        template = load_template_file(path)
        scope = _check_scope(template.target_scope, path)
        values: dict[str, Any] = {}
        if params is not None:
            if Path(params).suffix.lower() != ".json":
                raise ArmguardError("an ARM JSON template takes a deploymentParameters .json file", path=params)
            values = load_parameters_file(params)
        # Checked here, against the user's file: a deployment needs every required parameter.
        graph = build_graph(template, values, strict=True, supplied_from=params)
        errors = [e for e in graph.errors if e.severity == "error"]
        if errors:
            e = errors[0]
            raise ArmguardError(e.message, path=e.path, line=e.line, column=e.column)
        props: dict[str, Any] = {"mode": "Incremental", "template": template.data}
        if values:
            props["parameters"] = {k: _parameter_entry(k, v) for k, v in values.items()}
        return Target(path, scope, deployment, group if scope == "resourceGroup" else None, location,
                      body={"properties": props}, catalog=catalog if catalog is not None else _catalog_for(path))
    raise ArmguardError("unsupported file type (expected .bicep, .bicepparam or .json)", path=path)


def _catalog_for(path: str) -> Catalog:
    from armguard.plan.core import load_catalog_for

    return load_catalog_for(path)


def deployment_name(path: str) -> str:
    """The deployment's name as `az deployment ... create` gives it: the file's name without extension."""
    stem = re.sub(r"[^\w.()-]", "-", Path(path).stem)[:64].rstrip(".")
    return stem or "main"


def _require_file(path: str, what: str) -> None:
    p = Path(path)
    if not p.exists():
        raise ArmguardError(f"no such {what}", path=path)
    if not p.is_file():
        raise ArmguardError(f"the {what} is not a file", path=path)


def _check_scope(scope: str, path: str) -> str:
    if scope not in SCOPES:
        raise ArmguardError(f"target scope '{scope}' cannot be simulated (the emulator deploys to resource groups "
                            "and subscriptions)", path=path)
    return scope


def _parameter_entry(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, Unknown):  # a Key Vault reference: the emulator stands in a placeholder secret
        return {"reference": {"keyVault": {"id": "emulated"}, "secretName": name}}
    return {"value": value}
