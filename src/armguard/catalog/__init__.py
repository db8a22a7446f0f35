"""The catalog of Azure Resource Manager resource types that drives the linter, planner and emulator.

For each type: do parallel writes within one lock domain conflict (`serial`), which lock domains a
write holds besides the resource itself (the parent, an ancestor of a type, a resource referenced
by id in a property, the scope of an extension resource), how long a create/update typically takes
and when it counts as stuck, and the evidence for all of it.

    from armguard.catalog import default_catalog, load_catalog
    entry = default_catalog().get("microsoft.network/virtualhubs/bgpconnections")
    entry.serial, [str(d) for d in entry.domains]     # ("serial", ["parent"])
    catalog = load_catalog(config.get("catalog"))     # with the user's [catalog.types."..."]

The data lives in `catalog.toml` next to this file; `shared/research/...` sources refer to the
evidence notes kept beside the repository (`../shared/research/`).
"""

from .catalog import Catalog, default_catalog, load_catalog, load_catalog_data
from .model import DOMAIN_KINDS, SERIAL_VALUES, Domain, Entry, Readiness, normalize_type
from .resolve import ResolvedDomain, lock_key, lock_keys, resolve_domains

__all__ = [
    "DOMAIN_KINDS",
    "SERIAL_VALUES",
    "Catalog",
    "Domain",
    "Entry",
    "Readiness",
    "ResolvedDomain",
    "default_catalog",
    "load_catalog",
    "load_catalog_data",
    "lock_key",
    "lock_keys",
    "normalize_type",
    "resolve_domains",
]
