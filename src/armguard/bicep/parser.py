"""Hand-written recursive-descent parser for Bicep (.bicep) and Bicep parameter (.bicepparam) files.

Newlines separate statements, object properties and array items, so they are tokens. Inside
parentheses (calls, decorators, parenthesized expressions) they are insignificant; `{` and `[`
make them significant again. A syntax error abandons the current statement, is recorded as a
diagnostic, and parsing resumes at the next statement.
"""

from __future__ import annotations

import gc

from armguard.bicep.lexer import END, KIND, START, VALUE, RawToken, lex
from armguard.bicep.syntax import (
    ArrayExpr,
    AssertDecl,
    Binary,
    BoolLiteral,
    Call,
    ChildAccess,
    Decorator,
    ErrorStatement,
    Expr,
    ExtendsDecl,
    ExtensionConfigDecl,
    ExtensionDecl,
    ForExpr,
    FuncDecl,
    Identifier,
    IfExpr,
    ImportDecl,
    ImportItem,
    IndexAccess,
    IntLiteral,
    Lambda,
    LambdaParam,
    MetadataDecl,
    ModuleDecl,
    NonNull,
    NullLiteral,
    ObjectExpr,
    ObjectProperty,
    OutputDecl,
    ParamDecl,
    Paren,
    Program,
    PropertyAccess,
    ResourceDecl,
    Spread,
    Statement,
    StringLiteral,
    TargetScopeDecl,
    Ternary,
    TestDecl,
    TypeArray,
    TypeDecl,
    TypeExpr,
    TypeLiteral,
    TypeMember,
    TypeNullable,
    TypeObject,
    TypeParen,
    TypeProperty,
    TypeRef,
    TypeResource,
    TypeTuple,
    TypeTupleItem,
    TypeUnion,
    Unary,
    UsingDecl,
    VarDecl,
)
from armguard.model import Diagnostic
from armguard.source import SourceFile

__all__ = ["ParseError", "parse", "parse_source", "parse_text"]

# Binary operator precedence (higher binds tighter), as in the Bicep compiler.
_PRECEDENCE = {
    "*": 100, "/": 100, "%": 100,
    "+": 90, "-": 90,
    ">": 80, ">=": 80, "<": 80, "<=": 80,
    "==": 70, "!=": 70, "=~": 70, "!~": 70,
    "&&": 50,
    "||": 40,
    "??": 30,
}
_STATEMENT_KEYWORDS = frozenset({
    "targetScope", "metadata", "param", "var", "output", "type", "func", "import", "extension", "provider",
    "resource", "module", "test", "assert", "using", "extends", "extensionConfig",
})
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_ATOMS = frozenset({"str", "int", "id"})
# Tokens that end an expression made of one literal or name (the postfix and binary operators,
# '?', '(' and '=>' do not).
_AFTER_ATOM = frozenset({",", ")", "]", "}", ":", "eof"})
_PREFIX_OPERATORS = frozenset({"!", "-", "+"})
_MAX_DEPTH = 200


class ParseError(Exception):
    def __init__(self, offset: int, message: str):
        super().__init__(message)
        self.offset = offset
        self.message = message


def _describe(tok: RawToken) -> str:
    k = tok[KIND]
    if k == "id":
        return f"identifier '{tok[VALUE]}'"
    if k == "nl":
        return "end of line"
    if k == "eof":
        return "end of file"
    if k in ("str", "strhead"):
        return "string"
    if k in ("strmid", "strtail"):
        return "string continuation"
    if k == "int":
        return f"integer {tok[VALUE]}"
    if k == "error":
        return f"invalid character {tok[VALUE]!r}"
    return f"'{k}'"


class _Parser:
    def __init__(self, text: str):
        self._text = text
        lexed = lex(text)
        self.lexed = lexed
        self.toks = lexed.tokens
        self.i = 0
        # Newline significance: True inside parentheses (newlines skipped), False inside {} and [].
        self.nl_skip = [False]
        self.depth = 0

    # ------------------------------------------------------------ token access
    def cur(self) -> RawToken:
        t = self.toks[self.i]
        if t[KIND] == "nl" and self.nl_skip[-1]:
            toks = self.toks
            i = self.i + 1
            while toks[i][KIND] == "nl":
                i += 1
            self.i = i
            t = toks[i]
        return t

    def kind(self) -> str:
        return self.cur()[KIND]

    def peek_kind(self, k: int) -> str:
        """Kind of the k-th significant token after the current one (newlines count unless skipped)."""
        toks = self.toks
        i = self.i
        skip = self.nl_skip[-1]
        seen = -1
        while True:
            t = toks[i]
            if t[KIND] == "eof":
                return "eof"
            if not (skip and t[KIND] == "nl"):
                seen += 1
                if seen == k:
                    return t[KIND]
            i += 1

    def peek_tok(self, k: int) -> RawToken:
        toks = self.toks
        i = self.i
        skip = self.nl_skip[-1]
        seen = -1
        while True:
            t = toks[i]
            if t[KIND] == "eof":
                return t
            if not (skip and t[KIND] == "nl"):
                seen += 1
                if seen == k:
                    return t
            i += 1

    def advance(self) -> RawToken:
        t = self.cur()
        if t[KIND] != "eof":
            self.i += 1
        return t

    def at_id(self, word: str) -> bool:
        t = self.cur()
        return t[KIND] == "id" and t[VALUE] == word

    def error(self, expected: str, tok: RawToken | None = None) -> ParseError:
        tok = tok or self.cur()
        return ParseError(tok[START], f"expected {expected}, found {_describe(tok)}")

    def expect(self, kind: str, what: str | None = None) -> RawToken:
        t = self.cur()
        if t[KIND] != kind:
            raise self.error(what or f"'{kind}'", t)
        self.i += 1
        return t

    def expect_id(self, what: str = "an identifier") -> RawToken:
        return self.expect("id", what)

    def expect_keyword(self, word: str) -> RawToken:
        t = self.cur()
        if t[KIND] != "id" or t[VALUE] != word:
            raise self.error(f"'{word}'", t)
        self.i += 1
        return t

    def skip_newlines(self) -> None:
        toks = self.toks
        while toks[self.i][KIND] == "nl":
            self.i += 1

    def skip_separators(self) -> None:
        toks = self.toks
        while toks[self.i][KIND] in ("nl", ","):
            self.i += 1

    def next_significant_is(self, kind: str) -> bool:
        """Whether the next token after any newlines has this kind (used for multi-line ternaries, unions)."""
        toks = self.toks
        i = self.i
        while toks[i][KIND] == "nl":
            i += 1
        return toks[i][KIND] == kind

    def next_is_after_newline(self, kind: str) -> bool:
        """Whether the first token after the newline(s) at i+1 has this kind."""
        toks = self.toks
        i = self.i + 1
        while toks[i][KIND] == "nl":
            i += 1
        return toks[i][KIND] == kind

    def prev_end(self) -> int:
        i = self.i - 1
        toks = self.toks
        while i > 0 and toks[i][KIND] == "nl":
            i -= 1
        return toks[i][END] if i >= 0 else 0

    def enter(self, skip_nl: bool) -> None:
        self.nl_skip.append(skip_nl)
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ParseError(self.toks[self.i][START], "expression nested too deeply")

    def leave(self) -> None:
        self.nl_skip.pop()
        self.depth -= 1

    # -------------------------------------------------------------- program
    def program(self) -> tuple[list[Statement], list[ParseError]]:
        statements: list[Statement] = []
        errors: list[ParseError] = []
        toks = self.toks
        while True:
            self.skip_newlines()
            if toks[self.i][KIND] == "eof":
                break
            start_i = self.i
            self.nl_skip = [False]
            self.depth = 0
            try:
                stmt = self.statement()
                t = toks[self.i]
                if t[KIND] not in ("nl", "eof"):
                    raise self.error("end of line", t)
                statements.append(stmt)
            except ParseError as e:
                errors.append(e)
                self.recover(start_i)
                statements.append(ErrorStatement(toks[start_i][START], self.prev_end(), [], e.message))
            except RecursionError:
                e = ParseError(toks[start_i][START], "expression nested too deeply")
                errors.append(e)
                self.recover(start_i)
        return statements, errors

    def recover(self, start_i: int) -> None:
        """Skip to the end of the broken statement: a newline outside brackets, or one followed by a
        statement keyword in the first column."""
        toks = self.toks
        depth = 0
        i = start_i
        error_i = max(self.i, start_i + 1)
        while True:
            t = toks[i]
            k = t[KIND]
            if k == "eof":
                break
            if k in _OPENERS or k == "strhead":
                depth += 1
            elif k in (")", "]", "}", "strtail"):
                depth -= 1
            elif k == "nl":
                if depth <= 0 and i >= error_i:
                    break
                # A statement keyword in the first column starts the next statement even when the
                # broken one left brackets or an interpolation open.
                nxt = toks[i + 1]
                if ((nxt[KIND] == "id" and nxt[VALUE] in _STATEMENT_KEYWORDS) or nxt[KIND] == "@") \
                        and self.lexed_line_start(nxt[START]):
                    break
            i += 1
        self.i = i

    def lexed_line_start(self, offset: int) -> bool:
        return offset == 0 or self._text[offset - 1] in "\r\n"

    # ------------------------------------------------------------ statements
    def statement(self) -> Statement:
        start = self.cur()[START]
        decorators = self.decorators()
        t = self.cur()
        if t[KIND] != "id":
            raise self.error("a declaration (param, var, resource, module, output, ...)", t)
        word = t[VALUE]
        method = _STATEMENTS.get(word)
        if method is None:
            raise self.error("a declaration (param, var, resource, module, output, ...)", t)
        self.i += 1
        return method(self, start, decorators)

    def decorators(self) -> list[Decorator]:
        out: list[Decorator] = []
        while self.kind() == "@":
            at = self.advance()
            expr = self.postfix_expr()
            if not isinstance(expr, Call):
                raise ParseError(expr.start, "expected a decorator call such as @description('...')")
            out.append(Decorator(at[START], expr.end, expr))
            if self.kind() not in ("nl", "eof"):
                raise self.error("end of line after decorator")
            self.skip_newlines()
        return out

    def s_target_scope(self, start: int, decorators: list[Decorator]) -> Statement:
        self.expect("=")
        value = self.expr()
        return TargetScopeDecl(start, value.end, decorators, value)

    def s_metadata(self, start: int, decorators: list[Decorator]) -> Statement:
        name = self.expect_id("a metadata name")[VALUE]
        self.expect("=")
        value = self.expr()
        return MetadataDecl(start, value.end, decorators, name, value)

    def s_param(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("a parameter name")
        type_: TypeExpr | None = None
        if self.kind() != "=":
            type_ = self.type_expr()
        default = None
        if self.kind() == "=":
            self.advance()
            default = self.expr()
        end = default.end if default is not None else (type_.end if type_ is not None else name_tok[END])
        return ParamDecl(start, end, decorators, name_tok[VALUE], name_tok[START], type_, default)

    def s_var(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("a variable name")
        type_ = None
        if self.kind() != "=":
            type_ = self.type_expr()
        self.expect("=")
        value = self.expr()
        return VarDecl(start, value.end, decorators, name_tok[VALUE], name_tok[START], type_, value)

    def s_output(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("an output name")
        type_ = self.type_expr()
        self.expect("=")
        value = self.expr()
        return OutputDecl(start, value.end, decorators, name_tok[VALUE], name_tok[START], type_, value)

    def s_type(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("a type name")
        self.expect("=")
        value = self.type_expr()
        return TypeDecl(start, value.end, decorators, name_tok[VALUE], name_tok[START], value)

    def s_func(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("a function name")
        lparen = self.expect("(")
        self.enter(True)
        params: list[LambdaParam] = []
        while self.kind() != ")":
            p = self.expect_id("a parameter name")
            ptype = self.type_expr()
            params.append(LambdaParam(p[START], ptype.end, p[VALUE], ptype))
            if self.kind() == ",":
                self.advance()
            elif self.kind() != ")":
                raise self.error("',' or ')'")
        self.leave()
        self.advance()
        ret = self.type_expr()
        self.expect("=>")
        self.skip_newlines()
        body = self.expr()
        lam = Lambda(lparen[START], body.end, params, body, ret)
        return FuncDecl(start, body.end, decorators, name_tok[VALUE], name_tok[START], lam)

    def s_import(self, start: int, decorators: list[Decorator]) -> Statement:
        k = self.kind()
        if k == "{":
            self.advance()
            self.enter(False)
            items: list[ImportItem] = []
            while True:
                self.skip_separators()
                if self.kind() == "}":
                    break
                t = self.cur()
                if t[KIND] == "id" or t[KIND] == "str":
                    self.advance()
                    name = t[VALUE]
                else:
                    raise self.error("an imported symbol name", t)
                alias = None
                end = t[END]
                if self.at_id("as"):
                    self.advance()
                    a = self.expect_id("an alias")
                    alias, end = a[VALUE], a[END]
                items.append(ImportItem(t[START], end, name, alias))
                if self.kind() not in ("nl", ",", "}"):
                    raise self.error("',' or '}'")
            self.leave()
            self.advance()
            self.expect_keyword("from")
            src = self.string_literal("the path of the file to import from")
            return ImportDecl(start, src.end, decorators, "symbols", items, None, src)
        if k == "*":
            self.advance()
            self.expect_keyword("as")
            alias = self.expect_id("a namespace alias")[VALUE]
            self.expect_keyword("from")
            src = self.string_literal("the path of the file to import from")
            return ImportDecl(start, src.end, decorators, "wildcard", [], alias, src)
        # Legacy provider import: import 'az@1.0.0' [with {...}] [as alias]
        spec, config, alias, end = self.extension_tail()
        src = spec if isinstance(spec, StringLiteral) else None
        items = [] if src is not None else [ImportItem(start, end, str(spec), None)]
        return ImportDecl(start, end, decorators, "provider", items, alias, src, config)

    def s_extension(self, start: int, decorators: list[Decorator]) -> Statement:
        spec, config, alias, end = self.extension_tail()
        return ExtensionDecl(start, end, decorators, spec, config, alias)

    def extension_tail(self) -> tuple[str | StringLiteral, Expr | None, str | None, int]:
        t = self.cur()
        if t[KIND] == "id":
            self.advance()
            spec: str | StringLiteral = t[VALUE]
            end = t[END]
        elif t[KIND] in ("str", "strhead"):
            spec = self.string_literal("an extension name or reference")
            end = spec.end
        else:
            raise self.error("an extension name or reference", t)
        config = None
        alias = None
        if self.at_id("with"):
            self.advance()
            config = self.expr()
            end = config.end
        if self.at_id("as"):
            self.advance()
            a = self.expect_id("an alias")
            alias, end = a[VALUE], a[END]
        return spec, config, alias, end

    def s_extension_config(self, start: int, decorators: list[Decorator]) -> Statement:
        alias = self.expect_id("an extension alias")
        config = None
        end = alias[END]
        if self.at_id("with"):
            self.advance()
            config = self.expr()
            end = config.end
        return ExtensionConfigDecl(start, end, decorators, alias[VALUE], config)

    def s_resource(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("a resource symbolic name")
        type_string = self.string_literal("a resource type string such as 'Microsoft.Network/virtualNetworks@2024-05-01'")
        existing = False
        if self.at_id("existing"):
            self.advance()
            existing = True
        self.expect("=")
        value = self.declaration_body()
        return ResourceDecl(start, value.end, decorators, name_tok[VALUE], name_tok[START], type_string, existing,
                            value)

    def s_module(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("a module symbolic name")
        path = self.string_literal("a module path or registry reference")
        self.expect("=")
        value = self.declaration_body()
        return ModuleDecl(start, value.end, decorators, name_tok[VALUE], name_tok[START], path, value)

    def s_test(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("a test name")
        path = self.string_literal("the path of the file under test")
        self.expect("=")
        value = self.declaration_body()
        return TestDecl(start, value.end, decorators, name_tok[VALUE], name_tok[START], path, value)

    def s_assert(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("an assertion name")
        self.expect("=")
        value = self.expr()
        return AssertDecl(start, value.end, decorators, name_tok[VALUE], name_tok[START], value)

    def s_using(self, start: int, decorators: list[Decorator]) -> Statement:
        t = self.cur()
        if t[KIND] == "id" and t[VALUE] == "none":
            self.advance()
            return UsingDecl(start, t[END], decorators, None)
        path = self.string_literal("the path of the template, or 'none'")
        config = None
        end = path.end
        if self.at_id("with"):
            self.advance()
            config = self.expr()
            end = config.end
        return UsingDecl(start, end, decorators, path, config)

    def s_extends(self, start: int, decorators: list[Decorator]) -> Statement:
        path = self.string_literal("the path of the base parameters file")
        return ExtendsDecl(start, path.end, decorators, path)

    def declaration_body(self) -> Expr:
        """`{...}`, `if (cond) {...}` or `[for ...: ...]` (possibly on the next line)."""
        self.skip_newlines()
        t = self.cur()
        if t[KIND] == "{":
            return self.object_expr()
        if t[KIND] == "[":
            return self.array_or_for()
        if t[KIND] == "id" and t[VALUE] == "if":
            return self.if_expr()
        raise self.error("'{', 'if' or '[for'", t)

    def if_expr(self) -> IfExpr:
        start = self.advance()[START]
        self.expect("(")
        self.enter(True)
        cond = self.expr()
        self.leave()
        self.expect(")")
        body = self.object_expr()
        return IfExpr(start, body.end, cond, body)

    # ----------------------------------------------------------- expressions
    def expr(self) -> Expr:
        toks = self.toks
        t = toks[self.i]
        k = t[KIND]
        if k == "nl" and self.nl_skip[-1]:
            t = self.cur()
            k = t[KIND]
        # Fast path for the commonest value: a lone literal or name before a separator.
        if k in _ATOMS:
            nxt = toks[self.i + 1][KIND]
            if nxt in _AFTER_ATOM or (nxt == "nl" and not self.nl_skip[-1] and not self.next_is_after_newline("?")):
                self.i += 1
                if k == "str":
                    return StringLiteral(t[START], t[END], [t[VALUE]], self._text.startswith(("'''", "$"), t[START]))
                if k == "int":
                    return IntLiteral(t[START], t[END], t[VALUE])
                v = t[VALUE]
                if v == "true" or v == "false":
                    return BoolLiteral(t[START], t[END], v == "true")
                if v == "null":
                    return NullLiteral(t[START], t[END])
                return Identifier(t[START], t[END], v)
        # Lambdas: `x => e`, `(a, b) => e`, `() => e`.
        if k == "id":
            nk = toks[self.i + 1][KIND]
            if nk == "=>" or (nk == "nl" and self.peek_kind(1) == "=>"):
                return self.lambda_expr()
        elif k == "(" and self.is_lambda_paren():
            return self.lambda_expr()
        if k in _PREFIX_OPERATORS:
            cond = self.binary(0, t)
        else:
            # Most values are one operand (an object, a call, a member access) before a separator:
            # no operator or condition follows.
            cond = self.postfix_expr(t)
            nk = toks[self.i][KIND]
            if nk in _AFTER_ATOM or (nk == "nl" and not self.nl_skip[-1] and not self.next_significant_is("?")):
                return cond
            cond = self.binary(0, left=cond)
        if self.cur()[KIND] == "?" or (not self.nl_skip[-1] and self.next_significant_is("?")):
            self.skip_newlines()
            self.advance()
            self.skip_newlines()
            if_true = self.expr()
            if not self.nl_skip[-1] and self.next_significant_is(":"):
                self.skip_newlines()
            self.expect(":", "':' of the conditional expression")
            self.skip_newlines()
            if_false = self.expr()
            return Ternary(cond.start, if_false.end, cond, if_true, if_false)
        return cond

    def is_lambda_paren(self) -> bool:
        toks = self.toks
        i = self.i + 1
        depth = 1
        while True:
            k = toks[i][KIND]
            if k == "eof":
                return False
            if k in ("(", "[", "{"):
                depth += 1
            elif k in (")", "]", "}"):
                depth -= 1
                if depth == 0:
                    break
            i += 1
        i += 1
        while toks[i][KIND] == "nl":
            i += 1
        return toks[i][KIND] == "=>"

    def lambda_expr(self) -> Lambda:
        start = self.cur()[START]
        params: list[LambdaParam] = []
        if self.kind() == "id":
            t = self.advance()
            params.append(LambdaParam(t[START], t[END], t[VALUE]))
        else:
            self.advance()
            self.enter(True)
            while self.kind() != ")":
                t = self.expect_id("a lambda parameter name")
                params.append(LambdaParam(t[START], t[END], t[VALUE]))
                if self.kind() == ",":
                    self.advance()
                elif self.kind() != ")":
                    raise self.error("',' or ')'")
            self.leave()
            self.advance()
        self.expect("=>")
        self.skip_newlines()
        body = self.expr()
        return Lambda(start, body.end, params, body)

    def binary(self, min_prec: int, first: RawToken | None = None, left: Expr | None = None) -> Expr:
        """`first`: the current token, when the caller has it at hand; `left`: the first operand,
        when the caller has parsed it."""
        if left is None:
            left = self.unary(first or self.cur())
        while True:
            t = self.cur()
            prec = _PRECEDENCE.get(t[KIND])
            if prec is None or prec <= min_prec:
                return left
            self.i += 1
            self.skip_newlines()
            right = self.binary(prec)
            left = Binary(left.start, right.end, t[KIND], left, right)

    def unary(self, t: RawToken) -> Expr:
        """A unary expression starting at the current token `t`."""
        if t[KIND] in _PREFIX_OPERATORS:
            self.i += 1
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise ParseError(t[START], "expression nested too deeply")
            operand = self.unary(self.cur())
            self.depth -= 1
            return Unary(t[START], operand.end, t[KIND], operand)
        return self.postfix_expr(t)

    def postfix_expr(self, first: RawToken | None = None) -> Expr:
        """`first`: the current token, when the caller has it at hand."""
        expr = self.primary(first or self.cur())
        toks = self.toks
        while True:
            t = toks[self.i]
            k = t[KIND]
            if k == "nl" and self.nl_skip[-1]:
                t = self.cur()
                k = t[KIND]
            if k == ".":
                self.i += 1
                name = self.member_name()
                if self.kind() == "(":
                    args, end = self.call_args()
                    expr = Call(expr.start, end, name[VALUE], args, expr, name[START])
                else:
                    expr = PropertyAccess(expr.start, name[END], expr, name[VALUE])
            elif k == ".?":
                self.i += 1
                name = self.member_name()
                expr = PropertyAccess(expr.start, name[END], expr, name[VALUE], True)
            elif k == "[":
                self.i += 1
                self.enter(True)
                safe = from_end = False
                if self.kind() == "?":
                    self.advance()
                    safe = True
                if self.kind() == "^":
                    self.advance()
                    from_end = True
                index = self.expr()
                self.leave()
                end = self.expect("]")[END]
                expr = IndexAccess(expr.start, end, expr, index, safe, from_end)
            elif k == "::":
                self.i += 1
                name = self.expect_id("a nested resource name")
                expr = ChildAccess(expr.start, name[END], expr, name[VALUE])
            elif k == "!":
                # Postfix non-null assertion only when it cannot start a new operand on the same line.
                self.i += 1
                expr = NonNull(expr.start, t[END], expr)
            else:
                return expr

    def member_name(self) -> RawToken:
        t = self.cur()
        if t[KIND] != "id":
            raise self.error("a property name", t)
        self.i += 1
        return t

    def call_args(self) -> tuple[list[Expr], int]:
        """The arguments of a call; the current token is its '('."""
        self.i += 1
        self.enter(True)
        args: list[Expr] = []
        t = self.cur()
        while t[KIND] != ")":
            if t[KIND] == "...":
                self.i += 1
                e = self.expr()
                args.append(Spread(t[START], e.end, e))  # type: ignore[arg-type]
            else:
                args.append(self.expr())
            t = self.cur()
            if t[KIND] == ",":
                self.i += 1
                t = self.cur()
            elif t[KIND] != ")":
                raise self.error("',' or ')'", t)
        self.leave()
        self.i += 1
        return args, t[END]

    def primary(self, t: RawToken) -> Expr:
        """A primary expression starting at the current token `t`."""
        k = t[KIND]
        if k == "id":
            self.i += 1
            v = t[VALUE]
            nt = self.toks[self.i]
            if nt[KIND] == "nl" and self.nl_skip[-1]:
                nt = self.cur()
            if nt[KIND] == "(":
                args, end = self.call_args()
                return Call(t[START], end, v, args, None, t[START])
            if v == "true":
                return BoolLiteral(t[START], t[END], True)
            if v == "false":
                return BoolLiteral(t[START], t[END], False)
            if v == "null":
                return NullLiteral(t[START], t[END])
            return Identifier(t[START], t[END], v)
        if k == "int":
            self.i += 1
            return IntLiteral(t[START], t[END], t[VALUE])
        if k in ("str", "strhead"):
            return self.string_literal("a string")
        if k == "{":
            return self.object_expr()
        if k == "[":
            return self.array_or_for()
        if k == "(":
            self.i += 1
            self.enter(True)
            inner = self.expr()
            self.leave()
            end = self.expect(")")[END]
            return Paren(t[START], end, inner)
        raise self.error("an expression", t)

    def string_literal(self, what: str) -> StringLiteral:
        t = self.cur()
        if t[KIND] == "str":
            self.i += 1
            multiline = self._text.startswith(("'''", "$"), t[START])
            return StringLiteral(t[START], t[END], [t[VALUE]], multiline)
        if t[KIND] != "strhead":
            raise self.error(what, t)
        self.i += 1
        parts: list = [t[VALUE]]
        self.enter(True)
        while True:
            parts.append(self.expr())
            nt = self.cur()
            if nt[KIND] == "strmid":
                self.i += 1
                parts.append(nt[VALUE])
                continue
            if nt[KIND] == "strtail":
                self.i += 1
                parts.append(nt[VALUE])
                self.leave()
                return StringLiteral(t[START], nt[END], parts, self._text.startswith(("'''", "$"), t[START]))
            raise self.error("'}' closing the interpolation", nt)

    def object_expr(self) -> ObjectExpr:
        start = self.expect("{")[START]
        self.enter(False)
        items: list = []
        toks = self.toks
        while True:
            i = self.i
            while toks[i][KIND] in ("nl", ","):
                i += 1
            self.i = i
            t = toks[i]
            if t[KIND] == "}":
                break
            if t[KIND] == "@":
                decorators = self.decorators()
                t = toks[self.i]
            else:
                decorators = []
            if t[KIND] == "...":
                self.i += 1
                e = self.expr()
                items.append(Spread(t[START], e.end, e))
            elif (t[KIND] == "id" and t[VALUE] == "resource" and self.toks[self.i + 1][KIND] == "id"
                  and self.toks[self.i + 2][KIND] in ("str", "strhead")):
                self.i += 1
                items.append(self.s_resource(decorators[0].start if decorators else t[START], decorators))
            else:
                if t[KIND] == "id":
                    self.i += 1
                    key: str | StringLiteral = t[VALUE]
                elif t[KIND] in ("str", "strhead"):
                    key = self.string_literal("a property name")
                else:
                    raise self.error("a property name or '}'", t)
                colon = toks[self.i]  # newlines are significant here: no skipping
                if colon[KIND] != ":":
                    raise self.error("':' after the property name", colon)
                self.i += 1
                value = self.expr()
                items.append(ObjectProperty(decorators[0].start if decorators else t[START], value.end, key,
                                            t[START], value, decorators))
            nk = toks[self.i][KIND]
            if nk not in ("nl", ",", "}"):
                raise self.error("a new line, ',' or '}' after the property", toks[self.i])
        self.leave()
        end = self.advance()[END]
        return ObjectExpr(start, end, items)

    def array_or_for(self) -> Expr:
        start = self.expect("[")[START]
        self.enter(False)
        toks = self.toks
        j = self.i
        while toks[j][KIND] == "nl":
            j += 1
        if toks[j][KIND] == "id" and toks[j][VALUE] == "for" and toks[j + 1][KIND] in ("id", "("):
            self.i = j
            result = self.for_expr(start)
            self.leave()
            return result
        items: list = []
        while True:
            i = self.i
            while toks[i][KIND] in ("nl", ","):
                i += 1
            self.i = i
            t = toks[i]
            if t[KIND] == "]":
                break
            if t[KIND] == "...":
                self.i += 1
                e = self.expr()
                items.append(Spread(t[START], e.end, e))
            else:
                items.append(self.expr())
            if toks[self.i][KIND] not in ("nl", ",", "]"):
                raise self.error("a new line, ',' or ']' after the array item", toks[self.i])
        self.leave()
        end = self.advance()[END]
        return ArrayExpr(start, end, items)

    def for_expr(self, start: int) -> ForExpr:
        self.advance()  # for
        item = index = None
        if self.kind() == "(":
            self.advance()
            item = self.expect_id("a loop item variable")[VALUE]
            if self.kind() == ",":
                self.advance()
                index = self.expect_id("a loop index variable")[VALUE]
            self.expect(")")
        else:
            item = self.expect_id("a loop item variable")[VALUE]
        self.expect_keyword("in")
        self.nl_skip.append(True)
        iterable = self.expr()
        self.nl_skip.pop()
        self.expect(":", "':' after the loop's iterated expression")
        self.skip_newlines()
        condition = None
        if self.at_id("if") and self.peek_kind(1) == "(":
            self.advance()
            self.expect("(")
            self.enter(True)
            condition = self.expr()
            self.leave()
            self.expect(")")
        body = self.expr()
        self.skip_newlines()
        end = self.expect("]", "']' closing the for-expression")[END]
        return ForExpr(start, end, item, index, iterable, body, condition)

    # ------------------------------------------------------------------ types
    def type_expr(self) -> TypeExpr:
        if self.next_significant_is("|"):
            self.skip_newlines()
            self.advance()
            self.skip_newlines()
        first = self.singular_type()
        if self.kind() != "|" and not (not self.nl_skip[-1] and self.next_significant_is("|")):
            return first
        members = [first]
        while self.kind() == "|" or (not self.nl_skip[-1] and self.next_significant_is("|")):
            self.skip_newlines()
            self.advance()
            self.skip_newlines()
            members.append(self.singular_type())
        return TypeUnion(first.start, members[-1].end, members)

    def singular_type(self) -> TypeExpr:
        t = self.primary_type()
        toks = self.toks
        while True:
            k = toks[self.i][KIND]
            if k == "[":
                nk = toks[self.i + 1][KIND]
                if nk == "]":
                    end = toks[self.i + 1][END]
                    self.i += 2
                    t = TypeArray(t.start, end, t)
                elif nk in ("*", "int") and toks[self.i + 2][KIND] == "]":
                    member = "*" if nk == "*" else str(toks[self.i + 1][VALUE])
                    end = toks[self.i + 2][END]
                    self.i += 3
                    t = TypeMember(t.start, end, t, f"[{member}]")
                else:
                    return t
            elif k == "?":
                end = toks[self.i][END]
                self.i += 1
                t = TypeNullable(t.start, end, t)
            elif k == "!":
                end = toks[self.i][END]
                self.i += 1
                t = TypeMember(t.start, end, t, "!")
            elif k == ".":
                nt = toks[self.i + 1]
                if nt[KIND] == "id" and toks[self.i + 2][KIND] == "<" and isinstance(t, TypeRef):
                    self.i += 1
                    t = self.generic_type(self.advance(), t.start)
                elif nt[KIND] == "id":
                    self.i += 2
                    t = TypeMember(t.start, nt[END], t, nt[VALUE])
                elif nt[KIND] == "*":
                    self.i += 2
                    t = TypeMember(t.start, nt[END], t, "*")
                else:
                    raise self.error("a property name", nt)
            else:
                return t

    def primary_type(self) -> TypeExpr:
        t = self.cur()
        k = t[KIND]
        if k == "id":
            self.i += 1
            v = t[VALUE]
            nk = self.toks[self.i][KIND]
            if v == "resource" and nk in ("str", "strhead"):
                s = self.string_literal("a resource type string")
                return TypeResource(t[START], s.end, v, s)
            if nk == "<":
                return self.generic_type(t, t[START])
            if v in ("true", "false"):
                return TypeLiteral(t[START], t[END], BoolLiteral(t[START], t[END], v == "true"))
            if v == "null":
                return TypeLiteral(t[START], t[END], NullLiteral(t[START], t[END]))
            return TypeRef(t[START], t[END], v)
        if k in ("str", "strhead"):
            s = self.string_literal("a string")
            return TypeLiteral(s.start, s.end, s)
        if k == "int":
            self.i += 1
            return TypeLiteral(t[START], t[END], IntLiteral(t[START], t[END], t[VALUE]))
        if k in ("-", "!"):
            self.i += 1
            inner = self.primary_type()
            if isinstance(inner, TypeLiteral):
                return TypeLiteral(t[START], inner.end, Unary(t[START], inner.end, k, inner.value))
            raise ParseError(inner.start, f"expected a literal after '{k}' in a type")
        if k == "{":
            return self.object_type()
        if k == "[":
            return self.tuple_type()
        if k == "(":
            self.i += 1
            self.enter(True)
            inner = self.type_expr()
            self.leave()
            end = self.expect(")")[END]
            return TypeParen(t[START], end, inner)
        raise self.error("a type", t)

    def generic_type(self, name: RawToken, start: int) -> TypeExpr:
        """`resourceInput<'T@v'>`, `sys.resourceOutput<'T@v'>`: the current token is '<'."""
        self.advance()
        self.enter(True)
        args: list[TypeExpr] = [self.type_expr()]
        while self.kind() == ",":
            self.advance()
            args.append(self.type_expr())
        self.leave()
        end = self.expect(">")[END]
        first = args[0]
        if isinstance(first, TypeLiteral) and isinstance(first.value, StringLiteral):
            return TypeResource(start, end, name[VALUE], first.value)
        return TypeRef(start, end, name[VALUE])

    def object_type(self) -> TypeObject:
        start = self.expect("{")[START]
        self.enter(False)
        props: list[TypeProperty] = []
        toks = self.toks
        while True:
            self.skip_separators()
            if toks[self.i][KIND] == "}":
                break
            decorators = self.decorators() if toks[self.i][KIND] == "@" else []
            t = toks[self.i]
            name: str | None
            if t[KIND] == "id":
                self.i += 1
                name = t[VALUE]
            elif t[KIND] == "*":
                self.i += 1
                name = None
            elif t[KIND] in ("str", "strhead"):
                s = self.string_literal("a property name")
                name = s.value if s.value is not None else "<interpolated>"
            else:
                raise self.error("a property name or '}'", t)
            self.expect(":", "':' after the property name")
            ptype = self.type_expr()
            props.append(TypeProperty(decorators[0].start if decorators else t[START], ptype.end, name, ptype,
                                      decorators))
            if toks[self.i][KIND] not in ("nl", ",", "}"):
                raise self.error("a new line, ',' or '}' after the property type", toks[self.i])
        self.leave()
        end = self.advance()[END]
        return TypeObject(start, end, props)

    def tuple_type(self) -> TypeTuple:
        start = self.expect("[")[START]
        self.enter(False)
        items: list[TypeTupleItem] = []
        toks = self.toks
        while True:
            self.skip_separators()
            if toks[self.i][KIND] == "]":
                break
            decorators = self.decorators() if toks[self.i][KIND] == "@" else []
            item_start = toks[self.i][START]
            ty = self.type_expr()
            items.append(TypeTupleItem(decorators[0].start if decorators else item_start, ty.end, ty, decorators))
            if toks[self.i][KIND] not in ("nl", ",", "]"):
                raise self.error("a new line, ',' or ']' after the tuple item", toks[self.i])
        self.leave()
        end = self.advance()[END]
        return TypeTuple(start, end, items)


_STATEMENTS = {
    "targetScope": _Parser.s_target_scope,
    "metadata": _Parser.s_metadata,
    "param": _Parser.s_param,
    "var": _Parser.s_var,
    "output": _Parser.s_output,
    "type": _Parser.s_type,
    "func": _Parser.s_func,
    "import": _Parser.s_import,
    "extension": _Parser.s_extension,
    "provider": _Parser.s_extension,
    "extensionConfig": _Parser.s_extension_config,
    "resource": _Parser.s_resource,
    "module": _Parser.s_module,
    "test": _Parser.s_test,
    "assert": _Parser.s_assert,
    "using": _Parser.s_using,
    "extends": _Parser.s_extends,
}


def parse_text(text: str, path: str = "<string>") -> Program:
    return parse_source(SourceFile(path, text))


def parse_source(source: SourceFile) -> Program:
    """Parse a Bicep or Bicep parameters file. Never raises for bad input: errors become diagnostics."""
    # A syntax tree has no reference cycles, but building one allocates enough objects to trigger
    # the cyclic collector over and over, which costs about 40 % of the parse time.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        parser = _Parser(source.text)
        statements, errors = parser.program()
    finally:
        if was_enabled:
            gc.enable()
    diagnostics = []
    for offset, message in parser.lexed.errors:
        line, col = source.position(offset)
        diagnostics.append(Diagnostic(source.path, line, col, message))
    for e in errors:
        line, col = source.position(e.offset)
        diagnostics.append(Diagnostic(source.path, line, col, e.message))
    diagnostics.sort(key=lambda d: (d.line, d.column))
    end = len(source.text)
    return Program(0, end, statements, diagnostics, parser.lexed.comments, parser.lexed.directives, source)


parse = parse_text
