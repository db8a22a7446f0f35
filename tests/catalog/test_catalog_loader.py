"""armguard.catalog: lookup, defaults, user overlays and strict validation of catalog data."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from armguard.catalog import Domain, Readiness, default_catalog, load_catalog, load_catalog_data
from armguard.errors import ArmguardError

BGP = "Microsoft.Network/virtualHubs/bgpConnections"


def _minimal(**types: dict) -> dict:
    return {"types": {name: body for name, body in types.items()}}


def _error(extra: object) -> str:
    with pytest.raises(ArmguardError) as info:
        load_catalog(extra)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message, message
    return message


# --- lookup ------------------------------------------------------------------------------------

def test_lookup_is_case_insensitive_and_ignores_api_version():
    cat = default_catalog()
    a = cat.get(BGP)
    assert a.known and a.type == BGP
    for spelling in (BGP.lower(), BGP.upper(), f"  {BGP}@2024-05-01 ", "microsoft.network/VirtualHubs/BGPConnections"):
        assert cat.get(spelling) is a
        assert spelling.strip() in cat
    assert cat[BGP] is a


@given(st.sampled_from(default_catalog().types()), st.randoms(use_true_random=False))
def test_any_casing_finds_the_same_entry(type_name, rnd):
    cased = "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in type_name)
    assert default_catalog().get(cased) is default_catalog().get(type_name)


def test_unknown_type_gets_defaults():
    cat = default_catalog()
    e = cat.get("Contoso.Widgets/gadgets@2020-01-01")
    assert e.known is False
    assert e.type == "Contoso.Widgets/gadgets"
    assert e.serial == "unknown"
    assert e.domains == ()
    assert e.typical_seconds is None and e.max_seconds is None
    assert e.sources, "defaults carry a source too"
    assert "Contoso.Widgets/gadgets" not in cat


def test_entries_are_sorted_and_iterable():
    cat = default_catalog()
    names = [e.type.lower() for e in cat.entries]
    assert names == sorted(names)
    assert len(list(cat)) == len(cat) == len(names)
    assert cat.types()[0] == cat.entries[0].type


def test_default_catalog_is_cached():
    assert default_catalog() is default_catalog()
    assert load_catalog() is default_catalog()
    assert load_catalog({}) is default_catalog()


def test_entry_fields_are_typed():
    e = default_catalog().get(BGP)
    assert e.serial == "serial" and e.is_serial and not e.is_safe
    assert e.domains == (Domain("parent"),)
    assert isinstance(e.typical_seconds, float) and isinstance(e.max_seconds, float)
    assert e.readiness == "parent:properties.routingState=Provisioned"
    assert e.readiness_rule == Readiness(Domain("parent"), "properties.routingState", "Provisioned")
    assert isinstance(e.sources, tuple) and all(isinstance(s, str) for s in e.sources)
    assert e.origin == "shipped"


# --- overlays ----------------------------------------------------------------------------------

def test_overlay_adds_a_type():
    cat = load_catalog(_minimal(**{"Contoso.Widgets/gadgets/parts": {
        "serial": "serial", "domains": ["parent"], "typical_seconds": 12, "max_seconds": "unknown",
        "sources": ["user config"], "notes": "our RP serializes parts"}}))
    e = cat.get("contoso.widgets/GADGETS/parts")
    assert e.known and e.origin == "user"
    assert e.serial == "serial" and e.domains == (Domain("parent"),)
    assert e.typical_seconds == 12.0 and e.max_seconds is None
    assert e.sources == ("user config",)
    assert cat.get(BGP) == default_catalog().get(BGP)


def test_overlay_overrides_only_the_fields_it_sets():
    shipped = default_catalog().get(BGP)
    cat = load_catalog(_minimal(**{BGP.lower(): {"max_seconds": 600, "sources": ["user config"]}}))
    e = cat.get(BGP)
    assert e.type == BGP, "the shipped spelling wins"
    assert e.origin == "shipped+user"
    assert e.max_seconds == 600.0
    assert (e.serial, e.domains, e.typical_seconds, e.readiness) == (
        shipped.serial, shipped.domains, shipped.typical_seconds, shipped.readiness)
    assert e.sources[0] == "user config" and set(shipped.sources) <= set(e.sources)
    assert default_catalog().get(BGP) is shipped, "the shipped catalog is not modified"


def test_overlay_can_flip_a_verdict_and_clear_domains_and_readiness():
    cat = load_catalog(_minimal(**{BGP: {"serial": "safe", "domains": [], "readiness": "",
                                         "sources": ["user config"]}}))
    e = cat.get(BGP)
    assert e.serial == "safe" and e.domains == ()
    assert e.readiness is None and e.readiness_rule is None


def test_overlay_defaults():
    cat = load_catalog({"defaults": {"serial": "serial", "domains": ["parent"], "max_seconds": 900}})
    e = cat.get("Contoso.Widgets/gadgets/parts")
    assert e.known is False
    assert e.serial == "serial" and e.domains == (Domain("parent"),) and e.max_seconds == 900.0
    assert cat.get(BGP).known


def test_overlay_does_not_mutate_its_input():
    extra = _minimal(**{BGP: {"serial": "unknown", "sources": ["user config"]}})
    before = copy.deepcopy(extra)
    load_catalog(extra)
    assert extra == before


# --- validation: one-line errors ----------------------------------------------------------------

@pytest.mark.parametrize(("body", "needle"), [
    ({"serial": "serial", "sources": ["x"], "seriall": 1}, "unknown key 'seriall'"),
    ({"serial": "sometimes", "sources": ["x"]}, "serial must be one of"),
    ({"serial": True, "sources": ["x"]}, "serial must be one of"),
    ({"serial": "serial", "domains": ["sibling"], "sources": ["x"]}, "unknown domain kind 'sibling'"),
    ({"serial": "serial", "domains": "parent", "sources": ["x"]}, "domains must be a list"),
    ({"serial": "serial", "domains": ["parent", "parent"], "sources": ["x"]}, "listed twice"),
    ({"serial": "serial", "domains": ["parent:x"], "sources": ["x"]}, "takes no argument"),
    ({"serial": "serial", "domains": ["ancestor:"], "sources": ["x"]}, "needs an argument"),
    ({"serial": "serial", "domains": ["ancestor:virtualHubs"], "sources": ["x"]}, "not a resource type"),
    ({"serial": "serial", "domains": ["property:properties..id"], "sources": ["x"]}, "bad property path"),
    ({"serial": "serial", "domains": [3], "sources": ["x"]}, "expected a string"),
    ({"serial": "safe", "typical_seconds": -1, "sources": ["x"]}, "non-negative"),
    ({"serial": "safe", "max_seconds": -0.5, "sources": ["x"]}, "non-negative"),
    ({"serial": "safe", "max_seconds": "forever", "sources": ["x"]}, "number of seconds or \"unknown\""),
    ({"serial": "safe", "max_seconds": True, "sources": ["x"]}, "number of seconds or \"unknown\""),
    ({"serial": "safe", "max_seconds": float("nan"), "sources": ["x"]}, "non-negative"),
    ({"serial": "safe", "typical_seconds": 100, "max_seconds": 10, "sources": ["x"]}, "less than typical_seconds"),
    ({"serial": "safe"}, "no sources"),
    ({"serial": "safe", "sources": []}, "sources is empty"),
    ({"serial": "safe", "sources": ["", "x"]}, "non-empty strings"),
    ({"serial": "safe", "sources": "user config"}, "list of strings"),
    ({"serial": "safe", "sources": ["x"], "notes": 3}, "notes must be a string"),
    ({"serial": "safe", "sources": ["x"], "readiness": "routingState"}, "readiness"),
    ({"serial": "safe", "sources": ["x"], "readiness": "sibling:properties.x=1"}, "unknown readiness target"),
    ({"sources": ["x"]}, "serial is required"),
])
def test_invalid_new_type(body, needle):
    message = _error(_minimal(**{"Contoso.Widgets/gadgets": body}))
    assert needle in message, message
    assert '"Contoso.Widgets/gadgets"' in message, "the message names the offending type"
    assert message.startswith("error: catalog (user config)"), message


def test_override_without_sources_is_rejected():
    message = _error(_minimal(**{BGP: {"serial": "safe"}}))
    assert "no sources" in message and "user config" in message


def test_override_making_max_below_shipped_typical_is_rejected():
    typical = default_catalog().get(BGP).typical_seconds
    assert typical is not None
    message = _error(_minimal(**{BGP: {"max_seconds": typical - 1, "sources": ["user config"]}}))
    assert "less than typical_seconds" in message


@pytest.mark.parametrize(("extra", "needle"), [
    ({"meta": {}}, "unknown key 'meta'"),
    ({"type": {}}, "unknown key 'type'"),
    ({"types": []}, "expected a table"),
    ({"types": {"Contoso.Widgets/gadgets": "serial"}}, "expected a table"),
    ({"types": {"virtualHubs": {"serial": "safe", "sources": ["x"]}}}, "not a resource type name"),
    ({"types": {"Contoso.Widgets/gadgets": {"serial": "safe", "sources": ["x"]},
                "contoso.widgets/GADGETS": {"serial": "safe", "sources": ["x"]}}}, "listed twice"),
    ({"defaults": {"serial": "often"}}, "serial must be one of"),
    ({"defaults": {"bogus": 1}}, "unknown key 'bogus'"),
    (["not", "a", "table"], "expected a table"),
])
def test_invalid_overlay_shape(extra, needle):
    message = _error(extra)
    assert needle in message, message


def test_shipped_shape_is_validated_too():
    good = {"meta": {"version": 1}, "defaults": {"serial": "unknown"},
            "types": {"Contoso.Widgets/gadgets": {"serial": "safe", "sources": ["x"], "notes": "n"}}}
    cat = load_catalog_data(good)
    assert cat.get("contoso.widgets/gadgets").serial == "safe"
    for bad, needle in [({**good, "extra": 1}, "unknown key 'extra'"),
                        ({**good, "meta": {"colour": "red"}}, "unknown key 'colour'"),
                        ({**good, "meta": {"sources": {"a": 1}}}, "expected a string")]:
        with pytest.raises(ArmguardError) as info:
            load_catalog_data(bad)
        assert needle in str(info.value)
        assert str(info.value).startswith("error: shipped catalog")


# --- domain and readiness syntax ---------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "parent", "scope", "ancestor:Microsoft.Network/virtualHubs",
    "property:properties.remoteVirtualNetwork.id",
    "property:properties.privateLinkServiceConnections.*.properties.privateLinkServiceId",
])
def test_domain_round_trip(text):
    d = Domain.parse(text)
    assert str(d) == text
    assert Domain.parse(str(d)) == d


def test_domain_path_segments():
    assert Domain.parse("property:properties.a.*.id").path == ("properties", "a", "*", "id")
    assert Domain.parse("parent").path == ()


@pytest.mark.parametrize(("text", "target", "path", "value"), [
    ("properties.routingState=Provisioned", None, "properties.routingState", "Provisioned"),
    ("parent:properties.provisioningState=Succeeded", Domain("parent"), "properties.provisioningState", "Succeeded"),
    ("ancestor:Microsoft.Network/virtualHubs:properties.routingState=Provisioned",
     Domain("ancestor", "Microsoft.Network/virtualHubs"), "properties.routingState", "Provisioned"),
])
def test_readiness_parse(text, target, path, value):
    r = Readiness.parse(text)
    assert (r.target, r.path, r.value) == (target, path, value)
    assert str(r) == text
