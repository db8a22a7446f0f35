"""`armguard diagnose`: why did a write meet "another operation is in progress", and what now?"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from armguard.cli_azure import arm_options, transport_errors
from armguard.errors import ArmguardError
from armguard.guard.connection import ArmConnection

from .decide import EXIT_CODES

EXIT_USAGE = 2
ACTIVITY_LOG_RETENTION_SECONDS = 90 * 86400.0


def _window(ctx: click.Context, param: click.Parameter, value: str) -> float:
    from armguard.guard import parse_duration

    try:
        seconds = parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    if seconds is not None and seconds <= 0:
        raise click.BadParameter("the window must be longer than 0s")
    return ACTIVITY_LOG_RETENTION_SECONDS if seconds is None else min(seconds, ACTIVITY_LOG_RETENTION_SECONDS)


@click.command("diagnose")
@click.option("-g", "--resource-group", metavar="RG", help="The resource group to diagnose (default: the error's).")
@click.option("--id", "resource_id", metavar="RESOURCE_ID",
              help="The resource (or deployment) whose write failed (default: the error's).")
@click.option("--error-file", type=click.Path(dir_okay=False, allow_dash=True), metavar="FILE",
              help="Read the error from FILE ('-' for stdin).")
@click.option("--error", "error_text", metavar="TEXT", help="The error text (SDK, az, Terraform or PowerShell).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--window", default="2h", show_default=True, callback=_window,
              help="How far back to read the activity log (90s, 30m, 2h, 1d).")
@arm_options()
def diagnose(resource_group: str | None, resource_id: str | None, error_file: str | None, error_text: str | None,
             fmt: str, window: float, conn: ArmConnection) -> None:
    """Read what holds a resource and say what to do: wait, stuck, locked, collision or clear.

    Give the error text (--error, --error-file, or on stdin when it is piped) and/or the scope (-g,
    --id). Everything is read-only: deployments and their operations, the resource and its parent,
    the error's status URI, the activity log and management locks. The subscription is --subscription,
    else the one in --id or the error's ids, else AZURE_SUBSCRIPTION_ID, else the az CLI's account.

    \b
    Exit codes:
      0   clear      nothing in flight: safe to retry
      10  wait       a related write is in flight; `armguard wait ...` says when it ends
      11  stuck      the holder runs past the catalog's maximum for its type
      12  locked     a management lock blocks the write; waiting will not help
      13  collision  a loop of this template, or two deployments, hit one lock domain
      2   usage error (no scope, unreadable file, unknown resource group, unreachable endpoint)
      3   internal error
    """
    try:
        with transport_errors(conn):
            code = _run(conn, resource_group=resource_group, resource_id=resource_id,
                        error_text=_error_input(error_file, error_text), fmt=fmt, window=window)
    except ArmguardError as error:
        click.echo(f"armguard diagnose: {error}", err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(code)


def _run(conn: ArmConnection, *, resource_group: str | None, resource_id: str | None, error_text: str | None,
         fmt: str, window: float) -> int:
    from armguard.catalog import load_catalog
    from armguard.lint.config import find_config

    from .decide import decide
    from .gather import Request, gather, read_error, resolve_scope
    from .report import render_json, render_text

    request = Request(resource_group=resource_group, resource_id=resource_id, error_text=error_text,
                      window_seconds=window)
    error = read_error(error_text)
    scope = resolve_scope(request, error)
    catalog = load_catalog(find_config(Path.cwd()).catalog)
    facts = gather(conn, request, error, scope)
    diagnosis = decide(facts, catalog, extra_flags=_passed_connection_flags())
    click.echo(render_json(diagnosis) if fmt == "json" else render_text(diagnosis))
    return EXIT_CODES[diagnosis.verdict]


def _error_input(error_file: str | None, error_text: str | None) -> str | None:
    if error_file is not None and error_text is not None:
        raise click.UsageError("give the error once: --error or --error-file")
    if error_text is not None:
        return error_text
    if error_file is not None:
        try:
            with click.open_file(error_file, "r", encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError as error:
            raise ArmguardError(f"--error-file: cannot read {error_file}: {error.strerror}") from None
    stdin = click.get_text_stream("stdin")
    if stdin.isatty():
        return None
    return stdin.read()


def _passed_connection_flags() -> list[str]:
    """--arm-endpoint / --ca-bundle as given on this command line, for the commands we recommend."""
    ctx = click.get_current_context()
    flags: list[str] = []
    for name, flag in (("arm_endpoint", "--arm-endpoint"), ("ca_bundle", "--ca-bundle")):
        value = ctx.params.get(name)
        if value and ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
            flags += [flag, str(value)]
    return flags
