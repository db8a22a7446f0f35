"""The real azure-mgmt-resource clients against the emulator over HTTPS on loopback."""

from __future__ import annotations

import re

import pytest

from armguard.emulator.faults import Fault

pytest.importorskip("azure.mgmt.resource.resources")

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.core.rest import HttpRequest

NET = "2024-05-01"
POLL = {"polling_interval": 0.05}


def vnet_id(arm, group: str = "rg1", name: str = "vnet1") -> str:
    return f"/subscriptions/{arm.subscription_id}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{name}"


VNET_BODY = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}


def test_resource_group_lifecycle(arm, resources) -> None:
    created = resources.resource_groups.create_or_update("rg1", {"location": "westeurope", "tags": {"env": "test"}})
    assert created.id == f"/subscriptions/{arm.subscription_id}/resourceGroups/rg1"
    assert (created.name, created.location, created.tags) == ("rg1", "westeurope", {"env": "test"})
    assert created.properties.provisioning_state == "Succeeded"
    assert resources.resource_groups.check_existence("rg1") is True
    assert resources.resource_groups.check_existence("RG1") is True  # names are case-insensitive
    assert resources.resource_groups.check_existence("nope") is False
    updated = resources.resource_groups.update("rg1", {"tags": {"env": "prod"}})
    assert updated.tags == {"env": "prod"}
    assert [g.name for g in resources.resource_groups.list()] == ["rg1"]
    resources.resource_groups.begin_delete("rg1", **POLL).result()
    assert resources.resource_groups.check_existence("rg1") is False
    with pytest.raises(ResourceNotFoundError) as missing:
        resources.resource_groups.get("rg1")
    assert missing.value.error.code == "ResourceGroupNotFound"


def test_generic_resource_create_get_list_delete(arm, resources) -> None:
    resources.resource_groups.create_or_update("rg1", {"location": "westeurope"})
    rid = vnet_id(arm)
    poller = resources.resources.begin_create_or_update_by_id(rid, api_version=NET, parameters=VNET_BODY, **POLL)
    vnet = poller.result()
    assert (vnet.id, vnet.name, vnet.type, vnet.location) == (
        rid, "vnet1", "Microsoft.Network/virtualNetworks", "westeurope")
    assert vnet.properties["provisioningState"] == "Succeeded"
    assert vnet.properties["addressSpace"] == {"addressPrefixes": ["10.0.0.0/16"]}
    fetched = resources.resources.get_by_id(rid, api_version=NET)
    assert fetched.properties["provisioningState"] == "Succeeded"
    assert resources.resources.check_existence_by_id(rid, api_version=NET) is True
    assert [r.id for r in resources.resources.list_by_resource_group("rg1")] == [rid]
    assert [r.id for r in resources.resources.list()] == [rid]
    resources.resources.begin_delete_by_id(rid, api_version=NET, **POLL).result()
    assert resources.resources.check_existence_by_id(rid, api_version=NET) is False
    with pytest.raises(ResourceNotFoundError):
        resources.resources.get_by_id(rid, api_version=NET)


def test_create_by_parts_and_update(arm, resources) -> None:
    resources.resource_groups.create_or_update("rg1", {"location": "westeurope"})
    vnet = resources.resources.begin_create_or_update(
        "rg1", "Microsoft.Network", "", "virtualNetworks", "vnet1", api_version=NET, parameters=VNET_BODY,
        **POLL).result()
    assert vnet.id == vnet_id(arm)
    patched = resources.resources.begin_update_by_id(vnet.id, api_version=NET, parameters={"tags": {"a": "b"}},
                                                     **POLL).result()
    assert patched.tags == {"a": "b"}
    assert patched.properties["addressSpace"] == {"addressPrefixes": ["10.0.0.0/16"]}


def test_put_during_another_write_gets_409_with_a_pollable_status_uri(arm, resources) -> None:
    resources.resource_groups.create_or_update("rg1", {"location": "westeurope"})
    vnet = vnet_id(arm)
    resources.resources.begin_create_or_update_by_id(vnet, api_version=NET, parameters=VNET_BODY, **POLL).result()
    # The first subnet's write stays in flight (stuck) so the second meets it, however slow the machine.
    arm.inject(Fault("stuck", pattern="*/subnets/app"))
    subnet = {"properties": {"addressPrefix": "10.0.1.0/24"}}
    first = resources.resources.begin_create_or_update_by_id(f"{vnet}/subnets/app", api_version=NET,
                                                             parameters=subnet, **POLL)
    assert first.status() == "InProgress"
    with pytest.raises(ResourceExistsError) as conflict:
        resources.resources.begin_create_or_update_by_id(
            f"{vnet}/subnets/data", api_version=NET, parameters={"properties": {"addressPrefix": "10.0.2.0/24"}},
            **POLL)
    error = conflict.value
    assert isinstance(error, HttpResponseError)
    assert error.status_code == 409
    assert error.error.code == "AnotherOperationInProgress"
    body = error.response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    match = re.fullmatch(r"Another operation on this or dependent resource is in progress\. To retrieve status "
                         r"of the operation use uri: (\S+)\.", body["error"]["message"])
    assert match, body["error"]["message"]
    status_uri = match.group(1)
    assert status_uri.startswith(arm.endpoint + f"/subscriptions/{arm.subscription_id}/providers/Microsoft.Network/"
                                 "locations/westeurope/operations/")
    assert "api-version=" in status_uri
    # The URI answers with the same credential, through the SDK's own pipeline.
    status = resources.send_request(HttpRequest("GET", status_uri))
    assert status.status_code == 200
    assert status.json()["status"] == "InProgress"
    assert status.json()["name"] in status_uri


def test_conflict_body_and_headers_are_arm_shaped(arm, resources) -> None:
    resources.resource_groups.create_or_update("rg1", {"location": "westeurope"})
    with pytest.raises(ResourceNotFoundError) as missing:
        resources.resources.get_by_id(vnet_id(arm), api_version=NET)
    response = missing.value.response
    assert response.json()["error"]["code"] == "ResourceNotFound"
    assert response.headers["x-ms-request-id"]
    assert response.headers["x-ms-correlation-request-id"]
    assert int(response.headers["x-ms-ratelimit-remaining-subscription-reads"]) >= 0


def test_throttle_fault_is_retried_by_the_sdk_after_retry_after(arm, resources) -> None:
    resources.resource_groups.create_or_update("rg1", {"location": "westeurope"})
    arm.inject(Fault("throttle", type="Microsoft.Network/virtualNetworks", times=1, retry_after=10))
    vnet = resources.resources.begin_create_or_update_by_id(vnet_id(arm), api_version=NET, parameters=VNET_BODY,
                                                            **POLL).result()
    assert vnet.properties["provisioningState"] == "Succeeded"


def test_subscriptions_tenants_locations(arm, subscriptions) -> None:
    subs = list(subscriptions.subscriptions.list())
    assert [s.subscription_id for s in subs] == [arm.subscription_id]
    assert subscriptions.subscriptions.get(arm.subscription_id).state == "Enabled"
    assert [t.tenant_id for t in subscriptions.tenants.list()]
    assert "westeurope" in {loc.name for loc in subscriptions.subscriptions.list_locations(arm.subscription_id)}


def test_failed_long_running_write_raises_with_the_operation_error(arm, resources) -> None:
    resources.resource_groups.create_or_update("rg1", {"location": "westeurope"})
    arm.inject(Fault("fail", pattern="*/virtualnetworks/vnet1", code="InvalidAddressPrefix",
                     message="The address prefix is not valid."))
    poller = resources.resources.begin_create_or_update_by_id(vnet_id(arm), api_version=NET, parameters=VNET_BODY,
                                                              **POLL)
    with pytest.raises(HttpResponseError) as failed:
        poller.result()
    assert failed.value.error.code == "InvalidAddressPrefix"
    assert poller.status() == "Failed"


def test_provider_registrations(arm, resources) -> None:
    resources.resource_groups.create_or_update("rg1", {"location": "westeurope"})
    resources.resources.begin_create_or_update_by_id(vnet_id(arm), api_version="2023-09-01", parameters=VNET_BODY,
                                                      **POLL).result()
    network = resources.providers.get("microsoft.network")
    assert (network.namespace, network.registration_state) == ("Microsoft.Network", "Registered")
    types = {t.resource_type: t for t in network.resource_types}
    assert types["virtualNetworks"].api_versions == ["2023-09-01"]  # what requests used
    assert types["virtualHubs/bgpConnections"].api_versions == ["2024-05-01"]  # the catalog's type, the fallback
    assert "West Europe" in types["virtualNetworks"].locations
    listed = {p.namespace for p in resources.providers.list()}
    assert {"Microsoft.Network", "Microsoft.Resources", "Microsoft.Authorization"} <= listed
    assert resources.providers.unregister("Microsoft.ContainerInstance").registration_state == "Unregistered"
    assert resources.providers.get("Microsoft.ContainerInstance").registration_state == "Unregistered"
    assert "Microsoft.ContainerInstance" in {p.namespace for p in resources.providers.list()}
    group = f"/subscriptions/{arm.subscription_id}/resourceGroups/rg1"
    group_id = f"{group}/providers/Microsoft.ContainerInstance/containerGroups/cg1"
    with pytest.raises(HttpResponseError) as refused:
        resources.resources.begin_create_or_update_by_id(group_id, api_version="2023-05-01",
                                                          parameters={"location": "westeurope"}, **POLL).result()
    assert (refused.value.status_code, refused.value.error.code) == (409, "MissingSubscriptionRegistration")
    assert "not registered to use namespace 'Microsoft.ContainerInstance'" in refused.value.error.message
    assert resources.providers.register("Microsoft.ContainerInstance").registration_state == "Registered"
    resources.resources.begin_create_or_update_by_id(group_id, api_version="2023-05-01",
                                                      parameters={"location": "westeurope"}, **POLL).result()
    with pytest.raises(ResourceNotFoundError) as bad:
        resources.providers.get("not-a-namespace")
    assert bad.value.error.code == "InvalidResourceNamespace"


def test_the_guard_takes_api_versions_from_the_emulators_provider_registration(arm, resources) -> None:
    from armguard.guard.connection import connect
    from armguard.guard.probes import ApiVersions, ResourceRef

    resources.resource_groups.create_or_update("rg1", {"location": "westeurope"})
    resources.resources.begin_create_or_update_by_id(vnet_id(arm), api_version="2023-11-01", parameters=VNET_BODY,
                                                      **POLL).result()
    conn = connect(arm_endpoint=arm.endpoint, ca_bundle=arm.ca_bundle, subscription=arm.subscription_id)
    versions = ApiVersions(conn)
    assert versions.for_type(ResourceRef.parse(vnet_id(arm))) == "2023-11-01"
    assert versions._providers_read == {"microsoft.network"}
