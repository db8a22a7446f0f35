"""Management locks through ManagementLockClient (azure-mgmt-resource-locks)."""

from __future__ import annotations

import pytest

pytest.importorskip("azure.mgmt.resource.locks")

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

NET = "2024-05-01"
POLL = {"polling_interval": 0.05}
VNET_BODY = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}


@pytest.fixture
def vnet(arm, resources) -> str:
    resources.resource_groups.create_or_update("rg1", {"location": "westeurope"})
    rid = f"/subscriptions/{arm.subscription_id}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/v1"
    resources.resources.begin_create_or_update_by_id(rid, api_version=NET, parameters=VNET_BODY, **POLL).result()
    return rid


def test_read_only_lock_blocks_writes_with_scope_locked(arm, resources, locks, vnet) -> None:
    lock = locks.management_locks.create_or_update_at_resource_group_level(
        "rg1", "freeze", {"level": "ReadOnly", "notes": "change freeze"})
    assert lock.id == f"/subscriptions/{arm.subscription_id}/resourceGroups/rg1/providers/Microsoft.Authorization/locks/freeze"
    assert (lock.name, lock.level, lock.notes) == ("freeze", "ReadOnly", "change freeze")
    with pytest.raises(ResourceExistsError) as blocked:
        resources.resources.begin_create_or_update_by_id(vnet, api_version=NET, parameters=VNET_BODY, **POLL)
    error = blocked.value
    assert error.status_code == 409
    assert error.error.code == "ScopeLocked"
    assert error.response.json()["error"]["message"] == (
        f"The scope '{vnet}' cannot perform write operation because following scope(s) are locked: "
        f"'/subscriptions/{arm.subscription_id}/resourceGroups/rg1'. Please remove the lock and try again.")
    locks.management_locks.delete_at_resource_group_level("rg1", "freeze")
    resources.resources.begin_create_or_update_by_id(vnet, api_version=NET, parameters=VNET_BODY, **POLL).result()


def test_can_not_delete_lock_blocks_deletes(arm, resources, locks, vnet) -> None:
    locks.management_locks.create_or_update_at_resource_level(
        "rg1", "Microsoft.Network", "", "virtualNetworks", "v1", "keep", {"level": "CanNotDelete"})
    with pytest.raises(ResourceExistsError) as blocked:
        resources.resources.begin_delete_by_id(vnet, api_version=NET, **POLL)
    assert blocked.value.error.code == "ScopeLocked"
    with pytest.raises(ResourceExistsError) as group_blocked:
        resources.resource_groups.begin_delete("rg1", **POLL)
    assert group_blocked.value.error.code == "ScopeLocked"
    # Writes still pass under CanNotDelete.
    resources.resources.begin_create_or_update_by_id(vnet, api_version=NET, parameters=VNET_BODY, **POLL).result()


def test_lock_scopes_get_list_delete(arm, locks, vnet) -> None:
    sub_lock = locks.management_locks.create_or_update_at_subscription_level("sub-lock", {"level": "CanNotDelete"})
    assert sub_lock.id == f"/subscriptions/{arm.subscription_id}/providers/Microsoft.Authorization/locks/sub-lock"
    locks.management_locks.create_or_update_by_scope(vnet, "res-lock", {"level": "ReadOnly"})
    assert locks.management_locks.get_by_scope(vnet, "res-lock").level == "ReadOnly"
    assert locks.management_locks.get_at_subscription_level("sub-lock").level == "CanNotDelete"
    names = {lk.name for lk in locks.management_locks.list_at_subscription_level()}
    assert names == {"sub-lock", "res-lock"}
    at_resource = {lk.name for lk in locks.management_locks.list_at_resource_level(
        "rg1", "Microsoft.Network", "", "virtualNetworks", "v1")}
    assert at_resource == {"sub-lock", "res-lock"}  # inherited from above, as ARM lists them
    applying = {lk.name for lk in locks.management_locks.list_at_subscription_level(filter="atScope()")}
    assert applying == {"sub-lock"}  # atScope(): at and above, not the resource's below
    at_group = {lk.name for lk in locks.management_locks.list_at_resource_group_level("rg1", filter="atScope()")}
    assert at_group == {"sub-lock"}
    with pytest.raises(HttpResponseError) as bad:
        list(locks.management_locks.list_at_subscription_level(filter="name eq 'x'"))
    assert bad.value.error.code == "InvalidFilter"
    locks.management_locks.delete_by_scope(vnet, "res-lock")
    locks.management_locks.delete_at_subscription_level("sub-lock")
    locks.management_locks.delete_at_subscription_level("sub-lock")  # deleting twice is fine (204)
    with pytest.raises(ResourceNotFoundError):
        locks.management_locks.get_at_subscription_level("sub-lock")
    assert list(locks.management_locks.list_at_subscription_level()) == []
