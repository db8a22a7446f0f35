"""Where a diagnosis looks: scope from the options and the error text (no Resource Manager needed)."""

from __future__ import annotations

import pytest

from armguard.diagnose.gather import Request, iso_seconds, read_error, resolve_scope
from armguard.errors import ArmguardError

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
SUBNET = (f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/hub/"
          "subnets/app")

TERRAFORM = f"""\
╷
│ Error: creating Subnet (Subscription: "{SUB}"
│ Resource Group Name: "rg-net"
│ Virtual Network Name: "hub"
│ Subnet Name: "app"): performing CreateOrUpdate: unexpected status 409 (409 Conflict) with error: \
AnotherOperationInProgress: Another operation on this or dependent resource is in progress. To retrieve status of \
the operation use uri: https://westeurope.network.azure.com/subscriptions/{SUB}/providers/Microsoft.Network/\
locations/westeurope/operations/6a2b8c1e-6fb6-4a0e-9a53-0c1f2d3e4f5a?api-version=2024-05-01.
│
│   with azurerm_subnet.app,
│   on network.tf line 12, in resource "azurerm_subnet" "app":
╵
"""


def test_terraform_error_gives_the_scope_and_the_status_uri() -> None:
    error = read_error(TERRAFORM)
    assert error is not None and error.code == "AnotherOperationInProgress"
    assert error.status_uri.endswith("/operations/6a2b8c1e-6fb6-4a0e-9a53-0c1f2d3e4f5a?api-version=2024-05-01")
    scope = resolve_scope(Request(), error)
    assert (scope.subscription, scope.resource_group, scope.target_id) == (SUB, "rg-net", SUBNET)


def test_options_override_the_error() -> None:
    scope = resolve_scope(Request(resource_group="rg-other", resource_id=SUBNET + "/"), read_error(TERRAFORM))
    assert scope.resource_group == "rg-other" and scope.target_id == SUBNET


def test_a_deployment_id_names_the_deployment() -> None:
    deployment = f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Resources/deployments/main"
    scope = resolve_scope(Request(resource_id=deployment), None)
    assert (scope.resource_group, scope.deployment_name) == ("rg-net", "main")


def test_a_masked_subscription_is_not_taken() -> None:
    masked = SUBNET.replace(SUB, "***")
    scope = resolve_scope(Request(resource_id=masked), None)
    assert scope.subscription is None and scope.resource_group == "rg-net"


@pytest.mark.parametrize("text", [None, "", "   ", "nothing to see here", "{not json"])
def test_unreadable_error_text_is_no_error(text) -> None:
    assert read_error(text) is None


def test_no_scope_is_one_clear_error() -> None:
    with pytest.raises(ArmguardError, match="no scope to diagnose"):
        resolve_scope(Request(), read_error("(AnotherOperationInProgress) Another operation is in progress."))


@pytest.mark.parametrize(("text", "seconds"), [("PT0S", 0.0), ("PT1M30.5S", 90.5), ("PT2H", 7200.0),
                                               ("P1DT1H", 90000.0), ("", None), ("soon", None)])
def test_iso_durations(text: str, seconds: float | None) -> None:
    assert iso_seconds(text) == seconds
