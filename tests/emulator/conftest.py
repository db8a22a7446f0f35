"""Fixtures for the emulator's HTTP and SDK tests: an in-process emulator on loopback and clients.

The azure-mgmt packages are test dependencies; tests that need one skip when it is missing.
"""

from __future__ import annotations

import pytest

from armguard.emulator import Emulator

CALLER = "tester@contoso.com"


@pytest.fixture
def arm(ca_dir):
    """An emulator at 1/100 of real time: a 20-second operation takes 0.2 s."""
    with Emulator(time_scale=0.01, seed=1, ca_dir=ca_dir, caller=CALLER) as emulator:
        yield emulator


@pytest.fixture
def fast_arm(ca_dir):
    """An emulator at 1/1000 of real time, for whole deployments (a 6-minute hub takes 0.36 s)."""
    with Emulator(time_scale=0.001, seed=1, ca_dir=ca_dir, caller=CALLER) as emulator:
        yield emulator


def sdk_client(module: str, name: str, arm: Emulator, *, subscription: bool = True):
    cls = getattr(pytest.importorskip(module), name)
    args = (arm.credential, arm.subscription_id) if subscription else (arm.credential,)
    return cls(*args, **arm.client_kwargs())


@pytest.fixture
def resources(arm):
    with sdk_client("azure.mgmt.resource.resources", "ResourceManagementClient", arm) as client:
        yield client


@pytest.fixture
def locks(arm):
    with sdk_client("azure.mgmt.resource.locks", "ManagementLockClient", arm) as client:
        yield client


@pytest.fixture
def monitor(arm):
    with sdk_client("azure.mgmt.monitor", "MonitorManagementClient", arm) as client:
        yield client


@pytest.fixture
def subscriptions(arm):
    with sdk_client("azure.mgmt.resource.subscriptions", "SubscriptionClient", arm, subscription=False) as client:
        yield client


@pytest.fixture
def deployments(fast_arm):
    with sdk_client("azure.mgmt.resource.deployments", "DeploymentsMgmtClient", fast_arm) as client:
        yield client


@pytest.fixture
def fast_resources(fast_arm):
    with sdk_client("azure.mgmt.resource.resources", "ResourceManagementClient", fast_arm) as client:
        yield client


@pytest.fixture
def raw(arm):
    """A plain-http client on the emulator's http listener (no TLS, no SDK)."""
    httpx = pytest.importorskip("httpx")
    with httpx.Client(base_url=arm.http_endpoint, timeout=10) as client:
        yield client
