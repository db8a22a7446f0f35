"""The server around the state: persistence across restarts and `armguard emulator serve`."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import time

import pytest

from armguard.emulator import Emulator

API = {"api-version": "2024-05-01"}
VNET_BODY = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}
BANNER = re.compile(r"armguard emulator listening on (https://127\.0\.0\.1:(\d+)) \(CA bundle: (.+)\)")


def test_plain_http_endpoint(arm) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{arm.http_endpoint}/subscriptions?api-version=2022-12-01", timeout=10) as r:
        assert r.status == 200
        assert b'"subscriptionId"' in r.read()


def test_state_survives_a_restart(tmp_path, ca_dir) -> None:
    httpx = pytest.importorskip("httpx")
    state_file = tmp_path / "arm.json"
    with Emulator(time_scale=0.01, ca_dir=ca_dir, state_file=state_file) as arm:
        group = f"/subscriptions/{arm.subscription_id}/resourceGroups/rg1"
        rid = f"{group}/providers/Microsoft.Network/virtualNetworks/v1"
        with httpx.Client(base_url=arm.http_endpoint) as client:
            assert client.put(group, params=API, json={"location": "westeurope"}).status_code == 201
            assert client.put(rid, params=API, json=VNET_BODY).status_code == 201
    assert state_file.exists()
    with Emulator(time_scale=0.01, ca_dir=ca_dir, state_file=state_file) as arm, \
            httpx.Client(base_url=arm.http_endpoint) as client:
        assert client.get(group, params=API).json()["name"] == "rg1"
        vnet = client.get(rid, params=API).json()
        assert vnet["properties"]["addressSpace"] == {"addressPrefixes": ["10.0.0.0/16"]}


def serve_command(*args: str) -> list[str]:
    from armguard.cli import cli

    if "emulator" in cli.commands:
        return [sys.executable, "-m", "armguard.cli", "emulator", "serve", *args]
    return [sys.executable, "-c", "from armguard.emulator.cli import emulator; emulator()", "serve", *args]


def start_server(tmp_path, ca_dir, *args: str) -> tuple[subprocess.Popen, re.Match]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(serve_command("--port", "0", "--time-scale", "0.01", "--ca-dir", str(ca_dir), *args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    line = proc.stdout.readline()
    match = BANNER.fullmatch(line.rstrip("\n"))
    if match is None:
        proc.kill()
        raise AssertionError(f"unexpected first line {line!r}; stderr: {proc.stderr.read()}")
    return proc, match


def stop_server(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> str:
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0
    return out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_one_line_answers_and_keeps_state(tmp_path, ca_dir, sig) -> None:
    httpx = pytest.importorskip("httpx")
    state_file = tmp_path / "state.json"
    proc, match = start_server(tmp_path, ca_dir, "--state", str(state_file), "--caller", "cli@example.com")
    endpoint, ca_bundle = match.group(1), match.group(3)
    assert ca_bundle == str(ca_dir / "ca.pem")
    sub = "00000000-0000-0000-0000-000000000000"
    with httpx.Client(base_url=endpoint, verify=ssl.create_default_context(cafile=ca_bundle)) as client:
        subs = client.get("/subscriptions", params={"api-version": "2022-12-01"}).json()
        assert [s["subscriptionId"] for s in subs["value"]] == [sub]
        put = client.put(f"/subscriptions/{sub}/resourceGroups/kept", params=API, json={"location": "westeurope"})
        assert put.status_code == 201
    rest = stop_server(proc, sig)
    assert rest == ""  # exactly one line on stdout
    assert "kept" in state_file.read_text()
    proc, match = start_server(tmp_path, ca_dir, "--state", str(state_file))
    try:
        with httpx.Client(base_url=match.group(1), verify=ssl.create_default_context(cafile=match.group(3))) as client:
            got = client.get(f"/subscriptions/{sub}/resourceGroups/kept", params=API)
            assert got.status_code == 200
    finally:
        stop_server(proc)


def test_serve_http_port_and_busy_port(tmp_path, ca_dir) -> None:
    httpx = pytest.importorskip("httpx")
    proc, match = start_server(tmp_path, ca_dir, "--http-port", "0")
    try:
        deadline = time.monotonic() + 10
        err_line = proc.stderr.readline()
        assert time.monotonic() < deadline
        http_endpoint = re.search(r"http://127\.0\.0\.1:\d+", err_line).group(0)
        assert httpx.get(f"{http_endpoint}/tenants?api-version=2022-12-01").status_code == 200
        busy = subprocess.run(serve_command("--port", match.group(2), "--ca-dir", str(ca_dir)),
                              capture_output=True, text=True, timeout=30, cwd=tmp_path)
        assert busy.returncode != 0
        assert "cannot listen" in busy.stderr
    finally:
        stop_server(proc)


def test_a_state_file_that_cannot_be_written_is_reported_on_stop(tmp_path, ca_dir) -> None:
    httpx = pytest.importorskip("httpx")
    (tmp_path / "a-file").write_text("")
    arm = Emulator(time_scale=0.01, ca_dir=ca_dir, state_file=tmp_path / "a-file" / "state.json").start()
    with httpx.Client(base_url=arm.http_endpoint) as client:
        group = f"/subscriptions/{arm.subscription_id}/resourceGroups/rg1"
        assert client.put(group, params=API, json={"location": "westeurope"}).status_code == 201
    with pytest.raises(RuntimeError, match="failed"):
        arm.stop()
