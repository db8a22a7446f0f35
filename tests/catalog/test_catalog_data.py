"""Integrity of the shipped catalog data (src/armguard/catalog/catalog.toml).

These tests hold the data to the catalog's rules: evidence for every entry, a lock domain for every
serial verdict, durations that are numbers or "unknown", and coverage of the types the linter,
planner and emulator rely on.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from armguard.catalog import Domain, Entry, default_catalog, normalize_type
from armguard.catalog.integrity import entry_problems, problems, research_references

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"          # CI keeps the research notes beside the repository

PRIVATE_RECORDS = ["A", "AAAA", "CNAME", "MX", "PTR", "SOA", "SRV", "TXT"]
PUBLIC_RECORDS = ["A", "AAAA", "CAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT"]

REQUIRED = [
    # virtual WAN / hubs (Route Server BGP peerings are virtualHubs/bgpConnections too)
    "Microsoft.Network/virtualWans",
    "Microsoft.Network/virtualHubs",
    "Microsoft.Network/virtualHubs/bgpConnections",
    "Microsoft.Network/virtualHubs/hubVirtualNetworkConnections",
    "Microsoft.Network/virtualHubs/hubRouteTables",
    "Microsoft.Network/virtualHubs/hubRouteTables/routes",
    "Microsoft.Network/virtualHubs/routingIntent",
    "Microsoft.Network/vpnGateways",
    "Microsoft.Network/vpnGateways/vpnConnections",
    # VNets, gateways
    "Microsoft.Network/virtualNetworks/subnets",
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
    "Microsoft.Network/virtualNetworkGateways",
    "Microsoft.Network/connections",
    "Microsoft.Network/routeTables",
    "Microsoft.Network/routeTables/routes",
    "Microsoft.Network/networkSecurityGroups/securityRules",
    # DNS
    "Microsoft.Network/privateDnsZones",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
    *[f"Microsoft.Network/privateDnsZones/{r}" for r in PRIVATE_RECORDS],
    *[f"Microsoft.Network/dnsZones/{r}" for r in PUBLIC_RECORDS],
    # endpoints, firewalls, gateways, load balancers, ExpressRoute, perimeters
    "Microsoft.Network/privateEndpoints",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    "Microsoft.Network/firewallPolicies",
    "Microsoft.Network/firewallPolicies/ruleCollectionGroups",
    "Microsoft.Network/azureFirewalls",
    "Microsoft.Network/applicationGateways",
    "Microsoft.Network/loadBalancers/inboundNatRules",
    "Microsoft.Network/loadBalancers/backendAddressPools",
    "Microsoft.Network/expressRouteCircuits/peerings",
    "Microsoft.Network/expressRouteCircuits/authorizations",
    "Microsoft.Network/networkSecurityPerimeters/resourceAssociations",
    # identity
    "Microsoft.Authorization/roleAssignments",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
    # service children
    "Microsoft.CognitiveServices/accounts/deployments",
    "Microsoft.Search/searchServices/sharedPrivateLinkResources",
    "Microsoft.Web/sites/slots",
    "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
    "Microsoft.NetApp/netAppAccounts/capacityPools/volumes",
    "Microsoft.AppConfiguration/configurationStores/replicas",
    "Microsoft.Cache/redis/accessPolicies",
    "Microsoft.Cache/redis/accessPolicyAssignments",
]

SAFE = [
    "Microsoft.Storage/storageAccounts",
    "Microsoft.Compute/virtualMachines",
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.Web/sites",
    "Microsoft.KeyVault/vaults",
    "Microsoft.ManagedIdentity/userAssignedIdentities",
]

# Domains the design names explicitly; the data must keep them.
EXPECTED_DOMAINS = {
    "Microsoft.Network/virtualHubs/bgpConnections": ["parent"],
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks": ["parent"],
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings": ["parent", "property:properties.remoteVirtualNetwork.id"],
    "Microsoft.Network/virtualHubs/hubVirtualNetworkConnections": ["parent", "property:properties.remoteVirtualNetwork.id"],
    "Microsoft.Network/connections": ["property:properties.virtualNetworkGateway1.id"],
    "Microsoft.Network/virtualNetworks/subnets": ["parent", "property:properties.routeTable.id",
                                                 "property:properties.networkSecurityGroup.id"],
    "Microsoft.Network/virtualHubs/hubRouteTables/routes": ["ancestor:Microsoft.Network/virtualHubs"],
    "Microsoft.Authorization/roleAssignments": ["scope"],
}


def missing_research_files(entries, shared_root: Path) -> list[str]:
    """Research files cited by `entries` that do not exist under `shared_root` (the 'shared' dir)."""
    out = []
    for ref, types in sorted(research_references(entries).items()):
        if not (shared_root / ref.removeprefix("shared/")).is_file():
            out.append(f"{ref} (cited by {', '.join(sorted(set(types)))})")
    return out


@pytest.fixture(scope="module")
def raw() -> dict:
    text = resources.files("armguard.catalog").joinpath("catalog.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


def test_shipped_catalog_has_no_integrity_problems(catalog):
    assert problems(catalog) == []


def test_every_entry_cites_a_source(catalog):
    for e in catalog.entries:
        assert len(e.sources) >= 1, e.type
        assert all(s.strip() for s in e.sources), e.type


def test_every_serial_entry_has_a_domain(catalog):
    serial = [e for e in catalog.entries if e.serial == "serial"]
    assert serial, "the catalog has serial entries"
    for e in serial:
        assert e.domains, f"{e.type} is serial but holds no shared domain"


def test_raw_durations_are_numbers_or_unknown(raw):
    for name, body in raw["types"].items():
        for key in ("typical_seconds", "max_seconds"):
            assert key in body, f"{name}: {key} missing (write \"unknown\" when there is no evidence)"
            value = body[key]
            ok = value == "unknown" or (not isinstance(value, bool) and isinstance(value, (int, float)) and value >= 0)
            assert ok, f"{name}: {key} = {value!r}"


def test_max_is_at_least_typical(catalog):
    for e in catalog.entries:
        if e.typical_seconds is not None and e.max_seconds is not None:
            assert e.max_seconds >= e.typical_seconds, e.type


def test_raw_type_names_unique_case_insensitively(raw):
    keys = [normalize_type(k) for k in raw["types"]]
    assert len(keys) == len(set(keys))


def test_required_types_present(catalog):
    missing = [t for t in REQUIRED + SAFE if t not in catalog]
    assert missing == []
    for t in REQUIRED + SAFE:
        assert catalog.get(t).type == t, f"spelled as ARM spells it: {catalog.get(t).type} vs {t}"


def test_safe_types_are_safe(catalog):
    for t in SAFE:
        e = catalog.get(t)
        assert e.serial == "safe", f"{t} is {e.serial}"
        assert e.domains == (), t


@pytest.mark.parametrize(("type_name", "domains"), sorted(EXPECTED_DOMAINS.items()))
def test_expected_domains(catalog, type_name, domains):
    have = {str(d) for d in catalog.get(type_name).domains}
    assert set(domains) <= have, f"{type_name}: {sorted(have)}"


def test_core_serial_verdicts(catalog):
    # The loops armguard exists for: evidence for each is in the sources.
    for t in ["Microsoft.Network/virtualHubs/bgpConnections",
              "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
              "Microsoft.Network/virtualNetworks/subnets",
              "Microsoft.Network/firewallPolicies/ruleCollectionGroups",
              "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
              "Microsoft.CognitiveServices/accounts/deployments"]:
        assert catalog.get(t).serial == "serial", t


def test_readiness_rules_parse(catalog):
    for e in catalog.entries:
        if e.readiness is not None:
            assert e.readiness_rule is not None and str(e.readiness_rule) == e.readiness, e.type


def test_notes_are_short(catalog):
    for e in catalog.entries:
        assert 0 < len(e.notes) <= 450, f"{e.type}: notes of {len(e.notes)} chars"


def test_unknown_verdicts_explain_themselves(catalog):
    # "unknown" must say why (missing or contradictory evidence) rather than stay silent.
    for e in catalog.entries:
        if e.serial == "unknown":
            assert e.notes, e.type


# The research notes the catalog may cite. They live outside the repository (../shared/research); this
# list is their index, so the check below runs in every checkout, and it must equal the directory
# wherever the directory is present.
RESEARCH_FILES = {"shared/research/runtime-evidence.md", "shared/research/serial-deployment-evidence.md"}


def test_research_sources_point_at_existing_files(catalog):
    refs = research_references(catalog.entries)
    assert refs, "the catalog cites the shared research notes"
    assert sorted(set(refs) - RESEARCH_FILES) == []
    if (SHARED / "research").is_dir():
        assert {f"shared/research/{p.name}" for p in (SHARED / "research").glob("*.md")} == RESEARCH_FILES
        assert missing_research_files(catalog.entries, SHARED) == []


# --- the integrity checks themselves catch bad data ---------------------------------------------

def test_integrity_checks_can_fail(tmp_path):
    bad = [
        Entry(type="Contoso.A/x", serial="serial", sources=("s",), notes="n"),
        Entry(type="Contoso.A/y", serial="safe", domains=(Domain("parent"),), sources=("s",), notes="n"),
        Entry(type="Contoso.A/z", serial="unknown", sources=(), notes="n"),
        Entry(type="Contoso.A/w", serial="unknown", typical_seconds=10, max_seconds=5, sources=("s",), notes="n"),
        Entry(type="Contoso.A/v", serial="unknown", max_seconds=-1, sources=("s",), notes=""),
    ]
    found = [p for e in bad for p in entry_problems(e)]
    assert any("Contoso.A/x" in p and "no lock domain" in p for p in found)
    assert any("Contoso.A/y" in p and "safe but lists domains" in p for p in found)
    assert any("Contoso.A/z" in p and "no sources" in p for p in found)
    assert any("Contoso.A/w" in p and "max_seconds" in p for p in found)
    assert any("Contoso.A/v" in p and "non-negative" in p for p in found)
    assert any("Contoso.A/v" in p and "no notes" in p for p in found)

    cited = [Entry(type="Contoso.A/u", serial="unknown", notes="n",
                   sources=("shared/research/nope.md: something", "shared/research/yes.md: x"))]
    (tmp_path / "research").mkdir()
    (tmp_path / "research" / "yes.md").write_text("x")
    assert missing_research_files(cited, tmp_path) == ["shared/research/nope.md (cited by Contoso.A/u)"]
