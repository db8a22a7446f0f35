"""Property: whatever the requests and timings, lock domains are never held twice at once, a write
is rejected exactly when it meets an in-flight one, and every accepted write is readable afterwards.

The expected keys are computed here from the catalog (`lock_keys`, `parent_id`), independently of
the emulator's own lock table.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from armguard.catalog import default_catalog, lock_keys
from armguard.catalog.resolve import lock_key, parent_id, resource_type_of
from armguard.emulator.errors import ArmError
from armguard.emulator.state import ArmState

SUB = "00000000-0000-0000-0000-000000000000"
NET = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network"
VNET, VNET2, HUB, NSG = (f"{NET}/virtualNetworks/vnet", f"{NET}/virtualNetworks/vnet2", f"{NET}/virtualHubs/hub",
                         f"{NET}/networkSecurityGroups/nsg")
TREE = [
    VNET, f"{VNET}/subnets/s0", f"{VNET}/subnets/s1",  # serial siblings
    VNET2, f"{VNET2}/subnets/t0",
    f"{VNET}/virtualNetworkPeerings/to-vnet2",  # holds vnet2 too
    HUB, f"{HUB}/bgpConnections/b0", f"{HUB}/bgpConnections/b1",  # serial siblings
    NSG, f"{NSG}/securityRules/r0", f"{NSG}/securityRules/r1",  # unknown: safe siblings
]
CONFLICT_CODES = {"AnotherOperationInProgress", "RetryableError"}
CATALOG = default_catalog()


def body_for(resource_id: str, variant: int) -> dict:
    props: dict = {"variant": variant}
    if "/virtualNetworkPeerings/" in resource_id:
        props["remoteVirtualNetwork"] = {"id": VNET2}
    out: dict = {"properties": props}
    if parent_id(resource_id) is None:
        out["location"] = "westeurope"
    return out


def expected_keys(resource_id: str, body: dict) -> tuple[frozenset[str], frozenset[str]]:
    entry = CATALOG.get(resource_type_of(resource_id) or "")
    exclusive = lock_keys(entry, resource_id, body) if entry.serial == "serial" else frozenset({lock_key(resource_id)})
    shared = set()
    parent = parent_id(resource_id)
    while parent is not None:
        shared.add(lock_key(parent))
        parent = parent_id(parent)
    return exclusive, frozenset(shared) - exclusive


def meets(a: tuple[frozenset[str], frozenset[str]], b: tuple[frozenset[str], frozenset[str]]) -> bool:
    return bool(a[0] & (b[0] | b[1])) or bool(b[0] & (a[0] | a[1]))


actions = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.integers(0, len(TREE) - 1), st.integers(0, 2)),
        st.tuples(st.just("patch"), st.integers(0, len(TREE) - 1), st.integers(0, 2)),
        st.tuples(st.just("delete"), st.integers(0, len(TREE) - 1), st.just(0)),
        st.tuples(st.just("advance"), st.integers(0, 3), st.sampled_from([0.0, 0.5, 3.0, 12.0, 40.0, 200.0])),
    ),
    min_size=1, max_size=60)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions, st.integers(0, 2**16))
def test_lock_domains_never_overlap_and_accepted_writes_are_readable(script, seed):
    state = ArmState(seed=seed)
    state.put_resource_group(SUB, "rg", {"location": "westeurope"})
    accepted: list[tuple[object, tuple[frozenset[str], frozenset[str]]]] = []
    last_write: dict[str, tuple[str, dict | None, object]] = {}  # key -> (method, body, op)

    def in_flight() -> list[tuple[object, tuple[frozenset[str], frozenset[str]]]]:
        return [(op, keys) for op, keys in accepted if op.status == "InProgress"]

    for kind, index, arg in script:
        if kind == "advance":
            state.clock.advance(arg)
            state.settle()
            continue
        rid = TREE[index]
        body = body_for(rid, arg)
        current = state.resources.get(rid.lower())
        keys_body = current.body if kind == "delete" and current is not None else body
        keys = expected_keys(rid, keys_body)
        busy = [op for op, other in in_flight() if meets(keys, other)]
        try:
            if kind == "put":
                _, op = state.put_resource(rid, body)
            elif kind == "patch":
                _, op = state.patch_resource(rid, body)
            else:
                op = state.delete_resource(rid)
        except ArmError as e:
            if e.code in CONFLICT_CODES:
                assert busy, f"{kind} {rid} rejected with {e.code} but nothing in flight meets it"
            else:  # existence is checked before lock domains
                assert e.code in ("ParentResourceNotFound", "ResourceNotFound"), e.code
                assert current is None or e.code == "ParentResourceNotFound"
            continue
        if op is None:
            assert kind == "delete" and current is None  # nothing to delete: 204
            continue
        assert not busy, f"{kind} {rid} accepted while {busy} holds its domain"
        accepted.append((op, keys))
        merged = None if kind == "delete" else state.resources[rid.lower()].body
        last_write[rid.lower()] = (kind, merged, op)

    state.run_until_idle()
    # 1. No two mutations meeting in a lock domain overlapped in time.
    for i, (a, ka) in enumerate(accepted):
        assert a.status == "Succeeded" and a.finished is not None
        for b, kb in accepted[i + 1:]:
            if meets(ka, kb):
                assert a.finished <= b.start or b.finished <= a.start, (a, b)
    # 2. Every accepted write is readable afterwards (unless deleted since, itself or with a parent).
    for key, (kind, merged, op) in last_write.items():
        ancestors_deleted = any(
            k2 != key and key.startswith(k2 + "/") and m == "delete" and o.finished >= op.finished
            for k2, (m, _, o) in last_write.items())
        if kind == "delete" or ancestors_deleted:
            assert key not in state.resources
            continue
        view = state.get_resource(key)
        assert view["properties"]["provisioningState"] == "Succeeded"
        shown = {k: v for k, v in view["properties"].items() if k != "provisioningState"}
        assert shown == merged["properties"]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.one_of(st.none(), st.integers(1, 4)), st.integers(0, 2**16))
def test_a_loop_on_one_hub_succeeds_iff_it_runs_one_at_a_time(count, batch, seed):
    state = ArmState(seed=seed)
    state.put_resource_group(SUB, "rg", {"location": "westeurope"})
    state.put_resource(HUB, {"location": "westeurope"})
    state.run_until_idle()
    copy: dict = {"name": "peers", "count": count}
    if batch is not None:
        copy.update(mode="serial", batchSize=batch)
    template = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "contentVersion": "1.0.0.0", "resources": [
                    {"type": "Microsoft.Network/virtualHubs/bgpConnections", "apiVersion": "2024-05-01",
                     "name": "[format('hub/p{0}', copyIndex())]", "copy": copy, "properties": {}}]}
    state.put_deployment(f"/subscriptions/{SUB}/resourceGroups/rg", "d", {"properties": {"mode": "Incremental",
                                                                                           "template": template}})
    state.run_until_idle()
    result = state.get_deployment(f"/subscriptions/{SUB}/resourceGroups/rg", "d")["properties"]["provisioningState"]
    one_at_a_time = count == 1 or batch == 1
    assert result == ("Succeeded" if one_at_a_time else "Failed")
