"""`AsyncConflictRetryPolicy`: ConflictRetryPolicy for the `.aio` clients of azure-mgmt.

    from azure.mgmt.resource.resources.aio import ResourceManagementClient
    client = ResourceManagementClient(cred, sub, retry_policy=AsyncConflictRetryPolicy(on_wait=log))

The same decisions as the sync policy; while waiting it polls the status URI the 409 names, else
the request's own resource (or the one the error says is not provisioned) by its provisioningState.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.pipeline.policies import AsyncRetryPolicy
from azure.core.rest import HttpRequest

from armguard.errors import ArmguardError
from armguard.guard.connection import RawResponse
from armguard.guard.errors import ArmErrorInfo
from armguard.guard.policy import CONFLICT_STATUSES, ConflictWaiting, holder_resource
from armguard.guard.probes import operation_observation, resource_observation
from armguard.guard.wait_core import Observation


class AsyncConflictRetryPolicy(ConflictWaiting, AsyncRetryPolicy):
    async def send(self, request: PipelineRequest) -> Any:
        nested = "retry_count" in request.context
        deadline = time.monotonic() + self.conflict_timeout
        conflicts = 0
        while True:
            response = await (self.next.send(request) if nested else super().send(request))
            http = response.http_response
            if http.status_code not in CONFLICT_STATUSES:
                return response
            info = self.conflict_to_wait(http, await _text(http), conflicts, deadline)
            if info is None:
                return response
            conflicts += 1
            await self._wait_out(request, info, conflicts, deadline)

    async def _wait_out(self, request: PipelineRequest, info: ArmErrorInfo, attempt: int, deadline: float) -> None:
        waited_on_something = False
        while time.monotonic() < deadline:
            try:
                obs = await self._look(request, info)
            except ArmguardError:
                break
            self.seen(obs)
            if obs.done:
                break
            waited_on_something = True
            await asyncio.sleep(self.poll_seconds(obs, deadline))
        await asyncio.sleep(self.settle_seconds(waited_on_something, attempt, deadline))

    async def _look(self, request: PipelineRequest, info: ArmErrorInfo) -> Observation:
        original = request.http_request.url
        if info.status_uri:
            return operation_observation(info.status_uri, await self._get(request, info.status_uri))
        resource = holder_resource(info, original)
        query = original.partition("?")[2]
        origin = original.split("/subscriptions/", 1)[0]
        url = origin + resource + (f"?{query}" if query and resource in original else "")
        if "api-version=" not in url:
            url += ("&" if "?" in url else "?") + "api-version=" + _api_version(original)
        return resource_observation(resource, await self._get(request, url))

    async def _get(self, request: PipelineRequest, url: str) -> RawResponse:
        poll = PipelineRequest(HttpRequest("GET", url, headers={"Accept": "application/json"}),
                               PipelineContext(request.context.transport))
        http = (await self.next.send(poll)).http_response
        text = await _text(http)
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        return RawResponse(http.status_code, dict(http.headers), body, url)


def _api_version(url: str) -> str:
    for part in url.partition("?")[2].split("&"):
        if part.lower().startswith("api-version="):
            return part.split("=", 1)[1]
    return "2024-03-01"


async def _text(http_response: Any) -> str | None:
    try:
        await http_response.read()
        return http_response.text()
    except Exception:  # a streamed or undecodable body: not an ARM error we can read
        return None
