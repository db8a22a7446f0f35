"""What lint reports: findings, and the text edits that fix them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Level = Literal["error", "warning", "info"]
LEVELS: tuple[Level, ...] = ("info", "warning", "error")


def level_rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


@dataclass(frozen=True, slots=True)
class TextEdit:
    """Replace source[start:end] with `text` (character offsets)."""

    start: int
    end: int
    text: str


@dataclass(slots=True)
class Fix:
    description: str
    edits: list[TextEdit]


@dataclass(slots=True)
class Finding:
    rule: str
    level: Level
    path: str
    line: int
    column: int
    message: str
    domain: str | None = None
    members: list[str] = field(default_factory=list)
    reason: str | None = None
    fix: Fix | None = None
    symbol: str | None = None

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.column, self.rule)

    def to_json(self) -> dict:
        return {
            "rule": self.rule,
            "level": self.level,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "domain": self.domain,
            "members": self.members,
            "symbol": self.symbol,
            "fix": None if self.fix is None else {
                "description": self.fix.description,
                "edits": [{"start": e.start, "end": e.end, "text": e.text} for e in self.fix.edits],
            },
        }
