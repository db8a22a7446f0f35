"""The activity log: administrative events per operation, in Azure Monitor's shape.

Each accepted write logs `Started` then `Accepted` when it begins (`Succeeded` at once for a
synchronous one) and `Succeeded`, `Failed` or `Canceled` when it ends; a rejected request logs
`Started` then `Failed` with the HTTP status as `subStatus`. Events are stored as tuples, and a
long-running operation as one entry that stands for its events (they are derived from the
operation record); dicts are made only when read.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from armguard.emulator.clock import iso
from armguard.emulator.errors import reason
from armguard.emulator.ids import singular
from armguard.emulator.resources import TENANT_ID

# Event tuple fields
_T, _SEQ, _OPNAME, _STATUS, _HTTP, _CALLER, _CORR, _RID, _SUB, _RG, _OPID, _ERROR = range(12)


class ActivityLog:
    __slots__ = ("events", "seed")

    def __init__(self, seed: int = 0):
        self.events: list[Any] = []  # event tuples, and operations standing for their events
        self.seed = seed

    def add_operation(self, op: Any) -> None:
        """A long-running operation: Started and Accepted at its start, its end when it ends."""
        self.events.append(op)

    def add(self, t: float, operation_name: str, status: str, http_status: int | None, caller: str,
            correlation_id: str, resource_id: str, subscription: str | None, group: str | None,
            operation_id: str, error: dict[str, Any] | None = None) -> None:
        self.events.append((t, len(self.events), operation_name, status, http_status, caller, correlation_id,
                            resource_id, subscription, group, operation_id, error))

    def expanded(self) -> list[tuple[Any, ...]]:
        """Every event as a tuple, in the order they happened."""
        out: list[tuple[Any, ...]] = []
        for i, e in enumerate(self.events):
            if isinstance(e, tuple):
                out.append((*e[:_SEQ], (i, 0), *e[_SEQ + 1:]))
                continue
            action = "delete" if e.method == "DELETE" else "write"
            opname = f"{e.type}/{action}"
            group = _group_of(e.resource_id)
            accepted = 201 if e.creating else (202 if e.method == "DELETE" else 200)
            common = (e.caller, e.correlation_id, e.resource_id, e.subscription, group, e.id)
            out.append((e.start, (i, 0), opname, "Started", None, *common, None))
            out.append((e.start, (i, 1), opname, "Accepted", accepted, *common, None))
            if e.finished is not None:
                http = 200 if e.status == "Succeeded" else None
                out.append((e.finished, (i, 2), opname, e.status, http, *common, e.error))
        out.sort(key=lambda ev: (ev[_T], ev[_SEQ]))
        return out

    def query(self, epoch: Any, subscription: str, start: float | None, end: float | None,
              group: str | None = None) -> list[dict[str, Any]]:
        """Events of a subscription (and group) with start <= eventTimestamp <= end, newest first."""
        sub = subscription.lower()
        grp = group.lower() if group is not None else None
        out = []
        for e in reversed(self.expanded()):
            t = e[_T]
            if (start is not None and t < start) or (end is not None and t > end):
                continue
            if (e[_SUB] or "").lower() != sub:
                continue
            if grp is not None and (e[_RG] or "").lower() != grp:
                continue
            out.append(self._view(epoch, e))
        return out

    def _view(self, epoch: Any, e: tuple[Any, ...]) -> dict[str, Any]:
        opname = e[_OPNAME]
        rtype, _, action = opname.rpartition("/")
        namespace = rtype.split("/")[0]
        event_id = _guid(f"{self.seed}:{e[_SEQ][0]}:{e[_SEQ][1]}")
        status = e[_STATUS]
        http = e[_HTTP]
        failed = status == "Failed"
        stamp = iso(epoch, e[_T])
        view: dict[str, Any] = {
            "authorization": {"action": opname, "scope": e[_RID]},
            "caller": e[_CALLER],
            "channels": "Operation",
            "claims": {},
            "correlationId": e[_CORR],
            "description": "",
            "eventDataId": event_id,
            "eventName": {"value": "BeginRequest" if status == "Started" else "EndRequest",
                          "localizedValue": "Begin request" if status == "Started" else "End request"},
            "category": {"value": "Administrative", "localizedValue": "Administrative"},
            "eventTimestamp": stamp,
            "id": f"{e[_RID]}/events/{event_id}/ticks/{int(e[_T] * 10_000_000)}",
            "level": "Error" if failed else "Informational",
            "operationId": e[_OPID],
            "operationName": {"value": opname, "localizedValue": _localized(rtype, action)},
            "resourceGroupName": e[_RG],
            "resourceProviderName": {"value": namespace, "localizedValue": namespace},
            "resourceType": {"value": rtype, "localizedValue": rtype},
            "resourceId": e[_RID],
            "status": {"value": status, "localizedValue": status},
            "subStatus": {"value": "", "localizedValue": ""},
            "submissionTimestamp": stamp,
            "subscriptionId": e[_SUB],
            "tenantId": TENANT_ID,
            "properties": {},
        }
        if http is not None:
            phrase = reason(http)
            view["subStatus"] = {"value": phrase, "localizedValue": f"{phrase} (HTTP Status Code: {http})"}
            view["properties"]["statusCode"] = phrase
        if e[_ERROR] is not None:
            view["properties"]["statusMessage"] = json.dumps({"error": e[_ERROR]})
        return view

    def to_json(self) -> list[Any]:
        return [list(e) if isinstance(e, tuple) else {"op": e.id} for e in self.events]

    @classmethod
    def from_json(cls, data: list[Any], seed: int, operations: dict[str, Any]) -> ActivityLog:
        log = cls(seed)
        for e in data:
            if isinstance(e, dict):
                op = operations.get(e["op"])
                if op is not None:
                    log.events.append(op)
            else:
                log.events.append(tuple(e))
        return log


def _group_of(resource_id: str) -> str | None:
    parts = resource_id.split("/", 5)
    return parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else None


def _localized(rtype: str, action: str) -> str:
    leaf = singular(rtype.rsplit("/", 1)[-1])
    words = "".join(" " + c if c.isupper() else c for c in leaf[:1].upper() + leaf[1:]).strip()
    verb = {"write": "Create or Update", "delete": "Delete", "action": "Action"}.get(action, action)
    return f"{verb} {words}"


def _guid(text: str) -> str:
    h = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
