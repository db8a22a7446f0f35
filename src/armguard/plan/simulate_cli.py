"""The `armguard simulate` command (registered lazily in armguard.cli.LAZY_COMMANDS)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from armguard.errors import ArmguardError
from armguard.plan.simulate import DEFAULT_GROUP, DEFAULT_LOCATION, MAX_RUNS


class UserError(click.ClickException):
    """A usage or input error: one line on stderr, exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(self.format_message(), err=True)


class OneLineErrors(click.Command):
    """Usage errors (unknown option, bad value, missing argument) as one line instead of click's
    usage block."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            raise UserError(f"{ctx.command_path}: error: {e.format_message()} "
                            f"(see '{ctx.command_path} --help')") from None


@click.command("simulate", cls=OneLineErrors)
@click.argument("template", metavar="TEMPLATE")
@click.option("-p", "--params", "params", metavar="FILE", help="A .bicepparam or ARM parameters JSON file.")
@click.option("--runs", type=click.IntRange(1, MAX_RUNS), default=100, show_default=True,
              help="Deployments to simulate (each a fresh emulator with its own seed).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the whole simulation: the same seed gives the same report.")
@click.option("--compare", "compare", metavar="FIXED_TEMPLATE",
              help="Also simulate this template (with the same seeds) and show before and after side by side.")
@click.option("--compare-params", metavar="FILE", help="Parameters of FIXED_TEMPLATE (default: the -p file).")
@click.option("-g", "--resource-group", "group", default=DEFAULT_GROUP, show_default=True,
              help="Resource group each run creates and deploys into (resourceGroup-scope templates).")
@click.option("--location", default=DEFAULT_LOCATION, show_default=True,
              help="Location of the resource group, or of a subscription-scope deployment.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", metavar="FILE", help="Write the report to a file (atomically) instead of stdout.")
def simulate(template: str, params: str | None, runs: int, seed: int, compare: str | None,
             compare_params: str | None, group: str, location: str, fmt: str, output: str | None) -> None:
    """Deploy TEMPLATE (.bicep, .bicepparam or ARM .json) RUNS times on the emulator, in virtual
    time, with the catalog's durations jittered per run: how many runs failed, which resources
    failed with which error code, and the makespan (deployment duration) distribution.

    \b
    Exit status:
      0  no run failed (with --compare: no run of FIXED_TEMPLATE failed)
      1  some run failed (with --compare: some run of FIXED_TEMPLATE failed)
      2  usage error, or a template that cannot be read, parsed or deployed at all
    """
    from armguard.plan import simulate as simulation
    from armguard.plan.simulate_load import load_target
    from armguard.plan.simulate_report import compare_text, to_text

    try:
        if compare_params is not None and compare is None:
            raise ArmguardError("--compare-params needs --compare FIXED_TEMPLATE")
        before_target = load_target(template, params, group=group, location=location)
        after_target = None
        if compare is not None:
            after_target = load_target(compare, compare_params if compare_params is not None else params,
                                       group=group, location=location)
        before = simulation.simulate(before_target, runs, seed)
        after = simulation.simulate(after_target, runs, seed) if after_target is not None else None
        if fmt == "json":
            data = simulation.to_json(before) if after is None else simulation.compare_json(before, after)
            text = json.dumps(data, indent=2)
        else:
            text = to_text(before) if after is None else compare_text(before, after)
        if output:
            from armguard.lint.fixes import write_atomically

            write_atomically(Path(output), text + "\n")
        else:
            click.echo(text)
    except ArmguardError as e:
        raise UserError(str(e)) from None
    decisive = after if after is not None else before
    if decisive.failed_runs:
        sys.exit(1)
