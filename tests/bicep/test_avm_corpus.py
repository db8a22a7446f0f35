"""The Bicep front end over the Azure Verified Modules corpus (bench/corpus.py).

Skipped unless ARMGUARD_AVM_CORPUS names a clone of Azure/bicep-registry-modules.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

CORPUS = os.environ.get("ARMGUARD_AVM_CORPUS")
pytestmark = pytest.mark.skipif(
    not CORPUS, reason="ARMGUARD_AVM_CORPUS is not set (path to a clone of Azure/bicep-registry-modules)")

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("_bench_corpus", ROOT / "bench" / "corpus.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def parsed():
    bench = _bench()
    files = bench.discover(Path(CORPUS))
    totals = bench.Totals()
    bench.run_parse(files, totals)
    return bench, files, totals


def test_corpus_parses_without_crash_or_syntax_error(parsed):
    _bench, _files, totals = parsed
    assert totals.files > 0
    assert totals.crashes == [], "\n".join(f"{c['file']}: {c['exception']} ({c['at']})" for c in totals.crashes)
    assert totals.parsed_ok == totals.files, "\n".join(
        f"{e['file']}:{e['line']}:{e['column']}: {e['message']}" for e in totals.syntax_errors[:20])


def test_corpus_graphs_build_without_crash(parsed):
    bench, files, _ = parsed
    totals = bench.Totals()
    bench.run_compare(files, totals, arm=False)
    assert totals.pairs > 0
    assert totals.graph_crashes == [], "\n".join(
        f"{c['file']}: {c['exception']} ({c['at']})" for c in totals.graph_crashes[:20])
