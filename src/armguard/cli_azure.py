"""Command-line options shared by every command that talks to Resource Manager."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import click

from armguard.errors import ArmguardError
from armguard.guard.connection import ArmConnection, connect, describe_transport_error


def arm_options(subscription: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add --arm-endpoint, --ca-bundle (and --subscription) and pass `conn: ArmConnection` instead."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, arm_endpoint: str | None, ca_bundle: str | None,
                    subscription_id: str | None = None, **kwargs: Any) -> Any:
            conn = connect(arm_endpoint=arm_endpoint, ca_bundle=ca_bundle, subscription=subscription_id)
            try:
                with transport_errors(conn):
                    return func(*args, conn=conn, **kwargs)
            finally:
                conn.close()

        wrapper = click.option("--ca-bundle", "ca_bundle", envvar="ARMGUARD_CA_BUNDLE", metavar="PATH",
                               help="CA certificate for the endpoint's TLS (env ARMGUARD_CA_BUNDLE).")(wrapper)
        wrapper = click.option("--arm-endpoint", "arm_endpoint", envvar="ARMGUARD_ARM_ENDPOINT", metavar="URL",
                               help="Resource Manager base URL, e.g. an `armguard emulator serve` endpoint "
                                    "(env ARMGUARD_ARM_ENDPOINT); no Azure login is needed then.")(wrapper)
        if subscription:
            wrapper = click.option("--subscription", "subscription_id", metavar="ID",
                                   help="Subscription id (default: AZURE_SUBSCRIPTION_ID, then the az CLI's "
                                        "current account).")(wrapper)
        return wrapper

    return decorate


def duration_option(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """A click callback: seconds from 90s, 45m, 1h30m; None for none/forever."""
    from armguard.guard.locks import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from e


@contextlib.contextmanager
def transport_errors(conn: ArmConnection) -> Iterator[None]:
    """Turn an unreachable endpoint or a failed login into one ArmguardError line."""
    try:
        yield
    except ArmguardError:
        raise
    except Exception as error:
        from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

        if isinstance(error, ServiceRequestError):
            raise ArmguardError(describe_transport_error(conn, error)) from None
        if isinstance(error, ClientAuthenticationError):
            first = (str(error).strip().splitlines() or ["authentication failed"])[0]
            raise ArmguardError(f"cannot sign in to Azure: {first} (run `az login`, or set --arm-endpoint for "
                                "an emulator)") from None
        raise
