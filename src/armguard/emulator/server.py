"""Serving the emulator: uvicorn listeners (HTTPS and plain HTTP), persistence, clean shutdown.

`EmulatorServer` owns the state, binds its sockets at construction (so `--port 0` knows its port
before serving), and serves either in the calling thread until SIGINT/SIGTERM (`run`, the CLI) or
in a background thread (`start` / `stop`, the library's `Emulator`). Both listeners share one app
and one event loop; uvloop and httptools are used when installed.

With a state file, the state is loaded at start, written atomically (temporary file + rename) at
most every `flush_seconds` after a write was acknowledged, and once more on a clean stop, so
nothing acknowledged is lost when the server is stopped with SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import json
import logging
import os
import signal
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from armguard.emulator.clock import WallClock
from armguard.emulator.http import ArmApp
from armguard.emulator.http_identity import DEFAULT_CALLER
from armguard.emulator.http_shapes import DEFAULT_SUBSCRIPTION
from armguard.emulator.state import ArmState
from armguard.emulator.tls import TlsFiles, ensure_certificates

log = logging.getLogger("armguard.emulator")

# gc threshold2 while serving: a full collection at most once per this many generation-1 ones
# (Python's default is 10).
SERVING_FULL_GC_THRESHOLD = 100


@dataclass
class ServerOptions:
    """How to serve; the CLI's options one for one."""

    host: str = "127.0.0.1"
    port: int = 0
    http_port: int | None = None  # None: no plain-http listener
    time_scale: float = 1.0
    state_file: Path | None = None
    seed: int = 0
    token: str | None = None
    caller: str = DEFAULT_CALLER
    subscription_id: str = DEFAULT_SUBSCRIPTION
    ca_dir: Path | None = None
    unknown_as: str = "safe"
    flush_seconds: float = 0.5


class EmulatorServer:
    """The HTTP(S) server around one `ArmState`."""

    def __init__(self, options: ServerOptions, *, state: ArmState | None = None, catalog=None):
        self.options = options
        self.lock = threading.RLock()
        self.state = state if state is not None else self._load_state(catalog)
        self.tls: TlsFiles = ensure_certificates(options.ca_dir, hosts=[options.host])
        self._https_socket = bind_socket(options.host, options.port)
        try:
            self._http_socket = (bind_socket(options.host, options.http_port)
                                 if options.http_port is not None else None)
        except OSError:
            self._https_socket.close()
            raise
        self.state.base_url = self.endpoint
        self.state.default_subscription = options.subscription_id
        self.state.ensure_subscription(options.subscription_id)
        self.app = ArmApp(self.state, token=options.token, default_caller=options.caller, lock=self.lock,
                          on_change=self._mark_dirty)
        self._dirty = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    # -- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._https_socket.getsockname()[1]

    @property
    def http_port(self) -> int | None:
        return self._http_socket.getsockname()[1] if self._http_socket is not None else None

    @property
    def endpoint(self) -> str:
        """The HTTPS base URL, e.g. https://127.0.0.1:50123."""
        return f"https://{url_host(self.options.host)}:{self.port}"

    @property
    def http_endpoint(self) -> str | None:
        port = self.http_port
        return None if port is None else f"http://{url_host(self.options.host)}:{port}"

    @property
    def ca_bundle(self) -> str:
        return str(self.tls.ca_cert)

    def banner(self) -> str:
        """The one line `armguard emulator serve` prints when it is ready."""
        return f"armguard emulator listening on {self.endpoint} (CA bundle: {self.ca_bundle})"

    # -- running ---------------------------------------------------------------------------

    def run(self, on_ready: Callable[[], None] | None = None) -> None:
        """Serve in this thread until SIGINT or SIGTERM (or `stop()` from another thread).

        This is the CLI's way to serve, so the process is the server's: the state it keeps only
        grows, and the full garbage collections that would walk all of it again and again (pauses
        of tenths of a second once it holds tens of thousands of resources) are made rare. Young
        collections, which free the cycles requests leave behind, run as usual.
        """
        gc.set_threshold(*gc.get_threshold()[:2], SERVING_FULL_GC_THRESHOLD)
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(self._serve(on_ready, handle_signals=True))
        if self._failure is not None:
            raise self._failure

    def start(self, timeout: float = 30.0) -> EmulatorServer:
        """Serve in a background thread; returns once both listeners accept connections."""
        self._thread = threading.Thread(target=self._thread_main, name="armguard-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the armguard emulator did not start in time")
        if self._failure is not None:
            raise RuntimeError(f"the armguard emulator failed to start: {self._failure}") from self._failure
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop serving (from any thread) and write the state file one last time.

        Raises what made the server fail, if anything did (e.g. the state file could not be written).
        """
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop may close between check and call
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("the armguard emulator did not stop in time")
            self._thread = None
        failure, self._failure = self._failure, None
        if failure is not None:
            raise RuntimeError(f"the armguard emulator failed: {failure}") from failure

    def _thread_main(self) -> None:
        try:
            with asyncio.Runner(loop_factory=loop_factory()) as runner:
                runner.run(self._serve(None, handle_signals=False))
        except BaseException as error:  # reported to the starting thread
            self._failure = error
        finally:
            self._ready.set()

    async def _serve(self, on_ready: Callable[[], None] | None, *, handle_signals: bool) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        listeners = [(self._https_socket, True)]
        if self._http_socket is not None:
            listeners.append((self._http_socket, False))
        servers = [_QuietServer(self._uvicorn_config(tls)) for _, tls in listeners]
        tasks = [asyncio.create_task(server.serve(sockets=[sock]))
                 for server, (sock, _) in zip(servers, listeners, strict=True)]
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    self._loop.add_signal_handler(sig, self._stop.set)
        try:
            while not all(s.started for s in servers):
                if any(t.done() for t in tasks):
                    break
                await asyncio.sleep(0.005)
            failed = [t for t in tasks if t.done()]
            if failed:
                for t in failed:
                    t.result()  # raises the startup error
                raise RuntimeError("a listener stopped during startup")
            self._ready.set()
            if on_ready is not None:
                on_ready()
            flusher = asyncio.create_task(self._flush_periodically())
            await self._stop.wait()
            flusher.cancel()
        except BaseException as error:
            self._failure = error
        finally:
            for server in servers:
                server.request_exit()
            await _drain(servers, tasks)
            try:
                self.save()
            except Exception as error:
                self._failure = self._failure or error

    def _uvicorn_config(self, tls: bool) -> uvicorn.Config:
        return uvicorn.Config(
            self.app,
            http=http_implementation(),
            lifespan="off",
            access_log=False,
            log_level="warning",
            server_header=False,
            date_header=False,  # the app sends Date in emulated time
            proxy_headers=False,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=5,
            ssl_certfile=str(self.tls.server_cert) if tls else None,
            ssl_keyfile=str(self.tls.server_key) if tls else None,
        )

    # -- persistence -----------------------------------------------------------------------

    def _load_state(self, catalog) -> ArmState:
        clock = WallClock(time_scale=self.options.time_scale)
        path = self.options.state_file
        if path is not None and path.exists() and path.stat().st_size > 0:
            data = json.loads(path.read_text(encoding="utf-8"))
            return ArmState.from_json(data, clock=clock, catalog=catalog)
        return ArmState(catalog=catalog, clock=clock, seed=self.options.seed, unknown_as=self.options.unknown_as)

    def _mark_dirty(self) -> None:
        self._dirty = True

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.options.flush_seconds)
            if self._dirty:
                try:
                    self.save()
                except OSError as error:  # keep serving; the final save on stop reports it
                    log.error("cannot write the state file %s: %s", self.options.state_file, error)

    def save(self) -> None:
        """Write the state file atomically (no-op without one)."""
        path = self.options.state_file
        if path is None:
            return
        with self.lock:
            self._dirty = False
            data = self.state.to_json()
        text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        write_atomically(path, text)


async def _drain(servers: list[_QuietServer], tasks: list[asyncio.Task]) -> None:
    """Wait for the listeners to stop. uvicorn closes idle keep-alive connections gracefully, but a
    TLS close waits for the client's close_notify, which an idle pooled client never sends: abort
    connections still closing after a short grace so that stopping takes a fraction of a second."""
    grace_until = asyncio.get_running_loop().time() + 0.15
    while not all(t.done() for t in tasks):
        await asyncio.wait(tasks, timeout=0.05)
        if asyncio.get_running_loop().time() < grace_until:
            continue
        for server in servers:
            for connection in list(server.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is not None and transport.is_closing():
                    transport.abort()
    await asyncio.gather(*tasks, return_exceptions=True)


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `EmulatorServer` (two listeners, one stop)
    and notices a stop at once instead of at its next 0.1-second tick."""

    def __init__(self, config: uvicorn.Config):
        super().__init__(config)
        self.exit_requested = asyncio.Event()

    def capture_signals(self):  # uvicorn >= 0.29
        return contextlib.nullcontext()

    def install_signal_handlers(self) -> None:  # older uvicorn
        pass

    def request_exit(self) -> None:
        self.should_exit = True
        self.exit_requested.set()

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exit_requested.wait(), 0.1)


def bind_socket(host: str, port: int) -> socket.socket:
    """A bound (not yet listening) TCP socket; port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_host(host: str) -> str:
    host = host.strip("[]")
    return f"[{host}]" if ":" in host else host


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def loop_factory():
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def http_implementation() -> str:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
