"""The Bicep front end over the Bicep compiler's own sample baselines.

Set ARMGUARD_BICEP_SAMPLES to the compiler's `src/Bicep.Core.Samples/Files` directory (or its
`baselines` subdirectory) of a clone of Azure/bicep. The samples are read in place, never copied.

- every sample parses without raising; the valid ones (directories not named Invalid*) without
  diagnostics;
- load_graph on every main.bicep raises nothing but ArmguardError;
- for valid samples, the resource/module symbols and their dependsOn agree with what the compiler
  emitted in main.symbolicnames.json (languageVersion 2.0, resources keyed by symbol).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

import pytest

from armguard.bicep import load_graph, parse_source
from armguard.errors import ArmguardError
from armguard.source import SourceFile

SAMPLES = os.environ.get("ARMGUARD_BICEP_SAMPLES")
pytestmark = pytest.mark.skipif(
    not SAMPLES, reason="ARMGUARD_BICEP_SAMPLES is not set (path to src/Bicep.Core.Samples/Files of an Azure/bicep clone)")

# Outputs the compiler's test harness writes next to each sample; they are not Bicep sources.
_DERIVED = re.compile(r"\.(diagnostics|formatted|symbols|syntax|tokens|sourcemap|ir|pprint|symbolicnames)\.")


def _roots() -> list[Path]:
    if not SAMPLES:
        return []
    root = Path(SAMPLES)
    if (root / "baselines").is_dir():
        return [p for p in (root / "baselines", root / "baselines_bicepparam") if p.is_dir()]
    return [root]


def _sources() -> list[Path]:
    out: list[Path] = []
    for root in _roots():
        for p in sorted([*root.rglob("*.bicep"), *root.rglob("*.bicepparam")]):
            if not _DERIVED.search(p.name):
                out.append(p)
    return out


def _id(p: Path) -> str:
    for root in _roots():
        if p.is_relative_to(root):
            return str(p.relative_to(root))
    return str(p)


def _invalid(p: Path) -> bool:
    return any(part.lower().startswith("invalid") for part in p.parts[-4:])


SOURCES = _sources()
VALID = [p for p in SOURCES if not _invalid(p)]
MAINS = [p for p in SOURCES if p.name == "main.bicep"]


def _compiled(p: Path) -> dict | None:
    js = p.parent / "main.symbolicnames.json"
    if _invalid(p) or not js.is_file():
        return None
    data = json.loads(js.read_text(encoding="utf-8-sig"))
    return data if isinstance(data.get("resources"), dict) else None


COMPILED = [p for p in MAINS if _compiled(p) is not None]


def test_samples_were_found():
    assert SOURCES, f"no .bicep files under {SAMPLES}"
    assert COMPILED, "no main.symbolicnames.json next to valid samples"


@pytest.mark.parametrize("path", SOURCES, ids=_id)
def test_sample_parses_without_raising(path):
    try:
        source = SourceFile.read(path)
    except ArmguardError:
        return
    program = parse_source(source)
    for d in program.diagnostics:
        assert 1 <= d.line <= source.line_count


@pytest.mark.parametrize("path", VALID, ids=_id)
def test_valid_sample_has_no_syntax_errors(path):
    program = parse_source(SourceFile.read(path))
    assert [str(d) for d in program.diagnostics] == []


@pytest.mark.parametrize("path", MAINS, ids=_id)
def test_load_graph_raises_only_armguard_error(path):
    with contextlib.suppress(ArmguardError):
        load_graph(path)


def _normalise(dep: str) -> str:
    """`[format('sym[{0}]', ...)]` (one iteration of a loop) -> `sym`."""
    m = re.match(r"^\[format\('([^'\[]+)\[", dep)
    return m.group(1) if m else dep


@pytest.mark.parametrize("path", COMPILED, ids=_id)
def test_symbols_match_the_compiled_template(path):
    compiled = _compiled(path)
    assert compiled is not None
    graph = load_graph(path)
    assert sorted(n.symbol for n in graph.nodes) == sorted(compiled["resources"])


@pytest.mark.parametrize("path", COMPILED, ids=_id)
def test_existing_flags_match_the_compiled_template(path):
    compiled = _compiled(path)
    graph = load_graph(path)
    for symbol, res in compiled["resources"].items():
        node = graph.node(symbol)
        if node is not None:
            assert node.existing == bool(res.get("existing")), symbol


@pytest.mark.parametrize("path", COMPILED, ids=_id)
def test_depends_on_matches_the_compiled_template(path):
    compiled = _compiled(path)
    graph = load_graph(path)
    mismatches = []
    for symbol, res in compiled["resources"].items():
        node = graph.node(symbol)
        if node is None:
            continue
        expected = sorted({_normalise(d) for d in res.get("dependsOn", [])})
        got = sorted(set(node.depends_on()))
        if expected != got:
            mismatches.append(f"{symbol}: compiler {expected}, armguard {got}")
    assert mismatches == []


@pytest.mark.parametrize("path", COMPILED, ids=_id)
def test_types_and_api_versions_match_the_compiled_template(path):
    compiled = _compiled(path)
    graph = load_graph(path)
    mismatches = []
    for symbol, res in compiled["resources"].items():
        node = graph.node(symbol)
        if node is None or not res.get("type"):
            continue
        if node.type.lower() != res["type"].lower():
            mismatches.append(f"{symbol}: type {res['type']!r}, armguard {node.type!r}")
        if node.kind == "resource" and res.get("apiVersion") and node.api_version != res["apiVersion"]:
            mismatches.append(f"{symbol}: apiVersion {res['apiVersion']!r}, armguard {node.api_version!r}")
    assert mismatches == []


@pytest.mark.parametrize("path", COMPILED, ids=_id)
def test_loops_and_conditions_match_the_compiled_template(path):
    compiled = _compiled(path)
    graph = load_graph(path)
    mismatches = []
    for symbol, res in compiled["resources"].items():
        node = graph.node(symbol)
        if node is None:
            continue
        if ("condition" in res) != node.conditional:
            mismatches.append(f"{symbol}: condition {res.get('condition')!r}, armguard {node.condition!r}")
        copy = res.get("copy")
        if bool(copy) != (node.loop is not None):
            mismatches.append(f"{symbol}: copy {copy!r}, armguard {node.loop!r}")
        elif copy:
            if isinstance(copy.get("batchSize"), int) and copy["batchSize"] != node.loop.batch_size:
                mismatches.append(f"{symbol}: batchSize {copy['batchSize']}, armguard {node.loop.batch_size}")
            if isinstance(copy.get("count"), int) and copy["count"] != node.loop.count:
                mismatches.append(f"{symbol}: count {copy['count']}, armguard {node.loop.count}")
    assert mismatches == []
