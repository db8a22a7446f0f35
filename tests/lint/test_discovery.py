"""Which files lint reads: paths as given, directory walks (order, links, ignore files, excludes)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from armguard.lint.discovery import Missing, iter_templates
from armguard.lint.runner import discover

TEMPLATE = '{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"}'


def put(root: Path, rel: str, text: str = "var x = 1\n") -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_a_walk_is_depth_first_with_a_directorys_files_before_its_subdirectories(tmp_path):
    for rel in ("b.bicep", "a/z.bicep", "a/a/y.bicep", "a.bicep", "c/x.bicep"):
        put(tmp_path, rel)
    found = [os.path.relpath(p, tmp_path) for p in iter_templates([str(tmp_path)])]
    assert found == ["a.bicep", "b.bicep", "a/z.bicep", "a/a/y.bicep", "c/x.bicep"]


def test_walking_the_working_directory_gives_paths_without_a_dot_prefix(tmp_path, monkeypatch):
    put(tmp_path, "main.bicep")
    put(tmp_path, "mod/m.bicep")
    monkeypatch.chdir(tmp_path)
    assert list(iter_templates(["."])) == ["main.bicep", os.path.join("mod", "m.bicep")]
    assert list(iter_templates(["./mod/"])) == [os.path.join("mod", "m.bicep")]


def test_a_file_is_listed_once_however_it_is_named(tmp_path):
    p = put(tmp_path, "main.bicep")
    assert list(iter_templates([str(p), str(tmp_path), str(tmp_path / "." / "main.bicep")])) == [str(p)]


def test_missing_paths_are_reported_in_order(tmp_path):
    put(tmp_path, "main.bicep")
    items = list(iter_templates([str(tmp_path / "nope"), str(tmp_path)]))
    assert items == [Missing(str(tmp_path / "nope")), str(tmp_path / "main.bicep")]
    found, missing = discover([str(tmp_path / "nope"), str(tmp_path)])
    assert found == [tmp_path / "main.bicep"] and [m.path for m in missing] == [str(tmp_path / "nope")]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_links_to_directories_are_not_followed_but_links_to_files_are_listed(tmp_path):
    target = put(tmp_path, "real/main.bicep")
    os.symlink(tmp_path / "real", tmp_path / "linked", target_is_directory=True)
    os.symlink(target, tmp_path / "alias.bicep")
    found = [os.path.relpath(p, tmp_path) for p in iter_templates([str(tmp_path)])]
    assert found == ["alias.bicep", "real/main.bicep"]


def test_json_is_a_template_only_when_it_says_so_and_has_no_bicep_twin(tmp_path):
    put(tmp_path, "main.bicep")
    put(tmp_path, "main.json", TEMPLATE)
    put(tmp_path, "other.json", TEMPLATE)
    put(tmp_path, "data.json", '{"a": 1}')
    found = [os.path.relpath(p, tmp_path) for p in iter_templates([str(tmp_path)])]
    assert found == ["main.bicep", "other.json"]


def test_ignored_directories_are_not_entered_and_skipped_names_never(tmp_path):
    put(tmp_path, ".gitignore", "gen/\n")
    put(tmp_path, "gen/a.bicep")
    put(tmp_path, "node_modules/b.bicep")
    put(tmp_path, "src/gen.bicep")  # a file named like an ignored directory is kept
    found = [os.path.relpath(p, tmp_path) for p in iter_templates([str(tmp_path)])]
    assert found == ["src/gen.bicep"]
