"""The template changes: their diffs apply, and the changed templates have no predicted collisions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from armguard.plan import plan_file
from armguard.plan.changes import combined_patch

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def apply_patch(patch: str, root: Path) -> list[Path]:
    """Apply a unified diff strictly (every context and removed line must match); returns the files."""
    lines = patch.splitlines(keepends=True)
    i = 0
    changed = []
    while i < len(lines):
        if not lines[i].startswith("--- "):
            i += 1
            continue
        target = lines[i + 1][4:].rstrip("\n")
        assert lines[i + 1].startswith("+++ ")
        path = root / (target[2:] if target.startswith("b/") else target)
        with path.open(encoding="utf-8", newline="") as fh:
            text = fh.read()
        old = text.splitlines(keepends=True)
        new: list[str] = []
        pos = 0
        i += 2
        while i < len(lines) and lines[i].startswith("@@"):
            m = HUNK.match(lines[i])
            assert m, lines[i]
            old_count = int(m.group(2) or 1)
            new_count = int(m.group(4) or 1)
            start = int(m.group(1)) - (0 if old_count == 0 else 1)
            new.extend(old[pos:start])
            pos = start
            i += 1
            while old_count or new_count or (i < len(lines) and lines[i].startswith("\\")):
                tag, body = lines[i][0], lines[i][1:]
                if tag == "\\":
                    new[-1] = new[-1].rstrip("\r\n")
                elif tag == " ":
                    assert old[pos] == body, f"context mismatch at {path}:{pos + 1}: {old[pos]!r} != {body!r}"
                    new.append(old[pos])
                    pos += 1
                    old_count -= 1
                    new_count -= 1
                elif tag == "-":
                    assert old[pos] == body, f"removed line mismatch at {path}:{pos + 1}"
                    pos += 1
                    old_count -= 1
                else:
                    assert tag == "+", lines[i]
                    new.append(body)
                    new_count -= 1
                i += 1
        new.extend(old[pos:])
        path.write_text("".join(new), encoding="utf-8", newline="")
        changed.append(path)
    return changed


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def check_patch_with_tools(patch: str, cwd: Path) -> None:
    if shutil.which("patch"):
        subprocess.run(["patch", "-p1", "--dry-run", "--batch"], input=patch, text=True, cwd=cwd, check=True,
                       capture_output=True)


def fix_and_replan(template: Path, root: Path) -> tuple[object, object]:
    before = plan_file(str(template))
    patch = combined_patch(before.changes)
    assert patch
    check_patch_with_tools(patch, root)
    apply_patch(patch, root)
    after = plan_file(str(template))
    return before, after


def test_vwan_example(tmp_path, monkeypatch):
    root = copy_tree(ROOT / "examples" / "vwan-bgp-peers", tmp_path / "ex")
    monkeypatch.chdir(root)
    broken = plan_file("broken/main.bicep")
    (c,) = broken.collisions["as_written"]
    assert broken.domains[c.domain].describe == "Microsoft.Network/virtualHubs 'hub-weu'"
    assert sorted(broken.ops[m].id for m in c.members) == [f"bgpPeers[{i}]/bgp" for i in range(5)]
    starts = {broken.schedules["as_written"].start[m] for m in c.members}
    assert starts == {420.0}  # after the WAN (60 s, assumed) and the hub (360 s): all five at once
    assert broken.chance.value == 1.0
    fixed = plan_file("fixed/main.bicep")
    assert fixed.collisions["as_written"] == []
    assert fixed.chance.value == 0.0
    assert fixed.changes == []
    before, after = fix_and_replan(Path("broken/main.bicep"), root)
    assert [(ch.kind, ch.symbol, ch.batch_size) for ch in before.changes] == [("batch_size", "bgpPeers", 1)]
    assert after.collisions["as_written"] == []
    assert after.makespan("as_written") == before.makespan("optimal") == 870
    assert "@batchSize(1)" in (root / "broken" / "main.bicep").read_text()
    assert plan_file("broken/main.bicep").changes == []


def test_private_dns_example(tmp_path, monkeypatch):
    root = copy_tree(ROOT / "examples" / "private-dns", tmp_path / "ex")
    monkeypatch.chdir(root)
    before, after = fix_and_replan(Path("broken/main.bicep"), root)
    kinds = sorted((c.kind, c.symbol) for c in before.changes)
    assert kinds == [("batch_size", "spokeLinks")]
    assert before.collisions["with_changes"] == []
    assert after.collisions["as_written"] == []
    assert after.makespan("as_written") == before.makespan("optimal") == before.lower_bound.value
    # The example's "fixed" version is conflict-free as written.
    fixed = plan_file("fixed/main.bicep")
    assert fixed.collisions["as_written"] == []


@pytest.mark.parametrize(("name", "kind", "batch"), [
    ("links-interleaved.bicep", "batch_size", 3),
    ("links-grouped.bicep", "reorder", 3),
    ("links-overserialized.bicep", "batch_size", 4),
])
def test_loop_changes_apply_and_leave_no_collision(tmp_path, monkeypatch, name, kind, batch):
    root = tmp_path / "t"
    root.mkdir()
    shutil.copy(FIXTURES / name, root / name)
    monkeypatch.chdir(root)
    before, after = fix_and_replan(Path(name), root)
    (ch,) = before.changes
    assert (ch.kind, ch.batch_size) == (kind, batch)
    assert after.collisions["as_written"] == []
    assert after.makespan("as_written") == before.makespan("optimal") == before.lower_bound.value
    assert plan_file(name).changes == []


def test_reorder_keeps_every_item(tmp_path, monkeypatch):
    root = tmp_path / "t"
    root.mkdir()
    shutil.copy(FIXTURES / "links-grouped.bicep", root / "main.bicep")
    monkeypatch.chdir(root)
    _before, _ = fix_and_replan(Path("main.bicep"), root)
    text = (root / "main.bicep").read_text()
    items = re.findall(r"\{ zone: '(\w)\.example\.com', vnet: '(v\d)' \}", text)
    assert items == [("a", "v1"), ("b", "v1"), ("c", "v1"), ("a", "v2"), ("b", "v2"), ("c", "v2")]
    assert "@batchSize(3)" in text


def test_loop_using_its_index_is_split_not_reordered():
    plan = plan_file(str(FIXTURES / "links-indexed.bicep"))
    (ch,) = plan.changes
    assert ch.kind == "split" and ch.diff is None
    assert "@batchSize(1)" in ch.sketch and "groupBy" in ch.sketch
    assert plan.collisions["with_changes"] == []
    assert plan.makespan("with_changes") == plan.makespan("optimal")


def test_module_file_loop_and_sibling_chain(tmp_path, monkeypatch):
    root = copy_tree(FIXTURES / "hub-modules", tmp_path / "hm")
    monkeypatch.chdir(root)
    before, after = fix_and_replan(Path("main.bicep"), root)
    got = sorted((c.kind, Path(c.file).name, c.symbol) for c in before.changes)
    assert got == [("batch_size", "peers.bicep", "bgp"), ("depends_on", "main.bicep", "hubPeers")]
    # lint's fixes miss the extra peer (the module's hub is a parameter to lint): all-serial collides
    assert len(before.collisions["all_serial"]) == 1
    assert after.collisions["as_written"] == []
    assert after.makespan("as_written") == before.makespan("optimal") == 360


def test_arm_json_batch_size(tmp_path, monkeypatch):
    root = tmp_path / "arm"
    root.mkdir()
    shutil.copy(ROOT / "tests" / "lint" / "fixtures" / "arm" / "classic.json", root / "azuredeploy.json")
    monkeypatch.chdir(root)
    before, after = fix_and_replan(Path("azuredeploy.json"), root)
    assert {(c.symbol, c.batch_size) for c in before.changes} == {("spokeLinks", 1), ("batchedLinks", 1)}
    json.loads((root / "azuredeploy.json").read_text())
    assert after.collisions["as_written"] == []


def test_with_changes_is_never_slower_than_all_serial_on_the_examples():
    for p in ("vwan-bgp-peers/broken/main.bicep", "private-dns/broken/main.bicep"):
        plan = plan_file(str(ROOT / "examples" / p))
        assert plan.makespan("with_changes") <= plan.makespan("all_serial") + 1e-6 or plan.collisions["all_serial"]
        assert plan.makespan("with_changes") >= plan.makespan("optimal") - 1e-6
