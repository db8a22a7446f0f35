"""String functions (template-functions-string)."""

from __future__ import annotations

import base64 as _base64
import binascii
import urllib.parse
import uuid as _uuid
from typing import Any

from armguard.arm import functions_format  # noqa: F401  (registers format)
from armguard.arm.functions_base import (
    builtin,
    deep_equals,
    expect,
    expect_int,
    expect_list,
    expect_str,
    fail,
    to_text,
    type_name,
)
from armguard.arm.functions_json import parse_json
from armguard.arm.hashing import arm_guid, unique_string
from armguard.values import is_known, merge_unknown

MAX_PAD_LENGTH = 16000


def _text_args(fn: str, values: tuple) -> list[str]:
    out = []
    for v in values:
        if not isinstance(v, str):
            raise fail(fn, f"expects string arguments, got {type_name(v)}")
        out.append(v)
    return out


@builtin("uniqueString")
def unique_string_(first, *more):
    return unique_string(*_text_args("uniqueString", (first, *more)))


@builtin("guid")
def guid(first, *more):
    return arm_guid(*_text_args("guid", (first, *more)))


@builtin("newGuid", context=True)
def new_guid(ctx):
    return str(_uuid.UUID(int=ctx.next_random(128), version=4))


@builtin("toLower")
def to_lower(value):
    return expect_str("toLower", value).lower()


@builtin("toUpper")
def to_upper(value):
    return expect_str("toUpper", value).upper()


@builtin("trim")
def trim(value):
    return expect_str("trim", value).strip()


@builtin("startsWith")
def starts_with(value, prefix):
    return expect_str("startsWith", value).lower().startswith(expect_str("startsWith", prefix).lower())


@builtin("endsWith")
def ends_with(value, suffix):
    return expect_str("endsWith", value).lower().endswith(expect_str("endsWith", suffix).lower())


def _find(fn: str, container: Any, item: Any, last: bool) -> int:
    if isinstance(container, list):
        indexes = range(len(container) - 1, -1, -1) if last else range(len(container))
        return next((i for i in indexes if deep_equals(container[i], item)), -1)
    text, needle = expect_str(fn, container).lower(), expect_str(fn, item).lower()
    return text.rfind(needle) if last else text.find(needle)


@builtin("indexOf")
def index_of(container, item):
    return _find("indexOf", container, item, last=False)


@builtin("lastIndexOf")
def last_index_of(container, item):
    return _find("lastIndexOf", container, item, last=True)


@builtin("replace")
def replace(value, old, new):
    old = expect_str("replace", old)
    if not old:
        raise fail("replace", "expects a non-empty string to replace")
    return expect_str("replace", value).replace(old, expect_str("replace", new))


@builtin("split")
def split(value, delimiter):
    text = expect_str("split", value)
    delimiters = delimiter if isinstance(delimiter, list) else [delimiter]
    delimiters = [d for d in _text_args("split", tuple(delimiters)) if d]
    if not delimiters:
        return [text]
    parts = [text]
    for d in delimiters:
        parts = [piece for part in parts for piece in part.split(d)]
    return parts


@builtin("substring")
def substring(value, start, length=None):
    text = expect_str("substring", value)
    start = expect_int("substring", start)
    if start < 0:
        raise fail("substring", f"start index {start} must not be negative")
    if start > len(text):
        raise fail("substring", f"start index {start} is beyond the end of a string of length {len(text)}")
    if length is None:
        return text[start:]
    length = expect_int("substring", length)
    if length < 0:
        raise fail("substring", f"length {length} must not be negative")
    if start + length > len(text):
        raise fail("substring", f"start index {start} plus length {length} is beyond the end of a string "
                                f"of length {len(text)}")
    return text[start : start + length]


@builtin("padLeft")
def pad_left(value, total_length, padding=" "):
    text = to_text(expect("padLeft", value, ("string", "int"), "a string or int"))
    total = expect_int("padLeft", total_length)
    if total > MAX_PAD_LENGTH:
        raise fail("padLeft", f"total length must not exceed {MAX_PAD_LENGTH}, got {total}")
    pad = expect_str("padLeft", padding)
    if len(pad) != 1:
        raise fail("padLeft", f"expects a single padding character, got '{pad}'")
    return text.rjust(total, pad)


@builtin("base64")
def base64(value):
    return _base64.b64encode(expect_str("base64", value).encode("utf-8")).decode("ascii")


def _from_base64(fn: str, value: Any) -> str:
    try:
        return _base64.b64decode(expect_str(fn, value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise fail(fn, "got a value that is not base64-encoded UTF-8 text") from None


@builtin("base64ToString")
def base64_to_string(value):
    return _from_base64("base64ToString", value)


@builtin("base64ToJson")
def base64_to_json(value):
    try:
        return parse_json(_from_base64("base64ToJson", value))
    except ValueError:
        raise fail("base64ToJson", "got base64 text that is not JSON") from None


@builtin("dataUri")
def data_uri(value):
    encoded = _base64.b64encode(expect_str("dataUri", value).encode("utf-8")).decode("ascii")
    return f"data:text/plain;charset=utf-8;base64,{encoded}"


@builtin("dataUriToString")
def data_uri_to_string(value):
    text = expect_str("dataUriToString", value)
    if not text.startswith("data:") or "," not in text:
        raise fail("dataUriToString", "expects a data URI ('data:...,...')")
    header, data = text[5:].split(",", 1)
    if header.endswith(";base64"):
        try:
            raw = _base64.b64decode(data, validate=True)
        except binascii.Error:
            raise fail("dataUriToString", "got invalid base64 data") from None
    else:
        raw = urllib.parse.unquote_to_bytes(data)
    charset = "utf-8"
    for part in header.split(";"):
        if part.lower().startswith("charset="):
            charset = part[8:]
    try:
        return raw.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return raw.decode("utf-8", errors="replace")


@builtin("uri")
def uri(base, relative):
    base, relative = expect_str("uri", base), expect_str("uri", relative)
    if "://" not in base:
        raise fail("uri", f"expects an absolute base URI, got '{base}'")
    return urllib.parse.urljoin(base, relative)


@builtin("uriComponent")
def uri_component(value):
    return urllib.parse.quote(expect_str("uriComponent", value), safe="-_.~")


@builtin("uriComponentToString")
def uri_component_to_string(value):
    return urllib.parse.unquote(expect_str("uriComponentToString", value))


@builtin("parseUri")
def parse_uri(value):
    parts = urllib.parse.urlsplit(expect_str("parseUri", value))
    if not parts.scheme or not parts.netloc:
        raise fail("parseUri", f"expects an absolute URI, got '{value}'")
    default_ports = {"http": 80, "https": 443, "ftp": 21}
    port = parts.port if parts.port is not None else default_ports.get(parts.scheme.lower(), -1)
    return {
        "absoluteUri": urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, parts.fragment)),
        "scheme": parts.scheme,
        "host": parts.hostname or "",
        "port": port,
        "path": parts.path or "/",
        "query": f"?{parts.query}" if parts.query else "",
    }


@builtin("buildUri")
def build_uri(value):
    obj = expect("buildUri", value, ("object",))
    scheme = expect_str("buildUri", obj.get("scheme", "https"))
    host = expect_str("buildUri", obj.get("host", ""))
    port = obj.get("port")
    netloc = host if port in (None, -1, {"http": 80, "https": 443}.get(scheme)) else f"{host}:{port}"
    path = obj.get("path") or "/"
    query = (obj.get("query") or "").lstrip("?")
    return urllib.parse.urlunsplit((scheme, netloc, path, query, ""))


@builtin("join", unknown_aware=True, text=True)
def join(values, delimiter, *, text, name):
    if not is_known(values) or not is_known(delimiter):
        return merge_unknown(text, values, delimiter)
    parts = []
    for v in expect_list("join", values):
        expect("join", v, ("string", "int", "float", "bool"), "an array of strings")
        parts.append(to_text(v))
    return expect_str("join", delimiter).join(parts)

