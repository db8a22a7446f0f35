"""Where Resource Manager is and how to reach it: endpoint, CA bundle, credential, subscription.

Every command that talks to Azure builds one `ArmConnection` with `connect(...)`. By default it is
the public cloud with azure-identity's DefaultAzureCredential. `--arm-endpoint URL` (or
`ARMGUARD_ARM_ENDPOINT`) points at another Resource Manager, such as `armguard emulator serve`; then
no Azure login is needed: the credential is a static bearer token (`ARMGUARD_ARM_TOKEN`, else an
unsigned JWT naming `ARMGUARD_CALLER` or the local user, which the emulator records as the caller).
`--ca-bundle PATH` (or `ARMGUARD_CA_BUNDLE`) is the CA certificate that endpoint's TLS chains to.

The subscription is, in order: the option, `AZURE_SUBSCRIPTION_ID`, the az CLI's current account
(`az account show`), and on an overridden endpoint the first subscription it lists.
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from armguard.errors import ArmguardError

PUBLIC_ENDPOINT = "https://management.azure.com"
ENDPOINT_ENV = "ARMGUARD_ARM_ENDPOINT"
CA_BUNDLE_ENV = "ARMGUARD_CA_BUNDLE"
TOKEN_ENV = "ARMGUARD_ARM_TOKEN"
CALLER_ENV = "ARMGUARD_CALLER"
SUBSCRIPTION_ENV = "AZURE_SUBSCRIPTION_ID"
RESOURCES_API_VERSION = "2024-03-01"


class StaticTokenCredential:
    """An azure-core TokenCredential that always returns one bearer token (for emulators)."""

    def __init__(self, token: str):
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(self.token, int(time.time()) + 3600)

    def close(self) -> None:
        pass

    def __enter__(self) -> StaticTokenCredential:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def unsigned_jwt(caller: str) -> str:
    """A JWT with no signature whose `upn` is `caller` (accepted by the emulator, never by Azure)."""

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'upn': caller, 'name': caller})}.x"


def local_caller() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user database entry (some containers)
        user = "armguard"
    return f"{user}@{socket.gethostname()}"


@dataclass
class ArmConnection:
    """One Resource Manager endpoint with its credential; makes azure-mgmt clients and raw GETs."""

    endpoint: str
    credential: Any
    ca_bundle: str | None = None
    overridden: bool = False
    subscription: str | None = None
    _pipeline: Any = field(default=None, repr=False)

    @property
    def scope(self) -> str:
        return self.endpoint.rstrip("/") + "/.default"

    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"base_url": self.endpoint, "credential_scopes": [self.scope]}
        if self.ca_bundle:
            kwargs["connection_verify"] = self.ca_bundle
        return kwargs

    def client(self, cls: type, *, subscription: bool = True, **extra: Any) -> Any:
        """An azure-mgmt client of class `cls` on this endpoint (with the subscription unless told not)."""
        args = (self.credential, self.subscription_id()) if subscription else (self.credential,)
        return cls(*args, **self.client_kwargs(), **extra)

    def subscription_id(self) -> str:
        if self.subscription is None:
            self.subscription = resolve_subscription(self)
        return self.subscription

    def url(self, path_or_url: str) -> str:
        """An absolute URL: a path is resolved against the endpoint; an absolute URL is kept."""
        if urlsplit(path_or_url).scheme:
            return path_or_url
        return urljoin(self.endpoint.rstrip("/") + "/", path_or_url.lstrip("/"))

    def get(self, path_or_url: str, *, api_version: str | None = None) -> RawResponse:
        """GET a URL (a status URI, a resource id with `api_version`) through an authenticated pipeline."""
        from azure.core.rest import HttpRequest

        url = self.url(path_or_url)
        if api_version and "api-version=" not in url:
            url += ("&" if "?" in url else "?") + f"api-version={api_version}"
        request = HttpRequest("GET", url, headers={"Accept": "application/json"})
        response = self._raw_pipeline().send_request(request)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        return RawResponse(response.status_code, dict(response.headers), body, url)

    def _raw_pipeline(self) -> Any:
        if self._pipeline is None:
            from azure.core import PipelineClient
            from azure.core.pipeline import policies

            auth = policies.BearerTokenCredentialPolicy(self.credential, self.scope)
            pipeline_policies = [policies.HeadersPolicy(), policies.UserAgentPolicy("armguard"),
                                 policies.RetryPolicy(retry_total=3, retry_on_status_codes=[]), auth,
                                 policies.ContentDecodePolicy(), policies.NetworkTraceLoggingPolicy()]
            kwargs: dict[str, Any] = {"policies": pipeline_policies}
            if self.ca_bundle:
                kwargs["connection_verify"] = self.ca_bundle
            self._pipeline = PipelineClient(self.endpoint, **kwargs)
        return self._pipeline

    def close(self) -> None:
        if self._pipeline is not None:
            self._pipeline.close()
            self._pipeline = None


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: Any
    url: str

    def header(self, name: str) -> str | None:
        lower = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lower:
                return value
        return None


def connect(*, arm_endpoint: str | None = None, ca_bundle: str | None = None,
            subscription: str | None = None, credential: Any = None) -> ArmConnection:
    """The connection the options and environment describe (see the module doc)."""
    endpoint = arm_endpoint or os.environ.get(ENDPOINT_ENV) or None
    overridden = endpoint is not None
    endpoint = (endpoint or PUBLIC_ENDPOINT).rstrip("/")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ArmguardError(f"--arm-endpoint: not an http(s) URL: {endpoint!r}")
    bundle = ca_bundle or os.environ.get(CA_BUNDLE_ENV) or None
    if bundle is not None and not Path(bundle).is_file():
        raise ArmguardError(f"--ca-bundle: no such file: {bundle}")
    if credential is None:
        if overridden:
            credential = StaticTokenCredential(os.environ.get(TOKEN_ENV)
                                               or unsigned_jwt(os.environ.get(CALLER_ENV) or local_caller()))
        else:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
    return ArmConnection(endpoint, credential, bundle, overridden, subscription or None)


def resolve_subscription(conn: ArmConnection) -> str:
    env = os.environ.get(SUBSCRIPTION_ENV)
    if env:
        return env
    from_az = az_cli_subscription()
    if from_az and not conn.overridden:
        return from_az
    if conn.overridden:
        response = conn.get("/subscriptions", api_version="2022-12-01")
        values = (response.body or {}).get("value") or [] if isinstance(response.body, dict) else []
        if response.status == 200 and values:
            return values[0]["subscriptionId"]
    if from_az:
        return from_az
    raise ArmguardError("no subscription: pass --subscription, set AZURE_SUBSCRIPTION_ID, or log in with "
                        "`az login`")


def az_cli_subscription() -> str | None:
    az = shutil.which("az")
    if az is None:
        return None
    try:
        done = subprocess.run([az, "account", "show", "--query", "id", "-o", "tsv"], capture_output=True,
                              text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value else None


def describe_transport_error(conn: ArmConnection, error: BaseException) -> str:
    """One line for an endpoint that cannot be reached (DNS, refused, TLS)."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    hint = ""
    if "CERTIFICATE_VERIFY_FAILED" in str(error) or "SSL" in type(error).__name__:
        hint = " (TLS verification failed: pass --ca-bundle with the endpoint's CA certificate)"
    return f"cannot reach Resource Manager at {conn.endpoint}: {text}{hint}"
