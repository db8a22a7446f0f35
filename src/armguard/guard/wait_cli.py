"""`armguard wait`: block until an operation, resource, deployment or resource group is quiet."""

from __future__ import annotations

import sys

import click

from armguard.cli_azure import arm_options, duration_option
from armguard.errors import ArmguardError
from armguard.guard.connection import ArmConnection
from armguard.guard.progress import ProgressLine
from armguard.guard.wait import WaitTarget, WaitTimeout, wait_for
from armguard.guard.wait_core import format_duration

EXIT_FAILED = 1
EXIT_TIMEOUT = 124


@click.command()
@click.option("-g", "--resource-group", help="Wait until no deployment of this resource group is running.")
@click.option("--id", "resource_id", metavar="RESOURCE_ID",
              help="Wait until this resource (and its parents) are terminal and ready.")
@click.option("--operation-url", metavar="URL", help="Poll this async-operation status URI until it ends.")
@click.option("--deployment", metavar="NAME", help="Wait for this deployment of -g RG to end.")
@click.option("--timeout", default="45m", show_default=True, callback=duration_option,
              help="Give up after this long (90s, 45m, 2h; none: never).")
@click.option("--poll-min", default="1s", show_default=True, callback=duration_option,
              help="Lower bound on the server's Retry-After.")
@click.option("--poll-max", default="60s", show_default=True, callback=duration_option,
              help="Upper bound on the server's Retry-After.")
@click.option("-q", "--quiet", is_flag=True, help="No progress line.")
@arm_options()
def wait(resource_group: str | None, resource_id: str | None, operation_url: str | None, deployment: str | None,
         timeout: float, poll_min: float, poll_max: float, quiet: bool, conn: ArmConnection) -> None:
    """Wait for what holds a resource to finish.

    Exit status: 0 when it ended Succeeded (or nothing is running), 1 when it ended Failed or
    Canceled, 124 on timeout, 2 on a usage or connection error.
    """
    chosen = [x for x in (operation_url, resource_id, deployment) if x]
    if len(chosen) > 1:
        raise click.UsageError("give one of --operation-url, --id, --deployment")
    if not chosen and not resource_group:
        raise click.UsageError("give --operation-url, --id, --deployment -g RG or -g RG")
    if deployment and not resource_group:
        raise click.UsageError("--deployment needs -g/--resource-group")
    target = WaitTarget(operation_url=operation_url, resource_id=resource_id, deployment=deployment,
                        resource_group=resource_group if not (operation_url or resource_id) else None)
    progress = ProgressLine(enabled=not quiet)
    try:
        result = wait_for(target, conn=conn, timeout=timeout, poll_floor=poll_min,
                          poll_ceiling=max(poll_min, poll_max), on_progress=progress)
    except WaitTimeout as timed_out:
        progress.finish()
        click.echo(f"armguard wait: {timed_out.message}", err=True)
        sys.exit(EXIT_TIMEOUT)
    except ArmguardError:
        progress.finish()
        raise
    progress.finish()
    obs = result.observation
    if result.ok:
        click.echo(f"{obs.what}: {obs.state} after {format_duration(result.waited)}", err=True)
        return
    reason = f": {obs.detail}" if obs.detail else ""
    click.echo(f"armguard wait: {obs.what} ended {obs.state}{reason}", err=True)
    sys.exit(EXIT_FAILED)
