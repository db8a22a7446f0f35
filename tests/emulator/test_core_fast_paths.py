"""The shortcuts the core takes for speed give what the plain computations give."""

from __future__ import annotations

import json
from collections import OrderedDict

import pytest

from armguard.catalog import default_catalog
from armguard.catalog.resolve import resolve_domains
from armguard.emulator import ids
from armguard.emulator.errors import ArmError
from armguard.emulator.locks import DomainResolver
from armguard.emulator.resources import Resource, copy_json, stored_body
from armguard.emulator.state import ArmState

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/rg"
NET = f"{RG}/providers/Microsoft.Network"
STEP, MASK = 0x9E3779B97F4B, 0xFFFFFFFFFFFF


def fresh(seed: int = 3) -> ArmState:
    state = ArmState(seed=seed)
    state.put_resource_group(SUB, "rg", {"location": "westeurope"})
    return state


def guid(state: ArmState, n: int) -> str:
    """The n-th GUID of a state, as the counter scramble defines it."""
    return f"{state._guid_prefix}{(n * STEP) & MASK:012x}"


def test_correlation_ids_made_lazily_read_as_the_guids_drawn_in_order():
    state = fresh()
    count = state._guid_count
    _, op = state.put_resource(f"{NET}/virtualHubs/hub", {"location": "westeurope"})
    assert op.correlation_id == guid(state, count + 1)  # drawn first, read later
    assert op.id == guid(state, count + 2)
    entry = [e for e in state.activity_log(SUB) if e["operationId"] == op.id]
    assert {e["correlationId"] for e in entry} == {guid(state, count + 1)}
    assert json.loads(json.dumps(op.to_json()))["correlation_id"] == guid(state, count + 1)


def test_rejected_writes_log_the_text_of_their_lazy_correlation_id():
    state = fresh()
    hub = f"{NET}/virtualHubs/hub"
    state.put_resource(hub, {"location": "westeurope"})
    count = state._guid_count
    with pytest.raises(ArmError):
        state.put_resource(hub, {"location": "westeurope"})
    failed = [e for e in state.activity_log(SUB) if e["status"]["value"] == "Failed"]
    assert failed[0]["correlationId"] == guid(state, count + 1)


def test_guid_sequence_continues_after_loading():
    state = fresh()
    state.put_resource(f"{NET}/virtualHubs/hub", {"location": "westeurope"})
    loaded = ArmState.from_json(json.loads(json.dumps(state.to_json())))
    count = loaded._guid_count
    _, op = loaded.put_resource(f"{NET}/virtualHubs/hub2", {"location": "westeurope"})
    assert (op.correlation_id, op.id) == (guid(loaded, count + 1), guid(loaded, count + 2))


def test_operations_are_indexed_by_the_ids_they_were_given_even_when_nobody_read_them():
    state = fresh()
    count = state._guid_count
    made = [state.put_resource(f"{NET}/networkSecurityGroups/n{i}", {"location": "westeurope"})[1] for i in range(3)]
    expected = [guid(state, count + 2 * i + 2) for i in range(3)]  # each write draws a correlation id first
    assert list(state.operations)[-3:] == expected
    assert [state.operations[i] for i in expected] == made
    assert [op.id for op in made] == expected
    _, later = state.put_resource(f"{NET}/networkSecurityGroups/n3", {"location": "westeurope"})
    assert state.operation(guid(state, count + 8)) is later


TRICKY_IDS = [
    f"{NET}/virtualHubs/hub/bgpConnections/p1",
    f"{NET}/virtualHubs/HUB/bgpConnections/P1/",
    f"{NET}/virtualHubs/providers",
    f"{NET}/virtualHubs/hub/bgpConnections/providers",
    f"{NET}/virtualHubs/hüb/bgpConnections/p1",
    f"{NET}/virtualHubs/İ/bgpConnections/p1",
    f"{NET}/virtualNetworks/v/subnets/s",
    f"{NET}/privateDnsZones/z/virtualNetworkLinks/l",
    f"{RG}/providers/Microsoft.Storage/storageAccounts/sa/providers/Microsoft.Authorization/roleAssignments/r",
    f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/r",
    f"{NET}/virtualHubs/hub/hubRouteTables/t",
]


@pytest.mark.parametrize("resource_id", TRICKY_IDS)
def test_domain_keys_from_the_parsed_id_equal_the_catalog_resolution(resource_id):
    catalog = default_catalog()
    rid = ids.parse(resource_id)
    resolver = DomainResolver(catalog, "serial")
    ex, sh, _ = resolver.keys(rid.id, rid.key, rid.type_key, {})
    entry = catalog.get(rid.type_key)
    expected = [rid.key]
    for rd in resolve_domains(entry, rid.id, None):
        for found in rd.ids:
            key = found.strip().rstrip("/").lower()
            if key not in expected:
                expected.append(key)
    assert ex == tuple(expected)
    assert sh == tuple(k for k in (a.lower() for a in ids.ancestors(rid.id)) if k not in ex)


def test_parse_cache_overflow_starts_afresh(monkeypatch):
    monkeypatch.setattr(ids, "_CACHE_LIMIT", 3)
    monkeypatch.setattr(ids, "_parsed", {})
    parsed = [ids.parse(f"{NET}/virtualHubs/h{i}") for i in range(10)]
    assert [p.name for p in parsed] == [f"h{i}" for i in range(10)]
    assert len(ids._parsed) <= 3
    with pytest.raises(ArmError):
        ids.parse("/not/an/id")


def test_views_and_stored_bodies_are_deep_copies_of_plain_json():
    nested = OrderedDict(a=[1, {"b": (1, 2)}])
    body = {"Name": "x", "location": "l", "tags": {"t": "1"},
            "properties": {"provisioningState": "Succeeded", "flat": {"x": 1}, "deep": {"y": [1, {"z": None}]},
                           "ordered": nested}}
    stored = stored_body(body)
    assert stored == {"location": "l", "tags": {"t": "1"},
                      "properties": {"flat": {"x": 1}, "deep": {"y": [1, {"z": None}]}, "ordered": {"a": [1, {"b": (1, 2)}]}}}
    assert type(stored["properties"]["ordered"]) is dict
    body["tags"]["t"] = "changed"
    body["properties"]["deep"]["y"][1]["z"] = "changed"
    assert stored["tags"] == {"t": "1"} and stored["properties"]["deep"] == {"y": [1, {"z": None}]}
    res = Resource(f"{NET}/virtualNetworks/v", "v", "Microsoft.Network/virtualNetworks", stored, "Succeeded", 0.0, None)
    view = res.view()
    assert list(view) == ["id", "name", "type", "location", "tags", "properties"]
    assert view["properties"]["provisioningState"] == "Succeeded"
    view["tags"]["t"] = "mutated"
    view["properties"]["flat"]["x"] = 2
    assert res.view() == {**view, "tags": {"t": "1"}, "properties": {**view["properties"], "flat": {"x": 1}}}
    assert copy_json(stored) == stored and copy_json(stored) is not stored


@pytest.mark.parametrize("body", [
    {"location": "westeurope", "tags": {"a": "b"}},
    {"properties": {"provisioningState": "Failed", "x": [1, {"y": 2}]}, "location": "l", "zones": ["1"]},
    {"properties": "not an object", "location": "l"},
    {"properties": ["a"], "ID": "/x", "Type": "t", "name": "n", "sku": OrderedDict(name="S")},
    {},
])
def test_a_put_answers_the_view_a_get_gives(body):
    state = fresh()
    hub = f"{NET}/virtualHubs/hub"
    for _ in range(2):  # a create, then an update
        view, _ = state.put_resource(hub, body)
        res = state.resources[hub.lower()]
        assert json.dumps(view) == json.dumps(res.view())  # same keys, same order, same values
        view.clear()
        assert res.view() != {}
        state.run_until_idle()


def test_run_until_idle_defers_garbage_collection_and_restores_it():
    import gc

    seen = []

    class Probed(ArmState):  # an event kind whose handler records whether GC is on (or fails)
        __slots__ = ()

        def _dispatch_deployment(self, t, kind, ref):
            if ref == "boom":
                raise RuntimeError("boom")
            seen.append(gc.isenabled())

    state = Probed(seed=1)
    state.clock.advance_to(0)
    state._schedule(1.0, "probe", "x")
    assert gc.isenabled()
    state.run_until_idle()
    assert seen == [False] and gc.isenabled()

    gc.disable()  # a caller that turned it off keeps it off
    try:
        state._schedule(2.0, "probe", "y")
        state.run_until_idle()
        assert seen == [False, False] and not gc.isenabled()
    finally:
        gc.enable()

    state._schedule(3.0, "probe", "boom")
    with pytest.raises(RuntimeError):
        state.run_until_idle()
    assert gc.isenabled()


def test_operations_work_out_namespace_and_subscription_from_their_resource():
    state = fresh()
    _, op = state.put_resource(f"{NET}/virtualHubs/hub", {"location": "westeurope"})
    assert (op.namespace, op.subscription) == ("Microsoft.Network", SUB)
    saved = op.to_json()
    assert (saved["namespace"], saved["subscription"]) == ("Microsoft.Network", SUB)
    assert "body_changed" not in saved


def test_parsed_id_parts_are_shared_between_ids():
    a = ids.parse(f"{NET}/virtualHubs/hub1/bgpConnections/p1")
    b = ids.parse(f"{NET}/virtualHubs/hub1/bgpConnections/p2")
    for field in ("subscription", "resource_group", "namespace", "type", "type_key", "group_key", "scope",
                  "parent", "parent_key"):
        assert getattr(a, field) is getattr(b, field), field
    assert a.parent_key == f"{NET}/virtualHubs/hub1".lower()
