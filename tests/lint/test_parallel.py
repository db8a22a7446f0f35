"""How lint shares files out among worker processes, and what a worker keeps between files."""

from __future__ import annotations

import os
from pathlib import Path

from armguard.bicep import loader
from armguard.lint.parallel import _MAX_CHUNK, _MIN_CHUNK, _chunks


def walk_order(root: str, layout: dict[str, int]) -> list[str]:
    """Paths as a depth-first walk yields them: `layout` maps a directory to its number of files."""
    return [os.path.join(root, d, f"f{i}.bicep") for d in layout for i in range(layout[d])]


def test_a_chunk_ends_between_neighbourhoods_once_it_is_big_enough():
    paths = walk_order("r", {"a": 1, "a/sub": 3, "a/tests/e2e": 6, "b": 2, "b/child": 1, "c": 9})
    chunks = list(_chunks(paths))
    assert [len(c) for c in chunks] == [10, 12]
    assert all(p.startswith("r/a/") for p in chunks[0])  # module a with its child and tests
    assert [p.split("/")[1] for p in chunks[1]] == ["b"] * 3 + ["c"] * 9  # b alone is too small


def test_small_neighbourhoods_share_a_chunk_and_a_large_one_is_cut():
    paths = walk_order("r", {"a": _MAX_CHUNK + 5, "b": 2})
    chunks = list(_chunks(paths))
    assert [len(c) for c in chunks] == [_MAX_CHUNK, 7]
    assert [p for c in chunks for p in c] == paths


def test_files_outside_a_directory_with_bicep_files_are_their_own_neighbourhood():
    paths = [f"r/x{i}/main.json" for i in range(_MIN_CHUNK + 1)]
    chunks = list(_chunks(paths))
    assert [len(c) for c in chunks] == [_MIN_CHUNK, 1]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_rewritten_file_is_parsed_again_by_default(tmp_path):
    p = write(tmp_path / "m.bicep", "var a = 1\n")
    _, first = loader._parse_cached(p)
    write(p, "var b = 2\n")
    _, second = loader._parse_cached(p)
    assert [st.name for st in second.statements] == ["b"] and second is not first


def test_once_files_do_not_change_a_file_is_read_once(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "_PARSED_BY_PATH", None)
    loader.files_do_not_change()
    assert loader._PARSED_BY_PATH == {}
    p = write(tmp_path / "m.bicep", "var a = 1\n")
    _, first = loader._parse_cached(p)
    p.unlink()  # not read again: no error
    _, again = loader._parse_cached(tmp_path / "." / "m.bicep")
    assert again is first
