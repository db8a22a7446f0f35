"""End-to-end: every compiled AVM template loads into a graph (needs ARMGUARD_AVM_CORPUS)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from armguard.arm import load_graph
from armguard.errors import ArmguardError

CORPUS = os.environ.get("ARMGUARD_AVM_CORPUS")

pytestmark = pytest.mark.skipif(not CORPUS, reason="set ARMGUARD_AVM_CORPUS to a directory of AVM main.json files")


def test_every_avm_template_loads_without_unsupported_functions():
    files = sorted(Path(CORPUS).rglob("main.json"))  # type: ignore[arg-type]
    assert files, f"no main.json under {CORPUS}"
    failures: list[str] = []
    resources = 0
    for f in files:
        try:
            graph = load_graph(str(f))
        except ArmguardError as e:
            failures.append(str(e))
            continue
        resources += len(graph.nodes)
        assert all(n.span is not None and n.line > 0 for n in graph.nodes), f
    assert not [f for f in failures if "unknown function" in f]
    assert failures == []
    assert resources > 0
