"""Semantic model of one Bicep file: symbols, name binding, resource and module declarations,
and the dependencies the Bicep compiler derives between them.

Dependency rules follow the compiler's observed output (bench/COMPILER_DEPENDSON_NOTES.md):
any reference to a deployed resource or module creates a dependency, also through variables and
`parent:`/`scope:`; a reference to an `existing` resource does so only when it reads run-time
state (not for `.id`, `.name`, `.type`, `.apiVersion`, `parent:`, `scope:` or `list*()` calls);
explicit `dependsOn` entries are always kept; a child nested in a deployed parent depends on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from armguard.bicep import syntax as s
from armguard.model import DependencyOrigin, Diagnostic
from armguard.source import SourceFile
from armguard.values import Unknown

_COMPILE_TIME_MEMBERS = frozenset({"id", "name", "type", "apiversion"})


@dataclass(slots=True)
class Reference:
    symbol: str
    origin: DependencyOrigin
    needed: bool  # whether the compiler emits a dependency for it


@dataclass(slots=True, eq=False)
class Declaration:
    """A resource or module declaration, nested resources included (symbol `parent::child`)."""

    symbol: str
    local: str
    kind: str  # "resource" | "module"
    decl: s.ResourceDecl | s.ModuleDecl
    type: str
    api_version: str | None
    existing: bool
    nesting_parent: str | None
    loop: s.ForExpr | None
    condition: s.Node | None
    body: s.ObjectExpr | None
    children: list[str] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)

    @property
    def decorators(self) -> list[s.Decorator]:
        return self.decl.decorators


def iter_children(node: s.Node) -> Iterator[s.Node]:
    """The direct syntax children of a node, in source order."""
    for name in _fields(type(node)):
        v = getattr(node, name)
        if isinstance(v, s.Node):
            yield v
        elif isinstance(v, list):
            for item in v:
                if isinstance(item, s.Node):
                    yield item


_FIELD_CACHE: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    found = _FIELD_CACHE.get(cls)
    if found is None:
        found = tuple(f for f in cls.__dataclass_fields__ if f not in ("start", "end"))  # type: ignore[attr-defined]
        _FIELD_CACHE[cls] = found
    return found


def split_type(type_string: str) -> tuple[str, str | None]:
    """'Microsoft.X/y@2024-01-01' -> ('Microsoft.X/y', '2024-01-01'); an extension alias prefix
    ('az:Microsoft.X/y@v') is not part of the type."""
    t, _, v = type_string.partition("@")
    head, sep, rest = t.partition(":")
    if sep and "/" not in head:
        t = rest
    return t, (v or None)


class SemanticModel:
    """Symbols and declarations of one parsed Bicep file."""

    def __init__(self, program: s.Program, source: SourceFile, param_values: dict[str, Any] | None = None):
        self.program = program
        self.source = source
        self.path = source.path
        self.param_values = dict(param_values or {})
        self._param_cache: dict[str, Any] = {}
        self.file_loader = None  # set by the loader: reads files for load*Content functions
        core = program.analysis.get("semantic")
        if core is None:
            core = _Core(program, source)
            program.analysis["semantic"] = core
        self.diagnostics = core.diagnostics
        self.target_scope = core.target_scope
        self.params = core.params
        self.variables = core.variables
        self.outputs = core.outputs
        self.types = core.types
        self.functions = core.functions
        self.imports = core.imports
        self.declarations = core.declarations
        self.top_level = core.top_level
        self.bindings = core.bindings
        self.using = core.using
        from armguard.bicep.evaluate import Evaluator

        self.evaluator = Evaluator(self)

    def symbol_kind(self, name: str) -> str | None:
        return self.top_level.get(name)

    def is_import_namespace(self, name: str) -> bool:
        return self.imports.get(name) == "namespace"

    def resolve(self, e: s.Node) -> str | None:
        return _resolve(self.bindings, self.declarations, e)

    def resolve_declaration(self, name: str, offset: int) -> str:
        b = self.bindings.get(offset)
        if b and b[0] in ("resource", "module"):
            return b[1]
        return name

    def dependencies(self, decl: Declaration) -> list[tuple[str, DependencyOrigin]]:
        """What the compiler emits as dependsOn. A reference to an existing resource that needs no
        dependency of its own still inherits that resource's dependencies."""
        out: dict[str, DependencyOrigin] = {}
        self._collect_dependencies(decl, out, {decl.symbol})
        return list(out.items())

    def _collect_dependencies(self, decl: Declaration, out: dict[str, DependencyOrigin], seen: set[str]) -> None:
        for r in decl.references:
            if r.needed:
                out.setdefault(r.symbol, r.origin)
            elif r.symbol not in seen:
                seen.add(r.symbol)
                self._collect_dependencies(self.declarations[r.symbol], out, seen)

    # ----------------------------------------------------------- evaluation
    def param_value(self, name: str) -> Any:
        if name in self._param_cache:
            return self._param_cache[name]
        self._param_cache[name] = Unknown(name, {f"param:{name}"})
        if name in self.param_values:
            value = self.param_values[name]
        else:
            decl = self.params.get(name)
            if decl is not None and decl.default is not None:
                value = self.evaluator.eval(decl.default, {})
            else:
                value = Unknown(name, {f"param:{name}"})
        self._param_cache[name] = value
        return value

    def load_file_function(self, name: str, args: list[Any], text: str) -> Any:
        if self.file_loader is None:
            return Unknown(text, {"file"})
        return self.file_loader(self, name, args, text)

    def position(self, offset: int) -> tuple[int, int]:
        return self.source.position(offset)


class _Core:
    """Everything about a file that does not depend on parameter values: symbols, bindings,
    declarations and their references."""

    def __init__(self, program: s.Program, source: SourceFile):
        self.program = program
        self.source = source
        self.path = source.path
        self.diagnostics: list[Diagnostic] = list(program.diagnostics)
        self.target_scope = "resourceGroup"
        self.params: dict[str, s.ParamDecl] = {}
        self.variables: dict[str, s.VarDecl] = {}
        self.outputs: dict[str, s.OutputDecl] = {}
        self.types: dict[str, s.TypeDecl] = {}
        self.functions: dict[str, s.FuncDecl] = {}
        self.imports: dict[str, str] = {}  # local name -> "symbol" | "namespace"
        self.declarations: dict[str, Declaration] = {}
        self.top_level: dict[str, str] = {}  # name -> kind
        self.bindings: dict[int, tuple[str, str]] = {}  # identifier offset -> (kind, target)
        self.using: str | None = None
        self._collect()
        self._bind()
        for d in self.declarations.values():
            d.references = self._references(d)

    def resolve(self, e: s.Node) -> str | None:
        return _resolve(self.bindings, self.declarations, e)

    # ------------------------------------------------------------- symbols
    def _declare(self, name: str, kind: str, node: s.Node) -> None:
        if name in self.top_level:
            line, col = self.source.position(node.start)
            self.diagnostics.append(Diagnostic(self.path, line, col, f"the symbol '{name}' is declared more than once"))
            return
        self.top_level[name] = kind

    def _collect(self) -> None:
        for st in self.program.statements:
            if isinstance(st, s.TargetScopeDecl):
                if isinstance(st.value, s.StringLiteral) and st.value.value:
                    self.target_scope = st.value.value
            elif isinstance(st, s.ParamDecl):
                self._declare(st.name, "param", st)
                self.params.setdefault(st.name, st)
            elif isinstance(st, s.VarDecl):
                self._declare(st.name, "var", st)
                self.variables.setdefault(st.name, st)
            elif isinstance(st, s.OutputDecl):
                self.outputs.setdefault(st.name, st)
            elif isinstance(st, s.TypeDecl):
                self._declare(st.name, "type", st)
                self.types.setdefault(st.name, st)
            elif isinstance(st, s.FuncDecl):
                self._declare(st.name, "func", st)
                self.functions.setdefault(st.name, st)
            elif isinstance(st, s.ImportDecl):
                if st.kind == "wildcard" and st.alias:
                    self._declare(st.alias, "namespace", st)
                    self.imports[st.alias] = "namespace"
                elif st.kind == "symbols":
                    for item in st.items:
                        local = item.alias or item.name
                        self._declare(local, "import", st)
                        self.imports[local] = "symbol"
                elif st.alias:
                    self._declare(st.alias, "namespace", st)
                    self.imports[st.alias] = "namespace"
            elif isinstance(st, s.ExtensionDecl):
                alias = st.alias or (st.spec if isinstance(st.spec, str) else None)
                if alias:
                    self.top_level.setdefault(alias, "namespace")
                    self.imports[alias] = "namespace"
            elif isinstance(st, s.UsingDecl):
                self.using = st.path.value if st.path is not None else None
            elif isinstance(st, (s.ResourceDecl, s.ModuleDecl)):
                self._declare(st.name, "resource" if isinstance(st, s.ResourceDecl) else "module", st)
                self._add_declaration(st, None, None)

    def _add_declaration(self, st: s.ResourceDecl | s.ModuleDecl, parent: Declaration | None,
                         parent_symbol: str | None) -> None:
        symbol = f"{parent_symbol}::{st.name}" if parent_symbol else st.name
        if symbol in self.declarations:
            if parent is not None:
                line, col = self.source.position(st.name_start)
                self.diagnostics.append(
                    Diagnostic(self.path, line, col, f"the symbol '{st.name}' is declared more than once"))
            return
        value = st.value
        loop = value if isinstance(value, s.ForExpr) else None
        condition: s.Node | None = None
        if isinstance(value, s.IfExpr):
            condition = value.condition
        elif loop is not None and loop.condition is not None:
            condition = loop.condition
        if isinstance(st, s.ResourceDecl):
            type_text = st.type_string.value or ""
            rtype, api = split_type(type_text)
            if parent is not None and not _is_fully_qualified(rtype):
                rtype = f"{parent.type}/{rtype}"
                api = api or parent.api_version
            decl = Declaration(symbol, st.name, "resource", st, rtype, api, st.existing, parent_symbol, loop,
                               condition, st.body)
        else:
            decl = Declaration(symbol, st.name, "module", st, "Microsoft.Resources/deployments", None, False,
                               None, loop, condition, st.body)
        self.declarations[symbol] = decl
        if parent is not None:
            parent.children.append(symbol)
        body = st.body
        if isinstance(st, s.ResourceDecl) and body is not None:
            for child in body.resources:
                self._add_declaration(child, decl, symbol)

    # -------------------------------------------------------------- binding
    def _bind(self) -> None:
        """Resolve every identifier to what it names, honouring loop variables, lambda parameters and
        the visibility of nested resources inside their parents' bodies."""
        for st in self.program.statements:
            if isinstance(st, (s.ResourceDecl, s.ModuleDecl)):
                self._bind_declaration(self.declarations.get(st.name), st, {})
            else:
                self._bind_node(st, {})

    def _bind_declaration(self, decl: Declaration | None, st: s.Node, scope: dict[str, tuple[str, str]]) -> None:
        if decl is None or not isinstance(st, (s.ResourceDecl, s.ModuleDecl)):
            self._bind_node(st, scope)
            return
        inner = dict(scope)
        for child in decl.children:
            inner[self.declarations[child].local] = ("resource", child)
        for d in st.decorators:
            self._bind_node(d, scope)
        value = st.value
        if isinstance(value, s.ForExpr):
            self._bind_node(value.iterable, scope)
            loop_scope = dict(inner)
            for name in (value.item, value.index):
                if name:
                    loop_scope[name] = ("local", f"loop:{decl.symbol}")
            if value.condition is not None:
                self._bind_node(value.condition, loop_scope)
            self._bind_body(value.body, loop_scope, decl)
        elif isinstance(value, s.IfExpr):
            self._bind_node(value.condition, scope)
            self._bind_body(value.body, inner, decl)
        else:
            self._bind_body(value, inner, decl)

    def _bind_body(self, body: s.Node, scope: dict[str, tuple[str, str]], decl: Declaration) -> None:
        if not isinstance(body, s.ObjectExpr):
            self._bind_node(body, scope)
            return
        for item in body.items:
            if isinstance(item, s.ResourceDecl):
                self._bind_declaration(self.declarations.get(f"{decl.symbol}::{item.name}"), item, scope)
            else:
                self._bind_node(item, scope)

    def _bind_node(self, node: s.Node, scope: dict[str, tuple[str, str]]) -> None:
        stack: list[tuple[s.Node, dict[str, tuple[str, str]]]] = [(node, scope)]
        bindings = self.bindings
        top = self.top_level
        while stack:
            n, sc = stack.pop()
            t = type(n)
            if t is s.Identifier:
                name = n.name  # type: ignore[attr-defined]
                found = sc.get(name)
                if found is None:
                    kind = top.get(name)
                    found = (kind, name) if kind else ("unknown", name)
                bindings[n.start] = found
                continue
            if t is s.ForExpr:
                inner = dict(sc)
                for name in (n.item, n.index):  # type: ignore[attr-defined]
                    if name:
                        inner[name] = ("local", f"loop:{name}")
                stack.append((n.iterable, sc))  # type: ignore[attr-defined]
                if n.condition is not None:  # type: ignore[attr-defined]
                    stack.append((n.condition, inner))  # type: ignore[attr-defined]
                stack.append((n.body, inner))  # type: ignore[attr-defined]
                continue
            if t is s.Lambda:
                inner = dict(sc)
                for p in n.params:  # type: ignore[attr-defined]
                    inner[p.name] = ("local", f"lambda:{p.name}")
                stack.append((n.body, inner))  # type: ignore[attr-defined]
                continue
            if t is s.FuncDecl:
                stack.append((n.lambda_, sc))  # type: ignore[attr-defined]
                continue
            if t in _TYPE_NODES:
                continue
            for child in iter_children(n):
                stack.append((child, sc))

    # --------------------------------------------------------- dependencies
    def _references(self, decl: Declaration) -> list[Reference]:
        refs: list[Reference] = []
        st = decl.decl
        value = st.value
        if isinstance(value, s.ForExpr):
            self._walk_refs(value.iterable, refs, decl, "reference")
            if value.condition is not None:
                self._walk_refs(value.condition, refs, decl, "reference")
        elif isinstance(value, s.IfExpr):
            self._walk_refs(value.condition, refs, decl, "reference")
        if decl.nesting_parent is not None:
            parent = self.declarations[decl.nesting_parent]
            refs.append(Reference(parent.symbol, "parent", not parent.existing))
        body = decl.body
        if body is None:
            return refs
        for item in body.items:
            if isinstance(item, s.ResourceDecl):
                continue
            if isinstance(item, s.ObjectProperty):
                key = item.name
                if key == "dependsOn":
                    self._explicit_depends_on(item.value, refs, decl)
                    continue
                if key in ("parent", "scope"):
                    target = self.resolve(item.value)
                    if target is not None:
                        refs.append(Reference(target, key, not self.declarations[target].existing))
                        self._walk_index_exprs(item.value, refs, decl)
                        continue
            self._walk_refs(item, refs, decl, "reference")
        return refs

    def _explicit_depends_on(self, value: s.Node, refs: list[Reference], decl: Declaration) -> None:
        items = value.items if isinstance(value, s.ArrayExpr) else [value]
        for item in items:
            target = self.resolve(item) if isinstance(item, s.Node) else None
            if target is not None:
                refs.append(Reference(target, "dependsOn", True))
            elif isinstance(item, s.Node):
                self._walk_refs(item, refs, decl, "dependsOn")

    def _walk_index_exprs(self, e: s.Node, refs: list[Reference], decl: Declaration) -> None:
        while isinstance(e, (s.NonNull, s.Paren, s.IndexAccess)):
            if isinstance(e, s.IndexAccess):
                self._walk_refs(e.index, refs, decl, "reference")
                e = e.target
            else:
                e = e.expr

    def _walk_refs(self, node: s.Node, refs: list[Reference], decl: Declaration, origin: DependencyOrigin,
                   seen_vars: set[str] | None = None) -> None:
        stack = [node]
        while stack:
            n = stack.pop()
            t = type(n)
            if t in (s.PropertyAccess, s.IndexAccess, s.NonNull, s.Call, s.ChildAccess, s.Identifier):
                chain = self._resource_chain(n)
                if chain is not None:
                    target, access, inner = chain
                    if target != decl.symbol:
                        existing = self.declarations[target].existing
                        needed = not existing or not (access in _COMPILE_TIME_MEMBERS
                                                      or (access or "").startswith("list")
                                                      or access == "getsecret")
                        refs.append(Reference(target, origin, needed))
                    stack.extend(inner)
                    continue
                if t is s.Identifier:
                    b = self.bindings.get(n.start)
                    if b and b[0] == "var":
                        seen = seen_vars if seen_vars is not None else set()
                        if b[1] not in seen:
                            seen.add(b[1])
                            var = self.variables.get(b[1])
                            if var is not None:
                                self._walk_refs(var.value, refs, decl, origin, seen)
                    continue
            if t is s.ResourceDecl or t in _TYPE_NODES:
                continue
            stack.extend(iter_children(n))

    def _resource_chain(self, e: s.Node) -> tuple[str, str | None, list[s.Node]] | None:
        """For `x.a.b`, `x[i].a`, `x!.a`, `x.listKeys()`, `x::c.id`: (symbol, first member, sub-expressions
        still to visit such as indexes and call arguments); None when not rooted at a resource symbol."""
        members: list[str] = []
        inner: list[s.Node] = []
        cur = e
        while True:
            if isinstance(cur, s.PropertyAccess):
                members.append(cur.name)
                cur = cur.target
            elif isinstance(cur, s.Call) and cur.target is not None:
                members.append(cur.name)
                inner.extend(cur.args)
                cur = cur.target
            elif isinstance(cur, s.IndexAccess):
                inner.append(cur.index)
                cur = cur.target
            elif isinstance(cur, (s.NonNull, s.Paren)):
                cur = cur.expr
            else:
                break
        target = self.resolve(cur)
        if target is None:
            return None
        access = members[-1].lower() if members else None
        return target, access, inner

def _resolve(bindings: dict[int, tuple[str, str]], declarations: dict[str, Declaration], e: s.Node) -> str | None:
    """The resource/module symbol an expression names directly: `x`, `x::child`, `x[i]`, `x!`."""
    while True:
        if isinstance(e, (s.NonNull, s.Paren)):
            e = e.expr
        elif isinstance(e, s.IndexAccess):
            e = e.target
        else:
            break
    if isinstance(e, s.Identifier):
        b = bindings.get(e.start)
        if b and b[0] in ("resource", "module"):
            return b[1]
        return None
    if isinstance(e, s.ChildAccess):
        base = _resolve(bindings, declarations, e.target)
        if base is None:
            return None
        child = f"{base}::{e.name}"
        return child if child in declarations else None
    return None


_TYPE_NODES = frozenset({s.TypeRef, s.TypeLiteral, s.TypeUnion, s.TypeArray, s.TypeNullable, s.TypeObject,
                         s.TypeTuple, s.TypeMember, s.TypeResource, s.TypeParen, s.TypeProperty, s.TypeTupleItem})


def _is_fully_qualified(rtype: str) -> bool:
    first = rtype.split("/", 1)[0]
    return "." in first and "/" in rtype
