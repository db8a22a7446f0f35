"""Semantic model of one Bicep file: symbols, name binding, resource and module declarations,
and the dependencies the Bicep compiler derives between them.

Dependency rules follow the compiler's observed output (bench/COMPILER_DEPENDSON_NOTES.md):
any reference to a deployed resource or module creates a dependency, also through variables and
`parent:`/`scope:`; a reference to an `existing` resource does so only when it reads run-time
state (not for `.id`, `.name`, `.type`, `.apiVersion`, `parent:`, `scope:` or `list*()` calls);
explicit `dependsOn` entries are always kept; a child nested in a deployed parent depends on it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
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
    # Found on first use (`references`): only dependencies need them, and few consumers ask.
    _references: list[Reference] | None = field(default=None, repr=False)
    _core: _Core | None = field(default=None, repr=False)

    @property
    def references(self) -> list[Reference]:
        """What the declaration refers to, in the order the Bicep compiler meets it."""
        if self._references is None:
            self._references = self._core._references(self) if self._core is not None else []
        return self._references

    @property
    def decorators(self) -> list[s.Decorator]:
        return self.decl.decorators


def iter_children(node: s.Node) -> Iterator[s.Node]:
    """The direct syntax children of a node, in source order."""
    return iter(children_of(type(node))(node))


def children_of(cls: type) -> Callable[[s.Node], list[s.Node]]:
    """A function giving a node's direct syntax children in source order, for nodes of class `cls`.

    Generated per class with one attribute read per field that can hold a node: the semantic
    model walks every node of every file, and a loop over the fields costs several times more.
    """
    found = _CHILDREN.get(cls)
    if found is None:
        found = _CHILDREN[cls] = _compile_children(cls)
    return found


_CHILDREN: dict[type, Callable[[s.Node], list[s.Node]]] = {}
# Field annotations of syntax classes that never hold a node.
_LEAF_ANNOTATIONS = frozenset({"int", "str", "bool", "str | None", "int | None", "bool | None", "dict"})


def _compile_children(cls: type) -> Callable[[s.Node], list[s.Node]]:
    lines = ["def children(n):", "    out = []"]
    for name, f in cls.__dataclass_fields__.items():  # type: ignore[attr-defined]
        annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        if name in ("start", "end") or annotation in _LEAF_ANNOTATIONS:
            continue
        if annotation.startswith("list"):
            lines.append(f"    out.extend([v for v in n.{name} if isinstance(v, Node)])")
        else:
            lines += [f"    v = n.{name}", "    if isinstance(v, Node):", "        out.append(v)"]
    lines.append("    return out")
    namespace: dict[str, Any] = {"Node": s.Node}
    exec("\n".join(lines), namespace)
    return namespace["children"]  # type: ignore[no-any-return]


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
        # False while linting (a parameter left out is unknown); True when a deployment runs it
        # (a nullable one left out is null).
        self.deploying = False
        # True for a module: `param_values` are its call site's, all it gets (a nullable one left out is null).
        self.called = False
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
            elif (self.deploying or self.called) and decl is not None and self._nullable(decl.type):
                value = None  # `param x T?` left out: null when the deployment runs
            else:
                value = Unknown(name, {f"param:{name}"})
        self._param_cache[name] = value
        return value

    def _nullable(self, type_expr: Any, depth: int = 0) -> bool:
        """`T?`, or a type alias that is one."""
        if isinstance(type_expr, s.TypeNullable):
            return True
        if isinstance(type_expr, s.TypeRef) and type_expr.namespace is None and depth < 8:
            alias = self.types.get(type_expr.name)
            return alias is not None and self._nullable(alias.value, depth + 1)
        return False

    def load_file_function(self, name: str, args: list[Any], text: str) -> Any:
        if self.file_loader is None:
            return Unknown(text, {"file"})
        return self.file_loader(self, name, args, text)

    def position(self, offset: int) -> tuple[int, int]:
        return self.source.position(offset)


class Bindings(Mapping[int, tuple[str, str]]):
    """Identifier offset -> (kind, target) for a file. A top-level statement is bound on the first
    lookup of an offset inside it: lint evaluates few statements of a file (outputs and most
    parameters never)."""

    __slots__ = ("_bind", "_bound", "_starts", "_statements", "_unbound", "found")

    def __init__(self, statements: list[s.Statement], bind: Callable[[s.Statement], None]):
        self.found: dict[int, tuple[str, str]] = {}  # what `bind` has added so far
        self._statements = statements
        self._starts = [st.start for st in statements]
        self._bound = [False] * len(statements)
        self._unbound = len(statements)
        self._bind = bind

    def get(self, offset: int, default: Any = None) -> Any:
        found = self.found.get(offset)
        if found is not None:
            return found
        if self._unbound:
            i = bisect_right(self._starts, offset) - 1
            if i >= 0 and not self._bound[i]:
                self._bind_statement(i)
                return self.found.get(offset, default)
        return default

    def __getitem__(self, offset: int) -> tuple[str, str]:
        found = self.get(offset)
        if found is None:
            raise KeyError(offset)
        return found  # type: ignore[no-any-return]

    def __contains__(self, offset: object) -> bool:
        return isinstance(offset, int) and self.get(offset) is not None

    def __iter__(self) -> Iterator[int]:
        self._bind_all()
        return iter(self.found)

    def __len__(self) -> int:
        self._bind_all()
        return len(self.found)

    def _bind_statement(self, i: int) -> None:
        self._bound[i] = True
        self._unbound -= 1
        self._bind(self._statements[i])

    def _bind_all(self) -> None:
        for i, bound in enumerate(self._bound):
            if not bound:
                self._bind_statement(i)


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
        self.using: str | None = None
        self._collect()
        self.bindings = Bindings(program.statements, self._bind_statement)

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
                               condition, st.body, _core=self)
        else:
            decl = Declaration(symbol, st.name, "module", st, "Microsoft.Resources/deployments", None, False,
                               None, loop, condition, st.body, _core=self)
        self.declarations[symbol] = decl
        if parent is not None:
            parent.children.append(symbol)
        body = st.body
        if isinstance(st, s.ResourceDecl) and body is not None:
            for child in body.resources:
                self._add_declaration(child, decl, symbol)

    # -------------------------------------------------------------- binding
    def _bind_statement(self, st: s.Statement) -> None:
        """Resolve every identifier of a top-level statement to what it names, honouring loop
        variables, lambda parameters and the visibility of nested resources inside their parents'
        bodies."""
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
        """Bind the identifiers under `node` that `scope` (local names) does not shadow to the
        file's symbols. Only loops and lambdas open a scope: the walk recurses there, and keeps
        a plain stack of nodes in between."""
        stack = [node]
        bindings = self.bindings.found
        top = self.top_level
        pop = stack.pop
        while stack:
            n = pop()
            t = type(n)
            if t is s.StringLiteral:
                if len(n.parts) > 1:  # type: ignore[attr-defined]
                    stack.extend([p for p in n.parts if not isinstance(p, str)])  # type: ignore[attr-defined]
            elif t is s.Identifier:
                name = n.name  # type: ignore[attr-defined]
                found = scope.get(name)
                if found is None:
                    kind = top.get(name)
                    found = (kind, name) if kind else ("unknown", name)
                bindings[n.start] = found
            elif t in _LEAVES:
                pass
            elif t is s.ForExpr:
                inner = dict(scope)
                for name in (n.item, n.index):  # type: ignore[attr-defined]
                    if name:
                        inner[name] = ("local", f"loop:{name}")
                stack.append(n.iterable)  # type: ignore[attr-defined]
                if n.condition is not None:  # type: ignore[attr-defined]
                    self._bind_node(n.condition, inner)  # type: ignore[attr-defined]
                self._bind_node(n.body, inner)  # type: ignore[attr-defined]
            elif t is s.Lambda:
                inner = dict(scope)
                for p in n.params:  # type: ignore[attr-defined]
                    inner[p.name] = ("local", f"lambda:{p.name}")
                self._bind_node(n.body, inner)  # type: ignore[attr-defined]
            elif t is s.FuncDecl:
                stack.append(n.lambda_)  # type: ignore[attr-defined]
            else:
                stack.extend((_CHILDREN.get(t) or children_of(t))(n))

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
            if t is s.StringLiteral:
                if len(n.parts) > 1:  # type: ignore[attr-defined]
                    stack.extend([p for p in n.parts if not isinstance(p, str)])  # type: ignore[attr-defined]
                continue
            if t in _REFERENCE_NODES:
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
            if t is s.ResourceDecl or t in _LEAVES:
                continue
            stack.extend((_CHILDREN.get(t) or children_of(t))(n))

    def _resource_chain(self, e: s.Node) -> tuple[str, str | None, list[s.Node]] | None:
        """For `x.a.b`, `x[i].a`, `x!.a`, `x.listKeys()`, `x::c.id`: (symbol, first member, sub-expressions
        still to visit such as indexes and call arguments); None when not rooted at a resource symbol."""
        root = e
        t = type(root)
        while t in _CHAIN_LINKS:
            if t is s.Call:
                if root.target is None:  # type: ignore[attr-defined]
                    break
                root = root.target  # type: ignore[attr-defined]
            elif t is s.PropertyAccess or t is s.IndexAccess:
                root = root.target  # type: ignore[attr-defined]
            else:
                root = root.expr  # type: ignore[attr-defined]
            t = type(root)
        if t is s.Identifier:
            b = self.bindings.get(root.start)
            if not b or (b[0] != "resource" and b[0] != "module"):
                return None
        target = self.resolve(root)
        if target is None:
            return None
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
        access = members[-1].lower() if members else None
        return target, access, inner

def _resolve(bindings: Mapping[int, tuple[str, str]], declarations: dict[str, Declaration], e: s.Node) -> str | None:
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
# Nodes the walks of binding and references do not enter: types, and literals (no names inside).
_LEAVES = _TYPE_NODES | {s.IntLiteral, s.BoolLiteral, s.NullLiteral}
_REFERENCE_NODES = frozenset({s.PropertyAccess, s.IndexAccess, s.NonNull, s.Call, s.ChildAccess, s.Identifier})
# What `_resource_chain` walks through on its way to the referenced symbol.
_CHAIN_LINKS = frozenset({s.PropertyAccess, s.Call, s.IndexAccess, s.NonNull, s.Paren})


def _is_fully_qualified(rtype: str) -> bool:
    first = rtype.split("/", 1)[0]
    return "." in first and "/" in rtype
