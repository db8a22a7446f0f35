"""The blob lock backend: one Azure Storage blob per key, locked with a finite lease.

A lease of 15-60 s is acquired on `<container>/<prefix><key>.lock` (the blob and, if allowed, the
container are created when missing) and renewed in a background thread every third of the lease.
A crashed holder stops renewing, so its lease expires and the key frees itself. The holder's
description is written as blob metadata (percent-encoded ASCII) and read by waiters.

The lease is lost, and the handle's `lost` event set, when a renewal is refused (409/412: the
lease was broken, expired and taken, or the blob deleted; 404), or when no renewal has succeeded
for a whole lease period (network errors): from then on another holder may hold the key.

Credentials, first match wins: AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY,
AZURE_STORAGE_SAS_TOKEN, else DefaultAzureCredential (azure-identity; needs the Storage Blob Data
Contributor role on the container). The account URL is https://ACCOUNT.blob.core.windows.net, the
connection string's BlobEndpoint, or the endpoint override (`--blob-endpoint` /
ARMGUARD_BLOB_ENDPOINT, `{account}` is replaced) for Azurite and sovereign clouds.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
import uuid
from typing import Any
from urllib.parse import quote, unquote

from armguard.guard.locks import (
    BackendUnavailable,
    HolderInfo,
    LockError,
    key_file_name,
)

_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
_META_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in "%")
_META_MAX = 1024
#: error codes of a renewal that mean the lease is not ours any more
_LEASE_GONE = {"LeaseIdMismatchWithLeaseOperation", "LeaseNotPresentWithLeaseOperation", "LeaseLost",
               "LeaseIsBrokenAndCannotBeRenewed", "LeaseIsBreakingAndCannotBeChanged",
               "LeaseAlreadyBroken", "LeaseIsAlreadyBroken", "BlobNotFound", "ContainerNotFound"}


def _first_line(text: object) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return lines[0] if lines else type(text).__name__


def _http_error_text(e: Exception) -> str:
    status = getattr(e, "status_code", None)
    code = getattr(e, "error_code", None)
    code = getattr(code, "value", code)
    head = " ".join(str(x) for x in (status, code) if x)
    msg = _first_line(getattr(e, "reason", None) or e)
    if code and msg.startswith(str(code)):
        return head
    return f"{head} {msg}".strip() if head else msg


def encode_metadata(holder: HolderInfo, key: str) -> dict[str, str]:
    """Holder metadata as valid blob metadata: C#-identifier names, ASCII header values."""
    fields = {"lock_key": key, "host": holder.host, "pid": str(holder.pid), "user": holder.user,
              "command": holder.command, "ci_run_url": holder.ci_run_url or "",
              "started_at": holder.started_at, "token": holder.token}
    for name, value in holder.extra.items():
        safe = re.sub(r"[^A-Za-z0-9_]", "_", name)
        if safe and not safe[0].isdigit():
            fields.setdefault(f"x_{safe}", value)
    return {k: _encode_value(v) for k, v in fields.items() if v}


def _encode_value(value: str) -> str:
    """Percent-encoded ASCII without leading or trailing blanks (HTTP would trim them)."""
    text = quote(value[:_META_MAX], safe=_META_SAFE)
    stripped = text.strip(" ")
    lead = len(text) - len(text.lstrip(" "))
    trail = len(text) - len(text.rstrip(" "))
    if not stripped:
        return "%20" * len(text)
    return "%20" * lead + stripped + "%20" * trail


def decode_metadata(meta: dict[str, str] | None) -> HolderInfo | None:
    if not meta:
        return None
    data = {k.lower(): unquote(v) for k, v in meta.items()}
    extra = {k[2:]: v for k, v in data.items() if k.startswith("x_")}
    return HolderInfo.from_dict({**data, "extra": extra})


def _parse_connection_string(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if sep and name.strip():
            out[name.strip().lower()] = value.strip()
    return out


class BlobLease:
    def __init__(self, blob: Any, lease: Any, duration: int, sent: float, key: str):
        self.blob = blob
        self.lease = lease
        self.duration = duration
        self.key = key
        self.lost = threading.Event()
        self.lost_reason: str | None = None
        self.last_error: str | None = None
        self.renewals = 0
        self._deadline = sent + duration
        self._stop = threading.Event()
        self._released = False
        self._renewer = threading.Thread(target=self._renew_loop, name=f"armguard-lease-renew:{key}",
                                         daemon=True)
        self._watchdog = threading.Thread(target=self._watch, name=f"armguard-lease-watch:{key}",
                                          daemon=True)

    def start(self) -> None:
        self._renewer.start()
        self._watchdog.start()

    def _lose(self, reason: str) -> None:
        if not self.lost.is_set():
            self.lost_reason = reason
            self.lost.set()
        self._stop.set()

    def _renew_loop(self) -> None:
        from azure.core.exceptions import HttpResponseError

        interval = self.duration / 3
        next_at = time.monotonic() + interval
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            sent = time.monotonic()
            try:
                self.lease.renew()
            except HttpResponseError as e:
                status = getattr(e, "status_code", None)
                code = getattr(e, "error_code", None)
                if status in (404, 409, 412) or getattr(code, "value", code) in _LEASE_GONE:
                    self._lose(f"the lease renewal was refused ({_http_error_text(e)})")
                    return
                self.last_error = _http_error_text(e)
                next_at = time.monotonic() + min(2.0, interval)
            except Exception as e:  # network errors: retry until the watchdog gives up
                self.last_error = _first_line(e)
                next_at = time.monotonic() + min(2.0, interval)
            else:
                self.renewals += 1
                self.last_error = None
                # The server started the new period no earlier than we sent the request.
                self._deadline = sent + self.duration
                next_at = sent + interval

    def _watch(self) -> None:
        while not self._stop.is_set():
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                self._lose(f"the lease could not be renewed for {self.duration}s "
                           f"({self.last_error or 'no answer'}); it may have expired")
                return
            self._stop.wait(min(remaining, 0.25))

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._stop.set()
        self._renewer.join(timeout=5)
        self._watchdog.join(timeout=1)
        if not self.lost.is_set():
            # Leave no stale holder behind: a free blob shows no holder.
            with contextlib.suppress(Exception):
                self.blob.set_blob_metadata({"lock_key": _encode_value(self.key)}, lease=self.lease)
        # Releasing with our lease id cannot release anyone else's lease: the service refuses.
        with contextlib.suppress(Exception):
            self.lease.release()


class BlobBackend:
    poll_initial = 0.5
    poll_max = 2.0

    def __init__(self, account: str, container: str, prefix: str = "", *, endpoint: str | None = None,
                 create_container: bool = True, env: dict[str, str] | None = None):
        self.account = account
        self.container_name = container
        self.prefix = prefix
        self.endpoint = endpoint
        self.create_container = create_container
        self.env = dict(os.environ if env is None else env)
        self.account_url, self._credential, self._auth = self._resolve_credentials()
        self.identity = f"blob:{self.account_url.rstrip('/').lower()}/{container}/{prefix}"
        self._service: Any = None
        self._container: Any = None
        # One lease id per acquisition (holder token), so a retried acquire whose first answer was
        # lost in transit finds the lease already ours instead of waiting for it to expire.
        self._lease_ids: dict[str, str] = {}

    @classmethod
    def from_url(cls, url: str, rest: str, *, endpoint: str | None = None,
                 create_container: bool = True) -> BlobBackend:
        parts = rest.split("/", 2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise LockError(f"bad blob lock backend {url!r}: use blob://ACCOUNT/CONTAINER[/PREFIX]")
        account, container = parts[0], parts[1]
        prefix = parts[2] if len(parts) > 2 else ""
        if not _ACCOUNT.match(account):
            raise LockError(f"bad blob lock backend {url!r}: storage account names are 3-24 lower-case "
                            "letters and digits")
        if not _CONTAINER.match(container):
            raise LockError(f"bad blob lock backend {url!r}: container names are 3-63 lower-case letters, "
                            "digits and single hyphens")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if endpoint is not None:
            ep = endpoint.strip()
            if not re.match(r"^https?://[^/\s]+", ep):
                raise LockError(f"bad blob endpoint {endpoint!r}: use http(s)://HOST[:PORT][/PATH]")
        return cls(account, container, prefix, endpoint=endpoint, create_container=create_container)

    def _resolve_credentials(self) -> tuple[str, Any, str]:
        env = self.env
        override = self.endpoint.strip().replace("{account}", self.account).rstrip("/") if self.endpoint else None
        default_url = f"https://{self.account}.blob.core.windows.net"
        conn = env.get("AZURE_STORAGE_CONNECTION_STRING", "").strip()
        if conn:
            cs = _parse_connection_string(conn)
            name = cs.get("accountname")
            if name and name.lower() != self.account:
                raise LockError(f"AZURE_STORAGE_CONNECTION_STRING is for storage account {name!r}, "
                                f"but the lock backend names {self.account!r}")
            url = override or cs.get("blobendpoint", "").rstrip("/")
            if not url:
                suffix = cs.get("endpointsuffix", "core.windows.net")
                url = f"{cs.get('defaultendpointsprotocol', 'https')}://{self.account}.blob.{suffix}"
            if cs.get("accountkey"):
                return url, {"account_name": self.account, "account_key": cs["accountkey"]}, "connection string"
            if cs.get("sharedaccesssignature"):
                return url, cs["sharedaccesssignature"], "connection string (SAS)"
            raise LockError("AZURE_STORAGE_CONNECTION_STRING has neither AccountKey nor SharedAccessSignature")
        url = override or default_url
        if env.get("AZURE_STORAGE_KEY", "").strip():
            return url, {"account_name": self.account, "account_key": env["AZURE_STORAGE_KEY"].strip()}, \
                "AZURE_STORAGE_KEY"
        if env.get("AZURE_STORAGE_SAS_TOKEN", "").strip():
            return url, env["AZURE_STORAGE_SAS_TOKEN"].strip().lstrip("?"), "AZURE_STORAGE_SAS_TOKEN"
        return url, None, "DefaultAzureCredential"

    def describe(self) -> str:
        return f"blob://{self.account}/{self.container_name}" + (f"/{self.prefix}" if self.prefix else "")

    # -- clients

    def _container_client(self) -> Any:
        if self._container is None:
            try:
                from azure.storage.blob import BlobServiceClient, LinearRetry
            except ImportError as e:
                raise LockError("the blob lock backend needs azure-storage-blob "
                                "(pip install azure-storage-blob azure-identity)") from e
            credential = self._credential
            if credential is None:
                try:
                    from azure.identity import DefaultAzureCredential
                except ImportError as e:
                    raise LockError("no storage credentials: set AZURE_STORAGE_CONNECTION_STRING, or install "
                                    "azure-identity for DefaultAzureCredential") from e
                credential = DefaultAzureCredential()
            # Two quick retries (connection resets, 5xx, 408) rather than the SDK's default of
            # three after 15 s, 60 s...: a renewal must never stall for a lease period. Every call
            # made here is idempotent (acquiring again with our own lease id succeeds).
            retry = LinearRetry(backoff=0.5, retry_total=2, random_jitter_range=0.25)  # type: ignore[arg-type]
            self._service = BlobServiceClient(self.account_url, credential=credential, retry_policy=retry,
                                              connection_timeout=5, read_timeout=10)
            self._container = self._service.get_container_client(self.container_name)
        return self._container

    def blob_name(self, key: str) -> str:
        return f"{self.prefix}{key_file_name(key)}.lock"

    def _fatal(self, e: Exception, doing: str) -> LockError:
        return LockError(f"{doing} on {self.describe()} ({self.account_url}) failed "
                         f"[{self._auth}]: {_http_error_text(e)}")

    # -- Backend protocol

    def prepare(self) -> None:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceExistsError,
            ResourceNotFoundError,
        )

        container = self._container_client()
        try:
            container.get_container_properties()
            return
        except ResourceNotFoundError:
            pass
        except ClientAuthenticationError as e:
            raise self._fatal(e, "authenticating") from e
        except HttpResponseError as e:
            raise self._fatal(e, "reading the container") from e
        except Exception as e:
            raise LockError(f"cannot reach {self.account_url} for lock backend {self.describe()}: "
                            f"{_first_line(e)}") from e
        if not self.create_container:
            raise LockError(f"container {self.container_name!r} does not exist in storage account "
                            f"{self.account!r} (create it, or allow armguard to)")
        try:
            container.create_container()
        except ResourceExistsError:
            pass
        except HttpResponseError as e:
            raise self._fatal(e, f"creating the missing container {self.container_name!r}") from e
        except Exception as e:
            raise LockError(f"cannot reach {self.account_url}: {_first_line(e)}") from e

    def try_acquire(self, key: str, holder: HolderInfo, lease_seconds: int) -> BlobLease | None:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
        )
        from azure.storage.blob import BlobLeaseClient

        blob = self._container_client().get_blob_client(self.blob_name(key))
        lease_id = self._lease_ids.setdefault(holder.token or str(uuid.uuid4()), str(uuid.uuid4()))
        lease = BlobLeaseClient(blob, lease_id=lease_id)
        for attempt in range(2):
            sent = time.monotonic()
            try:
                lease.acquire(lease_duration=lease_seconds)
                break
            except ResourceNotFoundError as e:
                if attempt or getattr(e, "error_code", None) == "ContainerNotFound":
                    raise BackendUnavailable(_http_error_text(e)) from e
                self._create_blob(blob, key)
            except ClientAuthenticationError as e:
                raise self._fatal(e, "acquiring the lease") from e
            except HttpResponseError as e:
                if e.status_code == 409:
                    return None  # LeaseAlreadyPresent, or a breaking lease
                if e.status_code in (401, 403):
                    raise self._fatal(e, "acquiring the lease") from e
                raise BackendUnavailable(_http_error_text(e)) from e
            except Exception as e:
                raise BackendUnavailable(_first_line(e)) from e
        self._lease_ids.pop(holder.token, None)
        held = BlobLease(blob, lease, lease_seconds, sent, key.strip())
        try:
            held.start()
            # Informational: a failure here leaves the lock held, shown as "holder unknown".
            for _ in range(2):
                try:
                    blob.set_blob_metadata(encode_metadata(holder, key.strip()), lease=lease)
                    break
                except Exception:
                    time.sleep(0.2)
        except BaseException:  # interrupted: never leave a lease renewing itself behind
            held.release()
            raise
        return held

    def _create_blob(self, blob: Any, key: str) -> None:
        from azure.core.exceptions import HttpResponseError

        try:
            blob.upload_blob(b"", overwrite=False, metadata={"lock_key": _encode_value(key.strip())})
        except HttpResponseError as e:
            if e.status_code not in (409, 412):  # created by someone else meanwhile
                raise

    def read_holder(self, key: str) -> HolderInfo | None:
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        blob = self._container_client().get_blob_client(self.blob_name(key))
        try:
            props = blob.get_blob_properties()
        except ResourceNotFoundError:
            return None
        except HttpResponseError as e:
            raise BackendUnavailable(_http_error_text(e)) from e
        except Exception as e:
            raise BackendUnavailable(_first_line(e)) from e
        if props.lease.state not in ("leased", "breaking"):
            return None
        return decode_metadata(props.metadata)
