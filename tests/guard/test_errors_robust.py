"""parse_error never raises, says None for non-errors, is unmoved by noise, and stays fast.

Property tests feed it arbitrary text and bytes, mutated real fixtures, and arbitrary exception objects
(including ones whose attributes raise). Invariance tests wrap each fixture in the noise real logs have
(other log lines, CRLF, colours, CI timestamps, bytes, UTF-16) and expect the same answer.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from armguard.guard import ArmErrorInfo, parse_error

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "errors"
NAMES = sorted(str(p.relative_to(FIXTURES)).replace("\\", "/") for p in FIXTURES.rglob("*")
               if p.is_file() and p.name not in ("README.md", ".gitattributes"))
TEXTS = {name: (FIXTURES / name).read_bytes().decode("utf-8") for name in NAMES}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
KEY_FIELDS = ("code", "outer_code", "category", "status_uri", "resource_id", "deployment_name",
              "blocking_operation", "status_code")


def check(info: ArmErrorInfo | None) -> None:
    """Whatever came back is well-formed."""
    if info is None:
        return
    assert isinstance(info, ArmErrorInfo)
    assert info.category in ("wait", "fatal", "unknown")
    assert info.retryable is {"wait": True, "fatal": False, "unknown": None}[info.category]
    assert info.source_format in ("sdk", "az", "terraform", "autorest", "azcore", "powershell", "json")
    assert isinstance(info.codes, tuple) and all(isinstance(c, str) and c for c in info.codes)
    assert info.code is None or info.code in info.codes
    assert info.outer_code is None or info.outer_code in info.codes
    assert info.code is not None or info.message is not None
    for name in ("status_code", "retry_after"):
        value = getattr(info, name)
        assert value is None or (isinstance(value, int) and value >= 0)
    for name in ("message", "status_uri", "correlation_id", "request_id", "resource_id", "deployment_name",
                 "blocking_operation", "blocking_operation_id", "blocking_started", "target"):
        assert getattr(info, name) is None or isinstance(getattr(info, name), str)


def key(info: ArmErrorInfo | None) -> tuple | None:
    return None if info is None else tuple(getattr(info, f) for f in KEY_FIELDS)


# ------------------------------------------------------------------------------------------ properties

@FUZZ
@given(st.text())
def test_arbitrary_text(text: str) -> None:
    check(parse_error(text))


@FUZZ
@given(st.binary())
def test_arbitrary_bytes(data: bytes) -> None:
    check(parse_error(data))


ALPHABET = st.sampled_from([*"{}[]()\"'\\:,.\t\n\r │╷╵|-=", "Code: ", "Message: ", "(Conflict) ",
                           "Exception Details:", "\t(", '"error":', '{"code":"X","message":"', "RESPONSE 409: ",
                           "ERROR CODE: ", "ErrorCode: ", "Status Message: ", "(Code:", 'Code="', '" Message="',
                           "\x1b[31m", "/subscriptions/", "operations/", "Details=", "Inner Errors:", "\\\"", "\\n"])


@st.composite
def mutated_fixture(draw) -> str:
    text = TEXTS[draw(st.sampled_from(NAMES))]
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "truncate", "duplicate"]))
        at = draw(st.integers(0, len(text)))
        if op == "insert":
            text = text[:at] + draw(st.one_of(ALPHABET, st.text(max_size=8))) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif op == "replace":
            text = text[:at] + draw(ALPHABET) + text[at + 1:]
        elif op == "truncate":
            text = text[:at]
        else:
            end = min(len(text), at + draw(st.integers(1, 400)))
            text = text[:end] + text[at:end] + text[end:]
    return text


@FUZZ
@given(mutated_fixture())
def test_mutated_fixtures(text: str) -> None:
    check(parse_error(text))
    check(parse_error(text.encode("utf-8", "surrogatepass")))


class Hostile(Exception):
    """An exception whose every interesting attribute raises or lies."""

    def __init__(self, mode: int, text: str):
        super().__init__(text)
        self.mode = mode
        self.text_value = text

    def __getattr__(self, name: str):
        if self.mode == 0:
            raise RuntimeError(name)
        if self.mode == 1:
            return self.text_value
        if self.mode == 2:
            return {"code": self.text_value, "message": 5}
        return [self.text_value, None, 3]

    def __str__(self) -> str:
        if self.mode == 0:
            raise ValueError("no str")
        return self.text_value


class FakeResponse:
    def __init__(self, body, status, headers):
        self._body = body
        self.status_code = status
        self.headers = headers
        self.reason = "Conflict"

    def text(self):
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


class FakeError(Exception):
    def __init__(self, response, error, message):
        super().__init__(message)
        self.response = response
        self.error = error
        self.message = message


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                       lambda children: st.lists(children, max_size=4)
                       | st.dictionaries(st.sampled_from(["error", "code", "message", "details", "target", "status",
                                                         "additionalInfo", "Code", "Message", "statusMessage",
                                                         "properties", "ErrorEntity"]), children, max_size=5),
                       max_leaves=20)


@FUZZ
@given(st.integers(0, 3), st.text(max_size=200))
def test_hostile_exceptions(mode: int, text: str) -> None:
    check(parse_error(Hostile(mode, text)))


@FUZZ
@given(JSONISH, st.one_of(st.none(), st.integers(-5, 700), st.text(max_size=5)),
       st.dictionaries(st.sampled_from(["Retry-After", "retry-after-ms", "x-ms-request-id", "Location",
                                        "Azure-AsyncOperation", "x-ms-correlation-request-id", "Date"]),
                       st.text(max_size=40), max_size=5),
       st.one_of(st.none(), JSONISH), st.text(max_size=100))
def test_arbitrary_sdk_shaped_exceptions(body, status, headers, error, message) -> None:
    for payload in (json.dumps(body), body, ValueError("not read")):
        check(parse_error(FakeError(FakeResponse(payload, status, headers), error, message)))
    check(parse_error(body if isinstance(body, dict) else {"error": body}))


@pytest.mark.parametrize("value", [
    None, 0, 3.5, True, [], (), {}, set(), object(), b"", "", " \n\t", "hello world", "ERROR:", "Code: ",
    "Code: X", "(X) y", "{}", "[]", '{"status": "Succeeded"}', '{"status": "Failed"}', '{"error": {}}',
    '{"error": "x"}', '{"code": 5}', "null", "Exception Details:\t(", "RESPONSE 409: 409 Conflict",
    "unexpected status 409", "the Azure API returned the following error:", "ErrorCode: ", "Status Message: ",
    "Deployment failed. Correlation ID: 3d28b2ac-65e1-4de2-b09e-c6503fe1d447. ", "Code=\"\" Message=\"\"",
    "azurerm_subnet.host: Creation complete after 5s [id=/subscriptions/x/resourceGroups/rg]",
    "INFO: Deployment succeeded\nprovisioningState: Succeeded\n", Exception("boom"), ValueError(),
    KeyError("code"), {"status": "Succeeded", "properties": {"provisioningState": "Succeeded"}},
    {"error": None}, {"value": []},
])
def test_non_errors_give_none(value) -> None:
    assert parse_error(value) is None


def test_never_raises_on_recursion_and_odd_types() -> None:
    deep: dict = {"error": {"code": "X", "message": "m", "details": []}}
    node = deep["error"]
    for _ in range(3000):
        child = {"code": "Y", "message": "n", "details": []}
        node["details"].append(child)
        node = child
    check(parse_error(deep))
    cyclic: dict = {"code": "X", "message": "m"}
    cyclic["details"] = [cyclic]
    check(parse_error(cyclic))
    check(parse_error(memoryview(b'{"error":{"code":"Conflict","message":"x"}}')))
    check(parse_error(bytearray(b"\xff\xfe\x00\x00garbage")))


# ------------------------------------------------------------------------------------------ invariance

def _noise(text: str) -> str:
    return ("2024-06-11 09:31:00 INFO starting pipeline step 'deploy'\n"
            "##[group]Run az deployment group create\n"
            "Some | table | row\n" + text + "\n2024-06-11 09:32:00 INFO step finished with exit code 1\n")


def _timestamps(text: str) -> str:
    return "".join(f"2024-06-11T09:31:{i % 60:02d}.1234567Z {line}" for i, line in
                   enumerate(text.replace("\r\n", "\n").splitlines(keepends=True)))


def _colours(text: str) -> str:
    return "\x1b[1m\x1b[31m" + text.replace("\n", "\x1b[0m\n\x1b[31m") + "\x1b[0m"


VARIANTS = {
    "lf": lambda t: t.replace("\r\n", "\n"),
    "crlf": lambda t: t.replace("\r\n", "\n").replace("\n", "\r\n"),
    "noise": _noise,
    "ci-timestamps": _timestamps,
    "colours": _colours,
    "bytes": lambda t: t.encode("utf-8"),
    "utf-16": lambda t: t.encode("utf-16"),
    "utf-8-bom": lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", NAMES)
def test_fixture_variants_give_the_same_answer(name: str, variant: str) -> None:
    expected = parse_error(TEXTS[name])
    assert expected is not None
    got = parse_error(VARIANTS[variant](TEXTS[name]))
    assert key(got) == key(expected)


def test_two_outputs_concatenated_report_the_conflict() -> None:
    fatal = TEXTS["az/scope_locked.txt"]
    wait = TEXTS["terraform/subnet_another_operation.txt"]
    for text in (fatal + wait, wait + fatal):
        info = parse_error(text)
        assert info.code == "AnotherOperationInProgress"
        assert set(info.codes) == {"ScopeLocked", "AnotherOperationInProgress"}


# ------------------------------------------------------------------------------------------ speed

def test_regexes_are_compiled_once() -> None:
    import armguard.guard.errors as errors
    import armguard.guard.errors_codes as codes
    import armguard.guard.errors_formats as formats
    import armguard.guard.errors_model as model
    for module in (errors, codes, formats, model):
        source = Path(module.__file__).read_text(encoding="utf-8")
        inline = re.findall(r"re\.(?:search|match|fullmatch|findall|finditer|sub)\(r?[\"']", source)
        assert len(inline) <= 3, (module.__name__, inline)   # a few one-off patterns; re caches them


def test_fast_on_fixtures_and_large_or_hostile_inputs() -> None:
    start = time.perf_counter()
    for _ in range(5):
        for text in TEXTS.values():
            parse_error(text)
    per_fixture = (time.perf_counter() - start) / (5 * len(TEXTS))
    assert per_fixture < 0.02
    big_log = "INFO some log line that is rather long and boring\n" * 40000 + TEXTS["terraform/multiple_errors.txt"]
    hostile = ["Code: X\nMessage: y\n" * 20000, '{"' * 100000, "(X) " * 50000 + "\nCode: X\nMessage: y\n",
               "ErrorCode: X\n" * 50000, 'Code="X" Message="' + 'a\\"' * 100000, "\t(Y) n\n" * 50000,
               '{"error":' * 5000, "Status Message: " + "a" * 300000, big_log]
    for text in hostile:
        start = time.perf_counter()
        check(parse_error(text))
        assert time.perf_counter() - start < 3.0, text[:40]
    assert parse_error(big_log).code == "AnotherOperationInProgress"
