"""Parameter values: deploymentParameters files, `name=value` overrides, declarations and checks.

A parameter's value is, in order: the value supplied by the caller, its `defaultValue` (possibly an
expression), else an Unknown depending on "param:<name>". In strict mode, which a real deployment
needs, a `nullable` one left out is null and a required one left out is an error. (Linting a
template, a nullable parameter is whatever its callers pass, as in the Bicep front end; a nested
deployment's call site passes all there is, so there a nullable one left out is null.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from armguard.arm.template import JsonPath, field_value, get_field, json_kind
from armguard.errors import ArmguardError
from armguard.values import Unknown

_TYPES = ("string", "securestring", "int", "bool", "object", "secureobject", "array")
_MAX_REF_DEPTH = 32


# ---------------------------------------------------------------------------------------------
# Supplied values


class OverrideText(str):
    """A parameter value typed on the command line: text to coerce to the declared type."""

    __slots__ = ()



def parameters_from_file(data: Any, path: str) -> dict[str, Any]:
    """The values of a deploymentParameters file's decoded JSON.

    `{"value": v}` gives v; `{"reference": {"keyVault": ..., "secretName": ...}}` (a Key Vault
    secret) gives an Unknown. The `$schema`/`parameters` wrapper may be omitted, as az accepts.
    """
    if not isinstance(data, dict):
        raise ArmguardError("not a deploymentParameters file: expected a JSON object", path=path)
    schema = field_value(data, "$schema")
    params_key, params = get_field(data, "parameters")
    if isinstance(schema, str) and "deploymenttemplate" in schema.lower():
        raise ArmguardError("this is a deploymentTemplate, not a parameters file", path=path)
    if isinstance(schema, str) and "deploymentparameters" not in schema.lower():
        raise ArmguardError(f"not a deploymentParameters file ($schema is {schema!r})", path=path)
    if params_key is None:
        if schema is not None or not data or not all(_is_parameter_entry(v) for v in data.values()):
            raise ArmguardError("not a deploymentParameters file: no 'parameters' object", path=path)
        params = data
    if not isinstance(params, dict):
        raise ArmguardError("'parameters' must be an object", path=path, where="parameters")
    values: dict[str, Any] = {}
    for name, entry in params.items():
        values[name] = _entry_value(name, entry, path)
    return values


def _is_parameter_entry(entry: Any) -> bool:
    return isinstance(entry, dict) and (get_field(entry, "value")[0] is not None
                                        or get_field(entry, "reference")[0] is not None)


def _entry_value(name: str, entry: Any, path: str) -> Any:
    if not isinstance(entry, dict):
        raise ArmguardError(f"parameter '{name}' must be an object with a 'value'", path=path,
                            where=f"parameters.{name}")
    value_key, value = get_field(entry, "value")
    if value_key is not None:
        return value
    ref_key, ref = get_field(entry, "reference")
    if ref_key is not None:
        return key_vault_reference(name, ref)
    raise ArmguardError(f"parameter '{name}' has neither 'value' nor 'reference'", path=path,
                        where=f"parameters.{name}")


def key_vault_reference(name: str, ref: Any) -> Unknown:
    """The value of a parameter given as a Key Vault secret reference: unknowable offline."""
    secret = field_value(ref, "secretName") if isinstance(ref, dict) else None
    vault = field_value(field_value(ref, "keyVault", {}) or {}, "id") if isinstance(ref, dict) else None
    vault_name = vault.rsplit("/", 1)[-1] if isinstance(vault, str) else "?"
    return Unknown(f"keyVault secret '{secret}' of vault '{vault_name}'", {f"param:{name}", "runtime:keyVault"})


def parse_overrides(items: Iterable[str]) -> dict[str, OverrideText]:
    """`name=value` command-line overrides; values stay text until the declared type is known."""
    out: dict[str, OverrideText] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ArmguardError(f"parameter override {item!r} is not of the form name=value")
        out[name] = OverrideText(value)
    return out


# ---------------------------------------------------------------------------------------------
# Declarations


def resolve_type(decl: Mapping[str, Any], definitions: Mapping[str, Any]) -> dict[str, Any]:
    """A declaration with `$ref`s to `definitions` followed; the declaration's own keys win."""
    merged: dict[str, Any] = {}
    current: Any = decl
    for _ in range(_MAX_REF_DEPTH):
        if not isinstance(current, Mapping):
            break
        for key, value in current.items():
            merged.setdefault(key.lower(), value)
        ref = field_value(current, "$ref")
        if not isinstance(ref, str) or not ref.startswith("#/definitions/"):
            break
        current = field_value(definitions, ref.removeprefix("#/definitions/"))
        merged.pop("$ref", None)
    return merged


def declared_type(decl: Mapping[str, Any], definitions: Mapping[str, Any]) -> str | None:
    t = resolve_type(decl, definitions).get("type")
    return t.lower() if isinstance(t, str) else None


def coerce_text(name: str, text: str, ptype: str | None) -> Any:
    """Turn a command-line value into the declared type: ints, bools and JSON arrays/objects."""
    if ptype in (None, "string", "securestring"):
        return text
    if ptype == "int":
        try:
            return int(text)
        except ValueError:
            raise ArmguardError(f"parameter '{name}' expects an int, got {text!r}") from None
    if ptype == "bool":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise ArmguardError(f"parameter '{name}' expects true or false, got {text!r}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ArmguardError(f"parameter '{name}' expects JSON for a {ptype}: {e.msg}") from None


def check_value(name: str, value: Any, decl: Mapping[str, Any], definitions: Mapping[str, Any]) -> str | None:
    """Why a known value does not fit the declaration (type, allowedValues, bounds), or None."""
    if isinstance(value, Unknown):
        return None
    info = resolve_type(decl, definitions)
    ptype = info.get("type")
    ptype = ptype.lower() if isinstance(ptype, str) else None
    if value is None:
        return None
    if ptype is not None and ptype in _TYPES and not _fits_type(value, ptype):
        return f"parameter '{name}' expects {_article(ptype)}, got {json_kind(value)}"
    allowed = info.get("allowedvalues")
    if isinstance(allowed, list) and allowed:
        items = value if ptype == "array" and isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, Unknown) and not any(_same(item, a) for a in allowed):
                shown = ", ".join(json.dumps(a) for a in allowed[:10]) + (", ..." if len(allowed) > 10 else "")
                return f"parameter '{name}' value {json.dumps(item)} is not one of the allowed values: {shown}"
    return _check_bounds(name, value, info)


def _check_bounds(name: str, value: Any, info: dict[str, Any]) -> str | None:
    lo, hi = info.get("minvalue"), info.get("maxvalue")
    if isinstance(value, int) and not isinstance(value, bool):
        if isinstance(lo, int) and value < lo:
            return f"parameter '{name}' is {value}, below minValue {lo}"
        if isinstance(hi, int) and value > hi:
            return f"parameter '{name}' is {value}, above maxValue {hi}"
    lo, hi = info.get("minlength"), info.get("maxlength")
    if isinstance(value, str | list):
        if isinstance(lo, int) and len(value) < lo:
            return f"parameter '{name}' has length {len(value)}, below minLength {lo}"
        if isinstance(hi, int) and len(value) > hi:
            return f"parameter '{name}' has length {len(value)}, above maxLength {hi}"
    return None


def _fits_type(value: Any, ptype: str) -> bool:
    if ptype in ("string", "securestring"):
        return isinstance(value, str)
    if ptype == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if ptype == "bool":
        return isinstance(value, bool)
    if ptype in ("object", "secureobject"):
        return isinstance(value, dict)
    return isinstance(value, list)


def _same(value: Any, allowed: Any) -> bool:
    # Resource Manager compares allowed strings without regard to case (unlike Bicep's @allowed).
    if isinstance(value, str) and isinstance(allowed, str):
        return value.lower() == allowed.lower()
    if isinstance(value, bool) or isinstance(allowed, bool):
        return value is allowed
    return value == allowed


def _article(ptype: str) -> str:
    names = {"securestring": "secureString", "secureobject": "secureObject"}
    word = names.get(ptype, ptype)
    return ("an " if word[0] in "aeiou" else "a ") + word




# ---------------------------------------------------------------------------------------------
# Resolution


class ParameterValues(dict):
    """Parameter name -> value, resolving each on first lookup (defaults may use other parameters)."""

    def __init__(self, resolvers: dict[str, Callable[[], Any]],
                 cycle_error: Callable[[str, str], ArmguardError] = lambda message, name: ArmguardError(message)):
        super().__init__()
        self._resolvers = resolvers
        self._cycle_error = cycle_error
        self._in_progress: list[str] = []
        for name in resolvers:
            dict.__setitem__(self, name, None)

    def __getitem__(self, name: str) -> Any:
        if name in self._in_progress:
            cycle = " -> ".join([*self._in_progress[self._in_progress.index(name):], name])
            raise self._cycle_error(f"parameter defaults refer to each other in a cycle: {cycle}", name)
        resolver = self._resolvers.get(name)
        if resolver is not None:
            self._in_progress.append(name)
            try:
                dict.__setitem__(self, name, resolver())
            finally:
                self._in_progress.pop()
            del self._resolvers[name]
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        if name in self:
            return self[name]
        return default

    def values(self):  # type: ignore[override]
        return [self[name] for name in self]

    def items(self):  # type: ignore[override]
        return [(name, self[name]) for name in self]

    def resolve_all(self) -> dict[str, Any]:
        return {name: self[name] for name in self}


def resolve_parameters(
    declarations: Mapping[str, Any],
    definitions: Mapping[str, Any],
    supplied: Mapping[str, Any],
    evaluate_default: Callable[[str, Any], Any],
    *,
    strict: bool,
    fail: Callable[[str, JsonPath], ArmguardError],
    section: JsonPath = ("parameters",),
    complete: bool = False,
) -> ParameterValues:
    """The value of every declared parameter, checked against its declaration.

    `supplied` values that are text are coerced to the declared type (command-line overrides).
    `evaluate_default(name, raw)` evaluates a defaultValue (it may call back into the result).
    `fail(message, json_path)` builds the error raised for a bad value; `section` is the JSON path
    of the declarations. `complete`: `supplied` is everything the template gets (a nested
    deployment's call site), so a nullable parameter left out is null, as in strict mode.
    """
    given = {k.lower(): (k, v) for k, v in supplied.items()}
    resolvers: dict[str, Callable[[], Any]] = {}
    for name, decl in declarations.items():
        where = (*section, name)
        hit = given.get(name.lower())
        resolvers[name] = _resolver(name, decl, definitions, hit, evaluate_default, strict, complete, fail, where)
    return ParameterValues(resolvers, lambda message, name: fail(message, (*section, name)))


def _resolver(name: str, decl: Mapping[str, Any], definitions: Mapping[str, Any], hit: tuple[str, Any] | None,
              evaluate_default: Callable[[str, Any], Any], strict: bool, complete: bool,
              fail: Callable[[str, JsonPath], ArmguardError], where: JsonPath) -> Callable[[], Any]:
    def resolve() -> Any:
        info = resolve_type(decl, definitions)
        # A null value counts as not given: Resource Manager then uses the default (Bicep relies on it).
        if hit is not None and (hit[1] is not None or "defaultvalue" not in info):
            value = hit[1]
            if value is None and strict and info.get("nullable") is not True:
                raise fail(f"required parameter '{name}' is null", where)
            if isinstance(value, OverrideText):
                value = coerce_text(name, str(value), declared_type(decl, definitions))
            problem = check_value(name, value, decl, definitions)
            if problem:
                raise fail(problem, where)
            return value
        if "defaultvalue" in info:
            value = evaluate_default(name, info["defaultvalue"])
            problem = check_value(name, value, decl, definitions)
            if problem:
                raise fail(f"default value: {problem}", (*where, "defaultValue"))
            return value
        if (strict or complete) and info.get("nullable") is True:
            return None
        if strict:
            raise fail(f"missing a value for required parameter '{name}'", where)
        return Unknown(f"parameters('{name}')", {f"param:{name}"})

    return resolve


def undeclared(declarations: Mapping[str, Any], supplied: Mapping[str, Any]) -> list[str]:
    """Supplied parameter names the template does not declare (Resource Manager rejects these)."""
    known = {k.lower() for k in declarations}
    return [k for k in supplied if k.lower() not in known]
