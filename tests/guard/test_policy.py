"""ConflictRetryPolicy and retry_on_conflict against the emulator over HTTPS with the official SDK."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError

from armguard.emulator.faults import Fault
from armguard.guard import ConflictRetryPolicy, retry_on_conflict
from armguard.guard.connection import connect
from support.emulated import NET, POLL, client, make_hub, peer, start_holder, state_of

HOLDER_SECONDS = 1.5


@pytest.fixture
def hub(arm) -> str:
    return make_hub(arm)


def start_slow_holder(arm, hub: str) -> tuple[str, float]:
    holder, _ = start_holder(arm, hub, HOLDER_SECONDS)
    return holder, time.monotonic()


def test_plain_client_gets_the_409(arm, hub) -> None:
    start_slow_holder(arm, hub)
    with client(arm) as c, pytest.raises(HttpResponseError) as raised:
        c.resources.begin_create_or_update_by_id(f"{hub}/bgpConnections/p2", api_version=NET, parameters=peer(2),
                                                  **POLL)
    assert raised.value.status_code == 409
    assert raised.value.error.code == "AnotherOperationInProgress"


def test_policy_waits_for_the_holder_then_succeeds_with_one_409(arm, hub) -> None:
    holder, started = start_slow_holder(arm, hub)
    waits = []
    polls = []
    policy = ConflictRetryPolicy(on_wait=waits.append, on_poll=polls.append, timeout=60, poll_floor=0.05)
    with client(arm, retry_policy=policy) as c:
        result = c.resources.begin_create_or_update_by_id(f"{hub}/bgpConnections/p2", api_version=NET,
                                                           parameters=peer(2), **POLL).result()
    elapsed = time.monotonic() - started
    assert result.properties["provisioningState"] == "Succeeded"
    assert [w.code for w in waits] == ["AnotherOperationInProgress"]  # exactly one 409 for one conflict
    assert waits[0].status_uri and "/operations/" in waits[0].status_uri
    assert polls and not polls[0].done and polls[-1].done and polls[-1].state == "Succeeded"
    assert elapsed >= HOLDER_SECONDS * 0.7  # it really waited for the holder
    assert state_of(arm, holder) == "Succeeded"


def test_policy_in_per_retry_policies(arm, hub) -> None:
    start_slow_holder(arm, hub)
    waits = []
    policy = ConflictRetryPolicy(on_wait=waits.append, timeout=60, poll_floor=0.05)
    with client(arm, per_retry_policies=[policy]) as c:
        result = c.resources.begin_create_or_update_by_id(f"{hub}/bgpConnections/p2", api_version=NET,
                                                           parameters=peer(2), **POLL).result()
    assert result.properties["provisioningState"] == "Succeeded"
    assert len(waits) == 1


def test_policy_gives_up_at_the_deadline_with_the_409(arm, hub) -> None:
    arm.inject(Fault("stuck", pattern="*/bgpconnections/p1"))
    with client(arm) as c:
        c.resources.begin_create_or_update_by_id(f"{hub}/bgpConnections/p1", api_version=NET, parameters=peer(1),
                                                  **POLL)
    policy = ConflictRetryPolicy(timeout=0.5, poll_floor=0.05)
    started = time.monotonic()
    with client(arm, retry_policy=policy) as c, pytest.raises(HttpResponseError) as raised:
        c.resources.begin_create_or_update_by_id(f"{hub}/bgpConnections/p2", api_version=NET, parameters=peer(2),
                                                  **POLL)
    assert raised.value.status_code == 409
    assert 0.4 < time.monotonic() - started < 5


def test_policy_leaves_other_errors_alone(arm, hub) -> None:
    arm.inject(Fault("fail", pattern="*/bgpconnections/p3", sync=True, status=400, code="InvalidRequestFormat",
                     message="bad peer"))
    waits = []
    with client(arm, retry_policy=ConflictRetryPolicy(on_wait=waits.append, poll_floor=0.05)) as c, \
            pytest.raises(HttpResponseError) as raised:
        c.resources.begin_create_or_update_by_id(f"{hub}/bgpConnections/p3", api_version=NET, parameters=peer(3),
                                                  **POLL)
    assert raised.value.status_code == 400
    assert waits == []


def test_decorator_retries_a_conflicting_call_after_the_holder(arm, hub) -> None:
    start_slow_holder(arm, hub)
    waits = []
    calls = []
    conn = connect(arm_endpoint=arm.endpoint, ca_bundle=arm.ca_bundle, subscription=arm.subscription_id)

    @retry_on_conflict(timeout=60, on_wait=waits.append, conn=conn)
    def create_p2():
        calls.append(1)
        with client(arm) as c:
            return c.resources.begin_create_or_update_by_id(f"{hub}/bgpConnections/p2", api_version=NET,
                                                             parameters=peer(2), **POLL).result()

    result = create_p2()
    conn.close()
    assert result.properties["provisioningState"] == "Succeeded"
    assert len(calls) == 2 and len(waits) == 1


class AsyncToken:
    """The emulator's credential as an AsyncTokenCredential."""

    def __init__(self, credential):
        self.credential = credential

    async def get_token(self, *scopes, **kwargs):
        return self.credential.get_token(*scopes)

    async def close(self):
        pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        pass


def test_async_policy_with_an_aio_client(arm, hub) -> None:
    import asyncio

    from azure.mgmt.resource.resources.aio import ResourceManagementClient as AioClient

    from armguard.guard import AsyncConflictRetryPolicy

    holder, started = start_slow_holder(arm, hub)
    waits, polls = [], []

    async def create_p2():
        policy = AsyncConflictRetryPolicy(on_wait=waits.append, on_poll=polls.append, timeout=60, poll_floor=0.05)
        async with AioClient(AsyncToken(arm.credential), arm.subscription_id, retry_policy=policy,
                             **arm.client_kwargs()) as c:
            poller = await c.resources.begin_create_or_update_by_id(f"{hub}/bgpConnections/p2", api_version=NET,
                                                                    parameters=peer(2), **POLL)
            return await poller.result()

    result = asyncio.run(create_p2())
    assert result.properties["provisioningState"] == "Succeeded"
    assert [w.code for w in waits] == ["AnotherOperationInProgress"]
    assert polls and polls[-1].done and time.monotonic() - started >= HOLDER_SECONDS * 0.7
    assert state_of(arm, holder) == "Succeeded"
