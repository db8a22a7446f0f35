"""Route matching: ARM's fixed path words are case-insensitive, names keep the client's casing."""

from __future__ import annotations

import pytest

from armguard.emulator.http_routes import match_route

SUB = "/subscriptions/s1"
RG = f"{SUB}/resourceGroups/rg1"


@pytest.mark.parametrize(("path", "kind"), [
    ("/tenants", "tenants"),
    ("/subscriptions", "subscriptions"),
    ("/subscriptions/s1", "subscription"),
    ("/subscriptions/s1/locations", "locations"),
    ("/subscriptions/s1/resourcegroups", "resource_groups"),
    ("/SUBSCRIPTIONS/s1/RESOURCEGROUPS/rg1", "resource_group"),
    ("/subscriptions/s1/resourceGroups/rg1/resources", "group_resources"),
    ("/subscriptions/s1/resources", "subscription_resources"),
    (f"{RG}/providers/Microsoft.Network/virtualHubs/hub/bgpConnections/p1", "resource"),
    (f"{RG}/providers/Microsoft.Network/virtualHubs/hub/bgpConnections", "resource_collection"),
    (f"{SUB}/providers/Microsoft.Network/locations/westeurope/operations/op1", "operation_status"),
    (f"{SUB}/providers/Microsoft.Network/locations/westeurope/operationResults/op1", "operation_result"),
    (f"{SUB}/operationresults/op1", "operation_result"),
    (f"{RG}/providers/Microsoft.Resources/deployments", "deployments"),
    (f"{RG}/providers/microsoft.resources/DEPLOYMENTS/d1", "deployment"),
    (f"{RG}/providers/Microsoft.Resources/deployments/d1/cancel", "deployment_action"),
    (f"{RG}/providers/Microsoft.Resources/deployments/d1/validate", "deployment_action"),
    (f"{RG}/providers/Microsoft.Resources/deployments/d1/operations", "deployment_operations"),
    (f"{RG}/deployments/d1/operations", "deployment_operations"),
    (f"{RG}/providers/Microsoft.Resources/deployments/d1/operations/o1", "deployment_operation"),
    (f"{SUB}/providers/Microsoft.Resources/deployments/d1", "deployment"),
    (f"{SUB}/providers/Microsoft.Resources/deployments/d1/operationStatuses/x", "operation_status"),
    (f"{SUB}/providers/Microsoft.Authorization/locks", "locks"),
    (f"{SUB}/providers/Microsoft.Authorization/locks/l1", "lock"),
    (f"{RG}/providers/Microsoft.Authorization/locks/l1", "lock"),
    (f"{RG}/providers/Microsoft.Network/virtualNetworks/v/providers/Microsoft.Authorization/locks", "locks"),
    (f"{SUB}/providers/Microsoft.Insights/eventtypes/management/values", "activity_log"),
    (f"{SUB}/providers/Microsoft.Foo/bars/b1", "resource"),
    ("/", "unknown"),
    ("/foo/bar", "unknown"),
    (f"{SUB}/providers", "providers"),
    (f"{SUB}/providers/Microsoft.Foo", "provider"),
    (f"{SUB}/providers/Microsoft.Foo/register", "provider_action"),
    (f"{SUB}/providers/Microsoft.Foo/unregister", "provider_action"),
    (f"{SUB}/providers/Microsoft.Foo/bars", "resource_collection"),
    (f"{RG}/providers/Microsoft.Foo", "unknown"),
    (f"{SUB}/bogus", "unknown"),
    (f"{RG}/providers/Microsoft.Network/virtualNetworks/v/providers", "unknown"),
])
def test_kinds(path: str, kind: str) -> None:
    assert match_route(path).kind == kind


def test_resource_id_canonical_words_client_names() -> None:
    route = match_route("/SUBSCRIPTIONS/S1/resourcegroups/My-RG/PROVIDERS/Microsoft.Network/virtualHubs/Hub1")
    assert route.resource_id == "/subscriptions/S1/resourceGroups/My-RG/providers/Microsoft.Network/virtualHubs/Hub1"
    assert route.resource_group == "My-RG"
    assert route.subscription == "S1"


def test_lock_scopes() -> None:
    vnet = f"{RG}/providers/Microsoft.Network/virtualNetworks/v"
    route = match_route(f"{vnet}/providers/Microsoft.Authorization/locks/l2")
    assert (route.kind, route.scope, route.name) == ("lock", vnet, "l2")
    assert route.resource_id == f"{vnet}/providers/Microsoft.Authorization/locks/l2"
    assert match_route(f"{SUB}/providers/Microsoft.Authorization/locks/l1").scope == SUB


def test_extension_resource_keeps_hops() -> None:
    path = f"{RG}/providers/Microsoft.Network/virtualNetworks/v/providers/Microsoft.Authorization/roleAssignments/r1"
    route = match_route(path)
    assert route.kind == "resource"
    assert route.resource_id == path


def test_deployment_scopes_and_actions() -> None:
    route = match_route(f"{RG}/providers/Microsoft.Resources/deployments/d1/Cancel")
    assert (route.scope, route.name, route.action) == (RG, "d1", "cancel")
    assert match_route(f"{SUB}/providers/Microsoft.Resources/deployments/d1").scope == SUB
    status = match_route(f"{RG}/providers/Microsoft.Resources/deployments/d1/operationStatuses/abc")
    assert (status.kind, status.operation_id) == ("operation_status", "abc")
