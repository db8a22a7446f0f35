"""Load every main.json under a directory with the ARM front end and report how it went.

Usage: python bench/arm_corpus.py PATH [--show N]

Prints: files loaded ok (%), failures grouped by message, unsupported functions seen, resources
total (nested deployments included) and throughput in MB/s.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

from armguard.arm.loader import load_graph
from armguard.errors import ArmguardError
from armguard.model import DeploymentGraph

_UNKNOWN_FUNCTION = re.compile(r"unknown function '([^']+)'")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|\d+")


def count_nodes(graph: DeploymentGraph) -> int:
    return sum(1 + (count_nodes(n.module) if n.module is not None else 0) for n in graph.nodes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="directory searched recursively for main.json files")
    parser.add_argument("--show", type=int, default=15, help="failure groups to print")
    args = parser.parse_args(argv)
    files = sorted(Path(args.path).rglob("main.json"))
    if not files:
        print(f"no main.json under {args.path}", file=sys.stderr)
        return 2
    ok = 0
    resources = 0
    size = 0
    failures: Counter[str] = Counter()
    examples: dict[str, str] = {}
    unsupported: Counter[str] = Counter()
    start = time.perf_counter()
    for f in files:
        size += f.stat().st_size
        try:
            graph = load_graph(str(f))
        except ArmguardError as e:
            group = _QUOTED.sub("…", e.message)
            failures[group] += 1
            examples.setdefault(group, str(e))
            for name in _UNKNOWN_FUNCTION.findall(e.message):
                unsupported[name] += 1
            continue
        except Exception as e:  # a crash is a bug: report it like a failure, with its type
            group = f"CRASH {type(e).__name__}: {_QUOTED.sub('…', str(e))}"
            failures[group] += 1
            examples.setdefault(group, f"{f}: {e!r}")
            continue
        ok += 1
        resources += count_nodes(graph)
    elapsed = time.perf_counter() - start
    print(f"files: {len(files)}, loaded ok: {ok} ({100 * ok / len(files):.1f} %)")
    print(f"resources (incl. nested deployments): {resources}")
    print(f"size: {size / 1e6:.1f} MB in {elapsed:.1f} s = {size / 1e6 / elapsed:.1f} MB/s")
    print(f"unsupported functions: {dict(unsupported) or 'none'}")
    if failures:
        print(f"failures by message ({sum(failures.values())}):")
        for group, n in failures.most_common(args.show):
            print(f"  {n:4d}  {group}\n        e.g. {examples[group]}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
