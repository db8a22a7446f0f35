"""HTTP behaviour of the emulator, with a raw client on its plain-http listener."""

from __future__ import annotations

import ssl
import time

import pytest

from armguard.emulator import Emulator
from armguard.emulator.faults import Fault

API = {"api-version": "2024-05-01"}
VNET_BODY = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}


@pytest.fixture
def group(arm, raw) -> str:
    path = f"/subscriptions/{arm.subscription_id}/resourceGroups/rg1"
    assert raw.put(path, params={"api-version": "2024-03-01"}, json={"location": "westeurope"}).status_code == 201
    return path


def wait_until_done(raw, url: str, deadline: float = 10.0) -> dict:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        body = raw.get(url).json()
        if body["status"] != "InProgress":
            return body
        time.sleep(0.02)
    raise AssertionError(f"{url} still in progress")


def test_missing_api_version(arm, raw) -> None:
    response = raw.get(f"/subscriptions/{arm.subscription_id}/resourcegroups")
    assert response.status_code == 400
    assert response.json() == {"error": {
        "code": "MissingApiVersionParameter",
        "message": "The api-version query parameter (?api-version=) is required for all requests."}}


def test_malformed_json(arm, raw, group) -> None:
    response = raw.put(f"{group}/providers/Microsoft.Network/virtualNetworks/v1", params=API,
                       content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidRequestContent"
    response = raw.put(f"{group}/providers/Microsoft.Network/virtualNetworks/v1", params=API, json=[1, 2])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidRequestContent"


def test_unknown_route_and_method(arm, raw) -> None:
    response = raw.get("/nothing/here", params=API)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "InvalidResourceType"
    response = raw.post(f"/subscriptions/{arm.subscription_id}/resourcegroups", params=API)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "MethodNotAllowed"


def test_paths_are_case_insensitive(arm, raw, group) -> None:
    upper = group.replace("/subscriptions/", "/SUBSCRIPTIONS/").replace("/resourceGroups/", "/RESOURCEGROUPS/")
    assert raw.get(upper, params=API).json()["name"] == "rg1"
    assert raw.head(group.upper(), params=API).status_code == 204
    assert raw.head(group + "-missing", params=API).status_code == 404


def test_request_headers(arm, raw, group) -> None:
    response = raw.get(group, params=API, headers={"x-ms-correlation-request-id": "corr-123"})
    assert response.headers["x-ms-correlation-request-id"] == "corr-123"
    assert response.headers["x-ms-request-id"] != "corr-123"
    assert "x-ms-ratelimit-remaining-subscription-reads" in response.headers
    write = raw.put(group, params=API, json={"location": "westeurope"})
    assert write.status_code == 200  # an update
    assert int(write.headers["x-ms-ratelimit-remaining-subscription-writes"]) < 200
    fresh = raw.get(group, params=API)
    assert fresh.headers["x-ms-correlation-request-id"] == fresh.headers["x-ms-request-id"]


def test_long_running_put_and_delete_protocol(arm, raw, group) -> None:
    rid = f"{group}/providers/Microsoft.Network/virtualNetworks/v1"
    # Five times slower (>= 0.75 s real) so that the in-progress answers are seen on a busy machine.
    arm.inject(Fault("slow", pattern="*/virtualnetworks/v1", multiplier=5, times=1))
    created = raw.put(rid, params=API, json=VNET_BODY)
    assert created.status_code == 201
    assert created.json()["properties"]["provisioningState"] == "Creating"
    status_url = created.headers["Azure-AsyncOperation"]
    result_url = created.headers["Location"]
    assert status_url.startswith(arm.http_endpoint + f"/subscriptions/{arm.subscription_id}/providers/"
                                 "Microsoft.Network/locations/westeurope/operations/")
    assert "/operationResults/" in result_url and "api-version=" in result_url
    # At time_scale 0.01 a 10-second poll interval is 100 ms: sent in milliseconds.
    assert created.headers["retry-after-ms"] == "100"
    running = raw.get(status_url)
    assert running.status_code == 200 and running.json()["status"] == "InProgress"
    assert raw.get(result_url).status_code == 202
    done = wait_until_done(raw, status_url)
    assert done["status"] == "Succeeded" and "endTime" in done
    final = raw.get(result_url)
    assert final.status_code == 200 and final.json()["id"] == rid
    updated = raw.put(rid, params=API, json={**VNET_BODY, "tags": {"a": "b"}})
    assert updated.status_code == 200
    assert updated.json()["properties"]["provisioningState"] == "Updating"
    wait_until_done(raw, updated.headers["Azure-AsyncOperation"])

    deleted = raw.delete(rid, params=API)
    assert deleted.status_code == 202 and deleted.content == b""
    wait_until_done(raw, deleted.headers["Azure-AsyncOperation"])
    assert raw.get(deleted.headers["Location"]).status_code == 204
    assert raw.get(rid, params=API).status_code == 404
    assert raw.delete(rid, params=API).status_code == 204  # already gone


def test_failed_operation_on_both_monitors(arm, raw, group) -> None:
    rid = f"{group}/providers/Microsoft.Network/virtualNetworks/v1"
    arm.inject(Fault("fail", pattern="*/virtualnetworks/v1", code="InvalidAddressPrefix",
                     message="The address prefix is not valid."))
    created = raw.put(rid, params=API, json=VNET_BODY)
    assert created.status_code == 201
    failed = wait_until_done(raw, created.headers["Azure-AsyncOperation"])
    assert failed["status"] == "Failed"
    assert failed["error"] == {"code": "InvalidAddressPrefix", "message": "The address prefix is not valid."}
    location = raw.get(created.headers["Location"])
    assert location.status_code == 400
    assert location.json() == {"error": failed["error"]}
    assert raw.get(rid, params=API).json()["properties"]["provisioningState"] == "Failed"


def test_resource_group_delete_answers_with_a_location_monitor(arm, raw, group) -> None:
    deleted = raw.delete(group, params=API)
    assert deleted.status_code == 202
    assert "Azure-AsyncOperation" not in deleted.headers
    location = deleted.headers["Location"]
    end = time.monotonic() + 10
    while raw.get(location).status_code == 202:
        assert time.monotonic() < end
        time.sleep(0.02)
    assert raw.get(location).status_code in (200, 204)
    assert raw.get(group, params=API).status_code == 404


def test_server_error_fault_carries_retry_after(arm, raw, group) -> None:
    arm.inject(Fault("server_error", type="Microsoft.Network/virtualNetworks", retry_after=300))
    response = raw.put(f"{group}/providers/Microsoft.Network/virtualNetworks/v1", params=API, json=VNET_BODY)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "ServiceUnavailable"
    assert response.headers["Retry-After"] == "3"  # 300 emulated seconds at time_scale 0.01
    arm.clear_faults()
    arm.inject(Fault("throttle", type="Microsoft.Network/virtualNetworks", times=1, retry_after=10))
    throttled = raw.put(f"{group}/providers/Microsoft.Network/virtualNetworks/v1", params=API, json=VNET_BODY)
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "RetryableError"
    assert throttled.headers["Retry-After"] == "1" and throttled.headers["retry-after-ms"] == "100"


def test_collections_and_lists(arm, raw, group) -> None:
    rid = f"{group}/providers/Microsoft.Network/virtualNetworks/v1"
    wait_until_done(raw, raw.put(rid, params=API, json=VNET_BODY).headers["Azure-AsyncOperation"])
    listed = raw.get(f"{group}/providers/Microsoft.Network/virtualNetworks", params=API).json()
    assert [r["id"] for r in listed["value"]] == [rid]
    in_sub = raw.get(f"/subscriptions/{arm.subscription_id}/providers/Microsoft.Network/virtualNetworks", params=API)
    assert [r["id"] for r in in_sub.json()["value"]] == [rid]
    subnet = raw.put(f"{rid}/subnets/app", params=API, json={"properties": {"addressPrefix": "10.0.1.0/24"}})
    assert subnet.status_code == 201
    wait_until_done(raw, subnet.headers["Azure-AsyncOperation"])
    children = raw.get(f"{rid}/subnets", params=API).json()["value"]
    assert [c["id"] for c in children] == [f"{rid}/subnets/app"]
    assert raw.get(f"{group}/providers/Microsoft.Network/virtualNetworks/nope/subnets", params=API).status_code == 404
    assert raw.get(f"{group}/resources", params={**API, "$filter": "resourceType eq 'Microsoft.Network/virtualNetworks'"}
                   ).json()["value"][0]["id"] == rid
    assert raw.get("/tenants", params=API).json()["value"][0]["tenantId"]
    assert raw.get(f"/subscriptions/{arm.subscription_id}", params=API).json()["subscriptionId"] == arm.subscription_id


def test_required_token(ca_dir) -> None:
    httpx = pytest.importorskip("httpx")
    with Emulator(time_scale=0.01, ca_dir=ca_dir, token="s3cret") as arm:
        url = f"{arm.http_endpoint}/subscriptions?api-version=2022-12-01"
        missing = httpx.get(url)
        assert missing.status_code == 401
        assert missing.json()["error"]["code"] == "AuthenticationFailed"
        assert missing.headers["WWW-Authenticate"].startswith("Bearer ")
        wrong = httpx.get(url, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "InvalidAuthenticationToken"
        right = httpx.get(url, headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200
        # The library's credential hands out the required token; HTTPS verifies with the CA bundle.
        token = arm.credential.get_token("https://management.azure.com/.default").token
        secure = httpx.get(f"{arm.endpoint}/subscriptions?api-version=2022-12-01", verify=ssl.create_default_context(cafile=arm.ca_bundle),
                           headers={"Authorization": f"Bearer {token}"})
        assert secure.status_code == 200


def test_non_ascii_resource_names(arm, raw, group) -> None:
    rid = f"{group}/providers/Microsoft.Network/virtualNetworks/réseau"
    created = raw.put(rid, params=API, json=VNET_BODY)
    assert created.status_code == 201
    assert created.json()["name"] == "réseau"
    assert raw.get(rid, params=API).json()["id"] == rid


def test_date_header_runs_on_emulated_time(arm, raw, group) -> None:
    import datetime as dt
    from email.utils import parsedate_to_datetime

    time.sleep(0.3)  # 30 emulated seconds at 1/100 of real time
    response = raw.get(group, params={"api-version": "2024-03-01"})
    sent = parsedate_to_datetime(response.headers["date"])
    clock = arm.state.clock
    emulated = clock.epoch + dt.timedelta(seconds=clock.now())
    assert len(response.headers.get_list("date")) == 1
    assert abs((emulated - sent).total_seconds()) < 3
    assert (sent - dt.datetime.now(dt.UTC)).total_seconds() > 20  # ahead of the host's clock


def test_http_date_format() -> None:
    import datetime as dt

    from armguard.emulator.clock import http_date

    epoch = dt.datetime(2026, 1, 7, 21, 13, 45, tzinfo=dt.UTC)
    assert http_date(epoch, 0) == "Wed, 07 Jan 2026 21:13:45 GMT"
    assert http_date(epoch, 3 * 3600 + 0.9) == "Thu, 08 Jan 2026 00:13:45 GMT"
