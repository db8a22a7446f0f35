"""Requests per second of the ARM emulator's HTTP server over loopback: GET and PUT of a resource.

Usage: python bench/emulator.py [--threads N] [--requests N] [--seconds S] [--json FILE]

The server runs as its own process (`armguard emulator serve --port 0 --http-port 0`, on 127.0.0.1
only), with the local CA in a temporary directory. The client is this process: N threads, each with
one keep-alive connection, over plain http and over HTTPS (verified against the emulator's CA).
`--client raw` (default) is a minimal HTTP/1.1 client on a socket, so that the client's own CPU
(both processes share this machine's cores) weighs as little as possible on the figures;
`--client http.client` uses the standard library's client. Each phase stops after --requests
requests or --seconds seconds, whichever comes first, and the server is stopped at the end
(SIGTERM), so the run is bounded in count and time.

- GET: the same virtual network, again and again (200);
- PUT: a new virtual network per request (201 + Azure-AsyncOperation), so no request meets another's
  operation in flight; the time scale is tiny so the operations finish at once.

Every response is checked (status 200 for GET, 201 for PUT); errors are counted, not retried.
Figures: requests per second (completed requests / wall time of the phase) and latency p50/p99 as
seen by the client. Both processes share this machine's cores, so the client's cost is included.
The verdict line compares the lowest figure with the issue's bar: 2,000 requests/s on loopback.

Then, unless `--no-virtual`, the virtual-time figures of `bench/emulator_core.py` (simulated
operations per second of a 1,000-resource template, bar 100,000/s; its whole deployment, bar 1 s).
Exit status 1 when a bar is missed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

BAR = 2000.0
SUB = "00000000-0000-0000-0000-000000000000"
GROUP = f"/subscriptions/{SUB}/resourceGroups/bench"
VNETS = f"{GROUP}/providers/Microsoft.Network/virtualNetworks"
API = "?api-version=2024-05-01"
BODY = json.dumps({"location": "westeurope",
                   "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}).encode()
CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")
BANNER = re.compile(r"listening on https://127\.0\.0\.1:(\d+) \(CA bundle: (.+)\)")
HTTP_LINE = re.compile(r"http://127\.0\.0\.1:(\d+)")


@dataclass
class Phase:
    scheme: str
    method: str
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    server_cpu_us: float  # server process CPU time per request
    client_cpu_us: float  # this (client) process's CPU time per request


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RawConnection:
    """Keep-alive HTTP/1.1 over one socket: fixed headers, Content-Length bodies only."""

    def __init__(self, port: int, context: ssl.SSLContext | None = None):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = context.wrap_socket(sock, server_hostname="127.0.0.1") if context else sock
        self.buffer = b""

    def call(self, method: str, path: str, body: bytes | None = None) -> int:
        body = body or b""
        head = (f"{method} {path}{API} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer bench\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        self.sock.sendall(head + body)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head_bytes, _, rest = self.buffer.partition(b"\r\n\r\n")
        match = CONTENT_LENGTH.search(head_bytes)
        length = int(match.group(1)) if match else 0
        while len(rest) < length:
            rest += self._recv()
        self.buffer = rest[length:]
        return int(head_bytes[9:12])

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


class StdlibConnection:
    """The same calls through http.client."""

    def __init__(self, port: int, context: ssl.SSLContext | None = None):
        self.conn = (http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30) if context
                     else http.client.HTTPConnection("127.0.0.1", port, timeout=30))

    def call(self, method: str, path: str, body: bytes | None = None) -> int:
        headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
        self.conn.request(method, path + API, body=body, headers=headers)
        response = self.conn.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self.conn.close()


class Server:
    """`armguard emulator serve` in a child process on loopback."""

    def __init__(self, ca_dir: str):
        code = "from armguard.emulator.cli import emulator; emulator()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--host", "127.0.0.1", "--port", "0", "--http-port", "0",
             "--time-scale", "0.0001", "--ca-dir", ca_dir],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        banner = self.proc.stdout.readline()
        match = BANNER.search(banner)
        if not match:
            self.stop()
            raise SystemExit(f"the emulator did not start: {banner!r} {self.proc.stderr.read()}")
        self.https_port, self.ca_bundle = int(match.group(1)), match.group(2)
        http_match = HTTP_LINE.search(self.proc.stderr.readline())
        if not http_match:
            self.stop()
            raise SystemExit("the emulator did not report its plain-http port")
        self.http_port = int(http_match.group(1))

    def connect(self, scheme: str, client: str = "raw") -> RawConnection | StdlibConnection:
        kind = RawConnection if client == "raw" else StdlibConnection
        if scheme == "https":
            return kind(self.https_port, ssl.create_default_context(cafile=self.ca_bundle))
        return kind(self.http_port)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def run_phase(server: Server, client: str, scheme: str, method: str, threads: int, max_requests: int,
              max_seconds: float) -> Phase:
    per_thread = max(1, max_requests // threads)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    start_gate = threading.Barrier(threads + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        conn = server.connect(scheme, client)
        conn.call("GET", GROUP)  # connect and warm up outside the timed window
        start_gate.wait()
        mine = latencies[index]
        expected = 200 if method == "GET" else 201
        for i in range(per_thread):
            t0 = time.perf_counter()
            if t0 > deadline[0]:
                break
            if method == "GET":
                status = conn.call("GET", f"{VNETS}/bench-get")
            else:
                status = conn.call("PUT", f"{VNETS}/{scheme}-{client}-{index}-{i}", BODY)
            mine.append(time.perf_counter() - t0)
            if status != expected:
                errors[index] += 1
        conn.close()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    deadline[0] = time.perf_counter() + max_seconds + 3600  # set properly below, once all are connected
    start_gate.wait()
    began = time.perf_counter()
    cpu_before = cpu_seconds(server.proc.pid)
    client_before = time.process_time()
    deadline[0] = began + max_seconds
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - began
    server_cpu = cpu_seconds(server.proc.pid) - cpu_before
    client_cpu = time.process_time() - client_before
    flat = sorted(x for lst in latencies for x in lst)
    count = len(flat)

    def pct(p: float) -> float:
        return flat[min(count - 1, int(p * count))] * 1000 if count else 0.0

    return Phase(scheme, method, count, sum(errors), round(elapsed, 3), round(count / elapsed, 1),
                 round(pct(0.5), 3), round(pct(0.99), 3), round(server_cpu / max(count, 1) * 1e6, 1),
                 round(client_cpu / max(count, 1) * 1e6, 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=20000, help="per phase (at most)")
    parser.add_argument("--seconds", type=float, default=5.0, help="per phase (at most)")
    parser.add_argument("--client", choices=["raw", "http.client"], default="raw")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--no-virtual", action="store_true", help="skip the virtual-time figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="armguard-bench-ca-") as ca_dir:
        server = Server(ca_dir)
        try:
            conn = server.connect("http", args.client)
            assert conn.call("PUT", GROUP, json.dumps({"location": "westeurope"}).encode()) == 201
            assert conn.call("PUT", f"{VNETS}/bench-get", BODY) == 201
            time.sleep(0.2)  # the create finishes (time scale 0.0001)
            conn.close()
            phases = [run_phase(server, args.client, scheme, method, args.threads, args.requests, args.seconds)
                      for scheme in ("http", "https") for method in ("GET", "PUT")]
        finally:
            server.stop()
    print(f"armguard emulator over loopback: {args.threads} keep-alive client threads ({args.client}), "
          f"at most {args.requests} requests or {args.seconds:g} s per phase")
    print(f"{'':8}{'GET req/s':>12}{'PUT req/s':>12}{'GET p50/p99 ms':>18}{'PUT p50/p99 ms':>18}"
          f"{'CPU us/req server GET/PUT':>28}{'client GET/PUT':>16}{'errors':>8}")
    for scheme in ("http", "https"):
        get, put = (next(p for p in phases if p.scheme == scheme and p.method == m) for m in ("GET", "PUT"))
        print(f"{scheme:8}{get.rps:>12,.0f}{put.rps:>12,.0f}{f'{get.p50_ms:.2f}/{get.p99_ms:.2f}':>18}"
              f"{f'{put.p50_ms:.2f}/{put.p99_ms:.2f}':>18}{f'{get.server_cpu_us:.0f}/{put.server_cpu_us:.0f}':>28}"
              f"{f'{get.client_cpu_us:.0f}/{put.client_cpu_us:.0f}':>16}{get.errors + put.errors:>8}")
    worst = min(p.rps for p in phases)
    errors = sum(p.errors for p in phases)
    verdict = "meets" if worst >= BAR and errors == 0 else "MISSES"
    print(f"verdict: lowest {worst:,.0f} requests/s, {errors} errors: {verdict} the bar of {BAR:,.0f} requests/s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"bar": BAR, "client": args.client, "threads": args.threads,
                       "phases": [asdict(p) for p in phases]}, handle, indent=2)
    met = verdict == "meets"
    if not args.no_virtual:
        import emulator_core  # beside this file

        print()
        met = emulator_core.main([]) == 0 and met
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
