"""armguard.catalog.resolve: from an entry's lock domains to the resource ids one write holds."""

from __future__ import annotations

from armguard.catalog import Domain, Entry, default_catalog, lock_key, lock_keys, resolve_domains
from armguard.catalog.resolve import ancestor_id, parent_id, property_ids, resource_type_of, scope_id
from armguard.values import Unknown

RG = "/subscriptions/0000/resourceGroups/rg"
HUB = f"{RG}/providers/Microsoft.Network/virtualHubs/hub1"
BGP = f"{HUB}/bgpConnections/peer1"
ROUTE = f"{HUB}/hubRouteTables/rt1/routes/r1"
SA = f"{RG}/providers/Microsoft.Storage/storageAccounts/sa1"
RA = f"{SA}/providers/Microsoft.Authorization/roleAssignments/ra1"


def test_resource_type_of():
    assert resource_type_of(BGP) == "Microsoft.Network/virtualHubs/bgpConnections"
    assert resource_type_of(RA) == "Microsoft.Authorization/roleAssignments"
    assert resource_type_of(RG) is None


def test_parent_and_ancestor():
    assert parent_id(BGP) == HUB
    assert parent_id(HUB) is None
    assert parent_id(RA) is None, "an extension resource has a scope, not a parent"
    assert ancestor_id(ROUTE, "Microsoft.Network/virtualHubs") == HUB
    assert ancestor_id(ROUTE, "microsoft.network/VIRTUALHUBS") == HUB
    assert ancestor_id(ROUTE, "Microsoft.Network/virtualHubs/hubRouteTables") == f"{HUB}/hubRouteTables/rt1"
    assert ancestor_id(BGP, "Microsoft.Network/virtualNetworks") is None


def test_scope():
    assert scope_id(RA) == SA
    assert scope_id(f"{RG}/providers/Microsoft.Authorization/roleAssignments/x") == RG
    assert scope_id("/providers/Microsoft.Authorization/roleAssignments/x") is None


def test_property_paths():
    body = {"Properties": {"remoteVirtualNetwork": {"ID": "/x/vnet"},
                           "conns": [{"properties": {"target": "/a"}},
                                     {"properties": {"target": "/b"}},
                                     {"properties": {"target": "/a"}},
                                     {"properties": {"target": Unknown("reference(x).id")}},
                                     {"properties": {}}]}}
    assert property_ids(body, ("properties", "remoteVirtualNetwork", "id")) == ("/x/vnet",)
    assert property_ids(body, ("properties", "conns", "*", "properties", "target")) == ("/a", "/b")
    assert property_ids(body, ("properties", "missing", "id")) == ()
    assert property_ids(None, ("properties",)) == ()


def test_resolve_and_lock_keys_for_a_peering():
    entry = default_catalog().get("Microsoft.Network/virtualNetworks/virtualNetworkPeerings")
    local = f"{RG}/providers/Microsoft.Network/virtualNetworks/hub"
    peering = f"{local}/virtualNetworkPeerings/to-spoke1"
    remote = "/subscriptions/1111/resourceGroups/spokes/providers/Microsoft.Network/virtualNetworks/Spoke1"
    body = {"properties": {"remoteVirtualNetwork": {"id": remote}}}
    resolved = {str(rd.domain): rd.ids for rd in resolve_domains(entry, peering, body)}
    assert resolved == {"parent": (local,), "property:properties.remoteVirtualNetwork.id": (remote,)}
    assert lock_keys(entry, peering, body) == {lock_key(peering), lock_key(local), lock_key(remote)}


def test_unresolved_domains_are_reported_not_invented():
    entry = Entry(type="Contoso.A/x", serial="serial",
                  domains=(Domain("parent"), Domain("property", "properties.target.id")), sources=("s",))
    rds = resolve_domains(entry, SA, {"properties": {"target": {"id": Unknown("param:t")}}})
    assert [rd.resolved for rd in rds] == [False, False]
    assert lock_keys(entry, SA, None) == {lock_key(SA)}


def test_lock_key_is_case_insensitive():
    assert lock_key(HUB.upper() + "/") == lock_key(HUB)
