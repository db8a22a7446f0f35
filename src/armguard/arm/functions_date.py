"""Date functions: utcNow, dateTimeAdd, dateTimeFromEpoch, dateTimeToEpoch.

Formats are .NET date and time format strings (standard and custom) in the invariant culture.
utcNow() is deterministic: a fixed instant offset by `EvalContext.seed` seconds.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from armguard.arm.functions_base import builtin, expect_int, expect_str, fail

# utcNow() with seed 0.
BASE_NOW = datetime(2025, 1, 1, 0, 0, 0, tzinfo=UTC)

_STANDARD = {
    "d": "MM/dd/yyyy",
    "D": "dddd, dd MMMM yyyy",
    "f": "dddd, dd MMMM yyyy HH:mm",
    "F": "dddd, dd MMMM yyyy HH:mm:ss",
    "g": "MM/dd/yyyy HH:mm",
    "G": "MM/dd/yyyy HH:mm:ss",
    "m": "MMMM dd",
    "M": "MMMM dd",
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "t": "HH:mm",
    "T": "HH:mm:ss",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
    "U": "dddd, dd MMMM yyyy HH:mm:ss",
    "y": "yyyy MMMM",
    "Y": "yyyy MMMM",
}
_TOKEN = re.compile(r"d{1,4}|f{1,7}|F{1,7}|g{1,2}|h{1,2}|H{1,2}|K|m{1,2}|M{1,4}|s{1,2}|t{1,2}|y{1,5}|z{1,3}"
                    r"|'[^']*'|\"[^\"]*\"|\\.|%|.", re.S)


def format_datetime(value: datetime, fmt: str) -> str:
    """A datetime formatted with a .NET format string."""
    if len(fmt) == 1:
        if fmt not in _STANDARD:
            raise fail("format", f"does not support the date format '{fmt}'")
        fmt = _STANDARD[fmt]
    out: list[str] = []
    for tok in _TOKEN.findall(fmt):
        out.append(_render_token(value, tok))
    return "".join(out)


def _render_token(v: datetime, tok: str) -> str:
    c, n = tok[0], len(tok)
    if c in "'\"" and n >= 2:
        return tok[1:-1]
    if c == "\\" and n == 2:
        return tok[1]
    if c == "%" and n == 1:
        return ""
    if c == "d":
        return (str(v.day), f"{v.day:02d}", calendar.day_abbr[v.weekday()], calendar.day_name[v.weekday()])[n - 1]
    if c == "M":
        return (str(v.month), f"{v.month:02d}", calendar.month_abbr[v.month], calendar.month_name[v.month])[n - 1]
    if c == "y":
        return str(v.year % 100) if n == 1 else f"{v.year % 100:02d}" if n == 2 else str(v.year).rjust(n, "0")
    if c == "H":
        return f"{v.hour:0{n}d}"
    if c == "h":
        return f"{(v.hour % 12) or 12:0{n}d}"
    if c == "m":
        return f"{v.minute:0{n}d}"
    if c == "s":
        return f"{v.second:0{n}d}"
    if c in "fF":
        digits = f"{v.microsecond:06d}0"[:n]
        return digits.rstrip("0") if c == "F" else digits
    if c == "t":
        return ("AM" if v.hour < 12 else "PM")[:n]
    if c == "K":
        return "Z"
    if c == "z":
        return ("+0", "+00", "+00:00")[n - 1]
    if c == "g":
        return "A.D."
    return tok


_PARSE_FORMATS = (
    ("%Y-%m-%dT%H:%M:%S.%fZ", "o"),
    ("%Y-%m-%dT%H:%M:%SZ", "yyyy-MM-ddTHH:mm:ssZ"),
    ("%Y-%m-%dT%H:%M:%S", "s"),
    ("%Y-%m-%d %H:%M:%SZ", "u"),
    ("%Y%m%dT%H%M%SZ", "yyyyMMddTHHmmssZ"),
    ("%Y-%m-%dT%H:%MZ", "yyyy-MM-ddTHH:mmZ"),
    ("%Y-%m-%d", "yyyy-MM-dd"),
    ("%m/%d/%Y %H:%M:%S", "G"),
    ("%m/%d/%Y", "d"),
)


def parse_datetime(fn: str, text: str) -> tuple[datetime, str]:
    """Parse an ISO 8601 (or invariant-culture) timestamp; also return a format that reproduces it."""
    for pattern, fmt in _PARSE_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC), fmt
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(fn, f"expects an ISO 8601 timestamp, got '{text}'") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC), "o"


_DURATION = re.compile(
    r"^(?P<sign>[-+])?P(?:(?P<Y>\d+(?:[.,]\d+)?)Y)?(?:(?P<M>\d+(?:[.,]\d+)?)M)?(?:(?P<W>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<D>\d+(?:[.,]\d+)?)D)?(?:T(?:(?P<h>\d+(?:[.,]\d+)?)H)?(?:(?P<m>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?$"
)


def add_duration(fn: str, base: datetime, duration: str) -> datetime:
    m = _DURATION.match(duration.strip())
    if not m or duration.strip() in ("P", "-P", "+P") or duration.strip().endswith("T"):
        raise fail(fn, f"expects an ISO 8601 duration such as 'P1D' or 'PT1H', got '{duration}'")
    sign = -1 if m.group("sign") == "-" else 1

    def num(key: str) -> float:
        raw = m.group(key)
        return float(raw.replace(",", ".")) if raw else 0.0

    months = sign * (int(num("Y")) * 12 + int(num("M")))
    result = _add_months(base, months) if months else base
    delta = timedelta(weeks=num("W"), days=num("D"), hours=num("h"), minutes=num("m"), seconds=num("s"))
    try:
        return result + sign * delta
    except OverflowError:
        raise fail(fn, "result is out of the range of dates") from None


def _add_months(value: datetime, months: int) -> datetime:
    total = value.year * 12 + value.month - 1 + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise fail("dateTimeAdd", "result is out of the range of dates")
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


@builtin("utcNow", context=True)
def utc_now(ctx, fmt="yyyyMMddTHHmmssZ"):
    return format_datetime(BASE_NOW + timedelta(seconds=ctx.seed), expect_str("utcNow", fmt))


@builtin("dateTimeAdd")
def date_time_add(base, duration, fmt=None):
    when, base_format = parse_datetime("dateTimeAdd", expect_str("dateTimeAdd", base))
    result = add_duration("dateTimeAdd", when, expect_str("dateTimeAdd", duration))
    return format_datetime(result, base_format if fmt is None else expect_str("dateTimeAdd", fmt))


@builtin("dateTimeFromEpoch")
def date_time_from_epoch(epoch):
    seconds = expect_int("dateTimeFromEpoch", epoch)
    try:
        when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    except OverflowError:
        raise fail("dateTimeFromEpoch", f"{seconds} is out of the range of dates") from None
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@builtin("dateTimeToEpoch")
def date_time_to_epoch(value):
    when, _ = parse_datetime("dateTimeToEpoch", expect_str("dateTimeToEpoch", value))
    return int((when - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
