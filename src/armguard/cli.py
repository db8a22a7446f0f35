"""The `armguard` command line."""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path

import click

from armguard import __version__
from armguard.errors import ArmguardError
from armguard.model import DeploymentGraph, inspect_json


def load_any(path: str, params: str | None = None) -> DeploymentGraph:
    """The deployment graph of a Bicep, Bicep parameters or ARM JSON template file."""
    suffix = Path(path).suffix.lower()
    if suffix in (".bicep", ".bicepparam"):
        from armguard.bicep import load_graph

        return load_graph(path, params)
    if suffix == ".json":
        from armguard.arm import load_graph as load_arm

        return load_arm(path, params)
    raise ArmguardError("unsupported file type (expected .bicep, .bicepparam or .json)", path=path)


# Subcommands that live in their own modules, imported only when invoked (keeps `lint` start-up lean).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("armguard.plan.cli", "plan"),
    "emulator": ("armguard.emulator.cli", "emulator"),
    "lock": ("armguard.guard.lock_cli", "lock"),
    "diagnose": ("armguard.diagnose.cli", "diagnose"),
    "simulate": ("armguard.plan.simulate_cli", "simulate"),
    "wait": ("armguard.guard.wait_cli", "wait"),
    "retry": ("armguard.guard.retry_cli", "retry"),
    "deploy": ("armguard.guard.deploy_cli", "deploy"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS:
            import importlib

            module, attr = LAZY_COMMANDS[name]
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="armguard")
def cli() -> None:
    """Keep Azure Resource Manager deployments free of operation conflicts."""


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-p", "--params", "params", help="A .bicepparam or ARM parameters JSON file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def inspect(file: str, params: str | None, fmt: str) -> None:
    """Print the deployment graph of a template: resources, modules, loops, dependencies."""
    graph = load_any(file, params)
    data = inspect_json(graph)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(render_inspect_text(data))
    if graph.errors:
        sys.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True)
@click.option("--fail-on", type=click.Choice(["info", "warning", "error"]), default="warning", show_default=True,
              help="Exit 1 when a finding at or above this level remains.")
@click.option("--fix", is_flag=True, help="Apply the fixes to the files.")
@click.option("--diff", is_flag=True, help="Show the fixes as a unified diff without writing.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to a file.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), help="Parallel workers (default: all cores).")
def lint(paths: tuple[str, ...], fmt: str, fail_on: str, fix: bool, diff: bool, output: str | None,
         jobs: int | None) -> None:
    """Find loops and siblings that will collide on a shared lock domain, explain why, fix them."""
    from armguard.lint import apply_fixes, lint_paths, report
    from armguard.lint.findings import level_rank

    results, files = lint_paths(list(paths), jobs=jobs)
    if fix or diff:
        # Keep stdout a valid report for json/sarif: progress goes to stderr then.
        echo = click.echo if fmt == "text" else (lambda m: click.echo(m, err=True))
        changed = apply_fixes(results, write=fix and not diff, echo=echo)
        if fix and not diff and changed:
            results, files = lint_paths(list(paths), jobs=jobs)
    text = report(results, files, fmt)
    if output:
        from armguard.lint.fixes import write_atomically

        write_atomically(Path(output), text + "\n")
    elif not (diff and fmt == "text"):
        click.echo(text)
    if any(r.errors for r in results):
        sys.exit(2)
    threshold = level_rank(fail_on)
    if any(level_rank(f.level) >= threshold for r in results for f in r.findings):
        sys.exit(1)


def render_inspect_text(data: dict) -> str:
    lines = [f"{data['file']} ({data['language']}, target scope {data['targetScope']})"]
    for r in data["resources"]:
        flags = []
        if r["existing"]:
            flags.append("existing")
        if r["conditional"]:
            flags.append("conditional")
        loop = r["loop"]
        if loop is not None:
            count = "?" if loop["count"] is None else loop["count"]
            if loop["mode"] == "serial":
                batch = f", batchSize {loop['batchSize'] if loop['batchSize'] is not None else '?'}"
            else:
                batch = ", parallel"
            flags.append(f"loop x{count}{batch}")
        head = f"  {r['line']:>5}  {r['kind']:<8} {r['symbol']}  {r['type']}"
        if flags:
            head += f"  [{'; '.join(flags)}]"
        lines.append(head)
        if r["parent"]:
            lines.append(f"{'':16}parent: {r['parent']}")
        if r["dependsOn"]:
            lines.append(f"{'':16}dependsOn: {', '.join(r['dependsOn'])}")
        if r["kind"] == "module":
            if r["deploys"]:
                lines.append(f"{'':16}deploys: {', '.join(r['deploys'])}")
            if r["unresolved"]:
                lines.append(f"{'':16}unresolved: {r['unresolved']}")
    for e in data["errors"]:
        lines.append(f"{e['path']}:{e['line']}:{e['column']}: error: {e['message']}")
    return "\n".join(lines)


def main() -> None:
    # A short-lived process that builds large acyclic trees: collect cycles rarely.
    gc.set_threshold(100_000, 50, 50)
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("armguard: aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(2)
    except ArmguardError as e:
        click.echo(str(e), err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as e:  # a bug in armguard, not in the user's input
        if os.environ.get("ARMGUARD_DEBUG"):
            raise
        click.echo(f"armguard: internal error: {type(e).__name__}: {e} (set ARMGUARD_DEBUG=1 for details)", err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
