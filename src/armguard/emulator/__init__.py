"""The local Azure Resource Manager emulator.

In-process use (tests, notebooks)::

    from armguard.emulator import Emulator

    with Emulator(time_scale=0.01, seed=1) as arm:
        client = ResourceManagementClient(arm.credential, arm.subscription_id, **arm.client_kwargs())
        ...
        assert arm.state.get_resource(some_id)["properties"]["provisioningState"] == "Succeeded"

`arm.endpoint` is the HTTPS base URL, `arm.ca_bundle` the CA certificate to pass as
`connection_verify`, `arm.credential` an azure-core `TokenCredential` with a fake token,
`arm.http_endpoint` the plain-http base URL, `arm.state` the `ArmState` (hold `arm.lock` while
reading it if requests may be in flight), `arm.inject(fault)` / `arm.clear_faults()` for faults.
The server modules (uvicorn, the TLS code) are imported only when an emulator starts.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from armguard.emulator.http_identity import EmulatorCredential
    from armguard.emulator.server import EmulatorServer
    from armguard.emulator.state import ArmState

__all__ = ["Emulator"]

MANAGEMENT_SCOPE = "https://management.azure.com/.default"


class Emulator:
    """An emulator served from a background thread on free loopback ports (HTTPS and plain HTTP)."""

    def __init__(self, *, time_scale: float = 1.0, seed: int = 0, state_file: str | Path | None = None,
                 catalog: Any = None, token: str | None = None, caller: str | None = None,
                 subscription_id: str | None = None, ca_dir: str | Path | None = None,
                 unknown_as: str = "safe", http: bool = True, host: str = "127.0.0.1"):
        from armguard.emulator.http_identity import DEFAULT_CALLER
        from armguard.emulator.http_shapes import DEFAULT_SUBSCRIPTION

        self.time_scale = time_scale
        self.seed = seed
        self.state_file = Path(state_file) if state_file is not None else None
        self.catalog = catalog
        self.token = token
        self.caller = caller or DEFAULT_CALLER
        self.subscription_id = subscription_id or DEFAULT_SUBSCRIPTION
        self.ca_dir = Path(ca_dir) if ca_dir is not None else None
        self.unknown_as = unknown_as
        self.http = http
        self.host = host
        self._server: EmulatorServer | None = None
        self._credential: EmulatorCredential | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Emulator:
        from armguard.emulator.server import EmulatorServer, ServerOptions

        if self._server is not None:
            return self
        options = ServerOptions(host=self.host, port=0, http_port=0 if self.http else None,
                                time_scale=self.time_scale, state_file=self.state_file, seed=self.seed,
                                token=self.token, caller=self.caller, subscription_id=self.subscription_id,
                                ca_dir=self.ca_dir, unknown_as=self.unknown_as)
        self._server = EmulatorServer(options, catalog=self.catalog).start()
        return self

    def stop(self) -> None:
        """Stop serving; with a state file, the state is written before this returns."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what clients need -------------------------------------------------------------------

    @property
    def server(self) -> EmulatorServer:
        if self._server is None:
            raise RuntimeError("the emulator is not running: use `with Emulator() as arm:` or call start()")
        return self._server

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def http_endpoint(self) -> str | None:
        return self.server.http_endpoint

    @property
    def ca_bundle(self) -> str:
        return self.server.ca_bundle

    @property
    def credential(self) -> EmulatorCredential:
        """A TokenCredential: the fake JWT naming `caller` (recorded in the activity log), or `token` when set."""
        if self._credential is None:
            from armguard.emulator.http_identity import EmulatorCredential

            self._credential = EmulatorCredential(self.caller, token=self.token)
        return self._credential

    @property
    def state(self) -> ArmState:
        return self.server.state

    @property
    def lock(self) -> threading.RLock:
        """Held by the server while it serves a request; hold it to read the state consistently."""
        return self.server.lock

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for an azure-mgmt client: endpoint, CA bundle and credential scopes."""
        return {"base_url": self.endpoint, "connection_verify": self.ca_bundle,
                "credential_scopes": [MANAGEMENT_SCOPE]}

    # -- faults ------------------------------------------------------------------------------

    def inject(self, fault: Any = None, /, **fields: Any) -> Any:
        """Inject a fault: a `Fault` or its fields (`arm.inject(kind="stuck", type="...")`)."""
        if fault is None:
            from armguard.emulator.faults import Fault

            fault = Fault(**fields)
        with self.lock:
            return self.state.inject(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self.state.clear_faults()
