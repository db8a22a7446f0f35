"""User-facing errors: one clear line, never a traceback."""

from __future__ import annotations


def one_line(text: object) -> str:
    """`text` with every run of whitespace (newlines too) made one space."""
    return " ".join(str(text).split())


class ArmguardError(Exception):
    """An error caused by the user's input or environment, reported as one line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 column: int | None = None, where: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.where = where

    def __str__(self) -> str:
        loc = ""
        if self.path:
            loc = self.path
            if self.line is not None:
                loc += f":{self.line}"
                if self.column is not None:
                    loc += f":{self.column}"
            loc += ": "
        where = f" (at {self.where})" if self.where else ""
        return f"{loc}error: {self.message}{where}"
