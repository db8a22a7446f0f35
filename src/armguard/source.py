"""Source text with positions: offsets to line/column, character to byte offsets."""

from __future__ import annotations

import os
import re
import stat
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from armguard.errors import ArmguardError

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file. Lines and columns are 1-based; offsets are 0-based character offsets."""

    start: int
    end: int
    line: int
    column: int
    end_line: int
    end_column: int
    start_byte: int
    end_byte: int


class SourceFile:
    """The text of one file and a line table for turning offsets into positions."""

    __slots__ = ("_ascii", "_byte_starts", "_starts", "bom", "path", "text")

    def __init__(self, path: str, text: str, bom: bool = False):
        self.path = path
        self.text = text
        self.bom = bom  # the file starts with a UTF-8 byte order mark (not part of `text`)
        self._starts: list[int] | None = None
        self._ascii = text.isascii()
        self._byte_starts: dict[int, int] = {}

    @property
    def _line_starts(self) -> list[int]:
        """The offset where each line starts; built on first use (most files read by lint never
        need a position)."""
        starts = self._starts
        if starts is None:
            text = self.text
            starts = [0]
            if "\r" in text:
                starts.extend(m.end() for m in _LINE_BREAK.finditer(text))
            else:
                find = text.find
                i = find("\n")
                while i != -1:
                    starts.append(i + 1)
                    i = find("\n", i + 1)
            self._starts = starts
        return starts

    @classmethod
    def read(cls, path: str | Path) -> SourceFile:
        """Read a UTF-8 text file (BOM allowed), rejecting binary or undecodable input clearly."""
        return cls.from_bytes(str(path), cls.read_bytes(path))

    @staticmethod
    def read_bytes(path: str | Path) -> bytes:
        try:  # the common case first: a regular file, with one stat and no Path objects
            regular = stat.S_ISREG(os.stat(path).st_mode)
        except OSError:
            regular = False
        if regular:
            try:
                with open(path, "rb") as fh:
                    return fh.read()
            except OSError:
                pass  # reported below, as for any other path
        p = Path(path)
        try:
            if p.exists() and not p.is_file() and not p.is_dir():
                raise ArmguardError("not a regular file", path=str(path))
            return p.read_bytes()
        except IsADirectoryError:
            raise ArmguardError("is a directory, not a file", path=str(path)) from None
        except FileNotFoundError:
            raise ArmguardError("file not found", path=str(path)) from None
        except OSError as e:
            raise ArmguardError(f"cannot read file: {e.strerror}", path=str(path)) from None

    @classmethod
    def from_bytes(cls, path: str, data: bytes) -> SourceFile:
        if b"\x00" in data:
            raise ArmguardError("binary file (contains NUL bytes), not a text template", path=path)
        try:
            text = data.decode("utf-8-sig")
            bom = data.startswith(b"\xef\xbb\xbf")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise ArmguardError(f"not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start})",
                                path=path, line=line) from None
        return cls(path, text, bom)

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        idx = bisect_right(self._line_starts, offset) - 1
        return idx + 1, offset - self._line_starts[idx] + 1

    def byte_offset(self, offset: int) -> int:
        """The offset in the file's bytes (a byte order mark counted)."""
        base = 3 if self.bom else 0
        if self._ascii:
            return base + offset
        line_start = self._line_starts[bisect_right(self._line_starts, offset) - 1]
        return base + self._line_byte_start(line_start) + len(self.text[line_start:offset].encode("utf-8"))

    def _line_byte_start(self, line_start: int) -> int:
        cache = self._byte_starts
        found = cache.get(line_start)
        if found is None:
            found = cache[line_start] = len(self.text[:line_start].encode("utf-8"))
        return found

    def span(self, start: int, end: int) -> Span:
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        return Span(start, end, line, col, end_line, end_col, self.byte_offset(start), self.byte_offset(end))

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its line ending."""
        if line < 1 or line > len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self._line_starts[line] if line < len(self._line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")
