"""Response bodies and header values the emulator makes itself (not from the state).

Subscriptions, tenants and locations follow the shapes of azure-mgmt-resource-subscriptions
(`Subscription`, `TenantIdDescription`, `Location`); lists are `{"value": [...]}`. Pure: no I/O.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import ClassVar

from armguard.emulator.regions import LOCATIONS

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
DEFAULT_TENANT = "72f988bf-0000-0000-0000-00000000a4b1"
DISPLAY_NAME = "armguard emulator"


def value_list(items: Iterable[object]) -> dict[str, object]:
    """ARM's list envelope (no paging: every item in one page)."""
    return {"value": list(items)}


def tenant_body(tenant_id: str = DEFAULT_TENANT) -> dict[str, object]:
    return {
        "id": f"/tenants/{tenant_id}",
        "tenantId": tenant_id,
        "tenantCategory": "Home",
        "displayName": DISPLAY_NAME,
        "domains": ["armguard.local"],
        "defaultDomain": "armguard.local",
        "tenantType": "AAD",
    }


def location_bodies(subscription_id: str) -> list[dict[str, object]]:
    return [{
        "id": f"/subscriptions/{subscription_id}/locations/{name}",
        "name": name,
        "type": "Region",
        "displayName": display,
        "regionalDisplayName": f"({geography}) {display}",
        "metadata": {"regionType": "Physical", "regionCategory": "Recommended", "geographyGroup": geography},
    } for name, display, geography in LOCATIONS]


def poll_headers(real_seconds: float) -> dict[str, str]:
    """When to poll a long-running operation again, in real seconds.

    ARM sends `Retry-After` in whole seconds, and the generated Python SDKs parse it as an int, so
    a fraction is impossible there. At a time scale that makes the wait shorter than a second, the
    emulator sends `retry-after-ms` and `x-ms-retry-after-ms` instead, which azure-core's pollers
    and retry policy honour.
    """
    if real_seconds >= 1:
        return {"Retry-After": str(math.ceil(real_seconds - 1e-9))}
    millis = str(max(1, round(real_seconds * 1000)))
    return {"retry-after-ms": millis, "x-ms-retry-after-ms": millis}


def error_retry_headers(real_seconds: float) -> dict[str, str]:
    """`Retry-After` for a 429/5xx: whole seconds, at least one, plus the exact wait in ms."""
    headers = {"Retry-After": str(max(1, math.ceil(real_seconds - 1e-9)))}
    if real_seconds < 1:
        millis = str(max(1, round(real_seconds * 1000)))
        headers.update({"retry-after-ms": millis, "x-ms-retry-after-ms": millis})
    return headers


class RateLimitBuckets:
    """Token buckets behind the `x-ms-ratelimit-remaining-subscription-*` headers.

    Sizes and refill rates are ARM's (2024+): writes and deletes 200 refilled at 10/s, reads 250
    at 25/s. Reported, not enforced: throttling is a fault the state injects (429 + Retry-After).
    """

    SIZES: ClassVar[dict[str, tuple[float, float]]] = {"reads": (250.0, 25.0), "writes": (200.0, 10.0), "deletes": (200.0, 10.0)}

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def take(self, subscription: str, kind: str) -> int:
        """Spend one request of `kind` ("reads", "writes", "deletes"); the tokens left."""
        size, rate = self.SIZES[kind]
        now = self._clock()
        level, stamp = self._buckets.get((subscription, kind), (size, now))
        level = min(size, level + (now - stamp) * rate)
        level = max(level - 1, 0.0)
        self._buckets[(subscription, kind)] = (level, now)
        return int(level)
