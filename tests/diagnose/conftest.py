"""Emulators over real HTTPS on loopback, official SDK clients, and `armguard diagnose` through its CLI."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner

from armguard.cli import cli
from armguard.emulator import Emulator

pytest.importorskip("azure.mgmt.resource.deployments")
pytest.importorskip("azure.mgmt.resource.locks")
pytest.importorskip("azure.mgmt.monitor")

NET = "2024-05-01"
VNET_BODY = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}
NO_POLLING = {"polling": False}  # start long-running writes and leave them running: no poller thread


@dataclass
class Arm:
    """An emulator with the SDK clients of one scenario's caller."""

    emulator: Emulator
    resources: Any
    deployments: Any
    locks: Any

    @property
    def subscription(self) -> str:
        return self.emulator.subscription_id

    def group_id(self, group: str) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{group}"

    def vnet_id(self, group: str, name: str = "vnet1") -> str:
        return f"{self.group_id(group)}/providers/Microsoft.Network/virtualNetworks/{name}"

    def deployment_id(self, group: str, name: str) -> str:
        return f"{self.group_id(group)}/providers/Microsoft.Resources/deployments/{name}"

    def create_group(self, group: str) -> None:
        self.resources.resource_groups.create_or_update(group, {"location": "westeurope"})

    def create_vnet(self, group: str, name: str = "vnet1") -> str:
        rid = self.vnet_id(group, name)
        self.resources.resources.begin_create_or_update_by_id(rid, api_version=NET, parameters=VNET_BODY,
                                                               polling_interval=0.02).result()
        return rid

    def start_write(self, resource_id: str, body: dict) -> None:
        self.resources.resources.begin_create_or_update_by_id(resource_id, api_version=NET, parameters=body,
                                                               **NO_POLLING)

    def start_deployment(self, group: str, name: str, template: dict) -> None:
        self.deployments.deployments.begin_create_or_update(
            group, name, {"properties": {"mode": "Incremental", "template": template}}, **NO_POLLING)


@pytest.fixture
def arm_for(ca_dir):
    """`with arm_for(caller=..., time_scale=...) as arm:` an emulator for one scenario."""
    return lambda **kwargs: _arm(ca_dir, **kwargs)


@pytest.fixture
def diagnose():
    """`diagnose(arm, *args)`: run `armguard diagnose` against `arm` and return its Outcome."""
    return run_diagnose


@contextlib.contextmanager
def _arm(ca_dir, *, caller: str, time_scale: float) -> Iterator[Arm]:
    from azure.mgmt.resource.deployments import DeploymentsMgmtClient
    from azure.mgmt.resource.locks import ManagementLockClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    with Emulator(time_scale=time_scale, seed=7, ca_dir=ca_dir, caller=caller) as emulator:
        args = (emulator.credential, emulator.subscription_id)
        kwargs = emulator.client_kwargs()
        with ResourceManagementClient(*args, **kwargs) as resources, \
                DeploymentsMgmtClient(*args, **kwargs) as deployments, \
                ManagementLockClient(*args, **kwargs) as locks:
            yield Arm(emulator, resources, deployments, locks)


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict:
        return json.loads(self.stdout)


def run_diagnose(arm: Arm | None, *args: str, endpoint: str | None = None, ca_bundle: str | None = None,
                 stdin: str | None = None) -> Outcome:
    """`armguard diagnose ARGS` in-process against the emulator (as a user would: --arm-endpoint and
    --ca-bundle, the caller's identity from ARMGUARD_CALLER)."""
    options: list[str] = []
    if arm is not None:
        options = ["--arm-endpoint", arm.emulator.endpoint, "--ca-bundle", arm.emulator.ca_bundle]
    elif endpoint:
        options = ["--arm-endpoint", endpoint] + (["--ca-bundle", ca_bundle] if ca_bundle else [])
    env = {"AZURE_SUBSCRIPTION_ID": None, "ARMGUARD_ARM_ENDPOINT": None, "ARMGUARD_CA_BUNDLE": None,
           "ARMGUARD_CALLER": "diagnose@armguard.test"}
    result = CliRunner().invoke(cli, ["diagnose", *args, *options], input=stdin, env=env,
                                catch_exceptions=False)
    return Outcome(result.exit_code, result.stdout, result.stderr)
