"""Who is calling: bearer-token checks and caller identity for the activity log.

The emulator verifies no signatures. With no required token it accepts any bearer token (or none);
with `--token T` only `Authorization: Bearer T` passes. The caller recorded for a write is, in
order: a claim of the bearer token when it is a JWT (`upn`, `unique_name`, `appid`, `oid`, as the
activity log's `caller` field shows a user's UPN or a service principal's application id), else the
`x-ms-caller` request header (an emulator extension for clients with opaque tokens), else the
server's default caller (`--caller`).
"""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass

CALLER_CLAIMS: tuple[str, ...] = ("upn", "unique_name", "appid", "oid")
CALLER_HEADER = "x-ms-caller"
DEFAULT_CALLER = "armguard@emulator.local"  # as the state's default


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """Why a request is refused: ARM's 401 error code and message."""

    code: str
    message: str


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def check_token(authorization: str | None, required: str | None) -> AuthFailure | None:
    """None when the request may proceed; the 401 reason otherwise."""
    if required is None:
        return None
    if not authorization:
        return AuthFailure("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
    token = bearer_token(authorization)
    if token is None:
        return AuthFailure("AuthenticationFailed",
                           "Authentication failed. The 'Authorization' header is provided in an invalid format.")
    if token != required:
        return AuthFailure("InvalidAuthenticationToken", "The access token is invalid.")
    return None


def jwt_claims(token: str) -> dict[str, object] | None:
    """The payload of a JWT (unverified), or None when `token` is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


@functools.lru_cache(maxsize=1024)
def caller_of(authorization: str | None, caller_header: str | None, default: str) -> str:
    """The identity to record for a request (see the module docstring for the order). Cached: a
    client sends the same token many times."""
    token = bearer_token(authorization)
    if token:
        claims = jwt_claims(token)
        if claims:
            for claim in CALLER_CLAIMS:
                value = claims.get(claim)
                if isinstance(value, str) and value:
                    return value
    if caller_header and caller_header.strip():
        return caller_header.strip()
    return default


def unsigned_jwt(claims: dict[str, object]) -> str:
    """An unsigned JWT (`alg: none`) carrying `claims`: the emulator's fake access token."""
    def part(data: dict[str, object]) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


class EmulatorCredential:
    """An azure-core `TokenCredential` handing out a fake JWT for the emulator (far expiry).

    Its claims name `caller` (as `upn` for a user, `appid` for an application id), so the
    activity log records that identity for the client's writes. With `token`, that exact string is
    handed out instead (for a server started with `--token`).
    """

    LIFETIME_SECONDS = 10 * 365 * 24 * 3600

    def __init__(self, caller: str = DEFAULT_CALLER, *, token: str | None = None,
                 tenant_id: str = "72f988bf-0000-0000-0000-00000000a4b1"):
        import time
        import uuid

        self.caller = caller
        self.expires_on = int(time.time()) + self.LIFETIME_SECONDS
        claim = "upn" if "@" in caller else "appid"
        self.token = token or unsigned_jwt({
            "aud": "https://management.azure.com/",
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "tid": tenant_id,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"armguard-emulator:{caller}")),
            claim: caller,
            "exp": self.expires_on,
        })

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: object):
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, self.expires_on)

    def get_token_info(self, *scopes: str, options: object = None):
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(self.token, self.expires_on, token_type="Bearer")

    def close(self) -> None:
        pass

    def __enter__(self) -> EmulatorCredential:
        return self

    def __exit__(self, *exc: object) -> None:
        pass
