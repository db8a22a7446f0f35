"""The emulator's HTTP face: a plain ASGI app (served by uvicorn) over an `ArmState`.

Every request goes through the same steps: bearer-token check (401 `AuthenticationFailed` /
`InvalidAuthenticationToken` when `--token` is set), `api-version` (400
`MissingApiVersionParameter`), the route (404 `InvalidResourceType` when unknown), the JSON body
(400 `InvalidRequestContent`), then the handler under the state's lock. Every answer carries
`x-ms-request-id`, `x-ms-correlation-request-id` (the client's, when it sent one) and
`x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}` and a `Date` in emulated time; every 4xx/5xx body is
`{"error": {"code", "message", ...}}`, with `Retry-After` when the error says when to retry.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote_plus

from armguard.emulator.clock import http_date
from armguard.emulator.errors import ArmError
from armguard.emulator.http_calls import Call, Reply
from armguard.emulator.http_filter import FilterError
from armguard.emulator.http_handlers import ArmHandlers
from armguard.emulator.http_identity import CALLER_HEADER, DEFAULT_CALLER, caller_of, check_token
from armguard.emulator.http_routes import Route, match_route
from armguard.emulator.http_shapes import (
    DEFAULT_TENANT,
    RateLimitBuckets,
    error_retry_headers,
)

if TYPE_CHECKING:
    from armguard.emulator.state import ArmState

log = logging.getLogger("armguard.emulator")

MUTATING = frozenset({"PUT", "PATCH", "POST", "DELETE"})
JSON_TYPE = "application/json; charset=utf-8"
RATE_KIND = {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}
RATE_HEADER = {kind: f"x-ms-ratelimit-remaining-subscription-{kind}" for kind in ("reads", "writes", "deletes")}


@functools.lru_cache(maxsize=4096)
def cached_route(path: str) -> Route:
    return match_route(path)


class ArmApp:
    """ASGI application serving Resource Manager routes from one `ArmState`.

    `lock` guards the state (share it with code that reads the state from another thread);
    `on_change` is called after every successful write (the server uses it to persist).
    """

    def __init__(self, state: ArmState, *, token: str | None = None, default_caller: str = DEFAULT_CALLER,
                 tenant_id: str = DEFAULT_TENANT,
                 lock: threading.RLock | None = None, on_change: Callable[[], None] | None = None):
        self.state = state
        self.token = token
        self.default_caller = default_caller
        self.lock = lock or threading.RLock()
        self.on_change = on_change
        self.handlers = ArmHandlers(state, tenant_id=tenant_id)
        self.rate_limits = RateLimitBuckets()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope["method"]
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        body = await read_body(receive) if method in MUTATING else b""
        host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("127.0.0.1", 80)))
        answer = self.respond(method, scope["path"], scope["query_string"].decode("latin-1"), headers, body,
                              f"{scope['scheme']}://{host}")
        await send({"type": "http.response.start", "status": answer.status, "headers": answer.raw_headers()})
        await send({"type": "http.response.body", "body": answer.body})

    def respond(self, method: str, path: str, query_string: str, headers: Mapping[str, str], body: bytes,
                base_url: str) -> Answer:
        """The answer to one request (synchronous; tests may call it without a socket)."""
        request_id = new_request_id()
        correlation_id = headers.get("x-ms-correlation-request-id") or request_id
        route = cached_route(path)
        try:
            reply = self._reply(method, query_string, headers, body, base_url, route, correlation_id)
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
        clock = self.state.clock
        out["Date"] = http_date(clock.epoch, clock.now())
        kind = RATE_KIND.get(method, "writes")
        out[RATE_HEADER[kind]] = str(self.rate_limits.take(route.subscription or "", kind))
        if reply.body is None or method == "HEAD":
            return Answer(reply.status, out, b"")
        out["Content-Type"] = JSON_TYPE
        return Answer(reply.status, out, encode_json(reply.body).encode())

    def _reply(self, method: str, query_string: str, headers: Mapping[str, str], body: bytes, base_url: str,
               route: Route, correlation_id: str) -> Reply:
        authorization = headers.get("authorization")
        failure = check_token(authorization, self.token)
        if failure is not None:
            return Reply(401, {"error": {"code": failure.code, "message": failure.message}},
                         {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
                                              f'error="invalid_token", error_description="{failure.message}"'})
        query = parse_query(query_string)
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
            headers = error_retry_headers(self.state.clock.to_real(float(error.retry_after)))
        return Reply(error.status, error.body(), headers)


@dataclass(slots=True)
class Answer:
    """A response: status, headers and body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        raw = [(name.lower().encode("latin-1"), header_bytes(value)) for name, value in self.headers.items()]
        raw.append((b"content-length", str(len(self.body)).encode()))
        return raw

    def json(self) -> object:
        return json.loads(self.body) if self.body else None


def header_bytes(value: str) -> bytes:
    """A header value as bytes; URLs naming non-Latin-1 resource names are percent-encoded."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return quote(value, safe=":/?&=%#@!$'()*+,;~").encode("ascii")


encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_random_bits = random.Random().getrandbits


def new_request_id() -> str:
    """A random version-4 UUID string (request ids need no cryptographic strength)."""
    h = f"{_random_bits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def parse_query(query_string: str) -> dict[str, str]:
    """The query parameters (last one wins); percent-decoding only where needed."""
    out: dict[str, str] = {}
    if not query_string:
        return out
    for part in query_string.split("&"):
        name, _, value = part.partition("=")
        if "%" in part or "+" in part:
            name, value = unquote_plus(name), unquote_plus(value)
        if name:
            out[name] = value
    return out


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


async def read_body(receive) -> bytes:
    """The whole request body from ASGI `http.request` messages."""
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body"):
        return body
    chunks = [body]
    while message.get("more_body"):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
