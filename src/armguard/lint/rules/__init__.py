"""Lint rules, one per module. Each has an id, a name, a default level and a one-paragraph doc."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from armguard.lint.context import LintContext
from armguard.lint.findings import Finding, Level


class Rule(Protocol):
    id: str
    name: str
    level: Level
    doc: str

    def check(self, ctx: LintContext) -> Iterable[Finding]: ...


def all_rules() -> list[Rule]:
    from armguard.lint.rules import (
        ag101_serial_loop,
        ag102_unordered_writers,
        ag103_parent_and_child,
        ag201_over_serialized,
        ag202_undocumented_batch,
        ag301_module_name,
    )

    return [
        ag101_serial_loop.RULE,
        ag102_unordered_writers.RULE,
        ag103_parent_and_child.RULE,
        ag201_over_serialized.RULE,
        ag202_undocumented_batch.RULE,
        ag301_module_name.RULE,
    ]


def rule_by_id(rule_id: str) -> Rule | None:
    for r in all_rules():
        if r.id.lower() == rule_id.lower() or r.name == rule_id:
            return r
    return None
