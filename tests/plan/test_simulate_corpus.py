"""Every template of the AVM corpus simulates to an end or a one-line error, never a crash.

Skipped unless ARMGUARD_AVM_CORPUS names a clone of Azure/bicep-registry-modules.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

CORPUS = os.environ.get("ARMGUARD_AVM_CORPUS")
pytestmark = pytest.mark.skipif(
    not CORPUS, reason="ARMGUARD_AVM_CORPUS is not set (path to a clone of Azure/bicep-registry-modules)")
BENCH = Path(__file__).resolve().parents[2] / "bench" / "simulate_corpus.py"


def bench():
    spec = importlib.util.spec_from_file_location("simulate_corpus", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("pattern", ["main.json", "main.bicep"])
def test_avm_templates_simulate_without_crashing(pattern):
    found = bench().run(Path(CORPUS), pattern, None, 30.0)
    assert found["files"] > 500
    assert found["crashes"] == []
    ran = sum(n for k, n in found["outcomes"].items() if k.startswith("ran:"))
    assert ran >= 0.75 * found["files"]  # most run: the rest are scopes or modules the emulator cannot take
