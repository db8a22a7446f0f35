"""The parser's internal model: error trees, findings, text normalisation, embedded JSON.

Every front end (SDK exceptions, az, Terraform, autorest, azcore, PowerShell, raw JSON) turns what it
reads into `Finding`s: one or more error trees (`Node`, the ARM error shape: code, message, target,
details) plus what the surrounding text said about the request (status, ids, headers).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 4 * 1024 * 1024     # longer inputs keep their last 4 MiB (errors are printed last)
MAX_DEPTH = 24                 # nesting of details / JSON-in-message
MAX_NODES = 4000               # per parse
MAX_JSON_ATTEMPTS = 600        # '{"' positions tried per text

GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


@dataclass(eq=False)
class Node:
    """One ARM error object: {"code", "message", "target", "details": [...], "additionalInfo": [...]}."""

    code: str | None
    message: str | None
    target: str | None = None
    children: list[Node] = field(default_factory=list)
    additional_info: list[tuple[str, Any]] = field(default_factory=list)
    json_message: bool = False      # the message was itself an error document, now in `children`


@dataclass(eq=False)
class Finding:
    """Error trees one front end found in one place, with what that place said about the request."""

    fmt: str
    roots: list[Node]
    start: int = 0
    end: int = 0
    status_code: int | None = None
    retry_after: int | None = None
    status_uri: str | None = None
    correlation_id: str | None = None
    request_id: str | None = None
    activity_id: str | None = None
    resource_id: str | None = None
    deployment_name: str | None = None
    generic: bool = False           # found by the generic JSON scan (loses ties to a format's own parse)


class Budget:
    """Caps the work one parse may do, so hostile inputs stay fast."""

    __slots__ = ("nodes",)

    def __init__(self) -> None:
        self.nodes = 0

    def take(self) -> bool:
        self.nodes += 1
        return self.nodes <= MAX_NODES


@dataclass
class JsonMeta:
    """What an error document says besides the error: LRO status ids, targets, correlation."""

    resource_id: str | None = None
    status_uri: str | None = None
    correlation_id: str | None = None
    activity_id: str | None = None


# --------------------------------------------------------------------------------------------
# Text normalisation

_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"             # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"   # OSC: hyperlinks, titles
    r"|\x1b[@-Z\\-_]"                       # two-byte escapes
)
_BARE_SGR = re.compile(r"(?<![\w\]])\[(?:\d{1,3}(?:;\d{1,3})*)?m")  # colour codes whose ESC was lost in a copy
_CI_TIMESTAMP = re.compile(r"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ")
_TF_FRAME = re.compile(r"(?m)^[ \t]*(?:[╷╵][ \t]*$|│ ?)")
_PS_CONTINUATION = re.compile(r"(?m)^[ \t]{2,}\|(?: |$)|^Line \|$")


def decode_bytes(data: bytes) -> str:
    """Bytes as text: UTF-16 (PowerShell redirects on Windows) when it looks like it, else UTF-8."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    sample = data[:4096]
    if len(sample) >= 8 and sample[1::2].count(0) > len(sample) // 4:
        return data.decode("utf-16-le", errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def normalize(text: str) -> str:
    """Strip colours, CI timestamps, Terraform's box frame and PowerShell's wrap gutter; LF line ends."""
    if len(text) > MAX_TEXT:
        text = text[-MAX_TEXT:]
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\x00", "")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    elif "[0m" in text:
        text = _BARE_SGR.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "Z " in text:
        text = _CI_TIMESTAMP.sub("", text)
    if "│" in text or "╷" in text:
        text = _TF_FRAME.sub("", text)
    if "  |" in text or "Line |" in text:
        text = _PS_CONTINUATION.sub("", text)
    return text


# --------------------------------------------------------------------------------------------
# Go string literals (Terraform's %q, autorest's Code=%q Message=%q)

_GO_ESCAPE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", re.DOTALL)
_GO_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'", "a": "\a", "b": "\b",
              "f": "\f", "v": "\v"}
GO_QUOTED = r'"(?:[^"\\]|\\.)*"'


def _go_escape(match: re.Match[str]) -> str:
    body = match.group(0)[1:]
    if len(body) == 1:
        return _GO_SIMPLE.get(body, body)
    if body[0] in "xuU":
        value = int(body[1:], 16)
    else:
        value = int(body, 8)
    return chr(value) if value <= 0x10FFFF else "\ufffd"


def go_unquote(quoted: str) -> str:
    """The value of a Go double-quoted literal (with or without its quotes)."""
    if len(quoted) >= 2 and quoted[0] == '"' and quoted[-1] == '"':
        quoted = quoted[1:-1]
    if "\\" not in quoted:
        return quoted
    return _GO_ESCAPE.sub(_go_escape, quoted)


# --------------------------------------------------------------------------------------------
# JSON error documents

_DECODER = json.JSONDecoder(strict=False)
_JSON_OBJECT_START = re.compile(r'\{\s*"')


def iter_json_objects(text: str, start: int = 0, end: int | None = None,
                      limit: int = MAX_JSON_ATTEMPTS):
    """(start, end, object) for each JSON object embedded in text[start:end], outermost first."""
    stop = len(text) if end is None else end
    pos = start
    attempts = 0
    while attempts < limit:
        match = _JSON_OBJECT_START.search(text, pos, stop)
        if not match:
            return
        attempts += 1
        try:
            obj, obj_end = _DECODER.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            pos = match.start() + 1
            continue
        if obj_end > stop:
            return
        yield match.start(), obj_end, obj
        pos = obj_end


def decode_json_at(text: str, pos: int) -> tuple[Any, int] | None:
    """The JSON value starting at text[pos] (leading whitespace skipped), with its end, or None."""
    while pos < len(text) and text[pos] in " \t\n":
        pos += 1
    try:
        return _DECODER.raw_decode(text, pos)
    except (ValueError, RecursionError):
        return None


def _lower_keys(obj: dict) -> dict[str, Any]:
    return {k.lower(): v for k, v in obj.items() if isinstance(k, str)}


def _as_code(value: Any) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def node_from_json(obj: Any, budget: Budget, meta: JsonMeta | None = None, depth: int = 0,
                   strict: bool = False) -> Node | None:
    """An error tree from a decoded ARM error document, LRO status body or deployment operation.

    `strict` (documents found in free text): the object itself must look like an error, i.e. hold an
    "error" object or both a string "code" and a string "message"; details below it may be partial.
    """
    if depth > MAX_DEPTH or not isinstance(obj, dict) or not budget.take():
        return None
    low = _lower_keys(obj)
    if meta is not None:
        _collect_meta(low, meta)
    error = low.get("error")
    if isinstance(error, dict):
        return node_from_json(error, budget, meta, depth + 1)
    if isinstance(error, str) and isinstance(low.get("error_description"), str):
        return Node(code=_as_code(error), message=_as_text(low["error_description"]))   # Entra ID tokens
    code = _as_code(low.get("code"))
    message = _as_text(low.get("message"))
    if strict and not (isinstance(low.get("code"), str) and code and isinstance(low.get("message"), str)):
        code = message = None
    if code is None and message is None:
        entity = low.get("errorentity")
        if isinstance(entity, dict):
            return node_from_json(entity, budget, meta, depth + 1, strict)
        for key in ("statusmessage", "properties"):
            inner = low.get(key)
            if isinstance(inner, str) and inner.lstrip().startswith("{"):
                inner = decode_json_at(inner, 0)
                inner = inner[0] if inner else None
            if isinstance(inner, dict):
                found = node_from_json(inner, budget, meta, depth + 1, strict)
                if found is not None:
                    return found
        return None
    node = Node(code=code, message=message, target=_as_text(low.get("target")))
    details = low.get("details")
    if isinstance(details, list):
        for detail in details[:200]:
            child = node_from_json(detail, budget, None, depth + 1)
            if child is not None:
                node.children.append(child)
    info = low.get("additionalinfo")
    if isinstance(info, list):
        for item in info[:50]:
            if isinstance(item, dict):
                item_low = _lower_keys(item)
                node.additional_info.append((str(item_low.get("type", "")), item_low.get("info")))
                if meta is not None:
                    _collect_info_meta(item_low, meta)
    expand_message(node, budget, depth)
    return node


def expand_message(node: Node, budget: Budget, depth: int) -> None:
    """Decode error documents inside node.message (recursively: nested escaped JSON) into children."""
    message = node.message
    if not message or depth > MAX_DEPTH or "{" not in message:
        return
    stripped = message.strip()
    if stripped.startswith("{"):
        decoded = decode_json_at(stripped, 0)
        if decoded is not None and isinstance(decoded[0], dict):
            child = node_from_json(decoded[0], budget, None, depth + 1)
            if child is not None:
                node.children.insert(0, child)
                node.json_message = True
                node.message = child.message
                return
    for _start, _end, obj in iter_json_objects(message, limit=4):
        child = node_from_json(obj, budget, None, depth + 1)
        if child is not None and child.code is not None:
            node.children.append(child)


def _collect_meta(low: dict[str, Any], meta: JsonMeta) -> None:
    rid = low.get("resourceid")
    if meta.resource_id is None and isinstance(rid, str) and rid.lower().startswith("/subscriptions/"):
        meta.resource_id = rid
    target = low.get("targetresource")
    if meta.resource_id is None and isinstance(target, dict):
        tid = _lower_keys(target).get("id")
        if isinstance(tid, str) and tid.lower().startswith("/subscriptions/"):
            meta.resource_id = tid
    oid = low.get("id")
    if meta.status_uri is None and isinstance(oid, str) and oid.lower().startswith("http") \
            and is_operation_url(oid):
        meta.status_uri = oid
    cid = low.get("correlationid")
    if meta.correlation_id is None and isinstance(cid, str) and re.fullmatch(GUID, cid.strip()):
        meta.correlation_id = cid.strip()


def _collect_info_meta(item: dict[str, Any], meta: JsonMeta) -> None:
    if str(item.get("type", "")).lower() != "activityid" or meta.activity_id is not None:
        return
    info = item.get("info")
    if isinstance(info, dict):
        for key, value in info.items():
            if isinstance(key, str) and key.lower() == "activityid" and isinstance(value, str):
                meta.activity_id = value.strip() or None


# --------------------------------------------------------------------------------------------
# URLs and resource ids

_OPERATION_URL = re.compile(
    r"/(?:operations|operationstatuses|operationsstatus|operationresults|asyncoperations|"
    r"azureasyncoperations)/", re.IGNORECASE)
URL = re.compile(r"https?://[^\s\"'<>\\`|]+")
RESOURCE_ID = re.compile(r"/subscriptions/[^/\s\"'`<>|\\]+(?:/[^\s\"'`<>?#|\\,]+)?", re.IGNORECASE)
_DEPLOYMENT_IN_ID = re.compile(r"/providers/Microsoft\.Resources/deployments/([^/\s\"'?]+)", re.IGNORECASE)
_TRAILING = ".,;:)]}'\"`"


def trim(value: str) -> str:
    """A URL or id without the punctuation that ended the sentence around it."""
    return value.rstrip(_TRAILING)


def is_operation_url(url: str) -> bool:
    return bool(_OPERATION_URL.search(url.split("?", 1)[0] + "/"))


def operation_urls(text: str) -> list[str]:
    """URLs of asynchronous operations (`.../operations/<guid>?api-version=...`) in text."""
    found = []
    for match in URL.finditer(text):
        url = trim(match.group(0))
        if is_operation_url(url):
            found.append(url)
    return found


def is_resource_id(value: str | None) -> bool:
    """An ARM resource or resource-group id (not a bare subscription, not an operation status path)."""
    if not value or not value.lower().startswith("/subscriptions/"):
        return False
    low = value.lower()
    if "/resourcegroups/" not in low and "/providers/" not in low:
        return False
    return not is_operation_url(value)


def resource_id_from_url(url: str) -> str | None:
    """The resource id in a management URL (host and query dropped), unless it is an operation URL."""
    match = re.match(r"https?://[^/]+(/subscriptions/[^?#\s]+)", url, re.IGNORECASE)
    if not match:
        return None
    rid = trim(match.group(1)).rstrip("/")
    return rid if is_resource_id(rid) else None


def resource_ids(text: str) -> list[str]:
    """Resource ids in free text, in order, without duplicates."""
    seen: list[str] = []
    for match in RESOURCE_ID.finditer(text):
        rid = trim(match.group(0)).rstrip("/")
        if is_resource_id(rid) and rid not in seen:
            seen.append(rid)
    return seen


def deployment_from_id(value: str | None) -> str | None:
    if not value:
        return None
    match = _DEPLOYMENT_IN_ID.search(value)
    return trim(match.group(1)) if match else None


def is_deployment_id(value: str) -> bool:
    match = _DEPLOYMENT_IN_ID.search(value)
    return bool(match) and "/providers/" not in value[match.end():].lower()
