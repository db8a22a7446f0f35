"""`armguard deploy`: `az deployment group|sub create`, guarded against operation conflicts."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from armguard.cli_azure import arm_options, duration_option
from armguard.errors import ArmguardError, one_line
from armguard.guard.connection import ArmConnection
from armguard.guard.deploy import DeployLockLost, DeployOptions, DeployOutcome, GuardedDeploy
from armguard.guard.deploy_input import DeployInput, load_parameters, load_template
from armguard.guard.lock_cli import WaitPrinter
from armguard.guard.locks import (
    BACKEND_ENV,
    BLOB_ENDPOINT_ENV,
    DEFAULT_LEASE_SECONDS,
    MAX_LEASE_SECONDS,
    MIN_LEASE_SECONDS,
    HolderInfo,
    LockError,
    LockTimeout,
    acquire,
    scope_key,
)
from armguard.guard.progress import ProgressLine
from armguard.guard.wait_core import format_duration, short_id

EXIT_FAILED = 1
EXIT_LOCK_TIMEOUT = 3
EXIT_LOCK_LOST = 4
EXIT_TIMEOUT = 124
MESSAGE_CHARS = 240


@click.command("deploy")
@click.option("-g", "--resource-group", help="Deploy to this resource group (az deployment group create).")
@click.option("--subscription-scope", is_flag=True, help="Deploy at subscription scope (az deployment sub create).")
@click.option("-l", "--location", help="Where subscription-scope deployment data is stored.")
@click.option("-f", "--template-file", "template_file", required=True, metavar="FILE",
              help="ARM JSON template, or .bicep (compiled with the bicep CLI).")
@click.option("-p", "--parameters", "parameters", multiple=True, metavar="PARAMS",
              help="params.json, @params.json, .bicepparam, JSON, or name=value; repeatable, later wins.")
@click.option("-n", "--name", help="Deployment name (default: the template file's name).")
@click.option("--mode", type=click.Choice(["Incremental", "Complete"]), default="Incremental", show_default=True)
@click.option("--timeout", default="45m", show_default=True, callback=duration_option,
              help="Deadline for the whole run, waiting included.")
@click.option("--max-attempts", type=click.IntRange(1, 100), default=5, show_default=True,
              help="Deploy at most this many times.")
@click.option("--lock/--no-lock", "use_lock", default=True, show_default=True,
              help="Hold the single-writer lock on the scope while deploying.")
@click.option("--lock-key", help="Lock key (default: the scope, /subscriptions/S[/resourceGroups/RG]).")
@click.option("--lock-backend", envvar=BACKEND_ENV, show_envvar=True,
              help="file://PATH (default) or blob://ACCOUNT/CONTAINER[/PREFIX].")
@click.option("--blob-endpoint", envvar=BLOB_ENDPOINT_ENV, show_envvar=True, help="Blob service URL override.")
@click.option("--lock-timeout", default="30m", show_default=True, callback=duration_option,
              help="How long to wait for the lock.")
@click.option("--lease-seconds", type=click.IntRange(MIN_LEASE_SECONDS, MAX_LEASE_SECONDS),
              default=DEFAULT_LEASE_SECONDS, show_default=True,
              help="Blob lease duration, renewed every third of it; a crashed holder frees the lock after it.")
@click.option("--preflight/--no-preflight", default=True, show_default=True,
              help="First wait for running deployments and busy resources in the scope.")
@click.option("--poll-min", default="1s", show_default=True, callback=duration_option)
@click.option("--poll-max", default="30s", show_default=True, callback=duration_option)
@click.option("-q", "--quiet", is_flag=True, help="No progress line.")
@arm_options()
def deploy(resource_group: str | None, subscription_scope: bool, location: str | None, template_file: str,
           parameters: tuple[str, ...], name: str | None, mode: str, timeout: float | None, max_attempts: int,
           use_lock: bool, lock_key: str | None, lock_backend: str | None, blob_endpoint: str | None,
           lock_timeout: float | None, lease_seconds: int, preflight: bool, poll_min: float | None, poll_max: float | None,
           quiet: bool, conn: ArmConnection) -> None:
    """Deploy a template; wait out conflicts and deploy again until it succeeds.

    \b
      armguard deploy -g rg-hub -f main.json -p params.json
      armguard deploy --subscription-scope -l westeurope -f main.bicep -p main.bicepparam

    Exit status: 0 succeeded; 1 the deployment failed (the failed operations are listed); 2 usage,
    input or connection error; 3 the lock was not acquired in time; 4 the lock was lost (the
    deployment was cancelled); 124 the deadline passed.
    """
    if bool(resource_group) == subscription_scope:
        raise click.UsageError("give -g RG or --subscription-scope")
    if subscription_scope and not location:
        raise click.UsageError("--subscription-scope needs -l/--location")
    deploy_input = DeployInput(load_template(template_file), load_parameters(parameters), template_file)
    options = DeployOptions(name=name or Path(template_file).stem, resource_group=resource_group, location=location,
                            mode=mode, timeout=timeout, max_attempts=max_attempts,
                            poll_floor=1.0 if poll_min is None else poll_min,
                            poll_ceiling=max(1.0 if poll_min is None else poll_min,
                                             30.0 if poll_max is None else poll_max),
                            preflight=preflight)
    progress = ProgressLine(enabled=not quiet)

    def say(message: str) -> None:
        progress.say(f"armguard deploy: {message}")

    if not use_lock:
        outcome = _run(GuardedDeploy(conn, options, say=say, on_progress=progress), deploy_input, progress)
        sys.exit(_report(outcome, progress))
    key = lock_key or scope_key(conn.subscription_id(), resource_group)
    printer = WaitPrinter()
    try:
        with acquire(key, backend=lock_backend, timeout=lock_timeout, on_wait=printer, blob_endpoint=blob_endpoint, lease_seconds=lease_seconds,
                     holder=HolderInfo.current(f"armguard deploy {options.name}")) as handle:
            printer.finish()
            if handle.waited >= 1:
                say(f"acquired lock '{handle.key}' after {format_duration(handle.waited)}")
            guarded = GuardedDeploy(conn, options, say=say, on_progress=progress, lost=handle.lost,
                                    lost_reason=lambda: handle.lost_reason)
            outcome = _run(guarded, deploy_input, progress)
    except LockTimeout as e:
        printer.finish()
        click.echo(f"armguard deploy: {e.message}", err=True)
        sys.exit(EXIT_LOCK_TIMEOUT)
    except LockError as e:
        printer.finish()
        raise ArmguardError(e.message) from None
    sys.exit(_report(outcome, progress))


def _run(guarded: GuardedDeploy, deploy_input: DeployInput, progress: ProgressLine) -> DeployOutcome:
    try:
        return guarded.run(deploy_input)
    except DeployLockLost as e:
        progress.finish()
        click.echo(f"armguard deploy: {e.message}", err=True)
        sys.exit(EXIT_LOCK_LOST)


def _report(outcome: DeployOutcome, progress: ProgressLine) -> int:
    progress.finish()
    tries = f"{outcome.attempts} attempt{'s' if outcome.attempts != 1 else ''}"
    if outcome.ok:
        click.echo(f"armguard deploy: deployment {outcome.name} Succeeded after {tries} in "
                   f"{format_duration(outcome.seconds)}", err=True)
        return 0
    for f in outcome.failures:
        message = one_line(f.message or "")
        if len(message) > MESSAGE_CHARS:
            message = message[:MESSAGE_CHARS - 3] + "..."
        what = short_id(f.resource) if f.resource.startswith("/") else f.resource
        click.echo(f"  failed: {what}: {f.code or 'unknown error'}: {message}", err=True)
    reason = f" ({outcome.reason})" if outcome.reason else ""
    if outcome.state == "TimedOut":
        click.echo(f"armguard deploy: {outcome.reason}", err=True)
        return EXIT_TIMEOUT
    click.echo(f"armguard deploy: deployment {outcome.name} {outcome.state} after {tries}{reason}", err=True)
    return EXIT_FAILED
