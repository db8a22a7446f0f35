"""The ARM front end's entry point: files in, DeploymentGraph out (the only module doing I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from armguard.arm.graph import build_graph
from armguard.arm.parameters import parameters_from_file, parse_overrides
from armguard.arm.template import Template, load_template, parse_json
from armguard.errors import ArmguardError
from armguard.model import DeploymentGraph
from armguard.source import SourceFile


def load_graph(path: str, params: str | Mapping[str, Any] | None = None, *, strict: bool = False,
               overrides: Iterable[str] = (), context: Mapping[str, Any] | None = None,
               called: bool = False) -> DeploymentGraph:
    """Load an ARM template file into a DeploymentGraph.

    `params` is a deploymentParameters file path or a mapping of parameter values; `overrides`
    are `name=value` strings applied on top (coerced to the declared types). Parameters without a
    value stay Unknown unless `strict`, which a deployment needs, makes them an error. `context`
    holds EvalContext scope values (`resource_group`, `subscription`, ...) when the target is known.
    `called`: the template is a Bicep module's, and `params` its call site's values.
    """
    template = load_template_file(path)
    supplied: dict[str, Any] = {}
    supplied_from = None
    if isinstance(params, str):
        supplied = load_parameters_file(params)
        supplied_from = params
    elif params is not None:
        supplied = dict(params)
    supplied.update(parse_overrides(overrides))
    return build_graph(template, supplied, strict=strict, link_loader=_load_linked, supplied_from=supplied_from,
                       context=context, called=called)


def load_template_file(path: str | Path) -> Template:
    return load_template(SourceFile.read(path))


def load_parameters_file(path: str | Path) -> dict[str, Any]:
    source = SourceFile.read(path)
    data, _ = parse_json(source)
    return parameters_from_file(data, source.path)


def _load_linked(relative: str, referring_file: str) -> Template:
    """A `templateLink.relativePath` template, relative to the file of the template linking it."""
    if "://" in relative:
        raise ArmguardError(f"relativePath is a URL, not a path: {relative}", path=referring_file)
    target = Path(referring_file).parent / relative
    try:
        return load_template_file(target)
    except ArmguardError as e:
        if e.path is None:
            e.path = str(target)
        raise
