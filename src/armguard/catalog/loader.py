"""Reading and validating catalog data: the shipped `catalog.toml` and user overlays.

Both use one shape:

    [defaults]                     # optional in an overlay
    serial = "unknown"
    [types."Microsoft.Network/virtualHubs/bgpConnections"]
    serial = "serial"
    domains = ["parent"]
    typical_seconds = 90           # or "unknown"
    max_seconds = 1800             # or "unknown"
    readiness = "parent:properties.routingState=Provisioned"   # "" clears it in an overlay
    sources = ["..."]
    notes = "..."

Every problem is reported as one line through `ArmguardError`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from armguard.errors import ArmguardError

from .model import SERIAL_VALUES, Domain, Entry, Readiness, is_type_name, normalize_type

DATA_FILE = "catalog.toml"

ENTRY_KEYS = ("serial", "domains", "typical_seconds", "max_seconds", "readiness", "sources", "notes")
TOP_KEYS_SHIPPED = ("meta", "defaults", "types")
TOP_KEYS_OVERLAY = ("defaults", "types")
META_KEYS = ("version", "date", "description", "sources")

@dataclass(frozen=True, slots=True)
class _Partial:
    """One validated table before merging: only the keys the table set."""

    where: str
    values: dict[str, Any]


def read_shipped() -> dict[str, Any]:
    """The packaged catalog data, parsed (no validation)."""
    text = resources.files("armguard.catalog").joinpath(DATA_FILE).read_text(encoding="utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - guarded by the data tests
        raise ArmguardError(f"shipped catalog {DATA_FILE}: invalid TOML: {exc}") from None


def parse_duration(value: object, where: str, key: str) -> float | None:
    """A duration in seconds: a non-negative number, or "unknown" (None)."""
    if isinstance(value, str) and value.strip().lower() == "unknown":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArmguardError(f"{where}: {key} must be a number of seconds or \"unknown\", got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ArmguardError(f"{where}: {key} must be a non-negative number of seconds, got {value!r}")
    return float(value)


def check_keys(table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ArmguardError(
                f"{where}: unknown key {key!r} (expected one of: {', '.join(allowed)})")


def as_table(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ArmguardError(f"{where}: expected a table, got {type(value).__name__}")
    return value


def _string_list(value: object, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ArmguardError(f"{where}: {key} must be a list of strings, got {type(value).__name__}")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ArmguardError(f"{where}: {key} must contain only non-empty strings, got {item!r}")
        out.append(item.strip())
    return tuple(out)


def parse_fields(table: Mapping[str, Any], where: str, *, need_sources: bool) -> _Partial:
    """Validate the keys an entry table sets; returns them converted."""
    check_keys(table, ENTRY_KEYS, where)
    values: dict[str, Any] = {}
    if "serial" in table:
        serial = table["serial"]
        if serial not in SERIAL_VALUES:
            raise ArmguardError(
                f"{where}: serial must be one of \"serial\", \"safe\", \"unknown\", got {serial!r}")
        values["serial"] = serial
    if "domains" in table:
        texts = table["domains"]
        if not isinstance(texts, list):
            raise ArmguardError(f"{where}: domains must be a list, got {type(texts).__name__}")
        domains = tuple(Domain.parse(t, f"{where}: domains") for t in texts)
        seen: set[Domain] = set()
        for d in domains:
            if d in seen:
                raise ArmguardError(f"{where}: domain {str(d)!r} is listed twice")
            seen.add(d)
        values["domains"] = domains
    for key in ("typical_seconds", "max_seconds"):
        if key in table:
            values[key] = parse_duration(table[key], where, key)
    if "readiness" in table:
        text = table["readiness"]
        if isinstance(text, str) and not text.strip():
            values["readiness"] = (None, None)  # an override clearing the shipped rule
        else:
            rule = Readiness.parse(text, f"{where}: readiness")
            values["readiness"] = (str(text).strip(), rule)
    if "sources" in table:
        sources = _string_list(table["sources"], where, "sources")
        if not sources:
            raise ArmguardError(f"{where}: sources is empty; every entry must cite at least one source "
                                "(a user override may cite \"user config\")")
        values["sources"] = sources
    elif need_sources:
        raise ArmguardError(f"{where}: no sources; every entry must cite at least one source "
                            "(a user override may cite \"user config\")")
    if "notes" in table:
        notes = table["notes"]
        if not isinstance(notes, str):
            raise ArmguardError(f"{where}: notes must be a string, got {type(notes).__name__}")
        values["notes"] = notes.strip()
    return _Partial(where, values)


def build_entry(type_name: str, partial: _Partial, base: Entry | None, origin: str,
                *, known: bool = True) -> Entry:
    """An entry from validated fields, on top of `base` (the shipped entry, or the defaults)."""
    v = partial.values
    if base is None:
        if "serial" not in v:
            raise ArmguardError(f"{partial.where}: serial is required "
                                "(one of \"serial\", \"safe\", \"unknown\")")
        base = Entry(type=type_name, serial=v["serial"])
    readiness, rule = v.get("readiness", (base.readiness, base.readiness_rule))
    sources = v.get("sources", base.sources)
    if base.known and origin == "shipped+user" and "sources" in v:
        # Keep the shipped evidence after the user's own citation.
        sources = tuple(dict.fromkeys((*v["sources"], *base.sources)))
    entry = replace(
        base,
        type=type_name,
        serial=v.get("serial", base.serial),
        domains=v.get("domains", base.domains),
        typical_seconds=v.get("typical_seconds", base.typical_seconds),
        max_seconds=v.get("max_seconds", base.max_seconds),
        readiness=readiness,
        _readiness_rule=rule,
        sources=sources,
        notes=v.get("notes", base.notes),
        known=known,
        origin=origin,
    )
    check_entry(entry, partial.where)
    return entry


def check_entry(entry: Entry, where: str) -> None:
    """Cross-field rules of a finished entry."""
    if (entry.typical_seconds is not None and entry.max_seconds is not None
            and entry.max_seconds < entry.typical_seconds):
        raise ArmguardError(f"{where}: max_seconds ({entry.max_seconds:g}) is less than "
                            f"typical_seconds ({entry.typical_seconds:g})")
    if entry.known and not entry.sources:
        raise ArmguardError(f"{where}: no sources; every entry must cite at least one source")


def parse_defaults(table: object, where: str, base: Entry | None, origin: str) -> Entry:
    """The entry given to types not in the catalog, on top of `base` (None: built-in fallback)."""
    table = as_table(table, where)
    partial = parse_fields(table, where, need_sources=False)
    if base is None:
        base = Entry(type="", serial="unknown", known=False, origin=origin)
    return build_entry("", partial, base, origin, known=False)


def parse_types(table: object, where: str) -> dict[str, tuple[str, _Partial]]:
    """Validated `types` tables, keyed by normalized type: (type name as written, fields)."""
    table = as_table(table, where)
    out: dict[str, tuple[str, _Partial]] = {}
    for name, body in table.items():
        ewhere = f'{where}."{name}"'
        if not isinstance(name, str) or not is_type_name(name.strip()):
            raise ArmguardError(f"{ewhere}: not a resource type name "
                                "(expected e.g. \"Microsoft.Network/virtualHubs/bgpConnections\")")
        key = normalize_type(name)
        if key in out:
            raise ArmguardError(f'{ewhere}: listed twice (also as "{out[key][0]}"; '
                                "type names are case-insensitive)")
        out[key] = (name.strip(), parse_fields(as_table(body, ewhere), ewhere, need_sources=True))
    return out


def check_meta(table: object, where: str) -> dict[str, Any]:
    table = as_table(table, where)
    check_keys(table, META_KEYS, where)
    if "sources" in table:
        legend = as_table(table["sources"], f"{where}.sources")
        for k, v in legend.items():
            if not isinstance(v, str):
                raise ArmguardError(f"{where}.sources.{k}: expected a string, got {type(v).__name__}")
    return dict(table)
