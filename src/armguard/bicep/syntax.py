"""Bicep syntax tree. Every node records its start and end character offsets in the source;
`SourceFile.span(node.start, node.end)` gives line, column and byte offsets."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True, eq=False)
class Node:
    start: int
    end: int


# ---------------------------------------------------------------- expressions

@dataclass(slots=True, eq=False)
class Identifier(Node):
    name: str


@dataclass(slots=True, eq=False)
class IntLiteral(Node):
    value: int


@dataclass(slots=True, eq=False)
class BoolLiteral(Node):
    value: bool


@dataclass(slots=True, eq=False)
class NullLiteral(Node):
    pass


@dataclass(slots=True, eq=False)
class StringLiteral(Node):
    """A string; `parts` alternates literal text and interpolated expressions.

    Without interpolation `parts` is a single str (possibly empty) and `value` returns it.
    """

    parts: list[str | Expr]
    multiline: bool = False

    @property
    def is_plain(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)

    @property
    def value(self) -> str | None:
        return "".join(self.parts) if self.is_plain else None  # type: ignore[arg-type]


@dataclass(slots=True, eq=False)
class Spread(Node):
    expr: Expr


@dataclass(slots=True, eq=False)
class ObjectProperty(Node):
    key: str | StringLiteral
    key_start: int
    value: Expr
    decorators: list[Decorator] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        if isinstance(self.key, str):
            return self.key
        return self.key.value


@dataclass(slots=True, eq=False)
class ObjectExpr(Node):
    items: list[ObjectProperty | Spread | ResourceDecl]

    @property
    def properties(self) -> list[ObjectProperty]:
        return [i for i in self.items if isinstance(i, ObjectProperty)]

    @property
    def resources(self) -> list[ResourceDecl]:
        return [i for i in self.items if isinstance(i, ResourceDecl)]

    def get(self, name: str) -> Expr | None:
        """The value of a property by name (Bicep property names are case-insensitive for lookup)."""
        lname = name.lower()
        for i in self.items:
            if type(i) is ObjectProperty:
                key = i.key
                if type(key) is not str:
                    key = key.value  # a quoted name; None when interpolated
                    if key is None:
                        continue
                if key == name or key.lower() == lname:
                    return i.value
        return None


@dataclass(slots=True, eq=False)
class ArrayExpr(Node):
    items: list[Expr | Spread]


@dataclass(slots=True, eq=False)
class Unary(Node):
    op: str
    operand: Expr


@dataclass(slots=True, eq=False)
class Binary(Node):
    op: str
    left: Expr
    right: Expr


@dataclass(slots=True, eq=False)
class Ternary(Node):
    condition: Expr
    if_true: Expr
    if_false: Expr


@dataclass(slots=True, eq=False)
class Paren(Node):
    expr: Expr


@dataclass(slots=True, eq=False)
class PropertyAccess(Node):
    """`target.name`, or `target.?name` when safe."""

    target: Expr
    name: str
    safe: bool = False


@dataclass(slots=True, eq=False)
class IndexAccess(Node):
    """`target[index]`, `target[?index]` (safe), `target[^index]` (from the end)."""

    target: Expr
    index: Expr
    safe: bool = False
    from_end: bool = False


@dataclass(slots=True, eq=False)
class ChildAccess(Node):
    """`parent::child`: a nested resource by its symbolic name."""

    target: Expr
    name: str


@dataclass(slots=True, eq=False)
class NonNull(Node):
    """Postfix `expr!`."""

    expr: Expr


@dataclass(slots=True, eq=False)
class Call(Node):
    """`name(args)`, `ns.name(args)` or an instance call `expr.name(args)` (then `target` is set)."""

    name: str
    args: list[Expr]
    target: Expr | None = None
    name_start: int = 0


@dataclass(slots=True, eq=False)
class LambdaParam(Node):
    name: str
    type: TypeExpr | None = None


@dataclass(slots=True, eq=False)
class Lambda(Node):
    params: list[LambdaParam]
    body: Expr
    return_type: TypeExpr | None = None


@dataclass(slots=True, eq=False)
class ForExpr(Node):
    """`[for item in iterable: body]`, `[for (item, index) in iterable: if (cond) body]`."""

    item: str | None
    index: str | None
    iterable: Expr
    body: Expr
    condition: Expr | None = None


@dataclass(slots=True, eq=False)
class IfExpr(Node):
    """`if (condition) body`: the conditional body of a resource or module."""

    condition: Expr
    body: Expr


@dataclass(slots=True, eq=False)
class ErrorExpr(Node):
    message: str


Expr = (Identifier | IntLiteral | BoolLiteral | NullLiteral | StringLiteral | ObjectExpr | ArrayExpr | Unary
        | Binary | Ternary | Paren | PropertyAccess | IndexAccess | ChildAccess | NonNull | Call | Lambda
        | ForExpr | IfExpr | ErrorExpr)


# ---------------------------------------------------------------------- types

@dataclass(slots=True, eq=False)
class TypeRef(Node):
    """A named type: `string`, `myType`, `ns.myType`, or a member of one (`myType.prop`, `myType[*]`)."""

    name: str
    namespace: str | None = None


@dataclass(slots=True, eq=False)
class TypeLiteral(Node):
    value: Expr


@dataclass(slots=True, eq=False)
class TypeUnion(Node):
    members: list[TypeExpr]


@dataclass(slots=True, eq=False)
class TypeArray(Node):
    item: TypeExpr


@dataclass(slots=True, eq=False)
class TypeNullable(Node):
    inner: TypeExpr


@dataclass(slots=True, eq=False)
class TypeProperty(Node):
    name: str | None  # None for the `*:` additional-properties matcher
    type: TypeExpr
    decorators: list[Decorator] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class TypeObject(Node):
    properties: list[TypeProperty]


@dataclass(slots=True, eq=False)
class TypeTupleItem(Node):
    type: TypeExpr
    decorators: list[Decorator] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class TypeTuple(Node):
    items: list[TypeTupleItem]


@dataclass(slots=True, eq=False)
class TypeMember(Node):
    """`T.prop`, `T[*]`, `T[0]`, `T.*`: access into another type."""

    target: TypeExpr
    member: str


@dataclass(slots=True, eq=False)
class TypeResource(Node):
    """`resource 'T@v'`, `resourceInput<'T@v'>`, `resourceOutput<'T@v'>` (then members may follow)."""

    kind: str
    type_string: StringLiteral


@dataclass(slots=True, eq=False)
class TypeParen(Node):
    inner: TypeExpr


TypeExpr = (TypeRef | TypeLiteral | TypeUnion | TypeArray | TypeNullable | TypeObject | TypeTuple | TypeMember
            | TypeResource | TypeParen)


# ----------------------------------------------------------------- statements

@dataclass(slots=True, eq=False)
class Decorator(Node):
    call: Call

    @property
    def name(self) -> str:
        return self.call.name

    @property
    def namespace(self) -> str | None:
        t = self.call.target
        return t.name if isinstance(t, Identifier) else None


@dataclass(slots=True, eq=False)
class Statement(Node):
    decorators: list[Decorator]

    def decorator(self, name: str) -> Decorator | None:
        """A decorator by name, with or without the `sys.` namespace."""
        for d in self.decorators:
            if d.name == name and d.namespace in (None, "sys"):
                return d
        return None


@dataclass(slots=True, eq=False)
class TargetScopeDecl(Statement):
    value: Expr


@dataclass(slots=True, eq=False)
class MetadataDecl(Statement):
    name: str
    value: Expr


@dataclass(slots=True, eq=False)
class ParamDecl(Statement):
    """`param x T = default` in .bicep; `param x = value` in .bicepparam (type is None)."""

    name: str
    name_start: int
    type: TypeExpr | None
    default: Expr | None


@dataclass(slots=True, eq=False)
class VarDecl(Statement):
    name: str
    name_start: int
    type: TypeExpr | None
    value: Expr


@dataclass(slots=True, eq=False)
class OutputDecl(Statement):
    name: str
    name_start: int
    type: TypeExpr
    value: Expr


@dataclass(slots=True, eq=False)
class TypeDecl(Statement):
    name: str
    name_start: int
    value: TypeExpr


@dataclass(slots=True, eq=False)
class FuncDecl(Statement):
    name: str
    name_start: int
    lambda_: Lambda


@dataclass(slots=True, eq=False)
class ImportItem(Node):
    name: str  # or a string for quoted names
    alias: str | None


@dataclass(slots=True, eq=False)
class ImportDecl(Statement):
    """`import {a, b as c} from 'x'`, `import * as ns from 'x'`, or a legacy provider import."""

    kind: str  # "symbols" | "wildcard" | "provider"
    items: list[ImportItem]
    alias: str | None
    source: StringLiteral | None
    config: Expr | None = None


@dataclass(slots=True, eq=False)
class ExtensionDecl(Statement):
    """`extension name`, `extension 'ref'`, with optional `with {...}` and `as alias` (also legacy `provider`)."""

    spec: str | StringLiteral
    config: Expr | None
    alias: str | None


@dataclass(slots=True, eq=False)
class ExtensionConfigDecl(Statement):
    """`extensionConfig alias with {...}` in a .bicepparam file."""

    alias: str
    config: Expr | None


@dataclass(slots=True, eq=False)
class ResourceDecl(Statement):
    name: str
    name_start: int
    type_string: StringLiteral
    existing: bool
    value: Expr  # ObjectExpr, IfExpr or ForExpr (or ErrorExpr)

    @property
    def body(self) -> ObjectExpr | None:
        return _body_of(self.value)


@dataclass(slots=True, eq=False)
class ModuleDecl(Statement):
    name: str
    name_start: int
    path: StringLiteral
    value: Expr

    @property
    def body(self) -> ObjectExpr | None:
        return _body_of(self.value)


@dataclass(slots=True, eq=False)
class TestDecl(Statement):
    name: str
    name_start: int
    path: StringLiteral
    value: Expr


@dataclass(slots=True, eq=False)
class AssertDecl(Statement):
    name: str
    name_start: int
    value: Expr


@dataclass(slots=True, eq=False)
class UsingDecl(Statement):
    """`using 'main.bicep'` or `using none` (path None), optional `with {...}`."""

    path: StringLiteral | None
    config: Expr | None = None


@dataclass(slots=True, eq=False)
class ExtendsDecl(Statement):
    path: StringLiteral


@dataclass(slots=True, eq=False)
class ErrorStatement(Statement):
    message: str


@dataclass(slots=True, eq=False)
class Program(Node):
    statements: list[Statement]
    diagnostics: list = field(default_factory=list)
    comments: list = field(default_factory=list)
    directives: list = field(default_factory=list)
    source: object = None
    # Results of analyses that depend only on this syntax tree (the semantic model's binding),
    # kept so that a module used by many templates is analysed once.
    analysis: dict = field(default_factory=dict)


def _body_of(value: Expr) -> ObjectExpr | None:
    if isinstance(value, ForExpr):
        value = value.body
    if isinstance(value, IfExpr):
        value = value.body
    return value if isinstance(value, ObjectExpr) else None
