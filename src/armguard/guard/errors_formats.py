"""Front ends for printed errors: az CLI, Terraform (go-azure-sdk), legacy autorest, azcore, azd,
Azure PowerShell and raw JSON, each finding every error of its kind in a (normalised) text.

The exact layouts are documented in /work/shared/research/runtime-evidence.md ("How tools print them");
the az layout is `str()` of azure-core's ODataV4Format / azure-mgmt-core's ARMErrorFormat, including its
quirk of gluing sibling details onto one line ("...Message: m1\\t(Code2) m2").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from armguard.errors import one_line

from .errors_model import (
    GO_QUOTED,
    GUID,
    Budget,
    Finding,
    JsonMeta,
    Node,
    decode_json_at,
    expand_message,
    go_unquote,
    is_operation_url,
    iter_json_objects,
    node_from_json,
    resource_id_from_url,
)

# --------------------------------------------------------------------------------------------
# Terraform -json: {"@level":"error","@message":"Error: ...","diagnostic":{...},"type":"diagnostic"}

_TF_JSON_LINE = re.compile(r'(?m)^[ \t]*\{"@level":[^\n]*$')


def expand_terraform_json(text: str) -> tuple[str, bool]:
    """Terraform's machine-readable lines replaced by the text they carry (summary, detail, address)."""
    if '"@level"' not in text:
        return text, False

    def replace(match: re.Match[str]) -> str:
        decoded = decode_json_at(match.group(0), 0)
        if decoded is None or not isinstance(decoded[0], dict):
            return match.group(0)
        obj = decoded[0]
        parts = []
        message = obj.get("@message")
        if isinstance(message, str):
            parts.append(message)
        diagnostic = obj.get("diagnostic")
        if isinstance(diagnostic, dict):
            detail = diagnostic.get("detail")
            if isinstance(detail, str) and detail.strip():
                parts.append(detail)
            address = diagnostic.get("address")
            if isinstance(address, str) and address:
                parts.append(f"  with {address},")
        return "\n".join(parts) + "\n"

    return _TF_JSON_LINE.sub(replace, text), True


# --------------------------------------------------------------------------------------------
# az CLI / str(HttpResponseError): "(Code) Message\nCode: ...\nMessage: ...\nTarget: ...\nException Details:..."

_AZ_CODE_LINE = re.compile(r"(?m)^Code: ([^\s\"][^\n\"]{0,200}?)[ \t]*\nMessage: ")
_AZ_GLUE = re.compile(r"(?<=[^\t])\t\(([A-Za-z][\w.\-]*)\) ")
_AZ_TYPE_INFO = re.compile(r"\s*Type: ([^\n]*)\nInfo: ")
_AZ_ONE_LINE = re.compile(r"(?m)^ERROR: \(([A-Za-z][\w.\-]*)\) ([^\n]+)")
_AZ_LEGACY_CLOUD = re.compile(r"(?m)Azure Error: ([A-Za-z][\w.\-]*)[ \t]*\nMessage: ([^\n]*)")
_AZ_DEPLOYMENT_FAILED = re.compile(r"Deployment failed\. Correlation ID: (" + GUID + r")\.[ \t]*([^\n]*)")
_AZ_INVALID_STATUS = re.compile(r"Operation returned an invalid status '([^'\n]{1,60})'")
_MAX_BLOCK_LINES = 6000
MAX_FINDINGS = 200                # per front end and text

REASONS = {
    "bad request": 400, "unauthorized": 401, "forbidden": 403, "not found": 404, "conflict": 409,
    "precondition failed": 412, "too many requests": 429, "internal server error": 500,
    "bad gateway": 502, "service unavailable": 503, "gateway timeout": 504,
}


class _Tok:
    __slots__ = ("content", "header", "raw", "start", "tabs")

    def __init__(self, raw: str, start: int, header: tuple[str, str] | None = None):
        self.raw = raw
        self.start = start
        self.header = header
        stripped = raw.lstrip("\t")
        self.tabs = len(raw) - len(stripped)
        self.content = stripped

    def dedent(self, level: int) -> str:
        if self.header is not None:
            return f"({self.header[0]}) {self.header[1]}"
        cut = min(self.tabs, level)
        return self.raw[cut:]


class _Lines:
    """The lines of text from pos on as tokens, produced on demand (a block rarely needs more than a few)."""

    def __init__(self, text: str, pos: int):
        self.text = text
        self.pos = pos
        self.toks: list[_Tok] = []

    def has(self, i: int) -> bool:
        """Whether token i exists (tokenizing up to it), glued detail headers split into their own token."""
        text = self.text
        while len(self.toks) <= i:
            if self.pos >= len(text) or len(self.toks) >= _MAX_BLOCK_LINES:
                return False
            pos = self.pos
            nl = text.find("\n", pos)
            if nl < 0:
                nl = len(text)
            line = text[pos:nl]
            glue = _AZ_GLUE.search(line) if "\t(" in line else None
            if glue:
                self.toks.append(_Tok(line[:glue.start()], pos))
                self.toks.append(_Tok("", pos + glue.start(), (glue.group(1), line[glue.end():])))
            else:
                self.toks.append(_Tok(line, pos))
            self.pos = nl + 1
        return True

    def __getitem__(self, i: int) -> _Tok:
        return self.toks[i]


class _AzBlock:
    """Recursive parse of one ODataV4Format/ARMErrorFormat text block's fields and details."""

    def __init__(self, toks: _Lines, budget: Budget):
        self.toks = toks
        self.budget = budget
        self.levels: dict[int, int | None] = {}

    def level_of(self, i: int) -> int | None:
        """A glued header's nesting level: the tabs of the "Code: <code>" line that follows it."""
        if i in self.levels:
            return self.levels[i]
        code_line = f"Code: {self.toks[i].header[0]}"  # type: ignore[index]
        level = None
        for k in range(i + 1, i + 2000):
            if not self.toks.has(k):
                break
            tok = self.toks[k]
            if tok.header is None and tok.content == code_line:
                level = tok.tabs
                break
        self.levels[i] = level
        return level

    def node(self, i: int, level: int, depth: int) -> tuple[Node, int] | None:
        code, first = self.toks[i].header  # type: ignore[misc]
        lines = [first]
        j = i + 1
        code_line = f"Code: {code}"
        toks = self.toks
        while toks.has(j) and j - i < 5000:
            tok = toks[j]
            if tok.header is None and tok.tabs == level and tok.content == code_line:
                break
            lines.append(tok.dedent(level))
            j += 1
        if not toks.has(j) or toks[j].content != code_line or not self.budget.take():
            return None
        j += 1
        if toks.has(j) and toks[j].header is None and toks[j].content.startswith("Message: "):
            j += len(lines)
        node = Node(code=code, message="\n".join(lines).strip() or None)
        j = self.fields(node, j, level, depth)
        expand_message(node, self.budget, depth)
        return node, j

    def fields(self, node: Node, j: int, level: int, depth: int) -> int:
        toks = self.toks
        while toks.has(j):
            tok = toks[j]
            if tok.header is not None or tok.tabs != level:
                break
            content = tok.content
            if content.startswith("Target: ") or content == "Target:":
                node.target = content[8:].strip() or None
                j += 1
            elif content.rstrip() == "Exception Details:":
                j += 1
                while toks.has(j) and toks[j].header is not None and self.level_of(j) == level + 1 \
                        and depth < 40:
                    parsed = self.node(j, level + 1, depth + 1)
                    if parsed is None:
                        break
                    child, j = parsed
                    node.children.append(child)
            elif content.startswith("Inner error: "):
                j = self.skip_json(j, level, len("Inner error: "))
            elif content.startswith("Additional Information:"):
                j = self.additional_info(node, j, level)
            else:
                break
        return j

    def _joined(self, j: int, level: int, skip: int) -> tuple[str, list[int]]:
        """The text of lines j.. at `level` (first line from column `skip`), and each line's offset."""
        parts = [self.toks[j].content[skip:]]
        offsets = [0]
        length = len(parts[0]) + 1
        k = j + 1
        while k - j < 3000 and self.toks.has(k) and self.toks[k].header is None:
            offsets.append(length)
            piece = self.toks[k].dedent(level)
            parts.append(piece)
            length += len(piece) + 1
            k += 1
        return "\n".join(parts), offsets

    @staticmethod
    def _lines_used(offsets: list[int], end: int) -> int:
        used = 0
        for off in offsets:
            if off < end:
                used += 1
        return max(used, 1)

    def skip_json(self, j: int, level: int, skip: int) -> int:
        joined, offsets = self._joined(j, level, skip)
        decoded = decode_json_at(joined, 0)
        if decoded is None:
            return j + 1
        return j + self._lines_used(offsets, decoded[1])

    def additional_info(self, node: Node, j: int, level: int) -> int:
        joined, offsets = self._joined(j, level, len("Additional Information:"))
        pos = 0
        used_end = len(joined.split("\n", 1)[0])
        while True:
            match = _AZ_TYPE_INFO.match(joined, pos)
            if not match:
                break
            decoded = decode_json_at(joined, match.end())
            if decoded is None:
                break
            node.additional_info.append((match.group(1).strip(), decoded[0]))
            pos = used_end = decoded[1]
        return j + self._lines_used(offsets, used_end)


def parse_az_blocks(text: str, budget: Budget) -> list[Finding]:
    """Every `(Code) Message / Code: / Message: / ...` block: az CLI errors and printed SDK exceptions."""
    findings: list[Finding] = []
    last_end = 0
    for match in _AZ_CODE_LINE.finditer(text) if "Code: " in text else ():
        if len(findings) >= MAX_FINDINGS:
            break
        if match.start() < last_end:
            continue
        code = match.group(1)
        msg_start = match.end()
        header = f"({code}) "
        hdr = text.rfind(header, max(last_end, match.start() - 200_000), match.start())
        line_end = text.find("\n", msg_start)
        if line_end < 0:
            line_end = len(text)
        if hdr >= 0:
            message = text[hdr + len(header):match.start() - 1] if match.start() > hdr + len(header) else ""
            if message and text.startswith(message, msg_start):
                rest = msg_start + len(message)
                line_end = text.find("\n", rest)
                if line_end < 0:
                    line_end = len(text)
            else:
                message = text[msg_start:line_end]
            line_start = text.rfind("\n", 0, hdr) + 1
            prefix = text[line_start:hdr]
            start = line_start
        else:
            message = text[msg_start:line_end]
            prefix = text[text.rfind("\n", 0, match.start() - 1) + 1:match.start()] if match.start() else ""
            start = match.start()
        if not budget.take():
            break
        node = Node(code=code, message=message.strip() or None)
        toks = _Lines(text, line_end + 1)
        block = _AzBlock(toks, budget)
        j = block.fields(node, 0, 0, 0)
        expand_message(node, budget, 0)
        end = max(toks[j].start if toks.has(j) else len(text), line_end)
        fmt = "az" if "ERROR:" in prefix or "ERROR:" in text[max(0, start - 8):start] else "sdk"
        findings.append(Finding(fmt=fmt, roots=[node], start=start, end=end))
        last_end = end
    covered = [(f.start, f.end) for f in findings]
    for match in _AZ_ONE_LINE.finditer(text) if "ERROR: (" in text else ():
        # `ERROR: (Code) Message` alone: az output cut short (log tails, one-line summaries).
        if any(start <= match.start() < end for start, end in covered) or not budget.take():
            continue
        node = Node(code=match.group(1), message=match.group(2).strip() or None)
        expand_message(node, budget, 0)
        findings.append(Finding(fmt="az", roots=[node], start=match.start(), end=match.end()))
    for match in _AZ_LEGACY_CLOUD.finditer(text) if "Azure Error: " in text else ():
        findings.append(Finding(fmt="az", roots=[Node(code=match.group(1), message=match.group(2).strip() or None)],
                                start=match.start(), end=match.end()))
    for match in _AZ_DEPLOYMENT_FAILED.finditer(text) if "Deployment failed. " in text else ():
        rest = match.group(2).strip()
        if rest and not rest.startswith("{"):
            node = Node(code=None, message=rest)
            expand_message(node, budget, 0)
            findings.append(Finding(fmt="az", roots=[node], start=match.start(), end=match.end(),
                                    correlation_id=match.group(1)))
    return findings


def invalid_status(text: str) -> int | None:
    """The HTTP status in azure-core's "Operation returned an invalid status 'Conflict'"."""
    match = _AZ_INVALID_STATUS.search(text) if "invalid status" in text else None
    if not match:
        return None
    return REASONS.get(match.group(1).strip().lower())


# --------------------------------------------------------------------------------------------
# Terraform azurerm (go-azure-sdk)

_TF_UNEXPECTED = re.compile(
    r"unexpected status (\d{3})(?: \(([^)\n]*)\))? with (?:error: ([A-Za-z][\w.\-]*): ?|response: )")
_TF_MESSAGE_END = re.compile(r"\n[ \t]*\n|\n  (?:with|on) |\nError: ")
_TF_POLL = re.compile(
    r"the Azure API returned the following error:[ \t]*\n\s*"
    r"Status: (" + GO_QUOTED + r")[ \t]*\n[ \t]*Code: (" + GO_QUOTED + r")[ \t]*\n[ \t]*"
    r"Message: (" + GO_QUOTED + r")(?:[ \t]*\n[ \t]*Activity Id: (" + GO_QUOTED + r"))?")
_TF_BODY = re.compile(r"\s*(?:-{3}\s*)?API Response:\s*----\[start\]----[ \t]*\n?(.*?)\n?[ \t]*-----\[end\]-----",
                      re.DOTALL)
_TF_ERROR_LINE = re.compile(r"(?m)^[ \t]*Error: ")
_LRO_STATES = frozenset({"", "failed", "canceled", "cancelled", "unknown", "inprogress", "succeeded"})


def _tf_poll_node(status: str, code: str, message: str) -> Node | None:
    msg = message.strip() or None
    status_is_code = status.strip().lower() not in _LRO_STATES
    if code and status_is_code and status != code:
        return Node(code=status, message=None, children=[Node(code=code, message=msg)])
    if code:
        return Node(code=code, message=msg)
    if status_is_code:
        return Node(code=status, message=msg)
    return Node(code=None, message=msg) if msg else None


def parse_terraform(text: str, budget: Budget) -> list[Finding]:
    findings: list[Finding] = []
    for match in _TF_UNEXPECTED.finditer(text) if "unexpected status " in text else ():
        if len(findings) >= MAX_FINDINGS:
            break
        status = int(match.group(1))
        if match.group(3):
            stop = _TF_MESSAGE_END.search(text, match.end(), match.end() + 20000)
            end = stop.start() if stop else min(len(text), match.end() + 20000)
            node = Node(code=match.group(3), message=text[match.end():end].strip() or None)
            expand_message(node, budget, 0)
            roots = [node]
        else:
            decoded = decode_json_at(text, match.end())
            meta = JsonMeta()
            node = node_from_json(decoded[0], budget, meta) if decoded else None
            end = decoded[1] if decoded else match.end()
            roots = [node] if node else []
            if not roots:
                continue
        findings.append(Finding(fmt="terraform", roots=roots, start=match.start(), end=end, status_code=status))
    for match in _TF_POLL.finditer(text) if "the Azure API returned the following error" in text else ():
        if len(findings) >= MAX_FINDINGS:
            break
        status, code, message = (go_unquote(match.group(i)) for i in (1, 2, 3))
        activity = go_unquote(match.group(4)).strip() if match.group(4) else ""
        end = match.end()
        meta = JsonMeta()
        roots: list[Node] = []
        body = _TF_BODY.match(text, end)
        if body:
            end = body.end()
            decoded = decode_json_at(body.group(1), 0)
            if decoded is not None:
                node = node_from_json(decoded[0], budget, meta)
                if node is not None:
                    roots = [node]
        if not roots:
            node = _tf_poll_node(status, code, message)
            if node is None:
                continue
            expand_message(node, budget, 0)
            roots = [node]
        findings.append(Finding(fmt="terraform", roots=roots, start=match.start(), end=end,
                                activity_id=activity or meta.activity_id, resource_id=meta.resource_id,
                                status_uri=meta.status_uri, correlation_id=meta.correlation_id))
    return findings


def terraform_block_start(text: str, pos: int, floor: int) -> int:
    """Where the Terraform "Error: ..." summary holding text[pos] begins (or floor)."""
    best = -1
    for match in _TF_ERROR_LINE.finditer(text, max(floor, pos - 20000), pos):
        best = match.start()
    return best if best >= 0 else max(floor, pos - 3000)


# The resource id go-azure-sdk prints: Subnet (Subscription: "..."\nResource Group Name: "..."\n...)
_TF_ID = re.compile(r'\(((?:Subscription|Scope): "[^"\n]*"(?:[ \t]*\n?[ \t]*[A-Z][A-Za-z0-9 ]{0,60}: "[^"\n]*")*)\)')
_TF_FIELD = re.compile(r'([A-Z][A-Za-z0-9 ]{0,60}): "([^"\n]*)"')
_TF_TOP_TYPES = {
    "virtual network": ("Microsoft.Network", "virtualNetworks"),
    "network security group": ("Microsoft.Network", "networkSecurityGroups"),
    "route table": ("Microsoft.Network", "routeTables"),
    "virtual hub": ("Microsoft.Network", "virtualHubs"),
    "virtual wan": ("Microsoft.Network", "virtualWans"),
    "network interface": ("Microsoft.Network", "networkInterfaces"),
    "public ip address": ("Microsoft.Network", "publicIPAddresses"),
    "load balancer": ("Microsoft.Network", "loadBalancers"),
    "private dns zone": ("Microsoft.Network", "privateDnsZones"),
    "dns zone": ("Microsoft.Network", "dnsZones"),
    "private endpoint": ("Microsoft.Network", "privateEndpoints"),
    "nat gateway": ("Microsoft.Network", "natGateways"),
    "virtual network gateway": ("Microsoft.Network", "virtualNetworkGateways"),
    "vpn gateway": ("Microsoft.Network", "vpnGateways"),
    "express route circuit": ("Microsoft.Network", "expressRouteCircuits"),
    "express route gateway": ("Microsoft.Network", "expressRouteGateways"),
    "firewall policy": ("Microsoft.Network", "firewallPolicies"),
    "azure firewall": ("Microsoft.Network", "azureFirewalls"),
    "application gateway": ("Microsoft.Network", "applicationGateways"),
    "bastion host": ("Microsoft.Network", "bastionHosts"),
    "managed cluster": ("Microsoft.ContainerService", "managedClusters"),
    "kubernetes cluster": ("Microsoft.ContainerService", "managedClusters"),
    "server farm": ("Microsoft.Web", "serverFarms"),
    "app service plan": ("Microsoft.Web", "serverFarms"),
    "site": ("Microsoft.Web", "sites"),
    "storage account": ("Microsoft.Storage", "storageAccounts"),
    "virtual machine": ("Microsoft.Compute", "virtualMachines"),
    "virtual machine scale set": ("Microsoft.Compute", "virtualMachineScaleSets"),
    "vault": ("Microsoft.KeyVault", "vaults"),
    "key vault": ("Microsoft.KeyVault", "vaults"),
    "automation account": ("Microsoft.Automation", "automationAccounts"),
    "managed environment": ("Microsoft.App", "managedEnvironments"),
}
_TF_CHILD_TYPES = {
    "subnet": "subnets", "virtual network peering": "virtualNetworkPeerings",
    "virtual network link": "virtualNetworkLinks", "route": "routes", "security rule": "securityRules",
    "bgp connection": "bgpConnections", "hub virtual network connection": "hubVirtualNetworkConnections",
    "hub route table": "hubRouteTables", "ip configuration": "ipConfigurations", "agent pool": "agentPools",
    "rule collection group": "ruleCollectionGroups", "extension": "extensions", "peering": "peerings",
    "authorization": "authorizations", "slot": "slots", "node configuration": "nodeConfigurations",
    "vpn connection": "vpnConnections", "routing intent": "routingIntent",
}


def _plural(words: str) -> str:
    parts = words.split()
    name = parts[0].lower() + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    if name.endswith("y") and not name.endswith(("ay", "ey", "oy", "uy")):
        return name[:-1] + "ies"
    if name.endswith(("s", "x")):
        return name + "es"
    return name + "s"


def terraform_resource_id(region: str) -> str | None:
    """The last go-azure-sdk id block in region, rebuilt as an ARM resource id (None if unknown type)."""
    last = None
    for match in _TF_ID.finditer(region):
        last = match
    if last is None:
        return None
    fields = [(label.strip(), value) for label, value in _TF_FIELD.findall(last.group(1))]
    rid = ""
    provider = None
    for label, value in fields:
        low = label.lower()
        if low == "subscription":
            rid = f"/subscriptions/{value}"
        elif low == "scope":
            rid = value.rstrip("/")
        elif low == "resource group name":
            rid += f"/resourceGroups/{value}"
        elif low.endswith(" name"):
            kind = low[:-5]
            if provider is None:
                top = _TF_TOP_TYPES.get(kind)
                if top is None:
                    return None
                provider = top[0]
                rid += f"/providers/{provider}/{top[1]}/{value}"
            else:
                rid += f"/{_TF_CHILD_TYPES.get(kind) or _plural(label[:-5])}/{value}"
        else:
            return None
    return rid if rid.lower().startswith("/subscriptions/") and "/resourcegroups/" in rid.lower() else None


# --------------------------------------------------------------------------------------------
# Legacy autorest: StatusCode=0 -- Original Error: autorest/azure: Service returned an error.
#                  Status=<nil> Code="..." Message="..." Details=[...]

_AUTOREST = re.compile(
    r"Code=(" + GO_QUOTED + r")\s+Message=(" + GO_QUOTED + r")(?:\s+Target=(" + GO_QUOTED + r"))?")
_AUTOREST_STATUS = re.compile(r"StatusCode=(\d+)\s*-+\s*Original Error:|Service returned an error\. Status=(\S+)")
_AUTOREST_MAP = re.compile(r"map\[(?:[^\[\]]*\s)?code:([\w.\-]+) message:([^\]]*)\]")


def parse_autorest(text: str, budget: Budget) -> list[Finding]:
    findings: list[Finding] = []
    for match in _AUTOREST.finditer(text) if 'Code="' in text else ():
        if len(findings) >= MAX_FINDINGS:
            break
        node = Node(code=go_unquote(match.group(1)).strip() or None,
                    message=go_unquote(match.group(2)).strip() or None,
                    target=go_unquote(match.group(3)).strip() or None if match.group(3) else None)
        end = match.end()
        if text.startswith(" Details=", end):
            decoded = decode_json_at(text, end + 9)
            if decoded is not None and isinstance(decoded[0], list):
                for item in decoded[0][:100]:
                    child = node_from_json(item, budget)
                    if child is not None:
                        node.children.append(child)
                end = decoded[1]
            else:
                line_end = text.find("\n", end)
                segment = text[end:line_end if line_end >= 0 else len(text)]
                for code, message in _AUTOREST_MAP.findall(segment):
                    node.children.append(Node(code=code, message=message.strip() or None))
        expand_message(node, budget, 0)
        if node.code is None and node.message is None and not node.children:
            continue
        status = None
        line_start = text.rfind("\n", 0, match.start()) + 1
        for prefix in _AUTOREST_STATUS.finditer(text, max(line_start, match.start() - 2000), match.start()):
            value = prefix.group(1) or prefix.group(2)
            if value and value.isdigit() and value != "0":
                status = int(value)
        findings.append(Finding(fmt="autorest", roots=[node], start=line_start, end=end, status_code=status))
    return findings


# --------------------------------------------------------------------------------------------
# azcore (azapi, azd): "PUT <url>\n----\nRESPONSE 409: 409 Conflict\nERROR CODE: X\n----\n{json}\n----"

_AZCORE = re.compile(
    r"(?m)^RESPONSE (\d{3}):? ?([^\n]*)\n(?:ERROR CODE: ([^\n]*)|ERROR CODE UNAVAILABLE)[ \t]*\n-{3,}[ \t]*\n")
_AZCORE_REQUEST = re.compile(r"\b(GET|PUT|POST|PATCH|DELETE|HEAD) (https?://\S+)[ \t]*\n-{3,}[ \t]*\n?$")
_AZCORE_RULE = re.compile(r"(?m)^-{3,}[ \t]*$")
_AZD_HEADER = re.compile(r"(?m)^Deployment Error Details:[ \t]*\n")
_AZD_LINE = re.compile(r"^[ \t]*(?:- )?([A-Za-z][\w.\-]*): (.+)$")


def parse_azcore(text: str, budget: Budget) -> list[Finding]:
    findings: list[Finding] = []
    for match in _AZCORE.finditer(text) if "RESPONSE " in text else ():
        if len(findings) >= MAX_FINDINGS:
            break
        status = int(match.group(1))
        code = (match.group(3) or "").strip() or None
        rule = _AZCORE_RULE.search(text, match.end())
        body_end = rule.start() if rule else len(text)
        body = text[match.end():body_end]
        end = rule.end() if rule else len(text)
        node = None
        decoded = decode_json_at(body, 0)
        meta = JsonMeta()
        if decoded is not None:
            node = node_from_json(decoded[0], budget, meta)
        if node is None:
            node = Node(code=code, message=body.strip()[:4000] or None)
        elif code and node.code is None:
            node.code = code
        start = match.start()
        status_uri = meta.status_uri
        resource_id = meta.resource_id
        request = _AZCORE_REQUEST.search(text, max(0, start - 4000), start)
        if request:
            start = request.start()
            url = request.group(2)
            if is_operation_url(url):
                status_uri = status_uri or url
            else:
                resource_id = resource_id or resource_id_from_url(url)
        findings.append(Finding(fmt="azcore", roots=[node], start=start, end=end, status_code=status,
                                status_uri=status_uri, resource_id=resource_id))
    for match in _AZD_HEADER.finditer(text) if "Deployment Error Details:" in text else ():
        root: Node | None = None
        tail: Node | None = None
        pos = match.end()
        end = pos
        while pos < len(text):
            nl = text.find("\n", pos)
            nl = len(text) if nl < 0 else nl
            line = text[pos:nl]
            stripped = line.strip()
            if stripped.startswith("TraceID:"):
                end = nl
                break
            coded = _AZD_LINE.match(line)
            if coded and stripped != "Inner Error:":
                node = Node(code=coded.group(1), message=coded.group(2).strip() or None)
                if tail is None:
                    root = node
                else:
                    tail.children.append(node)
                tail = node
                end = nl
            elif stripped and stripped != "Inner Error:" and not stripped.startswith("- "):
                break
            pos = nl + 1
        if root is not None:
            findings.append(Finding(fmt="azcore", roots=[root], start=match.start(), end=end))
    return findings


# --------------------------------------------------------------------------------------------
# Azure PowerShell

_PS_DEPLOYMENT = re.compile(r"The deployment '([^'\n]+)' failed with error\(s\)")
_PS_STATUS = re.compile(r"Status Message: ((?:(?!\(Code:).){0,8000}?)\s*\(Code: ?([\w.\-]*)\)", re.DOTALL)
_PS_DETAIL = re.compile(r"\s*- ((?:(?!\(Code:)[^\n]){0,8000}?(?:\n(?!\s*- |CorrelationId)(?:(?!\(Code:)[^\n]){0,8000}?)*)"
                        r"\s*\(Code: ?([\w.\-]*)\)")
_PS_CORRELATION = re.compile(r"CorrelationId:\s*(" + GUID + ")")
_PS_LRO = re.compile(r"Long running operation failed with status '(\w+)'\.?(?: Additional Info:'(.*?)'(?=[ \t]*(?:\n|$)))?",
                     re.DOTALL)
_PS_ERRORCODE = re.compile(r"(?m)^ErrorCode: ?([\w.\-]*)[ \t]*$")
_PS_FIELD = re.compile(r"^(ErrorCode|ErrorMessage|ErrorTarget|StatusCode|ReasonPhrase|OperationID)\s*: ?(.*)$")
_PS_AZURERM = re.compile(r"Error: Code=([\w.\-]+); Message=([^\n]*)")
_PS_RESOURCE = re.compile(r"Resource (\S+) '([^'\n]+)' failed with message '(.*?)'[ \t]*(?=\n|$)", re.DOTALL)
_PS_CODE_MESSAGE = re.compile(r"Code: ([A-Za-z][\w.\-]*), Message: ([^\n]*)")
_PS_LINE_MARKERS = ("ErrorCode:", "Long running operation failed")


def _squash(text: str) -> str | None:
    squashed = one_line(text)
    return squashed or None


def parse_powershell(text: str, budget: Budget) -> list[Finding]:
    findings: list[Finding] = []
    for match in _PS_STATUS.finditer(text) if "Status Message: " in text else ():
        if len(findings) >= MAX_FINDINGS:
            break
        root = Node(code=match.group(2) or None, message=_squash(match.group(1)))
        expand_message(root, budget, 0)
        pos = match.end()
        while True:
            detail = _PS_DETAIL.match(text, pos)
            if not detail:
                break
            if detail.group(2) or detail.group(1).strip():
                child = Node(code=detail.group(2) or None, message=_squash(detail.group(1)))
                expand_message(child, budget, 1)
                root.children.append(child)
            pos = detail.end()
        window = text[max(0, match.start() - 600):pos + 300]
        deployment = _PS_DEPLOYMENT.search(window)
        correlation = _PS_CORRELATION.search(text, pos, pos + 300)
        if root.code is None and root.message is None and not root.children:
            continue
        findings.append(Finding(fmt="powershell", roots=[root], start=match.start(), end=pos,
                                deployment_name=deployment.group(1) if deployment else None,
                                correlation_id=correlation.group(1) if correlation else None))
    if not any(marker in text for marker in _PS_LINE_MARKERS):
        return findings
    lines = text.split("\n")
    offsets = []
    offset = 0
    for line in lines:
        offsets.append(offset)
        offset += len(line) + 1
    used_lro: set[int] = set()
    for index, line in enumerate(lines):
        if not line.startswith("ErrorCode:") or len(findings) >= MAX_FINDINGS:
            continue
        code_match = _PS_ERRORCODE.match(line)
        if not code_match:
            continue
        fields: dict[str, str] = {}
        message_lines: list[str] = []
        k = index + 1
        in_message = False
        while k < len(lines) and k - index < 60:
            field_match = _PS_FIELD.match(lines[k])
            if field_match:
                if field_match.group(1) == "ErrorCode":
                    break
                fields[field_match.group(1)] = field_match.group(2).strip()
                in_message = field_match.group(1) == "ErrorMessage"
                if in_message:
                    message_lines = [field_match.group(2)]
            elif in_message and lines[k].strip():
                message_lines.append(lines[k])
            elif not lines[k].strip():
                in_message = False
                if k + 1 < len(lines) and not _PS_FIELD.match(lines[k + 1]):
                    break
            else:
                break
            k += 1
        for back in range(max(0, index - 4), index):
            field_match = _PS_FIELD.match(lines[back])
            if field_match:
                fields.setdefault(field_match.group(1), field_match.group(2).strip())
        message = "\n".join(message_lines).strip() or None
        start = offsets[index]
        for back in range(index - 1, max(-1, index - 6), -1):
            lro = _PS_LRO.search(lines[back])
            if lro:
                used_lro.add(back)
                start = offsets[back]
                if message is None and lro.group(2):
                    message = lro.group(2).strip()
                break
        node = Node(code=code_match.group(1) or None, message=message, target=fields.get("ErrorTarget") or None)
        expand_message(node, budget, 0)
        if node.code is None and node.message is None:
            continue
        status = fields.get("StatusCode", "")
        operation = fields.get("OperationID", "")
        findings.append(Finding(
            fmt="powershell", roots=[node], start=start, end=offsets[k - 1] + len(lines[k - 1]),
            status_code=int(status) if status.isdigit() and int(status) >= 400 else None,
            request_id=operation if re.fullmatch(GUID, operation) else None))
    for index, line in enumerate(lines):
        if index in used_lro or "Long running operation failed" not in line:
            continue
        lro = _PS_LRO.search(text, offsets[index])
        if not lro or not lro.group(2):
            continue
        node = Node(code=None, message=lro.group(2).strip() or None)
        expand_message(node, budget, 0)
        findings.append(Finding(fmt="powershell", roots=[node], start=lro.start(), end=lro.end()))
    for pattern, marker in ((_PS_AZURERM, "Error: Code="), (_PS_CODE_MESSAGE, ", Message: ")):
        for match in pattern.finditer(text) if marker in text else ():
            if len(findings) >= MAX_FINDINGS:
                break
            node = Node(code=match.group(1), message=match.group(2).strip() or None)
            expand_message(node, budget, 0)
            findings.append(Finding(fmt="powershell", roots=[node], start=match.start(), end=match.end()))
    for match in _PS_RESOURCE.finditer(text) if "' failed with message '" in text else ():
        node = Node(code=None, message=match.group(3).strip() or None)
        expand_message(node, budget, 0)
        if node.children:
            findings.append(Finding(fmt="powershell", roots=[node], start=match.start(), end=match.end()))
    return findings


# --------------------------------------------------------------------------------------------
# Raw JSON: {"error": {...}}, {"status": "Failed", "error": {...}}, az's `ERROR: {...}`, deployment
# operations; az validation errors chain `Inner Errors:\n{...}` documents below the first one.

_INNER_ERRORS = re.compile(r"Inner Errors?:\s*$")
_PRECEDING_AZ = re.compile(r"ERROR:\s*$|Deployment failed\. Correlation ID: " + GUID + r"\.\s*$")


def json_roots(obj: object, budget: Budget, meta: JsonMeta, strict: bool = True) -> list[Node]:
    """Error trees in a decoded document: itself, or the items of an ARM list response ({"value": [...]})."""
    node = node_from_json(obj, budget, meta, strict=strict)
    if node is not None:
        return [node]
    roots: list[Node] = []
    if isinstance(obj, dict):
        value = obj.get("value")
        if isinstance(value, list):
            for item in value[:200]:
                found = node_from_json(item, budget, meta, strict=True)
                if found is not None:
                    roots.append(found)
    return roots


def _deepest_last(node: Node) -> Node:
    while node.children:
        node = node.children[-1]
    return node


def parse_json_documents(text: str, budget: Budget) -> Iterator[tuple[Finding, bool]]:
    """(finding, printed by az) for every error document embedded in text."""
    chain: Finding | None = None
    found = 0
    for start, end, obj in iter_json_objects(text):
        if found >= MAX_FINDINGS:
            return
        meta = JsonMeta()
        roots = json_roots(obj, budget, meta)
        if not roots:
            continue
        line_start = text.rfind("\n", 0, start) + 1
        prefix = text[line_start:start]
        before = text[max(0, line_start - 200):line_start].rstrip()
        if chain is not None and _INNER_ERRORS.search(before):
            _deepest_last(chain.roots[-1]).children.extend(roots)
            chain.end = end
            continue
        correlation = re.search(r"Correlation ID: (" + GUID + ")", prefix)
        finding = Finding(fmt="json", roots=roots, start=start, end=end, status_uri=meta.status_uri,
                          resource_id=meta.resource_id,
                          correlation_id=correlation.group(1) if correlation else meta.correlation_id,
                          activity_id=meta.activity_id)
        by_az = bool(_PRECEDING_AZ.search(prefix))
        chain = finding if by_az else None
        found += 1
        yield finding, by_az
