"""The HTML report, rendered in a real headless Chromium (Debian's `chromium` package).

Chromium runs with --dump-dom (the DOM after the page's script has run) and --screenshot. The
page's script counts what it rendered per schedule into <body data-rendered>, so the test sees
the browser's view, not just the file's text.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from armguard.plan import plan_file
from armguard.plan.html import to_html

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium on PATH (install Debian's package: apt-get install -y chromium)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,900"]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=120, check=False)


class _Dom(HTMLParser):
    """Counts rect.op per schedule section and reads <body data-rendered>."""

    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.ops: dict[str, int] = {}
        self.collided: dict[str, int] = {}
        self.markers: dict[str, int] = {}
        self.ids: dict[str, list[str]] = {}
        self.body: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "body":
            self.body = a
        if tag == "section" and "schedule" in classes:
            self.section = a["data-schedule"]
            self.ops[self.section] = self.collided[self.section] = self.markers[self.section] = 0
            self.ids[self.section] = []
        if self.section is None:
            return
        if "op" in classes:
            self.ops[self.section] += 1
            self.ids[self.section].append(a["data-id"])
            if "collision" in classes:
                self.collided[self.section] += 1
        if "collision-marker" in classes:
            self.markers[self.section] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.section = None


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("example", ["vwan-bgp-peers/broken/main.bicep", "private-dns/broken/main.bicep"])
def test_report_renders_in_chromium(tmp_path, example):
    plan = plan_file(str(ROOT / "examples" / example))
    page = tmp_path / "plan.html"
    page.write_text(to_html(plan), encoding="utf-8")

    text = page.read_text()
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text and "<link" not in text and " src=" not in text  # self-contained

    dumped = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = _Dom()
    dom.feed(dumped.stdout)
    n = len(plan.ops)
    assert set(dom.ops) == {"as_written", "all_serial", "optimal", "with_changes"}
    for name, count in dom.ops.items():
        assert count == n, name
        assert sorted(dom.ids[name]) == sorted(op.id for op in plan.ops)
    collided = {m for c in plan.collisions["as_written"] for m in c.members}
    assert dom.collided["as_written"] == len(collided) > 0
    assert dom.markers["as_written"] == len(plan.collisions["as_written"])
    assert dom.collided["optimal"] == dom.collided["with_changes"] == 0
    # the page's script ran in the browser and saw the same
    rendered = json.loads(dom.body["data-rendered"])
    assert {k: v["ops"] for k, v in rendered.items()} == dict.fromkeys(dom.ops, n)
    assert rendered["as_written"]["collisions"] == len(collided)

    shot = tmp_path / "plan.png"
    done = chromium(tmp_path, f"--screenshot={shot}", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.exists()
    assert png_size(shot) == (1400, 900)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one


def test_large_report_renders(tmp_path):
    """A plan of a few hundred operations still renders one bar per operation per schedule."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_schedule", ROOT / "bench" / "schedule.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    from armguard.plan import plan_graph

    plan = plan_graph(bench.estate(300, 2), bench.bench_catalog())
    page = tmp_path / "big.html"
    page.write_text(to_html(plan), encoding="utf-8")
    dumped = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = _Dom()
    dom.feed(dumped.stdout)
    assert dom.ops == dict.fromkeys(("as_written", "all_serial", "optimal", "with_changes"), len(plan.ops))
