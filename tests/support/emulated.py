"""Scenarios on the emulator shared by the run-time guard tests: a hub, a slow or stuck BGP write."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from azure.mgmt.resource.resources import ResourceManagementClient

from armguard.emulator.faults import Fault

NET = "2024-05-01"
POLL = {"polling_interval": 0.02}


def client(arm, **kwargs) -> ResourceManagementClient:
    return ResourceManagementClient(arm.credential, arm.subscription_id, **arm.client_kwargs(), **kwargs)


def make_hub(arm, group: str = "rg-hub") -> str:
    """A virtual WAN and hub (emulated minutes, a fraction of a second at the fixture's time scale)."""
    with client(arm) as c:
        c.resource_groups.create_or_update(group, {"location": "westeurope"})
        base = f"/subscriptions/{arm.subscription_id}/resourceGroups/{group}/providers/Microsoft.Network"
        c.resources.begin_create_or_update_by_id(f"{base}/virtualWans/wan", api_version=NET, parameters={
            "location": "westeurope", "properties": {}}, **POLL).result()
        c.resources.begin_create_or_update_by_id(f"{base}/virtualHubs/hub", api_version=NET, parameters={
            "location": "westeurope", "properties": {"virtualWan": {"id": f"{base}/virtualWans/wan"},
                                                     "addressPrefix": "10.0.0.0/23"}}, **POLL).result()
        return f"{base}/virtualHubs/hub"


def peer(i: int) -> dict:
    return {"properties": {"peerAsn": 65000 + i, "peerIp": f"10.1.0.{i}"}}


def start_holder(arm, hub: str, seconds: float | None, name: str = "p1") -> tuple[str, str]:
    """Start writing BGP connection `name`, which holds the hub's BGP domain for about `seconds` of wall
    time (None: stuck until the catalog's maximum). Returns its id and its status URI."""
    entry = arm.state.catalog.get("Microsoft.Network/virtualHubs/bgpConnections")
    if seconds is None:
        arm.inject(Fault("stuck", pattern=f"*/bgpconnections/{name}"))
    else:
        typical = entry.typical_seconds or 60.0
        arm.inject(Fault("slow", pattern=f"*/bgpconnections/{name}", multiplier=seconds / (typical * arm.time_scale)))
    with client(arm) as c:
        poller = c.resources.begin_create_or_update_by_id(f"{hub}/bgpConnections/{name}", api_version=NET,
                                                           parameters=peer(1), **POLL)
        initial = poller.polling_method()._initial_response.http_response  # the 201 with Azure-AsyncOperation
        status_uri = initial.headers["Azure-AsyncOperation"]
    return f"{hub}/bgpConnections/{name}", status_uri


def state_of(arm, resource_id: str) -> str:
    with arm.lock:
        return arm.state.get_resource(resource_id)["properties"]["provisioningState"]


def armguard(arm, *args: str, timeout: float = 120, extra_env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    """Run the armguard CLI in a child process pointed at the emulator through the environment."""
    env = {**os.environ, "ARMGUARD_ARM_ENDPOINT": arm.endpoint, "ARMGUARD_CA_BUNDLE": arm.ca_bundle,
           "AZURE_SUBSCRIPTION_ID": arm.subscription_id, "ARMGUARD_CALLER": "ci@contoso.com", **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "armguard.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)


def timed(fn, *args, **kwargs):
    start = time.monotonic()
    result = fn(*args, **kwargs)
    return result, time.monotonic() - start
