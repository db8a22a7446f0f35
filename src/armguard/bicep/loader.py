"""Bicep files -> DeploymentGraph: parse, build the semantic model, follow local modules.

This is the I/O edge of the Bicep front end: it reads files (templates, modules, parameter files,
`load*Content` targets) and hands text to the pure parser and semantic model.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from armguard.arm.functions_base import to_text
from armguard.bicep import syntax as s
from armguard.bicep.modules import resolve_module
from armguard.bicep.parser import parse_source
from armguard.bicep.semantic import Declaration, SemanticModel
from armguard.errors import ArmguardError
from armguard.model import DEPLOYMENTS_TYPE, Dependency, DeploymentGraph, Diagnostic, Loop, Node
from armguard.source import SourceFile, Span
from armguard.values import Unknown, is_known, merge_unknown, unknown_deps

_MAX_INSTANCES = 800  # Resource Manager's limit on resources in one template, copies included
_MAX_MODULE_DEPTH = 32
_MAX_INSTANCE_MODULES = 32  # iterations of a module loop evaluated one by one for lint


def load_graph(path: str | Path, params: str | Path | dict[str, Any] | None = None, *,
               lazy_modules: bool = False) -> DeploymentGraph:
    """The deployment graph of a .bicep file (or of the template a .bicepparam file uses).

    `params` is a .bicepparam or ARM parameters JSON file, or a dict of parameter values.
    Raises ArmguardError for files that cannot be read at all; syntax errors become `graph.errors`.
    With `lazy_modules` a module's graph is built when first used, and problems inside it join
    `graph.errors` only then.
    """
    p = Path(path)
    if _is_bicepparam(p):
        values, template = load_params(p)
        if template is None:
            raise ArmguardError("the parameters file has no `using '<template>'` statement to inspect",
                                path=str(path))
        if params is not None:
            values.update(_param_values(params))
        if template.suffix.lower() == ".json":
            return _load_arm_module(template, values)
        return _Loader(lazy_modules).graph(template, values, ())
    values = _param_values(params) if params is not None else None
    return _Loader(lazy_modules).graph(p, values, ())


def _is_bicepparam(p: Path) -> bool:
    return p.suffix.lower() == ".bicepparam"


def load_params(path: str | Path, _stack: tuple[Path, ...] = ()) -> tuple[dict[str, Any], Path | None]:
    """Values of a .bicepparam file (following `extends`) and the template it is `using`."""
    p = Path(path)
    key = _absolute(p)
    if key in _stack:
        cycle = " -> ".join(x.name for x in (*_stack[_stack.index(key):], key))
        raise ArmguardError(f"extends cycle: {cycle}", path=str(path))
    source = SourceFile.read(p)
    program = parse_source(source)
    if program.diagnostics:
        d = program.diagnostics[0]
        raise ArmguardError(d.message, path=d.path, line=d.line, column=d.column)
    model = SemanticModel(program, source)
    values: dict[str, Any] = {}
    for st in program.statements:
        if isinstance(st, s.ExtendsDecl) and st.path.value:
            base, _ = load_params(p.parent / st.path.value, (*_stack, key))
            values.update(base)
    for st in program.statements:
        if isinstance(st, s.ParamDecl) and st.default is not None:
            values[st.name] = _plain(model.evaluator.eval(st.default, {}))
    template = None
    if model.using:
        if model.using.startswith(("br:", "br/", "ts:", "ts/")):
            raise ArmguardError(f"the template '{model.using}' is in a registry and cannot be read offline",
                                path=str(path))
        template = p.parent / model.using
    return values, template


def _param_values(params: str | Path | dict[str, Any]) -> dict[str, Any]:
    if isinstance(params, dict):
        return dict(params)
    p = Path(params)
    if _is_bicepparam(p):
        return load_params(p)[0]
    source = SourceFile.read(p)
    try:
        data = json.loads(source.text)
    except json.JSONDecodeError as e:
        raise ArmguardError(f"invalid JSON: {e.msg}", path=str(p), line=e.lineno, column=e.colno) from None
    if not isinstance(data, dict) or not isinstance(data.get("parameters"), dict):
        raise ArmguardError("not a deployment parameters file (no 'parameters' object)", path=str(p))
    out: dict[str, Any] = {}
    for name, entry in data["parameters"].items():
        if isinstance(entry, dict) and "value" in entry:
            out[name] = entry["value"]
        else:
            out[name] = Unknown(name, {f"param:{name}"})
    return out


_PARSED: dict[tuple[Path, bytes], tuple[SourceFile, s.Program]] = {}
_PARSED_LIMIT = 2048
# Set by `files_do_not_change`: parsed files by path, trusted without reading them again.
_PARSED_BY_PATH: dict[Path, tuple[SourceFile, s.Program]] | None = None


def _parse_cached(path: Path) -> tuple[SourceFile, s.Program]:
    """Parse a file once per process while its content is unchanged: modules are shared by many
    templates. Keyed on a digest of the bytes, so a rewrite is never served stale (unless the
    process has declared `files_do_not_change`)."""
    if _PARSED_BY_PATH is not None:
        absolute = _absolute(path)
        found = _PARSED_BY_PATH.get(absolute)
        if found is None:
            source = SourceFile.read(path)
            found = (source, parse_source(source))
            if len(_PARSED_BY_PATH) >= _PARSED_LIMIT:
                _PARSED_BY_PATH.clear()
            _PARSED_BY_PATH[absolute] = found
        return found
    data = SourceFile.read_bytes(path)
    key = (_absolute(path), hashlib.blake2b(data, digest_size=16).digest())
    found = _PARSED.get(key)
    if found is None:
        source = SourceFile.from_bytes(str(path), data)
        found = (source, parse_source(source))
        if len(_PARSED) >= _PARSED_LIMIT:
            _PARSED.clear()
        _PARSED[key] = found
    return found


def files_do_not_change() -> None:
    """Declare that no file changes for the rest of this process (a lint worker, which lives for
    one run): each file is then read and parsed once, the first time a template or module needs
    it, and never read again to check that it is unchanged."""
    global _PARSED_BY_PATH
    if _PARSED_BY_PATH is None:
        _PARSED_BY_PATH = {}


def loop_env(decl: Declaration, item: Any, index: int) -> dict[str, Any]:
    """The names a loop iteration binds: its item and index variables."""
    f = decl.loop
    env: dict[str, Any] = {}
    if f is not None and f.item:
        env[f.item] = item
    if f is not None and f.index:
        env[f.index] = index
    return env


class _Loader:
    def __init__(self, lazy: bool = False):
        self.lazy = lazy

    def parse(self, path: Path) -> tuple[SourceFile, s.Program]:
        return _parse_cached(path)

    def graph(self, path: Path, params: dict[str, Any] | None, stack: tuple[Path, ...]) -> DeploymentGraph:
        source, program = self.parse(path)
        model = SemanticModel(program, source, params)
        model.called = bool(stack)  # a module: its call site passes all it gets
        model.file_loader = _load_file_function
        graph = DeploymentGraph(str(path), "bicep", model.target_scope, syntax=model)
        graph.errors.extend(model.diagnostics)
        graph.defer("parameters", lambda: {name: _plain(model.param_value(name)) for name in model.params})
        for decl in model.declarations.values():
            graph.nodes.append(self.node(model, decl, graph, path, stack))
        return graph

    def node(self, model: SemanticModel, decl: Declaration, graph: DeploymentGraph, path: Path,
             stack: tuple[Path, ...]) -> Node:
        """The node of a declaration. What takes evaluating (names, condition, scope, dependencies,
        position) is computed when first read: lint reads it for few nodes."""
        ev = model.evaluator
        env: dict[str, Any] = {}
        loop = None
        if decl.loop is not None:
            iterations = self.iterations(model, decl)
            loop, env = self.loop(model, decl, iterations)
        else:
            iterations = None
        body = decl.body
        name_expr = body.get("name") if body is not None else None
        parent = decl.nesting_parent
        scope_expr = None
        if body is not None:
            parent_expr = body.get("parent")
            if parent_expr is not None:
                parent = model.resolve(parent_expr) or parent
            scope_expr = body.get("scope")
        node = Node(symbol=decl.symbol, kind=decl.kind, type=decl.type, path=str(path),  # type: ignore[arg-type]
                    api_version=decl.api_version, existing=decl.existing, loop=loop, parent=parent)
        node.defer("span", lambda: self.span(model, decl))
        node.defer("condition", lambda: self.condition(model, decl, env))
        node.defer("dependencies", lambda: [Dependency(symbol, origin) for symbol, origin in model.dependencies(decl)])
        if name_expr is not None:
            node.defer("name", lambda: _plain(ev.eval(name_expr, env)))
        if scope_expr is not None:
            node.defer("scope", lambda: self.scope(model, scope_expr, env))
        if body is not None:
            node.properties_loader = lambda: _plain(ev.eval(_without(body, ("name", "parent", "scope", "dependsOn")), env))
        if iterations is not None and len(iterations) <= _MAX_INSTANCES and name_expr is not None:
            node.defer("instance_names", lambda: [
                _plain(ev.eval(name_expr, self.loop_env(decl, item, i))) for i, item in iterations])
        if decl.kind == "resource":
            node.defer("name_segments", lambda: self.segments(model, decl, env, 0))
            if iterations is not None and len(iterations) <= _MAX_INSTANCES:
                node.defer("instance_segments", lambda: [
                    self.segments(model, decl, self.loop_env(decl, item, i), 0) for i, item in iterations])
        if decl.kind == "module":
            self.attach_module(model, decl, node, graph, path, stack, env, iterations)
        return node

    @staticmethod
    def span(model: SemanticModel, decl: Declaration) -> Span:
        """From the `resource`/`module` keyword (after any decorators) to the end of the body."""
        st = decl.decl
        keyword = "resource" if decl.kind == "resource" else "module"
        kw = model.source.text.rfind(keyword, st.start, st.name_start)
        return model.source.span(kw if kw != -1 else st.name_start, st.end)

    @staticmethod
    def scope(model: SemanticModel, scope_expr: s.Node, env: dict[str, Any]) -> Any:
        target = model.resolve(scope_expr)
        return Unknown(target, {f"resource:{target}"}) if target else _plain(model.evaluator.eval(scope_expr, env))

    def segments(self, model: SemanticModel, decl: Declaration, env: dict[str, Any], depth: int) -> list[Any]:
        """The resource's full name, one value per type segment, following `parent:` and nesting."""
        body = decl.body
        name_expr = body.get("name") if body is not None else None
        own = _name_segments(model, name_expr, env) if name_expr is not None else [
            Unknown(f"{decl.symbol}.name", {f"resource:{decl.symbol}"})]
        parent_expr = body.get("parent") if body is not None else None
        parent = decl.nesting_parent or (model.resolve(parent_expr) if parent_expr is not None else None)
        if parent is None or depth > 16:
            return own
        pdecl = model.declarations[parent]
        penv: dict[str, Any] = {}
        if pdecl.loop is not None:
            index = _index_of(parent_expr)
            idx: Any = model.evaluator.eval(index, env) if index is not None else Unknown(
                f"{parent}[*]", {f"resource:{parent}"})
            items = model.evaluator.eval(pdecl.loop.iterable, {})
            if isinstance(idx, int) and not isinstance(idx, bool) and isinstance(items, list) \
                    and 0 <= idx < len(items):
                penv = self.loop_env(pdecl, items[idx], idx)
            else:
                marker = Unknown(f"{parent}[{getattr(idx, 'text', idx)}]",
                                 {f"resource:{parent}"} | unknown_deps(idx))
                penv = {n: marker for n in (pdecl.loop.item, pdecl.loop.index) if n}
        return [*self.segments(model, pdecl, penv, depth + 1), *own]

    def condition(self, model: SemanticModel, decl: Declaration, env: dict[str, Any]) -> Any:
        """The declaration's condition ANDed with those of the resources it is nested in, as the
        compiler does; None when none of them has one."""
        values = []
        d: Declaration | None = decl
        while d is not None:
            if d.condition is not None:
                values.append(_plain(model.evaluator.eval(d.condition, env if d is decl else {})))
            d = model.declarations.get(d.nesting_parent) if d.nesting_parent else None
        if not values:
            return None
        if any(v is False for v in values):
            return False
        unknown = [v for v in values if v is not True]
        if not unknown:
            return True
        return unknown[0] if len(unknown) == 1 else merge_unknown("condition", *unknown)

    def loop(self, model: SemanticModel, decl: Declaration,
             iterations: list[tuple[int, Any]] | None) -> tuple[Loop, dict[str, Any]]:
        ev = model.evaluator
        f = decl.loop
        assert f is not None
        items = ev.eval(f.iterable, {})
        count = len(iterations) if iterations is not None else None
        known_items = items if isinstance(items, list) else None
        batch = None
        bdec = decl.decl.decorator("batchSize")
        if bdec is not None and bdec.call.args:
            b = ev.eval(bdec.call.args[0], {})
            batch = b if isinstance(b, int) and not isinstance(b, bool) else None
        loop = Loop(name=decl.symbol, count=count, mode="serial" if bdec is not None else "parallel",
                    batch_size=batch, item=f.item, index=f.index,
                    items=_plain(known_items) if known_items is not None else None,
                    filtered=f.condition is not None)
        env = {}
        if f.item:
            env[f.item] = Unknown(f.item, {f"loop:{decl.symbol}"})
        if f.index:
            env[f.index] = Unknown(f.index, {f"loop:{decl.symbol}"})
        return loop, env

    def iterations(self, model: SemanticModel, decl: Declaration) -> list[tuple[int, Any]] | None:
        """The (index, item) pairs a loop deploys, after its filter; None when not known offline."""
        f = decl.loop
        if f is None:
            return None
        items = model.evaluator.eval(f.iterable, {})
        if not isinstance(items, list):
            return None
        if f.condition is None:
            return list(enumerate(items))
        kept = []
        for i, item in enumerate(items):
            c = model.evaluator.eval(f.condition, self.loop_env(decl, item, i))
            if c is True:
                kept.append((i, item))
            elif c is not False:
                return None
        return kept

    loop_env = staticmethod(loop_env)

    def attach_module(self, model: SemanticModel, decl: Declaration, node: Node, graph: DeploymentGraph,
                      path: Path, stack: tuple[Path, ...], env: dict[str, Any],
                      iterations: list[tuple[int, Any]] | None) -> None:
        st = decl.decl
        assert isinstance(st, s.ModuleDecl)
        ref = st.path.value
        node.module_ref = ref
        if ref is None:
            node.unresolved = "the module path is not a plain string"
            return
        target = resolve_module(ref, path)
        if target.kind != "local":
            node.module_types = list(target.types)
            node.unresolved = target.reason
            return
        assert target.path is not None
        module_path = target.path

        def error(message: str) -> Diagnostic:
            line, col = model.position(st.path.start)
            return Diagnostic(str(path), line, col, message)

        if not module_path.is_file():
            node.unresolved = f"module file not found: {ref}"
            graph.errors.append(error(f"module file not found: '{ref}'"))
            return
        resolved = _absolute(module_path)
        chain = (*stack, _absolute(path))
        if resolved in chain:
            cycle = " -> ".join(p.name for p in (*chain[chain.index(resolved):], resolved))
            node.unresolved = f"module cycle: {cycle}"
            graph.errors.append(error(f"module cycle: {cycle}"))
            return
        if len(chain) > _MAX_MODULE_DEPTH:
            node.unresolved = "modules nested too deeply"
            return
        if module_path.suffix.lower() != ".json":
            node.module_types = sorted(self.static_types(module_path, chain))
        else:
            node.module_types = list(target.types)  # a registry module from the local cache: known by type too
        params_expr = decl.body.get("params") if decl.body is not None else None

        def load() -> DeploymentGraph | None:
            values = model.evaluator.eval(params_expr, env) if params_expr is not None else {}
            values = values if isinstance(values, dict) else {}
            try:
                if module_path.suffix.lower() == ".json":
                    loaded = _load_arm_module(module_path, values)
                else:
                    loaded = self.graph(module_path, _plain(values), chain)
            except ArmguardError as e:
                node.unresolved = str(e)
                graph.errors.append(error(f"module '{ref}': {e.message}"))
                return None
            graph.errors.extend(e for e in loaded.errors if e not in graph.errors)
            return loaded

        node.module_loader = load
        if not self.lazy:
            _ = node.module
        if iterations is not None and 1 < len(iterations) <= _MAX_INSTANCE_MODULES:

            def load_instances() -> list[DeploymentGraph | None]:
                graphs: list[DeploymentGraph | None] = []
                for i, item in iterations:
                    values = model.evaluator.eval(params_expr, self.loop_env(decl, item, i)) \
                        if params_expr is not None else {}
                    values = values if isinstance(values, dict) else {}
                    try:
                        if module_path.suffix.lower() == ".json":
                            graphs.append(_load_arm_module(module_path, values))
                        else:
                            graphs.append(_Loader(lazy=True).graph(module_path, _plain(values), chain))
                    except ArmguardError:
                        graphs.append(None)
                return graphs

            node.instance_modules_loader = load_instances

    def static_types(self, path: Path, stack: tuple[Path, ...]) -> set[str]:
        """Resource types a Bicep file declares (not existing), through its local and registry modules,
        read from the syntax alone."""
        key = _absolute(path)
        if key in stack or len(stack) > _MAX_MODULE_DEPTH:
            return set()
        try:
            source, program = self.parse(path)
        except ArmguardError:
            return set()
        cached = program.analysis.get("static_types")
        if cached is not None:
            return cached
        model = SemanticModel(program, source)
        types: set[str] = set()
        for d in model.declarations.values():
            if d.kind == "resource":
                if not d.existing and d.type.lower() != DEPLOYMENTS_TYPE.lower():
                    types.add(d.type)
                continue
            ref = d.decl.path.value  # type: ignore[union-attr]
            if ref is None:
                continue
            target = resolve_module(ref, path)
            if target.kind == "local" and target.path is not None and target.path.suffix.lower() == ".bicep":
                types |= self.static_types(target.path, (*stack, key))
            else:
                types.update(target.types)
        program.analysis["static_types"] = types
        return types


def _name_segments(model: SemanticModel, expr: s.Node, env: dict[str, Any]) -> list[Any]:
    """Split a name on '/' where the split points are literal text, even when parts are unknown."""
    ev = model.evaluator
    if isinstance(expr, s.StringLiteral) and not expr.is_plain:
        segments: list[Any] = []
        current: list[Any] = []
        for part in expr.parts:
            pieces = part.split("/") if isinstance(part, str) else [_plain(ev.eval(part, env))]
            for i, piece in enumerate(pieces):
                if i > 0:
                    segments.append(_join(current, model, expr))
                    current = []
                if piece != "":
                    current.append(piece)
        segments.append(_join(current, model, expr))
        return segments
    value = _plain(ev.eval(expr, env))
    if isinstance(value, str):
        return value.split("/")
    return [value]


def _join(pieces: list[Any], model: SemanticModel, expr: s.Node) -> Any:
    if all(isinstance(p, str) for p in pieces):
        return "".join(pieces)
    if all(is_known(p) for p in pieces):
        return "".join(to_text(p) for p in pieces)
    text = "".join(p if isinstance(p, str) else f"${{{getattr(p, 'text', p)}}}" for p in pieces)
    return merge_unknown(text, *[_plain(p) for p in pieces])


def _index_of(expr: s.Node | None) -> s.Node | None:
    while isinstance(expr, (s.NonNull, s.Paren)):
        expr = expr.expr
    return expr.index if isinstance(expr, s.IndexAccess) else None


def _absolute(path: Path) -> Path:
    """An absolute, normalized path (cheaper than resolve(): symlinks are not followed)."""
    key = str(path)
    found = _ABSOLUTE.get(key)
    if found is None:
        found = Path(os.path.normpath(os.path.abspath(key)))
        if os.path.isabs(key):  # a relative path depends on the working directory: not kept
            _ABSOLUTE[key] = found
    return found


# Templates name the same modules over and over; building Path objects is the cost here.
_ABSOLUTE: dict[str, Path] = {}


def _load_arm_module(path: Path, values: dict[str, Any]) -> DeploymentGraph:
    from armguard.arm import loader as arm_loader

    return arm_loader.load_graph(str(path), _plain(values), called=True)


def _without(body: s.ObjectExpr, keys: tuple[str, ...]) -> s.ObjectExpr:
    items = [i for i in body.items
             if not (isinstance(i, s.ObjectProperty) and i.name in keys) and not isinstance(i, s.ResourceDecl)]
    return s.ObjectExpr(body.start, body.end, items)


def _plain(value: Any) -> Any:
    """Replace evaluator-internal values (resource references, lambdas) with Unknowns."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool, Unknown)):
        return value
    symbol = getattr(value, "symbol", None)
    if symbol is not None:
        return Unknown(symbol, {f"resource:{symbol}"})
    return Unknown(repr(value), {"unsupported"})


_MAX_LOADED_FILE = 4 * 1024 * 1024  # Resource Manager's template size limit


def _load_file_function(model: SemanticModel, name: str, args: list[Any], text: str) -> Any:
    """load*Content as the compiler does: relative paths to regular files only (BCP051)."""
    if not args or not isinstance(args[0], str) or os.path.isabs(args[0]) or args[0].startswith(("/", "\\")):
        return Unknown(text, {"file"})
    target = Path(model.path).parent / args[0]
    try:
        if not target.is_file() or target.stat().st_size > _MAX_LOADED_FILE:
            return Unknown(text, {"file"})
        if name == "loadfileasbase64":
            return base64.b64encode(target.read_bytes()).decode("ascii")
        content = target.read_text("utf-8-sig")
    except OSError:
        return Unknown(text, {"file"})
    if name == "loadjsoncontent":
        try:
            value = json.loads(content)
        except json.JSONDecodeError:
            return Unknown(text, {"file"})
        if len(args) > 1 and isinstance(args[1], str) and args[1]:
            return Unknown(text, {"file"}) if not is_known(value) else _json_path(value, args[1], text)
        return value
    if name == "loadtextcontent":
        return content
    return Unknown(text, {"file"})


def _json_path(value: Any, path: str, text: str) -> Any:
    """A simple `$.a.b[0]` JSONPath as loadJsonContent's second argument accepts."""
    cur = value
    for part in path.lstrip("$").replace("[", ".").replace("]", "").split("."):
        if not part:
            continue
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return Unknown(text, {"file"})
    return cur
