"""Read Azure Resource Manager errors from SDK exceptions and tool output: `parse_error` and `classify`.

    >>> info = parse_error(stderr_of_az_or_terraform)        # or an HttpResponseError
    >>> info.code, info.category, info.status_uri
    ('AnotherOperationInProgress', 'wait', 'https://.../operations/<guid>?api-version=...')

`parse_error` finds every ARM error in its input (SDK exception, az CLI, Terraform azurerm/azapi, legacy
autorest, azcore, azd, Azure PowerShell, raw error JSON, LRO status bodies; colours, CRLF and other log
lines around them are fine), decodes nested escaped JSON, and reports the most specific conflict-relevant
error with what it knows about the request and the operation holding the resource. Input that holds
no ARM error gives None; nothing raises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors_codes import FATAL, UNKNOWN, WAIT, classify, is_specific_wait, is_wrapper
from .errors_formats import (
    expand_terraform_json,
    invalid_status,
    json_roots,
    parse_autorest,
    parse_az_blocks,
    parse_azcore,
    parse_json_documents,
    parse_powershell,
    parse_terraform,
    terraform_block_start,
    terraform_resource_id,
)
from .errors_model import (
    GUID,
    URL,
    Budget,
    Finding,
    JsonMeta,
    Node,
    decode_bytes,
    deployment_from_id,
    is_deployment_id,
    is_operation_url,
    is_resource_id,
    normalize,
    operation_urls,
    resource_id_from_url,
    resource_ids,
    trim,
)
from .errors_sdk import from_exception, from_object

__all__ = ["ArmErrorInfo", "classify", "parse_error"]

SOURCE_FORMATS = ("sdk", "az", "terraform", "autorest", "azcore", "powershell", "json")


@dataclass(frozen=True, slots=True)
class ArmErrorInfo:
    """One ARM error as `parse_error` understood it. Field names are public and stable."""

    code: str | None = None
    """The most specific conflict-relevant code (AnotherOperationInProgress inside DeploymentFailed)."""
    message: str | None = None
    """That error's message (nested JSON decoded)."""
    outer_code: str | None = None
    """The outermost code of the same error (DeploymentFailed)."""
    codes: tuple[str, ...] = ()
    """Every code found in the input, outermost first, without repeats."""
    category: str = UNKNOWN
    """'wait' (the holder will finish), 'fatal' (waiting will not help) or 'unknown'."""
    retryable: bool | None = None
    """True for wait, False for fatal, None for unknown."""
    status_code: int | None = None
    """HTTP status of the failed request (>= 400; None for LRO failures reported with 200)."""
    retry_after: int | None = None
    """Seconds from Retry-After (or retry-after-ms) when the output shows it."""
    status_uri: str | None = None
    """The async operation to poll: 'use uri: ...', Azure-AsyncOperation/Location, .../operations/... URLs."""
    correlation_id: str | None = None
    request_id: str | None = None
    resource_id: str | None = None
    """The resource the failed request wrote (target, request URL, Terraform's id block...), else the
    first resource id in the message."""
    deployment_name: str | None = None
    blocking_operation: str | None = None
    """What holds the resource: PutSubnetOperation, 'nodepool1 - Updating', App Service 'Create'..."""
    blocking_operation_id: str | None = None
    """Its id when printed (superseding operation guid, AKS operation ID, App Service Id)."""
    blocking_started: str | None = None
    """When it started, as printed (AKS 'started on UTC', App Service CreatedTime, DeploymentActive 'from')."""
    source_format: str = "json"
    """'sdk' | 'az' | 'terraform' | 'autorest' | 'azcore' | 'powershell' | 'json'."""
    target: str | None = None
    """The chosen error's own `target` field, as sent."""


def parse_error(text_or_exception: object) -> ArmErrorInfo | None:
    """The ARM error in an SDK exception, tool output (str/bytes) or error document (dict), or None.

    Never raises: malformed or non-error input gives None.
    """
    try:
        return _parse(text_or_exception)
    except Exception:
        return None


# --------------------------------------------------------------------------------------------
# Front ends

_TF_MARKERS = re.compile(
    r'(?m)^\s*(?:with (?:module\.[\w-]+(?:\[[^\]\n]*\])?\.)*[a-z]\w*\.[\w-]+(?:\[[^\]\n]*\])?,$'
    r'|on .+ line \d+, in resource )|Resource Group Name: "|polling after \w+|performing \w+: unexpected status')
_PS_MARKERS = re.compile(r"\b(?:New|Set|Remove|Update|Get|Start|Stop|Add|Invoke|Test|Restart)-Az\w+\b"
                         r"|FullyQualifiedErrorId|CorrelationId:")
_AZ_MARKERS = re.compile(r"(?m)^ERROR: ")


def _tf_hints(text: str) -> bool:
    return any(hint in text for hint in (" line ", 'Resource Group Name: "', "polling after ", "unexpected status",
                                         "  with "))


def _parse_text(raw: str) -> tuple[str, list[Finding]]:
    had_frame = "│" in raw or "╷" in raw
    text = normalize(raw)
    text, tf_json = expand_terraform_json(text)
    budget = Budget()
    findings: list[Finding] = []
    findings += parse_az_blocks(text, budget)
    findings += parse_terraform(text, budget)
    findings += parse_autorest(text, budget)
    findings += parse_azcore(text, budget)
    findings += parse_powershell(text, budget)
    generic_fmt = None
    for finding, by_az in parse_json_documents(text, budget):
        if by_az:
            finding.fmt = "az"
        else:
            if generic_fmt is None:
                if had_frame or tf_json or (_tf_hints(text) and _TF_MARKERS.search(text)):
                    generic_fmt = "terraform"
                elif ("-Az" in text or "CorrelationId:" in text or "FullyQualifiedErrorId" in text) \
                        and _PS_MARKERS.search(text):
                    generic_fmt = "powershell"
                elif "ERROR: " in text and _AZ_MARKERS.search(text):
                    generic_fmt = "az"
                else:
                    generic_fmt = "json"
            finding.fmt = generic_fmt
        finding.generic = True
        findings.append(finding)
    if any(f.fmt == "az" for f in findings):
        for finding in findings:       # az --debug prints the SDK exception too: still az output
            if finding.fmt == "sdk":
                finding.fmt = "az"
    findings.sort(key=lambda f: f.start)
    return text, findings


def _parse(obj: object) -> ArmErrorInfo | None:
    if isinstance(obj, str):
        text, findings = _parse_text(obj)
    elif isinstance(obj, bytes | bytearray | memoryview):
        text, findings = _parse_text(decode_bytes(bytes(obj)))
    elif isinstance(obj, Mapping):
        text = ""
        meta = JsonMeta()
        roots = json_roots(dict(obj), Budget(), meta)
        findings = [Finding(fmt="json", roots=roots, status_uri=meta.status_uri, resource_id=meta.resource_id,
                            correlation_id=meta.correlation_id, activity_id=meta.activity_id)] if roots else []
    elif isinstance(obj, BaseException):
        findings, text = from_exception(obj, Budget(), _parse_text)
    elif obj is None or isinstance(obj, int | float | bool | list | tuple | set):
        return None
    else:
        findings, text = from_object(obj, Budget(), _parse_text)
    if not findings:
        return None
    return _build(text, findings)


# --------------------------------------------------------------------------------------------
# Choosing the error to report


@dataclass
class _Candidate:
    node: Node
    depth: int
    path: tuple[Node, ...]          # ancestors, outermost first
    finding: Finding
    order: int


def _candidates(findings: list[Finding]) -> list[_Candidate]:
    out: list[_Candidate] = []
    for finding in findings:
        for root in finding.roots:
            stack: list[tuple[Node, int, tuple[Node, ...]]] = [(root, 0, ())]
            while stack and len(out) < 20000:
                node, depth, path = stack.pop()
                out.append(_Candidate(node, depth, path, finding, len(out)))
                for child in reversed(node.children):
                    stack.append((child, depth + 1, (*path, node)))
    return out


def _rank(node: Node) -> int:
    """0: a code that says wait; 1: a message that says wait; 2: other errors; 3: wrappers."""
    if is_specific_wait(node.code):
        return 0
    if classify(node.code, node.message) == WAIT:
        return 1
    coded_children = any(child.code for child in node.children)
    if is_wrapper(node.code, coded_children) or (node.code is None and node.json_message):
        return 3
    return 2


def _choose(candidates: list[_Candidate]) -> _Candidate:
    return min(candidates, key=lambda c: (
        _rank(c.node), c.node.code is None, -c.depth, c.finding.generic, c.order))


def _all_codes(findings: list[Finding]) -> tuple[str, ...]:
    codes: list[str] = []
    seen: set[str] = set()
    for candidate in _candidates(findings):
        code = candidate.node.code
        if code and code not in seen:
            seen.add(code)
            codes.append(code)
    return tuple(codes)


# --------------------------------------------------------------------------------------------
# What the text around the error says

_USE_URI = re.compile(r"use uri:?\s*(https?://[^\s\"'<>\\]+)", re.IGNORECASE)
_HEADER_URI = re.compile(r"""['"]?(Azure-AsyncOperation|Location)['"]?\s*[:=]\s*['"]?(https?://[^\s'",]+)""",
                         re.IGNORECASE)
_CORRELATION = re.compile(r"""correlation[ _-]?(?:request[ _-]?)?id['"]?\s*[:=]?\s*['"]?\s*(""" + GUID + ")",
                          re.IGNORECASE)
_REQUEST_ID = re.compile(r"""(?:x-ms-request-id['"]?\s*[:=]|OperationID\s*:)\s*['"]?(""" + GUID + ")",
                         re.IGNORECASE)
_RETRY_AFTER = re.compile(r"""retry-after['"]?\s*[:=]\s*['"]?(\d{1,6})\b""", re.IGNORECASE)
_RETRY_SECONDS = re.compile(r"try (?:again )?(?:after|in) (\d{1,5}) seconds?", re.IGNORECASE)
_REGION = 20000                     # context read around an error, each side
# whole-text scans run on the lower-cased text with case-sensitive patterns (much faster than IGNORECASE)
_CORRELATION_LOW = re.compile(_CORRELATION.pattern.replace(GUID, GUID.lower()))
_REQUEST_ID_LOW = re.compile(_REQUEST_ID.pattern.replace("OperationID", "operationid").replace(GUID, GUID.lower()))
_RETRY_AFTER_LOW = re.compile(_RETRY_AFTER.pattern)
_RETRY_SECONDS_LOW = re.compile(_RETRY_SECONDS.pattern)
_RESPONSE_STATUS = re.compile(r"Response status: (\d{3})")
_REQUEST_URL = re.compile(r"Request URL: '(https?://[^'\s]+)'")
_AZAPI_RESOURCE_ID = re.compile(r'ResourceId \\?"(/subscriptions/[^"\\\s]+)\\?"')
_DEPLOYMENT_MESSAGES = re.compile(
    r"Unable to edit or replace deployment '([^'\n]+)'"
    r"|The (?:template )?deployment '([^'\n]+)' (?:is not valid|failed|could not|was canceled)"
    r"|deployment '([^'\n]+)' (?:already exists|is (?:still )?active|not found)", re.IGNORECASE)
_BLOCKING = (
    # Network: "... the last operation that updated/is updating the resource is PutSubnetOperation."
    re.compile(r"last operation that (?:updated/is updating|updated|is updating) the resource is (?P<op>\w+)"),
    # Network LRO: "... was canceled and superseded by operation PutVirtualNetworkOperation (<guid>)."
    re.compile(r"superseded by operation (?P<op>\w+)(?: \((?P<id>[^)\s]*)\))?"),
    # AKS: "Another operation (nodepool1 - Updating) is in progress" / "Another agentpool operation (...)"
    re.compile(r"Another (?:[\w-]+ )?operation \((?P<op>[^)\n]+)\) is in progress"),
    # AKS: "there's an in progress update managed cluster operation (operation ID: <guid>) on the managed
    # cluster started on UTC 2026-05-22T07:19:23Z"
    re.compile(r"in progress (?P<op>\w+(?: \w+){0,4}?) operation(?: \(operation ID: (?P<id>[0-9a-fA-F-]{36})\))?"
               r"(?:[^.]*?started (?:on |at )?(?:UTC )?(?P<started>\d{4}-\d\d-\d\dT[\d:.]+Z?))?"),
    # App Service: "Details: Id: <guid>, OperationName: Create, CreatedTime: 7/20/2017 8:01:21 PM, ..."
    re.compile(r"(?:\bId: (?P<id>" + GUID + r"), )?OperationName: (?P<op>[^,\n]+)"
               r"(?:, CreatedTime: (?P<started>[^,\n]+))?"),
)
_DEPLOYMENT_STARTED = re.compile(r"previous deployment from '([^'\n]+)' is still active")


def _first(*values: str | None) -> str | None:
    for value in values:
        if value:
            return value
    return None


def _single(values: list[str]) -> str | None:
    distinct = {v.lower(): v for v in values}
    return next(iter(distinct.values())) if len(distinct) == 1 else None


def _single_match(pattern: re.Pattern[str], text: str, group: int) -> re.Match[str] | None:
    matches = {m.group(group).lower(): m for m in pattern.finditer(text)}
    return next(iter(matches.values())) if len(matches) == 1 else None


def _regions(text: str, findings: list[Finding]) -> dict[int, tuple[int, int]]:
    """For each finding: the text between the neighbouring, non-overlapping errors (its context)."""
    if not text:
        return {}
    groups: list[list[Finding]] = []
    bounds: list[list[int]] = []
    for finding in findings:          # sorted by start
        if bounds and finding.start < bounds[-1][1]:
            groups[-1].append(finding)
            bounds[-1][1] = max(bounds[-1][1], finding.end)
        else:
            groups.append([finding])
            bounds.append([finding.start, finding.end])
    regions: dict[int, tuple[int, int]] = {}
    for index, group in enumerate(groups):
        lo = bounds[index - 1][1] if index else 0
        hi = bounds[index + 1][0] if index + 1 < len(bounds) else len(text)
        for finding in group:
            regions[id(finding)] = (lo, hi)
    return regions


def _search_all(pattern: re.Pattern[str], texts: list[str]) -> re.Match[str] | None:
    for text in texts:
        match = pattern.search(text)
        if match:
            return match
    return None


def _build(text: str, findings: list[Finding]) -> ArmErrorInfo | None:
    candidates = _candidates(findings)
    if not candidates:
        return None
    chosen = _choose(candidates)
    node, finding, path = chosen.node, chosen.finding, chosen.path
    inner_first = [node, *reversed(path)]
    messages = [n.message for n in inner_first if n.message]

    lo, hi = _regions(text, findings).get(id(finding), (0, 0))
    lo, hi = max(lo, finding.start - _REGION), min(hi, finding.end + _REGION)
    region = text[lo:hi] if hi > lo else ""
    low = text.lower() if text else ""
    single_error = len({id(f) for f in findings if not f.generic} or {id(f) for f in findings}) == 1

    status_code = finding.status_code
    if status_code is None and region:
        status = _RESPONSE_STATUS.search(region)
        status_code = int(status.group(1)) if status else invalid_status(region)
    if status_code is None and "response status: " in low:
        status = _single([m.group(1) for m in _RESPONSE_STATUS.finditer(text)])
        status_code = int(status) if status else None
    if status_code is not None and status_code < 400:
        status_code = None

    # the operation holding the resource
    use_uri = _search_all(_USE_URI, messages)
    header_uri = _HEADER_URI.search(region) if region else None
    if header_uri is None and ("azure-asyncoperation" in low or "location'" in low or 'location"' in low
                               or "location:" in low):
        header_uri = _single_match(_HEADER_URI, text, 2)
    status_uri = _first(
        trim(use_uri.group(1)) if use_uri else None,
        finding.status_uri,
        next((u for m in messages for u in operation_urls(m)), None),
        trim(header_uri.group(2)) if header_uri else None,
        next(iter(operation_urls(region)), None) if region else None,
    )

    correlation = finding.correlation_id
    if correlation is None and region:
        match = _CORRELATION.search(region)
        correlation = match.group(1) if match else None
    if correlation is None and "correlation" in low:
        correlation = _single([m.group(1) for m in _CORRELATION_LOW.finditer(low)])
    correlation = correlation or finding.activity_id or _activity_id(inner_first)

    request_id = finding.request_id
    if request_id is None and region:
        match = _REQUEST_ID.search(region)
        request_id = match.group(1) if match else None
    if request_id is None and ("x-ms-request-id" in low or "operationid" in low):
        request_id = _single([m.group(1) for m in _REQUEST_ID_LOW.finditer(low)])

    retry_after = finding.retry_after
    for pattern, low_pattern, marker in ((_RETRY_AFTER, _RETRY_AFTER_LOW, "retry-after"),
                                         (_RETRY_SECONDS, _RETRY_SECONDS_LOW, " second")):
        if retry_after is None and region:
            match = pattern.search(region)
            retry_after = int(match.group(1)) if match else None
        if retry_after is None and marker in low:
            value = _single([m.group(1) for m in low_pattern.finditer(low)])
            retry_after = int(value) if value else None

    resource_id = _resource_id(text, region, lo, finding, inner_first, messages, single_error)
    deployment = _deployment_name(region, finding, inner_first, messages)
    blocking_op, blocking_id, started = _blocking(messages)

    category = classify(node.code, node.message, status_code=status_code)
    if category == UNKNOWN:
        for ancestor in reversed(path):
            if classify(ancestor.code, ancestor.message) == FATAL:
                category = FATAL
                break
    retryable = {WAIT: True, FATAL: False}.get(category)
    outer = next((n.code for n in (*path, node) if n.code), None)
    message = node.message or next((n.message for n in reversed(path) if n.message), None)
    return ArmErrorInfo(
        code=node.code, message=message, outer_code=outer, codes=_all_codes(findings), category=category,
        retryable=retryable, status_code=status_code, retry_after=retry_after, status_uri=status_uri,
        correlation_id=correlation, request_id=request_id, resource_id=resource_id,
        deployment_name=deployment, blocking_operation=blocking_op, blocking_operation_id=blocking_id,
        blocking_started=started, source_format=finding.fmt if finding.fmt in SOURCE_FORMATS else "json",
        target=node.target,
    )


def _resource_id(text: str, region: str, region_start: int, finding: Finding, inner_first: list[Node],
                 messages: list[str], single_error: bool) -> str | None:
    for node in inner_first:
        if is_resource_id(node.target) and not is_deployment_id(node.target):  # type: ignore[arg-type]
            return trim(node.target)  # type: ignore[arg-type]
    if finding.resource_id and not is_deployment_id(finding.resource_id):
        return finding.resource_id
    if region:
        before = text[region_start:max(region_start, finding.start)]
        if finding.fmt == "terraform":
            start = terraform_block_start(text, finding.start, region_start)
            before = text[start:finding.start]
        rid = terraform_resource_id(before) or terraform_resource_id(region)
        if rid:
            return rid
        azapi = _AZAPI_RESOURCE_ID.search(before) or _AZAPI_RESOURCE_ID.search(region)
        if azapi:
            return trim(azapi.group(1))
    if "Request URL: " in text:
        urls = [resource_id_from_url(trim(m.group(1))) for m in _REQUEST_URL.finditer(text)]
        rid = _single([u for u in urls if u and not is_deployment_id(u)])
        if rid:
            return rid
    for message in messages:
        for rid in resource_ids(message):
            if not is_deployment_id(rid):
                return rid
    if region:
        urls = [resource_id_from_url(u.group(0)) for u in URL.finditer(region)]
        rid = _single([u for u in urls if u and not is_deployment_id(u) and not is_operation_url(u)])
        if rid:
            return rid
        if single_error:
            rid = _single([r for r in resource_ids(region) if not is_deployment_id(r)])
            if rid:
                return rid
    return None


def _deployment_name(region: str, finding: Finding, inner_first: list[Node], messages: list[str]) -> str | None:
    for node in inner_first:
        name = deployment_from_id(node.target)
        if name:
            return name
    if finding.deployment_name:
        return finding.deployment_name
    name = deployment_from_id(finding.resource_id)
    if name:
        return name
    for message in messages:
        match = _DEPLOYMENT_MESSAGES.search(message)
        if match:
            return next(g for g in match.groups() if g)
        for rid in resource_ids(message):
            name = deployment_from_id(rid)
            if name:
                return name
    if region:
        match = _DEPLOYMENT_MESSAGES.search(region)
        if match:
            return next(g for g in match.groups() if g)
        names = [deployment_from_id(r) for r in resource_ids(region)]
        return _single([n for n in names if n])
    return None


def _blocking(messages: list[str]) -> tuple[str | None, str | None, str | None]:
    for message in messages:
        for pattern in _BLOCKING:
            match = pattern.search(message)
            if match:
                groups = match.groupdict()
                op = (groups.get("op") or "").strip() or None
                op_id = (groups.get("id") or "").strip() or None
                started = (groups.get("started") or "").strip().rstrip(".") or None
                return op, op_id, started
        match = _DEPLOYMENT_STARTED.search(message)
        if match:
            return None, None, match.group(1)
    return None, None, None


def _activity_id(nodes: list[Node]) -> str | None:
    """An ActivityId from additionalInfo ({"type": "ActivityId", "info": {"activityId": ...}})."""
    for node in nodes:
        for kind, info in node.additional_info:
            if kind.lower() == "activityid" and isinstance(info, dict):
                for key, value in info.items():
                    if str(key).lower() == "activityid" and isinstance(value, str) and value.strip():
                        return value.strip()
    return None
