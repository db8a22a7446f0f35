"""Simulate every template of a corpus once and count how the runs end.

    python bench/simulate_corpus.py PATH [--glob main.json|main.bicep] [--limit N] [--show N]

For each template (for example every main.json or main.bicep of a clone of
Azure/bicep-registry-modules, kept outside this repository), parameter values are made up from the
declared types of the compiled main.json beside it (required ones only: the first allowed value,
'p<name>' strings cut to maxLength, 1, false, {} or []), then `armguard simulate` runs it once
(seed 1) in virtual time. Outcomes:

- ran: the deployment ran to Succeeded or Failed (failure codes are counted: ParentResourceNotFound
  is expected for child modules whose parent the template does not create);
- clean error: a one-line ArmguardError (unsupported scope, a registry module without the bicep
  CLI, a made-up value the template rejects);
- crash: any other exception, or more than --timeout seconds: a defect.

Exit status 1 when something crashed.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from armguard.errors import ArmguardError
from armguard.plan.simulate import run_once
from armguard.plan.simulate_load import load_target


class _Timeout(Exception):
    pass


def made_up_parameters(compiled: dict[str, Any]) -> dict[str, Any]:
    """Values for the required parameters of a compiled template, from their declared types."""
    out: dict[str, Any] = {}
    for name, spec in (compiled.get("parameters") or {}).items():
        if not isinstance(spec, dict) or "defaultValue" in spec or spec.get("nullable"):
            continue
        kind = str(spec.get("type", "")).lower()
        if spec.get("allowedValues"):
            value: Any = spec["allowedValues"][0]
        elif "$ref" in spec or kind in ("object", "secureobject"):
            value = {}
        elif kind == "securestring":
            value = "Secret-123!"
        elif kind == "string":
            value = ("p" + re.sub(r"[^a-z0-9]", "", name.lower()))[:int(spec.get("maxLength", 20))]
        elif kind == "int":
            value = max(1, int(spec.get("minValue", 1)))
        elif kind == "bool":
            value = False
        else:
            value = []
        out[name] = {"value": value}
    return out


def simulate_once(path: Path, scratch: Path, timeout: float) -> tuple[str, str]:
    """(outcome, detail): outcome is 'ran:<state>', 'clean error' or 'crash'."""
    compiled = path.with_name("main.json") if path.suffix == ".bicep" else path
    params = made_up_parameters(json.loads(compiled.read_text())) if compiled.is_file() else {}
    params_file = scratch / "parameters.json"
    params_file.write_text(json.dumps({"parameters": params}))
    signal.alarm(max(1, int(timeout)))
    try:
        result = run_once(load_target(str(path), str(params_file), group="rg"), 1)
        codes = ",".join(sorted({code for _, code in result.failures}))
        return f"ran:{result.state}", codes
    except ArmguardError as e:
        return "clean error", str(e.message)[:120]
    except _Timeout:
        return "crash", f"more than {timeout:g} s"
    except Exception as e:  # what the bench exists to find
        return "crash", "".join(traceback.format_exception_only(e)).strip()[:300]
    finally:
        signal.alarm(0)


def run(root: Path, pattern: str, limit: int | None, timeout: float) -> dict[str, Any]:
    files = sorted(root.rglob(pattern))[:limit]
    outcomes: Counter[str] = Counter()
    failure_codes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    crashes: list[tuple[str, str]] = []

    def alarm(*_: Any) -> None:
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, alarm)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="armguard-simulate-corpus-") as scratch:
        try:
            for path in files:
                outcome, detail = simulate_once(path, Path(scratch), timeout)
                outcomes[outcome] += 1
                if outcome.startswith("ran:"):
                    failure_codes.update(c for c in detail.split(",") if c)
                elif outcome == "clean error":
                    errors[re.sub(r"'[^']*'", "'…'", detail)] += 1
                else:
                    crashes.append((str(path), detail))
        finally:
            signal.signal(signal.SIGALRM, previous)
    return {"files": len(files), "seconds": time.perf_counter() - started, "outcomes": outcomes,
            "failure_codes": failure_codes, "errors": errors, "crashes": crashes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path")
    parser.add_argument("--glob", default="main.json")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per template")
    parser.add_argument("--show", type=int, default=10)
    args = parser.parse_args(argv)
    found = run(Path(args.path), args.glob, args.limit, args.timeout)
    print(f"{found['files']} templates ({args.glob}) in {found['seconds']:.1f} s: "
          + ", ".join(f"{k} {v}" for k, v in found["outcomes"].most_common()))
    print("failure codes of the runs: " + ", ".join(f"{k} {v}" for k, v in found["failure_codes"].most_common()))
    for message, count in found["errors"].most_common(args.show):
        print(f"  {count:4} {message}")
    for path, detail in found["crashes"]:
        print(f"CRASH {path}: {detail}")
    return 1 if found["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
