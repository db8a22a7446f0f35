"""The commands a diagnosis recommends, quoted for a POSIX shell."""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence

from .facts import key


def command(*words: str, extra: Sequence[str] = ()) -> str:
    return " ".join(shlex.quote(w) for w in (*words, *extra))


def timeout_words(seconds: float | None) -> tuple[str, ...]:
    """`--timeout` for `armguard wait`, in whole minutes (none when unknown: wait's default applies)."""
    if seconds is None or seconds <= 0:
        return ()
    return ("--timeout", f"{max(1, math.ceil(seconds / 60))}m")


def wait_command(*, status_uri: str | None, resource_id: str | None, deployment: str | None,
                 resource_group: str | None, subscription: str | None = None, timeout: float | None = None,
                 extra: Sequence[str] = ()) -> str:
    """`armguard wait` on the most precise thing known: the status URI, the resource, the deployment,
    else the resource group (these two with the subscription, which only ids and URIs carry)."""
    limit = timeout_words(timeout)
    in_subscription = ("--subscription", subscription) if subscription else ()
    if status_uri:
        return command("armguard", "wait", "--operation-url", status_uri, *limit, extra=extra)
    if resource_id and "/providers/microsoft.resources/deployments/" not in key(resource_id):
        return command("armguard", "wait", "--id", resource_id, *limit, extra=extra)
    if deployment and resource_group:
        return command("armguard", "wait", "--deployment", deployment, "-g", resource_group, *limit,
                       *in_subscription, extra=extra)
    if resource_group:
        return command("armguard", "wait", "--resource-group", resource_group, *limit, *in_subscription,
                       extra=extra)
    if resource_id:
        return command("armguard", "wait", "--id", resource_id, *limit, extra=extra)
    return ""


def lint_command() -> str:
    return "armguard lint ."


def lock_show_command(lock_id: str) -> str:
    return command("az", "lock", "show", "--ids", lock_id)


def deployment_operations_command(name: str, resource_group: str | None) -> str:
    if resource_group:
        return command("az", "deployment", "operation", "group", "list", "-g", resource_group, "-n", name,
                       "-o", "table")
    return command("az", "deployment", "operation", "sub", "list", "-n", name, "-o", "table")
