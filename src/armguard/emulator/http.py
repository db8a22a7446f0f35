"""The emulator's HTTP face: an ASGI app (Starlette requests and responses) over an `ArmState`.

Every request goes through the same steps: bearer-token check (401 `AuthenticationFailed` /
`InvalidAuthenticationToken` when `--token` is set), `api-version` (400
`MissingApiVersionParameter`), the route (404 `InvalidResourceType` when unknown), the JSON body
(400 `InvalidRequestContent`), then the handler under the state's lock. Every answer carries
`x-ms-request-id`, `x-ms-correlation-request-id` (the client's, when it sent one) and
`x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}`; every 4xx/5xx body is
`{"error": {"code", "message", ...}}`, with `Retry-After` when the error says when to retry.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from armguard.emulator.errors import ArmError
from armguard.emulator.http_filter import FilterError
from armguard.emulator.http_handlers import ArmHandlers, Call, Reply
from armguard.emulator.http_identity import CALLER_HEADER, DEFAULT_CALLER, caller_of, check_token
from armguard.emulator.http_routes import Route, match_route
from armguard.emulator.http_shapes import (
    DEFAULT_SUBSCRIPTION,
    DEFAULT_TENANT,
    RateLimitBuckets,
    retry_after_value,
)

if TYPE_CHECKING:
    from armguard.emulator.state import ArmState

log = logging.getLogger("armguard.emulator")

MUTATING = frozenset({"PUT", "PATCH", "POST", "DELETE"})
JSON_TYPE = "application/json; charset=utf-8"
RATE_KIND = {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}


@functools.lru_cache(maxsize=4096)
def cached_route(path: str) -> Route:
    return match_route(path)


class ArmApp:
    """ASGI application serving Resource Manager routes from one `ArmState`.

    `lock` guards the state (share it with code that reads the state from another thread);
    `on_change` is called after every successful write (the server uses it to persist).
    """

    def __init__(self, state: ArmState, *, token: str | None = None, default_caller: str = DEFAULT_CALLER,
                 subscriptions: tuple[str, ...] = (DEFAULT_SUBSCRIPTION,), tenant_id: str = DEFAULT_TENANT,
                 lock: threading.RLock | None = None, on_change: Callable[[], None] | None = None):
        self.state = state
        self.token = token
        self.default_caller = default_caller
        self.lock = lock or threading.RLock()
        self.on_change = on_change
        self.handlers = ArmHandlers(state, subscriptions=subscriptions, tenant_id=tenant_id)
        self.rate_limits = RateLimitBuckets()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        method = request.method
        body = await request.body() if method in MUTATING else b""
        host = request.headers.get("host") or "{}:{}".format(*(scope.get("server") or ("127.0.0.1", 80)))
        response = self.respond(method, scope["path"], scope.get("query_string", b"").decode("latin-1"),
                                request.headers, body, f"{scope.get('scheme', 'http')}://{host}")
        await response(scope, receive, send)

    def respond(self, method: str, path: str, query_string: str, headers: Mapping[str, str], body: bytes,
                base_url: str) -> Response:
        """The response to one request (synchronous; safe to call from tests without a socket)."""
        request_id = str(uuid.uuid4())
        correlation_id = headers.get("x-ms-correlation-request-id") or request_id
        route = cached_route(path)
        try:
            reply = self._reply(method, path, query_string, headers, body, base_url, route, correlation_id)
        except ArmError as error:
            reply = self._error_reply(error)
        except FilterError as error:
            reply = Reply(400, {"error": {"code": "InvalidFilter", "message": str(error)}})
        except Exception as error:  # a bug in the emulator: answer like ARM would, and log it
            log.exception("internal error serving %s %s", method, path)
            reply = Reply(500, {"error": {"code": "InternalServerError",
                                          "message": f"The armguard emulator failed: {type(error).__name__}: {error}"}})
        if method in MUTATING and reply.status < 400 and self.on_change is not None:
            self.on_change()
        out = reply.headers
        out["x-ms-request-id"] = request_id
        out["x-ms-correlation-request-id"] = correlation_id
        kind = RATE_KIND.get(method, "writes")
        out[f"x-ms-ratelimit-remaining-subscription-{kind}"] = str(
            self.rate_limits.take(route.subscription or "", kind))
        out["Cache-Control"] = "no-cache"
        if reply.body is None or method == "HEAD":
            return Response(b"", status_code=reply.status, headers=out)
        payload = json.dumps(reply.body, separators=(",", ":"), ensure_ascii=False).encode()
        return Response(payload, status_code=reply.status, headers=out, media_type=JSON_TYPE)

    def _reply(self, method: str, path: str, query_string: str, headers: Mapping[str, str], body: bytes,
               base_url: str, route: Route, correlation_id: str) -> Reply:
        authorization = headers.get("authorization")
        failure = check_token(authorization, self.token)
        if failure is not None:
            return Reply(401, {"error": {"code": failure.code, "message": failure.message}},
                         {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
                                              f'error="invalid_token", error_description="{failure.message}"'})
        query = dict(parse_qsl(query_string, keep_blank_values=True))
        api_version = query.get("api-version") or _lookup_lower(query, "api-version")
        if not api_version:
            raise ArmError(400, "MissingApiVersionParameter",
                           "The api-version query parameter (?api-version=) is required for all requests.")
        parsed = _parse_json(body) if body else None
        call = Call(method=method, route=route, query=query, body=parsed,
                    caller=caller_of(authorization, headers.get(CALLER_HEADER), self.default_caller),
                    correlation_id=correlation_id, base_url=base_url, api_version=api_version)
        with self.lock:
            return self.handlers.handle(call)

    def _error_reply(self, error: ArmError) -> Reply:
        headers: dict[str, str] = {}
        if error.retry_after is not None:
            headers["Retry-After"] = retry_after_value(self.state.clock.to_real(float(error.retry_after)))
        return Reply(error.status, error.body(), headers)


def _parse_json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ArmError(400, "InvalidRequestContent",
                       f"The request content was invalid and could not be deserialized: '{error}'.") from None


def _lookup_lower(query: Mapping[str, str], key: str) -> str | None:
    for name, value in query.items():
        if name.lower() == key:
            return value
    return None


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
