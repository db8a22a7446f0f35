"""format(): .NET composite formatting (``{0}``, ``{1,-8}``, ``{0:D2}``, ``{{``) as ARM uses it."""

from __future__ import annotations

import re
from typing import Any

from armguard.arm.functions_base import builtin, expect_str, fail, is_int, is_number, to_text

_STANDARD = re.compile(r"^([A-Za-z])(\d{0,2})$")


@builtin("format")
def format_(fmt, *args):
    return composite_format(expect_str("format", fmt), list(args))


def composite_format(fmt: str, args: list[Any]) -> str:
    out: list[str] = []
    i, n = 0, len(fmt)
    while i < n:
        ch = fmt[i]
        if ch == "{":
            if fmt.startswith("{{", i):
                out.append("{")
                i += 2
                continue
            end = fmt.find("}", i)
            if end < 0:
                raise fail("format", f"has an unclosed '{{' in the format string at position {i}")
            out.append(_format_item(fmt[i + 1 : end], args))
            i = end + 1
        elif ch == "}":
            if fmt.startswith("}}", i):
                out.append("}")
                i += 2
                continue
            raise fail("format", f"has an unmatched '}}' in the format string at position {i}")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _format_item(item: str, args: list[Any]) -> str:
    spec = ""
    if ":" in item:
        item, spec = item.split(":", 1)
    align = 0
    if "," in item:
        item, align_text = item.split(",", 1)
        try:
            align = int(align_text.strip())
        except ValueError:
            raise fail("format", f"has an invalid alignment '{align_text}'") from None
    try:
        index = int(item.strip())
    except ValueError:
        raise fail("format", f"has an invalid placeholder '{{{item}}}'") from None
    if not 0 <= index < len(args):
        raise fail("format", f"placeholder {{{index}}} has no argument ({len(args)} given)")
    text = format_value(args[index], spec)
    return text.rjust(align) if align > 0 else text.ljust(-align)


def format_value(value: Any, spec: str) -> str:
    """One value formatted with a .NET format string (numbers only; others use string())."""
    if not spec or not is_number(value):
        return to_text(value)
    m = _STANDARD.match(spec)
    if m:
        return _standard(value, m.group(1), m.group(2), spec)
    return _custom(value, spec)


def _standard(value: int | float, kind: str, digits: str, spec: str) -> str:
    k = kind.upper()
    prec = int(digits) if digits else None
    if k == "D":
        if not is_int(value):
            raise fail("format", f"format '{spec}' needs an integer")
        text = str(abs(value)).rjust(prec or 0, "0")
        return "-" + text if value < 0 else text
    if k == "X":
        if not is_int(value):
            raise fail("format", f"format '{spec}' needs an integer")
        text = format(value & 0xFFFFFFFFFFFFFFFF if value < 0 else value, "x" if kind == "x" else "X")
        return text.rjust(prec or 0, "0")
    if k == "N":
        return format(value, f",.{2 if prec is None else prec}f")
    if k == "F":
        return format(value, f".{2 if prec is None else prec}f")
    if k == "E":
        text = format(value, f".{6 if prec is None else prec}e")
        mantissa, exp = text.split("e")
        sign, num = exp[0], exp[1:].rjust(3, "0")
        return f"{mantissa}{'e' if kind == 'e' else 'E'}{sign}{num}"
    if k == "P":
        return format(value * 100, f",.{2 if prec is None else prec}f") + " %"
    if k == "C":
        text = format(abs(value), f",.{2 if prec is None else prec}f")
        return f"(${text})" if value < 0 else f"${text}"
    if k in ("G", "R"):
        if prec:
            return format(value, f".{prec}g")
        return to_text(value)
    raise fail("format", f"does not support the format specifier '{spec}'")


def _custom(value: int | float, spec: str) -> str:
    """Custom numeric formats made of '0', '#', ',' and '.' (e.g. '000', '#,##0.00')."""
    if any(c not in "0#,." for c in spec):
        raise fail("format", f"does not support the custom format '{spec}'")
    integer, _, fraction = spec.partition(".")
    decimals = len(fraction)
    min_decimals = len(fraction.rstrip("#"))
    grouped = "," in integer
    min_int = integer.replace(",", "").replace("#", "").count("0")
    number = abs(value)
    text = format(number, f",.{decimals}f" if grouped else f".{decimals}f")
    whole, _, frac = text.partition(".")
    if frac:
        frac = frac.rstrip("0").ljust(min_decimals, "0") if decimals > min_decimals else frac
    digits = whole.replace(",", "")
    if len(digits) < min_int:
        digits = digits.rjust(min_int, "0")
        whole = format(int(digits), ",").rjust(len(digits), "0") if grouped else digits
    elif digits == "0" and min_int == 0:
        whole = ""
    text = whole + ("." + frac if frac else "")
    return ("-" + text) if value < 0 and text.strip("0.,") else text
