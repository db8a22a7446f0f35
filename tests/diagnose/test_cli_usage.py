"""User errors of `armguard diagnose`: one line on stderr, exit 2, no traceback, nothing contacted."""

from __future__ import annotations

import pytest

# Nothing listens on port 9 (discard): none of these may get as far as a request.
NOWHERE = "https://127.0.0.1:9"


@pytest.mark.parametrize(("args", "message"), [
    (["--error", "ERROR: (AnotherOperationInProgress) Another operation on this or dependent resource is in "
                 "progress."], "no scope to diagnose: give -g RESOURCE_GROUP or --id RESOURCE_ID"),
    (["-g", "rg", "--error-file", "/nonexistent/error.txt"], "--error-file: cannot read /nonexistent/error.txt"),
])
def test_user_errors_are_one_line(diagnose, args: list[str], message: str) -> None:
    outcome = diagnose(None, *args, endpoint=NOWHERE)
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    assert outcome.stderr.strip().count("\n") == 0
    assert message in outcome.stderr
    assert "Traceback" not in outcome.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["-g", "rg", "--window", "soon"], "invalid duration 'soon'"),
    (["-g", "rg", "--error", "x", "--error-file", "-"], "give the error once"),
    (["-g", "rg", "--format", "yaml"], "'yaml' is not one of"),
])
def test_bad_options_exit_2(diagnose, args: list[str], message: str) -> None:
    outcome = diagnose(None, *args, endpoint=NOWHERE)
    assert outcome.exit_code == 2
    assert message in outcome.stderr


def test_help_documents_the_exit_codes(diagnose) -> None:
    outcome = diagnose(None, "--help")
    assert outcome.exit_code == 0
    for line in ("0   clear", "10  wait", "11  stuck", "12  locked", "13  collision", "2   usage error",
                 "3   internal error"):
        assert line in outcome.stdout
