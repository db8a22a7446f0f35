"""Reading deploymentTemplate JSON: parsing with positions, validating the shape, listing resources.

Both shapes are accepted: classic (`resources` an array, child resources possibly nested inside a
parent's own `resources`) and `languageVersion` 2.0 (`resources` an object keyed by symbolic name).
Nothing here evaluates expressions; that is graph.py's job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from armguard.arm.expressions import Call, Expr, Index, Member, parse_template_string
from armguard.arm.functions import is_supported
from armguard.errors import ArmguardError
from armguard.source import SourceFile, Span

JsonPath = tuple[str | int, ...]

_WS = re.compile(r"[ \t\n\r]*")
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
_STRING_OR_COMMENT = re.compile(r'("(?:[^"\\\n]|\\.)*")|//[^\n]*|/\*[\s\S]*?\*/')
_SCHEMA_SCOPES = (
    ("subscriptiondeploymenttemplate", "subscription"),
    ("managementgroupdeploymenttemplate", "managementGroup"),
    ("tenantdeploymenttemplate", "tenant"),
    ("deploymenttemplate", "resourceGroup"),
)
_COPY_MODES = ("parallel", "serial")
# A JSON string whose text starts with one '[' (an expression, not an escaped '[[' literal).
_EXPRESSION_STRING = re.compile(r'"(\[(?!\[)(?:[^"\\]|\\.)*)"')


def format_path(path: JsonPath) -> str:
    """`resources[3].copy.count`, `resources['kv::key'].name`: the JSON path users see in messages."""
    out: list[str] = []
    for key in path:
        if isinstance(key, int):
            out.append(f"[{key}]")
        elif _IDENTIFIER.match(key):
            out.append(f".{key}" if out else key)
        else:
            out.append(f"[{key!r}]")
    return "".join(out)


def get_field(obj: Mapping[str, Any], name: str) -> tuple[str | None, Any]:
    """(actual key, value) of a template property; ARM property names are case-insensitive."""
    if name in obj:
        return name, obj[name]
    low = name.lower()
    for key, value in obj.items():
        if key.lower() == low:
            return key, value
    return None, None


def field_value(obj: Mapping[str, Any], name: str, default: Any = None) -> Any:
    key, value = get_field(obj, name)
    return default if key is None else value


def schema_scope(schema: object) -> str | None:
    """The deployment scope a `$schema` URL declares, or None when it names no deployment template."""
    if not isinstance(schema, str):
        return None
    low = schema.lower()
    for marker, scope in _SCHEMA_SCOPES:
        if marker in low:
            return scope
    return None


# ---------------------------------------------------------------------------------------------
# JSON with positions


def _blank_comments(text: str) -> str:
    """Replace // and /* */ comments (which ARM accepts) by spaces, keeping every offset and line."""

    def blank(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return m.group(1)
        return re.sub(r"[^\n]", " ", m.group())

    return _STRING_OR_COMMENT.sub(blank, text)


def parse_json(source: SourceFile) -> tuple[Any, str]:
    """The decoded value and the text positions refer to (comments blanked when there were any).

    Resource Manager's reader takes comments and strings that run over several lines (a
    deployment script's `scriptContent`), so these are read too (`strict=False`)."""
    try:
        return json.loads(source.text, strict=False), source.text
    except json.JSONDecodeError:
        pass
    text = _blank_comments(source.text)
    try:
        return json.loads(text, strict=False), text
    except json.JSONDecodeError as e:
        raise ArmguardError(f"invalid JSON: {e.msg}", path=source.path, line=e.lineno, column=e.colno) from None
    except RecursionError:
        raise ArmguardError("invalid JSON: nested too deeply", path=source.path) from None


class JsonLocator:
    """Maps JSON paths to the character offsets of their values in the text.

    Containers are indexed lazily, one level at a time, skipping child values with the C decoder,
    so only the paths actually asked for (resources, their copy blocks, nested templates) cost time.
    """

    __slots__ = ("_children", "_decoder", "_line_bytes", "_root", "_text")

    def __init__(self, text: str):
        self._text = text
        self._decoder = json.JSONDecoder()
        self._root = _WS.match(text, 0).end()  # type: ignore[union-attr]
        self._children: dict[int, dict[str | int, tuple[int, int]]] = {}
        self._line_bytes: list[int] | None = None

    def span(self, source: SourceFile, start: int, end: int) -> Span:
        """A Span of `source` (whose text has the same offsets as ours), byte offsets in linear time."""
        line, column = source.position(start)
        end_line, end_column = source.position(end)
        return Span(start, end, line, column, end_line, end_column,
                    self._byte_offset(source, start, line, column), self._byte_offset(source, end, end_line, end_column))

    def _byte_offset(self, source: SourceFile, offset: int, line: int, column: int) -> int:
        if self._line_bytes is None:
            self._line_bytes = [] if source.text.isascii() else _line_byte_starts(source.text)
        if not self._line_bytes:
            return offset
        line_start = offset - column + 1
        return self._line_bytes[line - 1] + len(source.text[line_start:offset].encode("utf-8"))

    def offsets(self, path: JsonPath) -> tuple[int, int] | None:
        """(start, end) of the value at `path`, or None when the path does not exist."""
        found, rest = self._walk(path)
        return found if not rest else None

    def nearest(self, path: JsonPath) -> tuple[int, int]:
        """(start, end) of the value at `path` or of its closest existing ancestor."""
        return self._walk(path)[0]

    def _walk(self, path: JsonPath) -> tuple[tuple[int, int], JsonPath]:
        span = (self._root, len(self._text.rstrip()))
        for i, key in enumerate(path):
            hit = self._index(span[0]).get(key)
            if hit is None:
                return span, path[i:]
            span = hit
        return span, ()

    def _index(self, start: int) -> dict[str | int, tuple[int, int]]:
        children = self._children.get(start)
        if children is None:
            try:
                children = self._scan_container(start)
            except (ValueError, IndexError):
                children = {}
            self._children[start] = children
        return children

    def _scan_container(self, start: int) -> dict[str | int, tuple[int, int]]:
        text, children = self._text, {}
        opener = text[start] if start < len(text) else ""
        if opener not in "{[" or not opener:
            return children
        closer = "}" if opener == "{" else "]"
        pos = _WS.match(text, start + 1).end()  # type: ignore[union-attr]
        if text[pos] == closer:
            return children
        index = 0
        while True:
            key: str | int
            if opener == "{":
                key, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
                pos = _WS.match(text, pos).end() + 1  # type: ignore[union-attr]  # past ':'
                pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            else:
                key, index = index, index + 1
            _, end = self._decoder.raw_decode(text, pos)
            children[key] = (pos, end)
            pos = _WS.match(text, end).end()  # type: ignore[union-attr]
            if text[pos] == closer:
                return children
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]  # past ','


def _line_byte_starts(text: str) -> list[int]:
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line.encode("utf-8")) + 1)
    return starts


# ---------------------------------------------------------------------------------------------
# The template model


@dataclass(slots=True)
class ResourceDecl:
    """One resource declaration as written; `type` is the full type (nested children included)."""

    data: dict[str, Any]
    path: JsonPath
    type: str
    symbol: str | None = None
    parent: ResourceDecl | None = None

    def get(self, name: str, default: Any = None) -> Any:
        return field_value(self.data, name, default)

    def key_path(self, name: str) -> JsonPath:
        """The JSON path of one of this resource's properties, spelled as in the file."""
        key, _ = get_field(self.data, name)
        return (*self.path, key if key is not None else name)

    @property
    def is_deployment(self) -> bool:
        return self.type.lower() == "microsoft.resources/deployments"


@dataclass(slots=True)
class Template:
    """A deploymentTemplate object: the file itself or a nested template inside it."""

    source: SourceFile
    locator: JsonLocator
    base: JsonPath
    data: dict[str, Any]
    target_scope: str
    symbolic: bool
    resources: list[ResourceDecl] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.source.path

    def section(self, name: str, default: Any) -> Any:
        return field_value(self.data, name, default)

    @property
    def parameters(self) -> dict[str, Any]:
        return self.section("parameters", {})

    @property
    def variables(self) -> dict[str, Any]:
        return self.section("variables", {})

    @property
    def functions(self) -> list[Any]:
        return self.section("functions", [])

    @property
    def definitions(self) -> dict[str, Any]:
        return self.section("definitions", {})

    @property
    def outputs(self) -> dict[str, Any]:
        return self.section("outputs", {})

    def span(self, path: JsonPath) -> Span | None:
        found = self.locator.offsets(path)
        return None if found is None else self.locator.span(self.source, *found)

    def error(self, message: str, path: JsonPath) -> ArmguardError:
        """A one-line error at the JSON path (positioned at its nearest existing part)."""
        start, _ = self.locator.nearest(path)
        line, column = self.source.position(start)
        return ArmguardError(message, path=self.path, line=line, column=column, where=format_path(path) or None)


def load_template(source: SourceFile) -> Template:
    """Parse and validate a deploymentTemplate file."""
    data, text = parse_json(source)
    locator = JsonLocator(text)
    if isinstance(data, dict):
        schema = field_value(data, "$schema")
        if isinstance(schema, str) and "deploymentparameters" in schema.lower():
            raise ArmguardError("this is a deploymentParameters file, not a template", path=source.path)
    template = template_from_object(data, source, locator, ())
    check_expressions(template, text)
    return template


def template_from_object(data: Any, source: SourceFile, locator: JsonLocator, base: JsonPath,
                         default_scope: str = "resourceGroup") -> Template:
    """Validate a template object found at `base` in `source` and list its resources."""
    probe = Template(source, locator, base, data if isinstance(data, dict) else {}, default_scope, False)
    if not isinstance(data, dict):
        raise probe.error(f"not an ARM template: expected a JSON object, found {json_kind(data)}", base)
    schema_key, schema = get_field(data, "$schema")
    resources_key, resources = get_field(data, "resources")
    scope = schema_scope(schema)
    if schema_key is not None and scope is None and resources_key is None:
        raise probe.error(f"not an ARM deployment template ($schema is {schema!r})", (*base, schema_key))
    if resources_key is None:
        if schema_key is None:
            raise probe.error("not an ARM template: no $schema and no resources", base)
        raise probe.error("template has no 'resources'", base)
    language = field_value(data, "languageVersion")
    symbolic = isinstance(resources, dict)
    # 1.9-experimental: the preview of symbolic names that Bicep emitted before 2.0.
    if symbolic and not (isinstance(language, str) and language.startswith(("2", "1.9-experimental"))):
        raise probe.error("'resources' is an object (symbolic names), which needs languageVersion 2.0",
                          (*base, resources_key))
    template = Template(source, locator, base, data, scope or default_scope, symbolic)
    _check_sections(template)
    res_path = (*base, resources_key)
    if symbolic:
        for symbol, body in resources.items():
            _add_resource(template, body, (*res_path, symbol), symbol, None)
    elif isinstance(resources, list):
        for i, body in enumerate(resources):
            _add_resource(template, body, (*res_path, i), None, None)
    else:
        raise template.error(f"'resources' must be an array, found {json_kind(resources)}", res_path)
    return template


def check_expressions(template: Template, text: str) -> None:
    """Every expression in the file must parse and call only known functions, deployed or not.

    Resource Manager rejects such a template before deploying anything. The expression strings
    are found in the text (fast); only when one is bad is the data walked to name its JSON path.
    """
    for m in _EXPRESSION_STRING.finditer(text):
        raw = m.group(1)
        value = json.loads(f'"{raw}"') if "\\" in raw else raw
        if _bad_expression(value):
            _locate_bad_expression(template, template.data, template.base)
            return


@lru_cache(maxsize=65536)
def _bad_expression(value: str) -> str | None:
    """Why a template string is not a valid expression (None when it is fine or not an expression)."""
    try:
        parsed = parse_template_string(value)
    except ArmguardError as e:
        return f"invalid expression: {e.message}"
    if isinstance(parsed, str):
        return None
    unknown = _unknown_function(parsed)
    return f"unknown function '{unknown}'" if unknown else None


def _locate_bad_expression(template: Template, value: Any, path: JsonPath) -> None:
    if isinstance(value, str):
        problem = _bad_expression(value) if value.startswith("[") else None
        if problem:
            raise template.error(problem, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _locate_bad_expression(template, item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            _locate_bad_expression(template, key, path)
            _locate_bad_expression(template, item, (*path, key))


def _unknown_function(expr: Expr) -> str | None:
    if isinstance(expr, Call):
        if expr.namespace is None and not is_supported(expr.name):
            return expr.name
        for arg in expr.args:
            found = _unknown_function(arg)
            if found:
                return found
    elif isinstance(expr, Member):
        return _unknown_function(expr.target)
    elif isinstance(expr, Index):
        return _unknown_function(expr.target) or _unknown_function(expr.index)
    return None


def _check_sections(template: Template) -> None:
    expected = {"parameters": dict, "variables": dict, "outputs": dict, "definitions": dict, "functions": list}
    for name, kind in expected.items():
        key, value = get_field(template.data, name)
        if key is not None and not isinstance(value, kind):
            want = "an object" if kind is dict else "an array"
            raise template.error(f"'{name}' must be {want}, found {json_kind(value)}", (*template.base, key))
    _check_functions(template)
    params_key, params = get_field(template.data, "parameters")
    for name, decl in (params or {}).items():
        where = (*template.base, params_key or "parameters", name)
        if not isinstance(decl, dict):
            raise template.error(f"parameter '{name}' must be an object, found {json_kind(decl)}", where)
        ptype = field_value(decl, "type")
        if ptype is not None and not isinstance(ptype, str):
            raise template.error(f"parameter '{name}' 'type' must be a string, found {json_kind(ptype)}", where)


def _check_functions(template: Template) -> None:
    """User-defined functions: [{namespace, members: {name: {parameters: [{name, type}], output: {value}}}}]."""
    section_key, section = get_field(template.data, "functions")
    for i, ns in enumerate(section or []):
        where: JsonPath = (*template.base, section_key or "functions", i)
        if not isinstance(ns, dict) or not isinstance(field_value(ns, "namespace"), str):
            raise template.error("a functions entry needs a 'namespace' string", where)
        members_key, members = get_field(ns, "members")
        if not isinstance(members, dict):
            raise template.error("a functions entry needs a 'members' object", where)
        for name, member in members.items():
            member_path = (*where, members_key, name)
            if not isinstance(member, dict):
                raise template.error(f"function '{name}' must be an object", member_path)
            params = field_value(member, "parameters", [])
            if not isinstance(params, list) or not all(
                    isinstance(p, dict) and isinstance(field_value(p, "name"), str) for p in params):
                raise template.error(f"function '{name}' parameters must be an array of {{name, type}} objects",
                                     member_path)
            output = field_value(member, "output")
            if not isinstance(output, dict) or get_field(output, "value")[0] is None:
                raise template.error(f"function '{name}' needs an 'output' with a 'value'", member_path)


def _add_resource(template: Template, body: Any, path: JsonPath, symbol: str | None,
                  parent: ResourceDecl | None) -> None:
    if not isinstance(body, dict):
        raise template.error(f"a resource must be an object, found {json_kind(body)}", path)
    rtype = _require_string(template, body, path, "type")
    _require_string(template, body, path, "name")
    if parent is not None and not _is_qualified_type(rtype):
        rtype = f"{parent.type}/{rtype}"
    decl = ResourceDecl(body, path, rtype, symbol, parent)
    _check_resource(template, decl)
    template.resources.append(decl)
    children_key, children = get_field(body, "resources")
    if children_key is not None and not decl.is_deployment:
        if not isinstance(children, list):
            raise template.error(f"child 'resources' must be an array, found {json_kind(children)}",
                                 (*path, children_key))
        for i, child in enumerate(children):
            _add_resource(template, child, (*path, children_key, i), None, decl)


def _is_qualified_type(rtype: str) -> bool:
    return "." in rtype.split("/", 1)[0] and "/" in rtype


def _require_string(template: Template, body: dict[str, Any], path: JsonPath, name: str) -> str:
    key, value = get_field(body, name)
    if key is None:
        raise template.error(f"resource has no '{name}'", path)
    if not isinstance(value, str) or not value:
        raise template.error(f"resource '{name}' must be a non-empty string, found {json_kind(value)}",
                             (*path, key))
    return value


def _check_resource(template: Template, decl: ResourceDecl) -> None:
    body = decl.data
    api_key, api = get_field(body, "apiVersion")
    if api_key is not None and not isinstance(api, str):
        raise template.error(f"'apiVersion' must be a string, found {json_kind(api)}", decl.key_path("apiVersion"))
    deps_key, deps = get_field(body, "dependsOn")
    if deps_key is not None:
        if not isinstance(deps, list):
            raise template.error(f"'dependsOn' must be an array, found {json_kind(deps)}", decl.key_path("dependsOn"))
        for i, dep in enumerate(deps):
            if not isinstance(dep, str):
                raise template.error(f"a dependsOn entry must be a string, found {json_kind(dep)}",
                                     (*decl.path, deps_key, i))
    cond_key, cond = get_field(body, "condition")
    if cond_key is not None and not isinstance(cond, bool | str):
        raise template.error(f"'condition' must be a bool or an expression, found {json_kind(cond)}",
                             decl.key_path("condition"))
    copy_key, copy = get_field(body, "copy")
    if copy_key is not None:
        check_copy(template, copy, (*decl.path, copy_key), needs_input=False)


def check_copy(template: Template, copy: Any, path: JsonPath, *, needs_input: bool) -> None:
    """Validate the shape of a resource, property, variable or output `copy` block."""
    if not isinstance(copy, dict):
        raise template.error(f"'copy' must be an object, found {json_kind(copy)}", path)
    name_key, name = get_field(copy, "name")
    if not needs_input or name_key is not None:
        if not isinstance(name, str) or not name:
            raise template.error("copy needs a 'name' string", (*path, name_key) if name_key else path)
    count_key, count = get_field(copy, "count")
    if count_key is None:
        raise template.error("copy needs a 'count'", path)
    if isinstance(count, bool) or not isinstance(count, int | str):
        raise template.error(f"copy 'count' must be an int or an expression, found {json_kind(count)}",
                             (*path, count_key))
    mode_key, mode = get_field(copy, "mode")
    if mode_key is not None and (not isinstance(mode, str) or mode.lower() not in _COPY_MODES):
        raise template.error(f"copy 'mode' must be 'parallel' or 'serial', found {mode!r}", (*path, mode_key))
    batch_key, batch = get_field(copy, "batchSize")
    if batch_key is not None and (isinstance(batch, bool) or not isinstance(batch, int | str)):
        raise template.error(f"copy 'batchSize' must be an int or an expression, found {json_kind(batch)}",
                             (*path, batch_key))
    if needs_input and get_field(copy, "input")[0] is None:
        raise template.error("copy needs an 'input'", path)


def json_kind(value: Any) -> str:
    """'a bool', 'an int', 'a string'...: a JSON value's kind for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int):
        return "an int"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
