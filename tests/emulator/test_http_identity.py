"""Bearer tokens and caller identity."""

from __future__ import annotations

from armguard.emulator.http_identity import (
    EmulatorCredential,
    bearer_token,
    caller_of,
    check_token,
    jwt_claims,
    unsigned_jwt,
)


def test_bearer_token() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token(None) is None
    assert bearer_token("Bearer ") is None


def test_check_token() -> None:
    assert check_token(None, None) is None
    assert check_token("Bearer anything", None) is None
    assert check_token("Bearer s3cret", "s3cret") is None
    assert check_token(None, "s3cret").code == "AuthenticationFailed"
    assert check_token("Basic x", "s3cret").code == "AuthenticationFailed"
    assert check_token("Bearer nope", "s3cret").code == "InvalidAuthenticationToken"


def test_caller_from_jwt_claims_in_order() -> None:
    token = unsigned_jwt({"oid": "object-id", "appid": "app-id", "upn": "ada@contoso.com"})
    assert jwt_claims(token)["upn"] == "ada@contoso.com"
    assert caller_of(f"Bearer {token}", "header-caller", "default") == "ada@contoso.com"
    token = unsigned_jwt({"oid": "object-id", "appid": "app-id"})
    assert caller_of(f"Bearer {token}", None, "default") == "app-id"
    token = unsigned_jwt({"unique_name": "live.com#bob@x.com", "oid": "o"})
    assert caller_of(f"Bearer {token}", None, "default") == "live.com#bob@x.com"


def test_caller_fallbacks() -> None:
    assert caller_of("Bearer opaque-token", "ci-pipeline", "default") == "ci-pipeline"
    assert caller_of("Bearer not.a.jwt", None, "default") == "default"
    assert caller_of(None, "  ", "default") == "default"
    assert jwt_claims("a.b") is None
    assert jwt_claims("a.%%%.c") is None


def test_credential_tokens() -> None:
    cred = EmulatorCredential("ada@contoso.com")
    token = cred.get_token("https://management.azure.com/.default")
    assert jwt_claims(token.token)["upn"] == "ada@contoso.com"
    assert token.expires_on > 2_000_000_000
    assert cred.get_token_info("scope").token == token.token
    assert jwt_claims(EmulatorCredential("11111111-2222-3333-4444-555555555555").token)["appid"]
    assert EmulatorCredential(token="fixed").get_token("x").token == "fixed"
