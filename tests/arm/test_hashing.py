"""uniqueString() and guid() must match Azure Resource Manager bit for bit.

Every expected value below was produced by Resource Manager itself (or by the deployment engine
library that Bicep embeds); the comment on each case says where it was published.
"""

from __future__ import annotations

import pytest

from armguard.arm.evaluator import EvalContext, evaluate
from armguard.arm.functions import call_function
from armguard.arm.hashing import arm_guid, murmurhash64, unique_string

UNIQUE_STRING_CASES = [
    # KingslandConsulting/Kingsland.ArmLinter, src/Kingsland.ArmLinter/Functions/ArmFunctions_UniqueString.cs:
    # outputs recorded from real deployments of an ARM template.
    (("aaa",), "zavj67f3en4hc"),
    (("bbb",), "w5eragfxe33cy"),
    (("zzz",), "cryksdzzzawae"),
    (("xxx", "yyy", "zzz"), "lghi7k5js7itq"),
    # microsoft/commercial-marketplace-offer-deploy, test/.../ArmFunctionsTests.cs
    # ("UniqueStringShouldEqualValueCreatedFromArmTemplate"): a 138-byte input, several 8-byte blocks.
    (
        (
            "/subscriptions/31e9f9a0-9fd2-4294-a0a3-0101246d9700/resourceGroups/rg-modm201-20230913120256"
            "/providers/Microsoft.Compute/virtualMachines/bobjacmodm201",
        ),
        "yvjxno3je5on2",
    ),
    # Azure/bicep, src/Bicep.Core.Samples/Files/baselines_bicepparam/Expressions/parameters.json
    # (a .bicepparam evaluated by the Azure.Deployments.Expression engine).
    (("asd", "asdf", "asdf"), "iizpqit7ih3cc"),
    # Azure/bicep, src/Bicep.Core.UnitTests/TypeSystem/FunctionResolverTests.cs (constant folding).
    (("snap", "crackle", "pop"), "byghxckddilkc"),
    # Azure/bicep, src/Bicep.Cli.IntegrationTests/SnapshotCommandTests.cs: 'store${uniqueString(resourceGroup().id)}'
    # for subscription 00000000-... and resource group myRg gives 'storejs26ofeqkqeve'.
    (("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myRg",), "js26ofeqkqeve"),
]

GUID_CASES = [
    # Azure/bicep, src/Bicep.Core.Samples/Files/baselines_bicepparam/Expressions/parameters.json
    (("asdf",), "228d27cc-6fdb-5934-b7ac-1efccebade04"),
    # Azure/bicep, src/Bicep.Core.UnitTests/TypeSystem/FunctionResolverTests.cs
    (("foo", "bar", "baz"), "2ed86837-7c7c-5eaa-9864-dd077fd19b0d"),
]


@pytest.mark.parametrize(("args", "expected"), UNIQUE_STRING_CASES)
def test_unique_string_matches_resource_manager(args, expected):
    assert unique_string(*args) == expected
    assert call_function("uniqueString", list(args)) == expected


@pytest.mark.parametrize(("args", "expected"), GUID_CASES)
def test_guid_matches_resource_manager(args, expected):
    assert arm_guid(*args) == expected
    assert call_function("guid", list(args)) == expected


def test_unique_string_of_a_resource_group_id_through_the_evaluator():
    ctx = EvalContext(
        resource_group={
            "id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myRg",
            "name": "myRg",
            "location": "eastus",
        }
    )
    assert evaluate("[format('store{0}', uniqueString(resourceGroup().id))]", ctx) == "storejs26ofeqkqeve"


def test_unique_string_shape():
    for value in ("", "x", "a" * 7, "a" * 8, "a" * 9, "ü€😀", "a-b" * 50):
        out = unique_string(value)
        assert len(out) == 13
        assert set(out) <= set("abcdefghijklmnopqrstuvwxyz234567")


def test_arguments_are_joined_with_a_dash():
    assert unique_string("a", "b") == unique_string("a-b")
    assert arm_guid("a", "b") == arm_guid("a-b")


def test_hashes_are_case_sensitive():
    assert unique_string("ABC") != unique_string("abc")
    assert arm_guid("ABC") != arm_guid("abc")


def test_guid_is_a_version_5_uuid():
    value = arm_guid("anything")
    assert value[14] == "5"
    assert value[19] in "89ab"


def test_murmurhash64_is_64_bits():
    assert 0 <= murmurhash64(b"hello world, this is long enough") < 2**64
    assert murmurhash64(b"") != murmurhash64(b"\x00")
