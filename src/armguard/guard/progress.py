"""A live progress line on stderr: rewritten in place on a terminal, one line per change otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from armguard.guard.wait_core import Observation, progress_line

QUIET_REPEAT_SECONDS = 60.0


class ProgressLine:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last: tuple[str, str] | None = None
        self._last_time = 0.0
        self._open = False

    def __call__(self, obs: Observation, waited: float) -> None:
        if not self.enabled:
            return
        line = progress_line(obs, waited)
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            self._open = True
        else:
            key = (obs.what, obs.state + (obs.detail or ""))
            now = time.monotonic()
            if key == self._last and now - self._last_time < QUIET_REPEAT_SECONDS:
                return
            self._last, self._last_time = key, now
            self.stream.write(line + "\n")
        self.stream.flush()

    def say(self, message: str) -> None:
        """A line that is always shown (quiet silences only the progress line)."""
        self.finish()
        self.stream.write(message + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
