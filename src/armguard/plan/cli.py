"""The `armguard plan` command (registered in armguard.cli with `cli.add_command(plan)`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command("plan")
@click.argument("template", type=click.Path(dir_okay=False))
@click.option("-p", "--params", "params", help="A .bicepparam or ARM parameters JSON file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to a file.")
@click.option("--assume-count", type=click.IntRange(1, 800),
              help="Iterations of a loop whose count is not known before deployment (default: plan one).")
@click.option("--default-seconds", type=click.FloatRange(0, min_open=True), default=60.0, show_default=True,
              help="Duration assumed for a write the catalog has no typical duration for.")
@click.option("--deployment-overhead", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Seconds a nested deployment (module) adds of its own.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the Monte Carlo failure estimate.")
@click.option("--samples", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Most Monte Carlo runs for the failure estimate.")
@click.option("--jitter", type=click.FloatRange(0, 0.99), default=0.3, show_default=True,
              help="Monte Carlo durations: uniform within typical x (1 +- jitter).")
@click.option("--fail-on-collision", is_flag=True, help="Exit 1 when the template as written has collisions.")
def plan(template: str, params: str | None, fmt: str, output: str | None, assume_count: int | None,
         default_seconds: float, deployment_overhead: float, seed: int, samples: int, jitter: float,
         fail_on_collision: bool) -> None:
    """Schedule a deployment: how long it takes as written, with lint's fixes (all serial) and at best
    (optimal), which writes collide on a shared lock domain, and the template changes that avoid
    the collisions at the least cost."""
    from armguard.plan.core import Options, plan_file
    from armguard.plan.report import to_json, to_text

    opts = Options(default_seconds=default_seconds, assume_count=assume_count, overhead=deployment_overhead,
                   jitter=jitter, seed=seed, samples=samples)
    result = plan_file(template, params, opts)
    if fmt == "json":
        text = json.dumps(to_json(result), indent=2)
    elif fmt == "html":
        from armguard.plan.html import to_html

        text = to_html(result)
    else:
        text = to_text(result)
    if output:
        from armguard.lint.fixes import write_atomically

        write_atomically(Path(output), text + "\n")
    else:
        click.echo(text)
    if fail_on_collision and result.collisions["as_written"]:
        sys.exit(1)
