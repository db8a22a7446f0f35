"""`armguard emulator serve`: the local Resource Manager emulator as a server."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from armguard.emulator.http_identity import DEFAULT_CALLER
from armguard.emulator.http_shapes import DEFAULT_SUBSCRIPTION


@click.group()
def emulator() -> None:
    """A local Azure Resource Manager that reproduces operation conflicts."""


@emulator.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind (loopback unless you say otherwise).")
@click.option("--port", type=click.IntRange(0, 65535), default=8443, show_default=True,
              help="HTTPS port; 0 picks a free one.")
@click.option("--http-port", type=click.IntRange(0, 65535), default=None,
              help="Also serve plain http on this port (0: a free one). Off by default.")
@click.option("--time-scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Real seconds per emulated second (0.01 makes a 30-minute gateway take 18 s).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Load the state from this file and keep it there across restarts.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of durations and faults.")
@click.option("--token", default=None, help="Accept only 'Authorization: Bearer <token>' (default: any).")
@click.option("--caller", default=DEFAULT_CALLER, show_default=True,
              help="Caller recorded when the token is no JWT and no x-ms-caller header is sent.")
@click.option("--subscription", "subscription_id", default=DEFAULT_SUBSCRIPTION, show_default=True,
              help="Subscription listed by GET /subscriptions (any id in a path works).")
@click.option("--ca-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the local CA and server certificate live "
                   "(default: $ARMGUARD_EMULATOR_CA_DIR or ~/.cache/armguard/emulator-ca).")
@click.option("--unknown-as", type=click.Choice(["safe", "serial"]), default="safe", show_default=True,
              help="How resource types missing from the catalog behave under parallel writes.")
def serve(host: str, port: int, http_port: int | None, time_scale: float, state_file: Path | None, seed: int,
          token: str | None, caller: str, subscription_id: str, ca_dir: Path | None, unknown_as: str) -> None:
    """Serve the emulator over HTTPS (a local CA signs its certificate) until Ctrl+C or SIGTERM.

    Prints one line when ready: `armguard emulator listening on https://HOST:PORT (CA bundle: PATH)`;
    with --http-port a second line on stderr gives the plain-http address.
    """
    from armguard.emulator.server import EmulatorServer, ServerOptions, is_loopback

    if not is_loopback(host):
        click.echo(f"warning: binding {host}, which is not a loopback address: anyone who can reach it "
                   "can use the emulator", err=True)
    options = ServerOptions(host=host, port=port, http_port=http_port, time_scale=time_scale,
                            state_file=state_file, seed=seed, token=token, caller=caller,
                            subscription_id=subscription_id, ca_dir=ca_dir, unknown_as=unknown_as)
    try:
        server = EmulatorServer(options)
    except OSError as error:
        if state_file is not None and error.filename == str(state_file):
            raise click.ClickException(f"cannot read the state file {state_file}: {error.strerror}") from None
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    except ValueError as error:  # JSONDecodeError included
        raise click.ClickException(f"cannot load the state file {state_file}: {error}") from None

    def announce() -> None:
        click.echo(server.banner())
        sys.stdout.flush()
        if server.http_endpoint:
            click.echo(f"armguard emulator plain http on {server.http_endpoint}", err=True)

    try:
        server.run(on_ready=announce)
    except Exception as error:
        raise click.ClickException(str(error)) from None
