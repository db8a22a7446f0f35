"""Fast checks of bench/corpus.py's comparison on a hand-written main.bicep/main.json pair.

tests/bicep/fixtures/compiled/main.json is what the compiler emits for main.bicep with symbolic
names (languageVersion 2.0); classic/main.json the same program compiled without them.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "compiled"


def _load(name: str):
    path = ROOT / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


corpus = _load("corpus")
avm_table = _load("make_avm_table")


def _template(sub: str = "") -> dict:
    return json.loads((FIXTURES / sub / "main.json").read_text(encoding="utf-8"))


def _res(symbol, type_, *, kind="resource", deps=(), loop=None, existing=False, deploys=()):
    return {"symbol": symbol, "kind": kind, "type": type_, "apiVersion": None,
            "deploys": list(deploys), "line": 1, "column": 1, "loop": loop, "existing": existing,
            "conditional": False, "parent": None, "dependsOn": list(deps), "module": None,
            "unresolved": None}


def correct_doc(nested_symbol: str = "containers") -> dict:
    """What a front end that follows the compiler's rules reports for fixtures/compiled/main.bicep."""
    loop = {"batchSize": None, "count": 2, "mode": "parallel"}
    return {"file": "main.bicep", "language": "bicep", "targetScope": "resourceGroup", "errors": [], "resources": [
        _res("vault", "Microsoft.KeyVault/vaults", existing=True),
        _res("store", "Microsoft.Storage/storageAccounts", deps=["vault"]),
        _res("blobs", "Microsoft.Storage/storageAccounts/blobServices", deps=["store"]),
        _res(nested_symbol, "Microsoft.Storage/storageAccounts/blobServices/containers", deps=["blobs"],
             loop=loop),
        _res("locks", "Microsoft.Authorization/locks", deps=["store"],
             loop={"batchSize": 1, "count": 2, "mode": "serial"}),
        _res("ip", "Microsoft.Resources/deployments", kind="module", deps=["blobs", "store"],
             deploys=["Microsoft.Network/publicIPAddresses"]),
    ]}


def _run(doc: dict, sub: str = ""):
    return corpus.compare(corpus.side_from_template(_template(sub)), corpus.side_from_inspect(doc), "main.bicep")


@pytest.mark.parametrize("sub", ["", "classic"])
@pytest.mark.parametrize("nested", ["containers", "blobs::containers"])
def test_correct_graph_agrees_fully(sub, nested):
    res = _run(correct_doc(nested), sub)
    assert res.disagreements == []
    assert res.unmatched_expected == [] and res.unmatched_actual == []
    assert res.unresolved_deps == []
    # classic templates do not emit the existing vault
    assert res.matched == (6 if sub == "" else 5)
    assert res.agree["all"] == res.matched
    assert (res.deploys_compared, res.deploys_agree) == (1, 1)


def test_symbolic_keys_and_indexed_dependencies():
    side = corpus.side_from_template(_template())
    assert {r.id for r in side.recs} == {"blobs::containers", "vault", "store", "blobs", "locks", "ip"}
    by = {r.id: r for r in side.recs}
    assert by["vault"].existing and by["locks"].batch == 1 and by["blobs::containers"].loop
    assert by["ip"].kind == "module" and by["ip"].deploys == ["Microsoft.Network/publicIPAddresses"]
    assert corpus._norm_symbolic_dep("[format('zones[{0}]', copyIndex())]") == "zones"
    assert corpus._norm_symbolic_dep("[format('a::b[{0}]', variables('i').x)]") == "a::b"


def test_classic_dependencies_map_back_to_resources():
    side = corpus.side_from_template(_template("classic"))
    ids = {r.type.rsplit("/", 1)[-1]: r.id for r in side.recs}
    by = {r.id: r for r in side.recs}
    assert by[ids["blobServices"]].deps == {ids["storageAccounts"]}
    assert by[ids["deployments"]].deps == {ids["storageAccounts"], ids["blobServices"]}
    assert not any(d.startswith("?") for r in side.recs for d in r.deps)


def test_classic_drops_existing_and_inherits_its_dependencies():
    doc = correct_doc()
    # make the existing vault depend on `blobs`: a classic compile moves that onto `store`
    doc["resources"][0]["dependsOn"] = ["blobs"]
    side = corpus.without_existing(corpus.side_from_inspect(doc))
    by = {r.id: r for r in side.recs}
    assert "vault" not in by
    assert by["store"].deps == {"blobs"}


def test_disagreements_are_reported_by_kind():
    doc = copy.deepcopy(correct_doc())
    res_by = {r["symbol"]: r for r in doc["resources"]}
    res_by["locks"]["loop"] = {"batchSize": None, "count": 2, "mode": "parallel"}   # lost @batchSize
    res_by["ip"]["dependsOn"] = ["store", "vault"]                                  # missing + extra
    res_by["blobs"]["type"] = "Microsoft.Storage/storageAccounts/fileServices"
    res_by["containers"]["loop"] = None
    res_by["ip"]["deploys"] = []
    res = _run(doc)
    kinds = sorted(d["kind"] for d in res.disagreements)
    assert kinds == ["batch", "dependsOn", "deploys", "loop", "type"]
    dep = next(d for d in res.disagreements if d["kind"] == "dependsOn")
    assert dep["missing"] == ["blobs"] and dep["extra"] == ["vault"] and dep["extra_existing"] == ["vault"]
    assert res.agree["all"] == 2  # vault, store


def test_unmatched_resources_are_counted_not_dropped():
    doc = correct_doc()
    doc["resources"] = [r for r in doc["resources"] if r["symbol"] != "locks"]
    doc["resources"].append(_res("extra", "Microsoft.Web/sites"))
    res = _run(doc)
    assert res.unmatched_expected == ["locks"]
    assert res.unmatched_actual == ["extra"]


def test_split_args_and_name_segments():
    assert corpus.split_args("'a', f(b, 'c,d'), x[1]") == ["'a'", "f(b, 'c,d')", "x[1]"]
    assert corpus.name_segments("[format('{0}/{1}', parameters('a'), 'b')]") == ["parameters('a')", "'b'"]
    assert corpus.name_segments("a/b") == ["'a'", "'b'"]


def test_avm_table_rules_on_fixture():
    tpl = _template()
    assert avm_table.template_deploys(tpl) == {
        "Microsoft.Storage/storageAccounts", "Microsoft.Storage/storageAccounts/blobServices",
        "Microsoft.Storage/storageAccounts/blobServices/containers", "Microsoft.Authorization/locks",
        "Microsoft.Network/publicIPAddresses"}
    assert avm_table.primary_type(tpl, "avm/res/storage/thing") == ("Microsoft.Storage/storageAccounts",
                                                                     "resourceId-output")
    del tpl["outputs"]
    assert avm_table.primary_type(tpl, "avm/res/storage/storage-account") == (
        "Microsoft.Storage/storageAccounts", "folder-name")
    assert avm_table.folder_matches("virtual-network", "Microsoft.Network/virtualNetworks")
    assert avm_table.folder_matches("cache", "Microsoft.ApiManagement/service/caches")
    assert avm_table.folder_matches("policy", "Microsoft.Authorization/policies")
    assert not avm_table.folder_matches("vault", "Microsoft.Storage/storageAccounts")


def test_bench_main_parses_fixtures(capsys):
    pytest.importorskip("armguard.bicep")
    rc = corpus.main([str(FIXTURES), "--json", "--no-graph"])
    out = json.loads(capsys.readouterr().out)
    assert out["parse"]["files"] == 4
    assert out["parse"]["crashes"] == 0
    assert out["parse"]["parsed_ok_pct"] == 100.0
    assert rc == 0


def test_front_end_on_fixture_end_to_end():
    from armguard import bicep
    from armguard.model import inspect_json

    for sub in ("", "classic"):
        doc = inspect_json(bicep.load_graph(str(FIXTURES / sub / "main.bicep")))
        res = _run(doc, sub)
        assert res.disagreements == [], res.disagreements
        assert res.unmatched_expected == [] and res.unmatched_actual == []


def test_arm_mode_shares_the_comparison():
    """--arm: the Bicep graph against the ARM front end's graph of the compiled JSON."""
    from armguard import bicep

    arm_load = corpus.arm_loader()
    assert arm_load is not None
    for sub, symbolic in (("", True), ("classic", False)):
        expected = corpus.side_from_graph(arm_load(str(FIXTURES / sub / "main.json")),
                                          symbolic=symbolic, emits_existing=symbolic)
        actual = corpus.side_from_graph(bicep.load_graph(str(FIXTURES / sub / "main.bicep")))
        res = corpus.compare(expected, actual, sub)
        assert res.unmatched_expected == [] and res.unmatched_actual == []
        assert res.disagreements == [], res.disagreements
