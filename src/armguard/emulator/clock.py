"""Clocks for the emulator: virtual time for simulations, scaled wall time for the server.

Both count *virtual seconds* since their `epoch` (a UTC datetime); timestamps in API bodies are
`epoch + now()`. The core never sleeps and never reads the system clock itself: it asks its clock
for `now()` and applies everything due up to then.

- `VirtualClock(start=0.0)`: time moves only when told (`advance`, `advance_to`). Its epoch is
  fixed, `VIRTUAL_EPOCH` = 2026-01-01T00:00:00Z, so simulations print the same timestamps on every run.
- `WallClock(time_scale=1.0)`: virtual seconds = real (monotonic) seconds since creation divided
  by `time_scale`, plus `start`. With `time_scale=0.01` a 30-minute gateway takes 18 real seconds.
  Its epoch is the real UTC time at creation, so timestamps look like today's.

`resume(t)` moves a clock forward to at least `t` (used when state saved at virtual time `t` is
loaded: in-flight operations keep their absolute end times, time spent while stopped is not counted).
"""

from __future__ import annotations

import datetime as dt
import time

VIRTUAL_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class VirtualClock:
    """Discrete-event time: `now()` changes only through `advance` / `advance_to`."""

    __slots__ = ("_now", "epoch")

    def __init__(self, start: float = 0.0, epoch: dt.datetime = VIRTUAL_EPOCH):
        self._now = float(start)
        self.epoch = epoch

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds
        return self._now

    def advance_to(self, t: float) -> float:
        if t < self._now:
            raise ValueError(f"a clock cannot go backwards (now {self._now}, asked {t})")
        self._now = float(t)
        return self._now

    def resume(self, t: float) -> None:
        if t > self._now:
            self._now = float(t)

    def to_real(self, seconds: float) -> float:
        """Real seconds for a virtual duration: none, virtual time does not pass by itself."""
        return 0.0

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now})"


class WallClock:
    """Real time, scaled: `time_scale` real seconds per virtual second."""

    __slots__ = ("_offset", "_origin", "epoch", "time_scale")

    def __init__(self, time_scale: float = 1.0, start: float = 0.0, epoch: dt.datetime | None = None):
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = float(time_scale)
        self._origin = time.monotonic()
        self._offset = float(start)
        self.epoch = epoch if epoch is not None else dt.datetime.now(dt.UTC).replace(microsecond=0)

    def now(self) -> float:
        return self._offset + (time.monotonic() - self._origin) / self.time_scale

    def to_real(self, seconds: float) -> float:
        return max(0.0, seconds) * self.time_scale

    def resume(self, t: float) -> None:
        current = self.now()
        if t > current:
            self._offset += t - current

    def __repr__(self) -> str:
        return f"WallClock(time_scale={self.time_scale}, now={self.now():.3f})"


def iso(epoch: dt.datetime, seconds: float) -> str:
    """ISO 8601 UTC with 7 fractional digits, as Resource Manager writes them."""
    moment = epoch + dt.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(epoch: dt.datetime, seconds: float) -> str:
    """The HTTP `Date` header (RFC 9110 IMF-fixdate) of emulated time `epoch + seconds`: clients
    compare it with the bodies' timestamps, so it runs on the emulator's clock, not the host's."""
    m = epoch + dt.timedelta(seconds=int(seconds))
    return (f"{_WEEKDAYS[m.weekday()]}, {m.day:02d} {_MONTHS[m.month - 1]} {m.year} "
            f"{m.hour:02d}:{m.minute:02d}:{m.second:02d} GMT")


def us_time(epoch: dt.datetime, seconds: float) -> str:
    """'1/7/2026 9:13:45 PM': the timestamp format inside DeploymentActive and App Service messages."""
    m = epoch + dt.timedelta(seconds=seconds)
    hour = m.hour % 12 or 12
    return f"{m.month}/{m.day}/{m.year} {hour}:{m.minute:02d}:{m.second:02d} {'AM' if m.hour < 12 else 'PM'}"


def iso_duration(seconds: float) -> str:
    """'PT1M30.5S': ISO 8601 durations as in deployment `duration` fields."""
    seconds = max(0.0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT"
    if hours:
        out += f"{int(hours)}H"
    if minutes:
        out += f"{int(minutes)}M"
    text = f"{secs:.7f}".rstrip("0").rstrip(".")
    return out + f"{text}S"


def parse_time(epoch: dt.datetime, value: object) -> float | None:
    """Virtual seconds from a float (as is), a datetime or an ISO 8601 string; None stays None."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        # Python < 3.11 cannot read 7 fractional digits; 3.11+ can.
        value = dt.datetime.fromisoformat(text)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return (value - epoch).total_seconds()
    raise TypeError(f"not a time: {value!r}")
