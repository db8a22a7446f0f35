"""Builders for hand-made deployment graphs (armguard.model IR) used by the planner's tests."""

from __future__ import annotations

from typing import Any

import pytest

from armguard.catalog import default_catalog, load_catalog
from armguard.model import DEPLOYMENTS_TYPE, Dependency, DeploymentGraph, Loop, Node
from armguard.values import Unknown

BGP = "Microsoft.Network/virtualHubs/bgpConnections"
HUB = "Microsoft.Network/virtualHubs"
LINK = "Microsoft.Network/privateDnsZones/virtualNetworkLinks"
ZONE = "Microsoft.Network/privateDnsZones"
STORAGE = "Microsoft.Storage/storageAccounts"
SUBNET = "Microsoft.Network/virtualNetworks/subnets"
PEERING = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings"
VNET = "Microsoft.Network/virtualNetworks"


class IR:
    BGP = BGP
    HUB = HUB
    LINK = LINK
    ZONE = ZONE
    STORAGE = STORAGE
    SUBNET = SUBNET
    PEERING = PEERING
    VNET = VNET

    @staticmethod
    def res(symbol: str, rtype: str, segs: list[Any], *, deps: list[str] = (), loop: list[list[Any]] | None = None,
            count: int | None = None, batch: int | None = None, props: dict | None = None, existing: bool = False,
            condition: Any = None, path: str = "main.bicep", unknown_count: bool = False) -> Node:
        n = Node(symbol=symbol, kind="resource", type=rtype, path=path)
        n.dependencies = [Dependency(d, "dependsOn") for d in deps]
        n.name_segments = list(segs)
        n.name = segs[-1] if segs else symbol
        n._properties = props
        n.existing = existing
        n.condition = condition
        if loop is not None or unknown_count:
            mode = "serial" if batch is not None else "parallel"
            n.loop = Loop(name=symbol, count=None if unknown_count else len(loop), mode=mode, batch_size=batch,
                          item="x", index="i")
            if loop is not None and not unknown_count:
                n.instance_segments = [list(s) for s in loop]
                n.instance_names = [s[-1] for s in loop]
        return n

    @staticmethod
    def mod(symbol: str, graphs: DeploymentGraph | list[DeploymentGraph], *, deps: list[str] = (),
            batch: int | None = None, path: str = "main.bicep") -> Node:
        n = Node(symbol=symbol, kind="module", type=DEPLOYMENTS_TYPE, path=path)
        n.dependencies = [Dependency(d, "dependsOn") for d in deps]
        n.name = symbol
        if isinstance(graphs, list):
            n.loop = Loop(name=symbol, count=len(graphs), mode="serial" if batch is not None else "parallel",
                          batch_size=batch, item="x")
            n.module = graphs[0]
            n._instance_modules = list(graphs)
        else:
            n.module = graphs
        return n

    @staticmethod
    def graph(*nodes: Node, path: str = "main.bicep") -> DeploymentGraph:
        return DeploymentGraph(path=path, language="bicep", nodes=list(nodes))

    @staticmethod
    def catalog(seconds: dict[str, float] | None = None):  # type: ignore[no-untyped-def]
        if not seconds:
            return default_catalog()
        shipped = default_catalog()
        types: dict[str, Any] = {}
        for t, v in seconds.items():
            types[t] = {"typical_seconds": v, "sources": ["test"]}
            if t not in shipped:
                types[t]["serial"] = "unknown"
        return load_catalog({"types": types})

    @staticmethod
    def var(text: str, loop: str) -> Unknown:
        return Unknown(text, {f"loop:{loop}"})


@pytest.fixture
def ir() -> type[IR]:
    return IR
