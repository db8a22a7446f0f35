"""The `Catalog`: entries by resource type, with defaults for types it does not know."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any

from armguard.errors import ArmguardError

from .loader import (
    TOP_KEYS_OVERLAY,
    TOP_KEYS_SHIPPED,
    as_table,
    build_entry,
    check_keys,
    check_meta,
    parse_defaults,
    parse_types,
    read_shipped,
)
from .model import Entry, normalize_type

SHIPPED = "shipped catalog (catalog.toml)"
OVERLAY = "catalog (user config)"


class Catalog:
    """Resource types and what armguard knows about their write conflicts.

    `get(type)` is case-insensitive and ignores an "@api-version" suffix; a type that is not in
    the catalog gets the defaults, with `known=False`.
    """

    __slots__ = ("_by_key", "defaults", "meta")

    def __init__(self, entries: Mapping[str, Entry] | list[Entry], defaults: Entry,
                 meta: Mapping[str, Any] | None = None):
        items = entries.values() if isinstance(entries, Mapping) else entries
        self._by_key: dict[str, Entry] = {normalize_type(e.type): e for e in items}
        self.defaults = defaults
        self.meta: dict[str, Any] = dict(meta or {})

    def get(self, type_name: str) -> Entry:
        entry = self._by_key.get(normalize_type(type_name))
        if entry is not None:
            return entry
        return replace(self.defaults, type=type_name.split("@", 1)[0].strip(), known=False)

    def __getitem__(self, type_name: str) -> Entry:
        return self.get(type_name)

    def __contains__(self, type_name: object) -> bool:
        return isinstance(type_name, str) and normalize_type(type_name) in self._by_key

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self._by_key)

    @property
    def entries(self) -> tuple[Entry, ...]:
        """All known entries, sorted by type name (case-insensitively)."""
        return tuple(self._by_key[k] for k in sorted(self._by_key))

    def types(self) -> tuple[str, ...]:
        return tuple(e.type for e in self.entries)

    def __repr__(self) -> str:
        return f"Catalog({len(self)} types)"


def _load(data: Mapping[str, Any]) -> Catalog:
    where = SHIPPED
    check_keys(data, TOP_KEYS_SHIPPED, where)
    meta = check_meta(data.get("meta", {}), f"{where}: meta")
    defaults = parse_defaults(data.get("defaults", {}), f"{where}: defaults", None, "shipped")
    entries: dict[str, Entry] = {}
    for key, (name, partial) in parse_types(data.get("types", {}), f"{where}: types").items():
        entries[key] = build_entry(name, partial, None, "shipped")
    return Catalog(entries, defaults, meta)


def overlay(base: Catalog, extra: Mapping[str, Any]) -> Catalog:
    """`base` with the user's additions and overrides (same shape as the data file, minus meta).

    An override replaces only the fields it sets and must cite its own sources ("user config" is
    fine); the shipped sources are kept after them.
    """
    where = OVERLAY
    extra = as_table(extra, where)
    check_keys(extra, TOP_KEYS_OVERLAY, where)
    defaults = base.defaults
    if "defaults" in extra:
        defaults = parse_defaults(extra["defaults"], f"{where}: defaults", base.defaults,
                                  "shipped+user")
    entries = {normalize_type(e.type): e for e in base.entries}
    for key, (name, partial) in parse_types(extra.get("types", {}), f"{where}: types").items():
        shipped = entries.get(key)
        if shipped is None:
            entries[key] = build_entry(name, partial, None, "user")
        else:
            entries[key] = build_entry(shipped.type, partial, shipped, "shipped+user")
    return Catalog(entries, defaults, base.meta)


@lru_cache(maxsize=1)
def _shipped() -> Catalog:
    return _load(read_shipped())


def load_catalog(extra: Mapping[str, Any] | None = None) -> Catalog:
    """The shipped catalog, overlaid with `extra` (the user's already-parsed `catalog` table).

    Raises `ArmguardError` with a one-line message on any invalid data.
    """
    base = _shipped()
    if not extra:
        if extra is not None and not isinstance(extra, Mapping):
            raise ArmguardError(f"{OVERLAY}: expected a table, got {type(extra).__name__}")
        return base
    return overlay(base, extra)


def default_catalog() -> Catalog:
    """The shipped catalog without user overrides (parsed once, then cached)."""
    return _shipped()


def load_catalog_data(data: Mapping[str, Any]) -> Catalog:
    """A catalog from data in the shipped file's shape (meta, defaults, types); for tools and tests."""
    return _load(as_table(data, SHIPPED))
