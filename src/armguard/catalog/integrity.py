"""Consistency rules for catalog data beyond what the loader enforces on every table.

`problems(catalog)` lists violations as one-line strings (empty when the data is sound). The
shipped catalog is held to all of them by the test suite; user overrides only to the loader's.
Pure functions: checking that cited research files exist is left to the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .catalog import Catalog
from .model import Entry

RESEARCH_RE = re.compile(r"shared/research/[A-Za-z0-9_.-]+")


def entry_problems(entry: Entry) -> list[str]:
    out: list[str] = []
    name = entry.type
    if not entry.sources:
        out.append(f"{name}: no sources")
    if entry.serial == "serial" and not entry.domains:
        out.append(f"{name}: serial but no lock domain (a serial verdict needs a shared domain)")
    if entry.serial == "safe" and entry.domains:
        out.append(f"{name}: safe but lists domains {[str(d) for d in entry.domains]}")
    for key in ("typical_seconds", "max_seconds"):
        value = getattr(entry, key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or value < 0):
            out.append(f"{name}: {key} is {value!r}, not a non-negative number or unknown")
    if (entry.typical_seconds is not None and entry.max_seconds is not None
            and entry.max_seconds < entry.typical_seconds):
        out.append(f"{name}: max_seconds {entry.max_seconds:g} < typical_seconds {entry.typical_seconds:g}")
    if not entry.notes:
        out.append(f"{name}: no notes")
    return out


def problems(catalog: Catalog) -> list[str]:
    out: list[str] = []
    for entry in catalog.entries:
        out.extend(entry_problems(entry))
    return out


def research_references(entries: Iterable[Entry]) -> dict[str, list[str]]:
    """Files under shared/research/ that sources name, with the types citing each."""
    refs: dict[str, list[str]] = {}
    for entry in entries:
        for source in entry.sources:
            for m in RESEARCH_RE.finditer(source):
                refs.setdefault(m.group(0), []).append(entry.type)
    return refs
