"""Templates to simulate, read once: `.bicep` / `.bicepparam` become a graph for `deploy_graph`,
ARM `.json` (with a deploymentParameters file) a request body for `put_deployment`."""

from __future__ import annotations

import json
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
        blocked = _module_without_source(graph)
        if blocked is not None:
            return _compiled_target(path, params, blocked, group, location, deployment, catalog)
        return Target(path, scope, deployment, group if scope == "resourceGroup" else None, location, graph=graph,
                      catalog=catalog if catalog is not None else _catalog_for(path))
    if suffix == ".json":
        from armguard.arm.loader import load_parameters_file, load_template_file

        template = load_template_file(path)
        values: dict[str, Any] = {}
        if params is not None:
            if Path(params).suffix.lower() != ".json":
                raise ArmguardError("an ARM JSON template takes a deploymentParameters .json file", path=params)
            values = load_parameters_file(params)
        return _arm_target(path, template, values, params, group, location, deployment, catalog)
    raise ArmguardError("unsupported file type (expected .bicep, .bicepparam or .json)", path=path)


def _module_without_source(graph: Any, seen: set[int] | None = None) -> Any:
    """The first module (in nested local modules too) whose Bicep source is not on disk: a registry
    (`br:`) or template-spec (`ts:`) module, which the emulator cannot deploy from Bicep."""
    from armguard.bicep.semantic import SemanticModel

    seen = set() if seen is None else seen
    if id(graph) in seen:
        return None
    seen.add(id(graph))
    for node in graph.nodes:
        if node.kind != "module":
            continue
        child = node.module
        if child is None or not isinstance(child.syntax, SemanticModel):
            return node
        found = _module_without_source(child, seen)
        if found is not None:
            return found
    return None


def _compiled_target(path: str, params: str | None, module: Any, group: str, location: str, deployment: str,
                     catalog: Catalog | None) -> Target:
    """A Bicep file with registry modules, simulated as the ARM JSON the bicep CLI compiles it to
    (which holds every module's template); without the CLI, one line says what to do."""
    from armguard.arm.template import load_template
    from armguard.guard.deploy_input import bicep_command, load_parameters
    from armguard.guard.deploy_input import load_template as compile_template
    from armguard.source import SourceFile

    if bicep_command() is None:
        where = module.span.line if module.span is not None else None
        reason = module.unresolved or "its source is not a local Bicep file"
        raise ArmguardError(f"module '{module.symbol}' cannot be simulated from Bicep ({reason}); install the bicep "
                            f"CLI (armguard then simulates what it compiles) or simulate the compiled template "
                            f"(`bicep build {Path(path).name}`)", path=module.path or path, line=where)
    if Path(path).suffix.lower() == ".bicepparam":
        raise ArmguardError("a .bicepparam file with registry modules: pass the .bicep file and the .bicepparam "
                            "with --params", path=path)
    compiled = load_template(SourceFile(path, json.dumps(compile_template(path), indent=1)))
    values = load_parameters([params]) if params is not None else {}
    return _arm_target(path, compiled, values, params, group, location, deployment, catalog)


def _arm_target(path: str, template: Any, values: dict[str, Any], params: str | None, group: str, location: str,
                deployment: str, catalog: Catalog | None) -> Target:
    """An ARM template (the front end's) to deploy with `put_deployment`, its parameters checked here,
    against the user's files: a deployment needs every required parameter."""
    from armguard.arm.graph import build_graph

    scope = _check_scope(template.target_scope, path)
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
