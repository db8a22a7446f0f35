"""Front end for Azure SDK for Python exceptions (azure-core HttpResponseError and subclasses such as
ResourceExistsError, msrest/msrestazure CloudError) and exceptions that carry printed tool output
(subprocess.CalledProcessError from `az`/`terraform`), read by duck typing: azure-core is never imported.

An HttpResponseError has `.response` (status_code, headers with x-ms-correlation-request-id,
x-ms-request-id, Azure-AsyncOperation, Location, Retry-After; text(); request.url), `.error`
(ODataV4Format / azure-mgmt-core ARMErrorFormat: code, message, target, details, additional_info),
`.status_code` and `.message` (azure-core sdk/core/azure-core/azure/core/exceptions.py).
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .errors_formats import json_roots
from .errors_model import (
    Budget,
    Finding,
    JsonMeta,
    Node,
    decode_bytes,
    decode_json_at,
    expand_message,
    is_operation_url,
    resource_id_from_url,
)

TextParser = Callable[[str], tuple[str, list[Finding]]]
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _get(obj: Any, name: str) -> Any:
    """getattr that never raises (properties of half-built SDK objects can)."""
    if obj is None:
        return None
    try:
        return getattr(obj, name, None)
    except Exception:
        return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _headers(response: Any) -> dict[str, str]:
    headers = _get(response, "headers")
    found: dict[str, str] = {}
    if headers is None:
        return found
    try:
        items = list(headers.items())[:500]
    except Exception:
        return found
    for key, value in items:
        if isinstance(key, str) and isinstance(value, str | bytes):
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            found[key.lower()] = value.strip()
    return found


def _body(response: Any) -> str | None:
    """The response body if it is already in memory: only text() (azure-core) or .text (requests), never
    body()/content, which may read a still-open stream from the network."""
    if response is None:
        return None
    try:
        value = getattr(response, "text", None)
        if callable(value):
            value = value()
    except Exception:
        return None
    if isinstance(value, bytes | bytearray):
        value = decode_bytes(bytes(value))
    return value if isinstance(value, str) and value.strip() else None


def retry_after_seconds(headers: dict[str, str]) -> int | None:
    """Retry-After (seconds or HTTP date) or retry-after-ms / x-ms-retry-after-ms, in whole seconds."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = headers.get(name)
        if value:
            try:
                return max(0, math.ceil(float(value) / 1000))
            except ValueError:
                pass
    value = headers.get("retry-after")
    if not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    now = datetime.now(UTC)
    date = headers.get("date")
    if date:
        with contextlib.suppress(TypeError, ValueError, IndexError):
            now = email.utils.parsedate_to_datetime(date)
    try:
        return max(0, math.ceil((when - now).total_seconds()))
    except TypeError:
        return None


def _has_own(obj: Any, name: str) -> bool:
    try:
        return name in vars(obj)
    except TypeError:
        return False


def node_from_odata(error: Any, budget: Budget, depth: int = 0) -> Node | None:
    """An error tree from azure-core's ODataV4Format / ARMErrorFormat (or msrestazure CloudErrorData)."""
    if error is None or depth > 24 or not budget.take():
        return None
    code = _get(error, "code")
    if not isinstance(code, str) and not _has_own(error, "code"):
        legacy = _get(error, "error")           # msrestazure CloudErrorData keeps the code in .error
        code = legacy if isinstance(legacy, str) else None
    message = _get(error, "message")
    code = code.strip() or None if isinstance(code, str) else None
    message = message.strip() or None if isinstance(message, str) else None
    if code is None and message is None:
        return None
    target = _get(error, "target")
    node = Node(code=code, message=message, target=target.strip() or None if isinstance(target, str) else None)
    details = _get(error, "details")
    if isinstance(details, list | tuple):
        for detail in list(details)[:200]:
            child = node_from_odata(detail, budget, depth + 1)
            if child is not None:
                node.children.append(child)
    info = _get(error, "additional_info")
    if isinstance(info, list | tuple):
        for item in list(info)[:50]:
            node.additional_info.append((str(_get(item, "type") or ""), _get(item, "info")))
    expand_message(node, budget, depth)
    return node


def _chain(exc: Any) -> list[Any]:
    """The exception, what it wraps (azure-core inner_exception) and its cause/context, once each."""
    seen: list[Any] = []
    todo = [exc]
    while todo and len(seen) < 6:
        item = todo.pop(0)
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        for name in ("inner_exception", "__cause__", "__context__"):
            todo.append(_get(item, name))
    return seen


def _texts(exc: Any) -> list[str]:
    texts: list[str] = []
    for name in ("stderr", "output", "stdout", "message"):
        value = _get(exc, name)
        if isinstance(value, bytes | bytearray):
            value = decode_bytes(bytes(value))
        if isinstance(value, str) and value.strip():
            texts.append(value)
    try:
        text = str(exc)
    except Exception:
        text = ""
    if text.strip() and text not in texts:
        texts.append(text)
    return texts


def _is_sdk(exc: Any) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith(("azure.", "msrest", "msrestazure")) or _get(exc, "response") is not None


def _one(exc: Any, budget: Budget, parse_text: TextParser) -> tuple[list[Finding], str]:
    response = _get(exc, "response")
    headers = _headers(response)
    status = _int(_get(exc, "status_code")) or _int(_get(response, "status_code")) or _int(_get(response, "status"))
    meta = JsonMeta()
    roots: list[Node] = []
    body = _body(response)
    if body:
        decoded = decode_json_at(body.strip(), 0)
        if decoded is not None:
            roots = json_roots(decoded[0], budget, meta, strict=False)   # known to be an error response
    if not roots:
        node = node_from_odata(_get(exc, "error"), budget)
        if node is not None:
            roots = [node]
    text = ""
    findings: list[Finding] = []
    sdk = _is_sdk(exc)
    if roots:
        findings = [Finding(fmt="sdk", roots=roots, status_uri=meta.status_uri, resource_id=meta.resource_id,
                            correlation_id=meta.correlation_id, activity_id=meta.activity_id)]
    else:
        for candidate in _texts(exc):
            text, findings = parse_text(candidate)
            if findings:
                break
        if findings and sdk:
            for finding in findings:
                finding.fmt = "sdk"
    if not findings and sdk and status is not None and status >= 400:
        reason = _get(response, "reason") or _get(exc, "reason")
        message = _get(exc, "message")
        text_message = message if isinstance(message, str) and message.strip() else reason
        findings = [Finding(fmt="sdk", roots=[Node(code=None, message=str(text_message).strip() if
                                                   isinstance(text_message, str) else None)])]
    if not findings:
        return [], ""
    request_url = _get(_get(response, "request"), "url")
    request_url = request_url if isinstance(request_url, str) else None
    uri = headers.get("azure-asyncoperation") or headers.get("location")
    for finding in findings:
        if status is not None and status >= 400 and finding.status_code is None:
            finding.status_code = status
        finding.correlation_id = finding.correlation_id or _guid(headers.get("x-ms-correlation-request-id"))
        finding.request_id = finding.request_id or _guid(headers.get("x-ms-request-id"))
        finding.retry_after = finding.retry_after if finding.retry_after is not None else \
            retry_after_seconds(headers)
        if uri and uri.lower().startswith("http") and finding.status_uri is None:
            finding.status_uri = uri
        if request_url:
            if is_operation_url(request_url):
                finding.status_uri = finding.status_uri or request_url
            elif finding.resource_id is None:
                finding.resource_id = resource_id_from_url(request_url)
    return findings, text


def _guid(value: str | None) -> str | None:
    if not value:
        return None
    match = _GUID.search(value)
    return match.group(0) if match else value.strip() or None


def from_exception(exc: Any, budget: Budget, parse_text: TextParser) -> tuple[list[Finding], str]:
    """Findings from an exception (or what it wraps), and the text they were read from (if any)."""
    for item in _chain(exc):
        findings, text = _one(item, budget, parse_text)
        if findings:
            return findings, text
    return [], ""


def from_object(obj: Any, budget: Budget, parse_text: TextParser) -> tuple[list[Finding], str]:
    """Non-exception SDK objects: an ODataV4Format, or anything with .response/.error like an exception."""
    if isinstance(_get(obj, "code"), str) or isinstance(_get(obj, "message"), str):
        node = node_from_odata(obj, budget)
        if node is not None:
            return [Finding(fmt="sdk", roots=[node])], ""
    if _get(obj, "response") is not None or _get(obj, "error") is not None:
        return from_exception(obj, budget, parse_text)
    return [], ""
