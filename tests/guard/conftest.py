"""Azurite (the Azure Storage emulator) for the blob lock tests: fixtures `azurite_blob` (one
instance per session) and `azurite_blob_factory` (private instances a test may stop).

The binary is `node_modules/.bin/azurite-blob` in the repository root (`.ci/run` installs it with
npm) or `azurite-blob` on PATH. Without either the blob tests fail, saying how to install it.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_ACCOUNT = "armguardlocks"


def azurite_binary() -> str | None:
    local = REPO_ROOT / "node_modules" / ".bin" / ("azurite-blob.cmd" if os.name == "nt" else "azurite-blob")
    if local.exists():
        return str(local)
    return shutil.which("azurite-blob")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AzuriteBlob:
    """A running Azurite blob service on loopback, with its own account and a random key."""

    process: subprocess.Popen[bytes]
    port: int
    location: Path
    account: str
    key: str

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.account}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
                f"BlobEndpoint={self.endpoint};")

    def env(self) -> dict[str, str]:
        """Environment for `armguard lock run` against this instance."""
        env = dict(os.environ)
        env.pop("ARMGUARD_BLOB_ENDPOINT", None)
        env["AZURE_STORAGE_CONNECTION_STRING"] = self.connection_string
        return env

    def backend(self, container: str) -> str:
        return f"blob://{self.account}/{container}"

    def service_client(self):  # a separate client, as another party would have
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)

    def wait_ready(self, timeout: float = 30.0) -> None:
        if not wait_ready(self, timeout):
            raise RuntimeError("Azurite did not start: "
                               + (self.location / "azurite.log").read_text(errors="replace")[-2000:])

    def stop(self) -> None:
        """Stops it at once (SIGKILL): a graceful stop waits out clients' keep-alive connections."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def launch_azurite_blob(location: Path) -> AzuriteBlob:
    """Starts Azurite on a free loopback port without waiting for it (see `wait_ready`)."""
    binary = azurite_binary()
    assert binary is not None
    key = base64.b64encode(os.urandom(32)).decode()
    env = dict(os.environ, AZURITE_ACCOUNTS=f"{AZURITE_ACCOUNT}:{key}")
    port = _free_port()
    location.mkdir(parents=True, exist_ok=True)
    with open(location / "azurite.log", "wb") as log:
        proc = subprocess.Popen(
            [binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(location),
             "--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return AzuriteBlob(proc, port, location, AZURITE_ACCOUNT, key)


def wait_ready(instance: AzuriteBlob, timeout: float = 30.0) -> bool:
    """True once it answers HTTP; False if it exited or did not answer in time (then stopped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and instance.process.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{instance.port}/{instance.account}?comp=list", timeout=2)
            return True
        except urllib.error.HTTPError:
            return True  # any HTTP answer (403: unsigned request) means it is serving
        except OSError:
            time.sleep(0.1)
    instance.stop()
    return False


def start_azurite_blob(location: Path) -> AzuriteBlob:
    last_error = ""
    for attempt in range(3):  # the free port may be taken between choosing and binding it
        instance = launch_azurite_blob(location / str(attempt))
        if wait_ready(instance):
            return instance
        last_error = (instance.location / "azurite.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"Azurite did not start: {last_error}")


def _require_azurite() -> None:
    reason = None
    if azurite_binary() is None:
        reason = ("Azurite not installed: run `npm install --no-save azurite` in the repository root "
                  "(.ci/run does), or put azurite-blob on PATH")
    else:
        try:
            import azure.storage.blob  # noqa: F401
        except ImportError:
            reason = "azure-storage-blob is not installed"
    if reason is not None:
        pytest.fail(f"{reason}; the blob lock tests need it (`bash .ci/run` installs everything)")


@pytest.fixture(scope="session")
def azurite_blob(tmp_path_factory: pytest.TempPathFactory):
    """One Azurite blob service for the session."""
    _require_azurite()
    instance = start_azurite_blob(tmp_path_factory.mktemp("azurite"))
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def azurite_blob_factory(tmp_path: Path):
    """Starts private Azurite instances (which a test may stop); all are stopped afterwards."""
    _require_azurite()
    started: list[AzuriteBlob] = []

    def start(wait: bool = True) -> AzuriteBlob:
        """wait=False: return at once; call `wait_ready(instance)` before using it."""
        location = tmp_path / f"azurite{len(started)}"
        instance = start_azurite_blob(location) if wait else launch_azurite_blob(location)
        started.append(instance)
        return instance

    try:
        yield start
    finally:
        for instance in started:
            instance.stop()


# -- the ARM emulator, for the run-time guard (wait, retry policy, retry, deploy) -----------------

CALLER = "pipeline@contoso.com"


@pytest.fixture
def arm(ca_dir):
    """An emulator at 1/1000 of real time: a 6-minute hub takes 0.36 s."""
    from armguard.emulator import Emulator

    with Emulator(time_scale=0.001, seed=1, ca_dir=ca_dir, caller=CALLER) as emulator:
        yield emulator


@pytest.fixture
def arm_env(arm, monkeypatch):
    """Point armguard's commands at the emulator through the environment, as users do."""
    monkeypatch.setenv("ARMGUARD_ARM_ENDPOINT", arm.endpoint)
    monkeypatch.setenv("ARMGUARD_CA_BUNDLE", arm.ca_bundle)
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", arm.subscription_id)
    return arm
