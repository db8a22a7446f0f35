"""Hand-written recursive-descent parser for Bicep (.bicep) and Bicep parameter (.bicepparam) files.

Newlines separate statements, object properties and array items, so they are tokens. Inside
parentheses (calls, decorators, parenthesized expressions) they are insignificant; `{` and `[`
make them significant again. A syntax error abandons the current statement, is recorded as a
diagnostic, and parsing resumes at the next statement.
"""

from __future__ import annotations

import gc

from armguard.bicep.lexer import Token, tokenize
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
_MAX_DEPTH = 200


class ParseError(Exception):
    def __init__(self, offset: int, message: str):
        super().__init__(message)
        self.offset = offset
        self.message = message


def _describe(tok: Token) -> str:
    k = tok.kind
    if k == "id":
        return f"identifier '{tok.value}'"
    if k == "nl":
        return "end of line"
    if k == "eof":
        return "end of file"
    if k in ("str", "strhead"):
        return "string"
    if k in ("strmid", "strtail"):
        return "string continuation"
    if k == "int":
        return f"integer {tok.value}"
    if k == "error":
        return f"invalid character {tok.value!r}"
    return f"'{k}'"


class _Parser:
    def __init__(self, text: str):
        self._text = text
        lexed = tokenize(text)
        self.lexed = lexed
        self.toks = lexed.tokens
        self.i = 0
        # Newline significance: True inside parentheses (newlines skipped), False inside {} and [].
        self.nl_skip = [False]
        self.depth = 0

    # ------------------------------------------------------------ token access
    def cur(self) -> Token:
        toks = self.toks
        if self.nl_skip[-1]:
            while toks[self.i].kind == "nl":
                self.i += 1
        return toks[self.i]

    def kind(self) -> str:
        return self.cur().kind

    def peek_kind(self, k: int) -> str:
        """Kind of the k-th significant token after the current one (newlines count unless skipped)."""
        toks = self.toks
        i = self.i
        skip = self.nl_skip[-1]
        seen = -1
        while True:
            t = toks[i]
            if t.kind == "eof":
                return "eof"
            if not (skip and t.kind == "nl"):
                seen += 1
                if seen == k:
                    return t.kind
            i += 1

    def peek_tok(self, k: int) -> Token:
        toks = self.toks
        i = self.i
        skip = self.nl_skip[-1]
        seen = -1
        while True:
            t = toks[i]
            if t.kind == "eof":
                return t
            if not (skip and t.kind == "nl"):
                seen += 1
                if seen == k:
                    return t
            i += 1

    def advance(self) -> Token:
        t = self.cur()
        if t.kind != "eof":
            self.i += 1
        return t

    def at_id(self, word: str) -> bool:
        t = self.cur()
        return t.kind == "id" and t.value == word

    def error(self, expected: str, tok: Token | None = None) -> ParseError:
        tok = tok or self.cur()
        return ParseError(tok.start, f"expected {expected}, found {_describe(tok)}")

    def expect(self, kind: str, what: str | None = None) -> Token:
        t = self.cur()
        if t.kind != kind:
            raise self.error(what or f"'{kind}'", t)
        self.i += 1
        return t

    def expect_id(self, what: str = "an identifier") -> Token:
        return self.expect("id", what)

    def expect_keyword(self, word: str) -> Token:
        t = self.cur()
        if t.kind != "id" or t.value != word:
            raise self.error(f"'{word}'", t)
        self.i += 1
        return t

    def skip_newlines(self) -> None:
        toks = self.toks
        while toks[self.i].kind == "nl":
            self.i += 1

    def skip_separators(self) -> None:
        toks = self.toks
        while toks[self.i].kind in ("nl", ","):
            self.i += 1

    def next_significant_is(self, kind: str) -> bool:
        """Whether the next token after any newlines has this kind (used for multi-line ternaries, unions)."""
        toks = self.toks
        i = self.i
        while toks[i].kind == "nl":
            i += 1
        return toks[i].kind == kind

    def next_is_after_newline(self, kind: str) -> bool:
        """Whether the first token after the newline(s) at i+1 has this kind."""
        toks = self.toks
        i = self.i + 1
        while toks[i].kind == "nl":
            i += 1
        return toks[i].kind == kind

    def prev_end(self) -> int:
        i = self.i - 1
        toks = self.toks
        while i > 0 and toks[i].kind == "nl":
            i -= 1
        return toks[i].end if i >= 0 else 0

    def enter(self, skip_nl: bool) -> None:
        self.nl_skip.append(skip_nl)
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ParseError(self.toks[self.i].start, "expression nested too deeply")

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
            if toks[self.i].kind == "eof":
                break
            start_i = self.i
            self.nl_skip = [False]
            self.depth = 0
            try:
                stmt = self.statement()
                t = toks[self.i]
                if t.kind not in ("nl", "eof"):
                    raise self.error("end of line", t)
                statements.append(stmt)
            except ParseError as e:
                errors.append(e)
                self.recover(start_i)
                statements.append(ErrorStatement(toks[start_i].start, self.prev_end(), [], e.message))
            except RecursionError:
                e = ParseError(toks[start_i].start, "expression nested too deeply")
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
            k = t.kind
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
                if ((nxt.kind == "id" and nxt.value in _STATEMENT_KEYWORDS) or nxt.kind == "@") \
                        and self.lexed_line_start(nxt.start):
                    break
            i += 1
        self.i = i

    def lexed_line_start(self, offset: int) -> bool:
        return offset == 0 or self._text[offset - 1] in "\r\n"

    # ------------------------------------------------------------ statements
    def statement(self) -> Statement:
        start = self.cur().start
        decorators = self.decorators()
        t = self.cur()
        if t.kind != "id":
            raise self.error("a declaration (param, var, resource, module, output, ...)", t)
        word = t.value
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
            out.append(Decorator(at.start, expr.end, expr))
            if self.kind() not in ("nl", "eof"):
                raise self.error("end of line after decorator")
            self.skip_newlines()
        return out

    def s_target_scope(self, start: int, decorators: list[Decorator]) -> Statement:
        self.expect("=")
        value = self.expr()
        return TargetScopeDecl(start, value.end, decorators, value)

    def s_metadata(self, start: int, decorators: list[Decorator]) -> Statement:
        name = self.expect_id("a metadata name").value
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
        end = default.end if default is not None else (type_.end if type_ is not None else name_tok.end)
        return ParamDecl(start, end, decorators, name_tok.value, name_tok.start, type_, default)

    def s_var(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("a variable name")
        type_ = None
        if self.kind() != "=":
            type_ = self.type_expr()
        self.expect("=")
        value = self.expr()
        return VarDecl(start, value.end, decorators, name_tok.value, name_tok.start, type_, value)

    def s_output(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("an output name")
        type_ = self.type_expr()
        self.expect("=")
        value = self.expr()
        return OutputDecl(start, value.end, decorators, name_tok.value, name_tok.start, type_, value)

    def s_type(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("a type name")
        self.expect("=")
        value = self.type_expr()
        return TypeDecl(start, value.end, decorators, name_tok.value, name_tok.start, value)

    def s_func(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("a function name")
        lparen = self.expect("(")
        self.enter(True)
        params: list[LambdaParam] = []
        while self.kind() != ")":
            p = self.expect_id("a parameter name")
            ptype = self.type_expr()
            params.append(LambdaParam(p.start, ptype.end, p.value, ptype))
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
        lam = Lambda(lparen.start, body.end, params, body, ret)
        return FuncDecl(start, body.end, decorators, name_tok.value, name_tok.start, lam)

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
                if t.kind == "id" or t.kind == "str":
                    self.advance()
                    name = t.value
                else:
                    raise self.error("an imported symbol name", t)
                alias = None
                end = t.end
                if self.at_id("as"):
                    self.advance()
                    a = self.expect_id("an alias")
                    alias, end = a.value, a.end
                items.append(ImportItem(t.start, end, name, alias))
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
            alias = self.expect_id("a namespace alias").value
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
        if t.kind == "id":
            self.advance()
            spec: str | StringLiteral = t.value
            end = t.end
        elif t.kind in ("str", "strhead"):
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
            alias, end = a.value, a.end
        return spec, config, alias, end

    def s_extension_config(self, start: int, decorators: list[Decorator]) -> Statement:
        alias = self.expect_id("an extension alias")
        config = None
        end = alias.end
        if self.at_id("with"):
            self.advance()
            config = self.expr()
            end = config.end
        return ExtensionConfigDecl(start, end, decorators, alias.value, config)

    def s_resource(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("a resource symbolic name")
        type_string = self.string_literal("a resource type string such as 'Microsoft.Network/virtualNetworks@2024-05-01'")
        existing = False
        if self.at_id("existing"):
            self.advance()
            existing = True
        self.expect("=")
        value = self.declaration_body()
        return ResourceDecl(start, value.end, decorators, name_tok.value, name_tok.start, type_string, existing,
                            value)

    def s_module(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("a module symbolic name")
        path = self.string_literal("a module path or registry reference")
        self.expect("=")
        value = self.declaration_body()
        return ModuleDecl(start, value.end, decorators, name_tok.value, name_tok.start, path, value)

    def s_test(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("a test name")
        path = self.string_literal("the path of the file under test")
        self.expect("=")
        value = self.declaration_body()
        return TestDecl(start, value.end, decorators, name_tok.value, name_tok.start, path, value)

    def s_assert(self, start: int, decorators: list[Decorator]) -> Statement:
        name_tok = self.expect_id("an assertion name")
        self.expect("=")
        value = self.expr()
        return AssertDecl(start, value.end, decorators, name_tok.value, name_tok.start, value)

    def s_using(self, start: int, decorators: list[Decorator]) -> Statement:
        t = self.cur()
        if t.kind == "id" and t.value == "none":
            self.advance()
            return UsingDecl(start, t.end, decorators, None)
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
        if t.kind == "{":
            return self.object_expr()
        if t.kind == "[":
            return self.array_or_for()
        if t.kind == "id" and t.value == "if":
            return self.if_expr()
        raise self.error("'{', 'if' or '[for'", t)

    def if_expr(self) -> IfExpr:
        start = self.advance().start
        self.expect("(")
        self.enter(True)
        cond = self.expr()
        self.leave()
        self.expect(")")
        body = self.object_expr()
        return IfExpr(start, body.end, cond, body)

    # ----------------------------------------------------------- expressions
    def expr(self) -> Expr:
        t = self.cur()
        # Fast path for the commonest value: a lone literal or name before a separator.
        k = t.kind
        if k in _ATOMS:
            nxt = self.toks[self.i + 1].kind
            if nxt in _AFTER_ATOM or (nxt == "nl" and not self.nl_skip[-1] and not self.next_is_after_newline("?")):
                self.i += 1
                if k == "str":
                    return StringLiteral(t.start, t.end, [t.value], self._text.startswith(("'''", "$"), t.start))
                if k == "int":
                    return IntLiteral(t.start, t.end, t.value)
                v = t.value
                if v == "true" or v == "false":
                    return BoolLiteral(t.start, t.end, v == "true")
                if v == "null":
                    return NullLiteral(t.start, t.end)
                return Identifier(t.start, t.end, v)
        # Lambdas: `x => e`, `(a, b) => e`, `() => e`.
        if t.kind == "id" and self.peek_kind(1) == "=>":
            return self.lambda_expr()
        if t.kind == "(" and self.is_lambda_paren():
            return self.lambda_expr()
        cond = self.binary(0)
        if self.kind() == "?" or (not self.nl_skip[-1] and self.next_significant_is("?")):
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
            k = toks[i].kind
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
        while toks[i].kind == "nl":
            i += 1
        return toks[i].kind == "=>"

    def lambda_expr(self) -> Lambda:
        start = self.cur().start
        params: list[LambdaParam] = []
        if self.kind() == "id":
            t = self.advance()
            params.append(LambdaParam(t.start, t.end, t.value))
        else:
            self.advance()
            self.enter(True)
            while self.kind() != ")":
                t = self.expect_id("a lambda parameter name")
                params.append(LambdaParam(t.start, t.end, t.value))
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

    def binary(self, min_prec: int) -> Expr:
        left = self.unary()
        while True:
            t = self.cur()
            prec = _PRECEDENCE.get(t.kind)
            if prec is None or prec <= min_prec:
                return left
            self.i += 1
            self.skip_newlines()
            right = self.binary(prec)
            left = Binary(left.start, right.end, t.kind, left, right)

    def unary(self) -> Expr:
        t = self.cur()
        if t.kind in ("!", "-", "+"):
            self.i += 1
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise ParseError(t.start, "expression nested too deeply")
            operand = self.unary()
            self.depth -= 1
            return Unary(t.start, operand.end, t.kind, operand)
        return self.postfix_expr()

    def postfix_expr(self) -> Expr:
        expr = self.primary()
        while True:
            t = self.cur()
            k = t.kind
            if k == ".":
                self.i += 1
                name = self.member_name()
                if self.kind() == "(":
                    args, end = self.call_args()
                    expr = Call(expr.start, end, name.value, args, expr, name.start)
                else:
                    expr = PropertyAccess(expr.start, name.end, expr, name.value)
            elif k == ".?":
                self.i += 1
                name = self.member_name()
                expr = PropertyAccess(expr.start, name.end, expr, name.value, True)
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
                end = self.expect("]").end
                expr = IndexAccess(expr.start, end, expr, index, safe, from_end)
            elif k == "::":
                self.i += 1
                name = self.expect_id("a nested resource name")
                expr = ChildAccess(expr.start, name.end, expr, name.value)
            elif k == "!":
                # Postfix non-null assertion only when it cannot start a new operand on the same line.
                self.i += 1
                expr = NonNull(expr.start, t.end, expr)
            else:
                return expr

    def member_name(self) -> Token:
        t = self.cur()
        if t.kind != "id":
            raise self.error("a property name", t)
        self.i += 1
        return t

    def call_args(self) -> tuple[list[Expr], int]:
        self.advance()  # (
        self.enter(True)
        args: list[Expr] = []
        while self.kind() != ")":
            if self.kind() == "...":
                s = self.advance()
                e = self.expr()
                args.append(Spread(s.start, e.end, e))  # type: ignore[arg-type]
            else:
                args.append(self.expr())
            if self.kind() == ",":
                self.advance()
            elif self.kind() != ")":
                raise self.error("',' or ')'")
        self.leave()
        end = self.advance().end
        return args, end

    def primary(self) -> Expr:
        t = self.cur()
        k = t.kind
        if k == "id":
            self.i += 1
            v = t.value
            if self.kind() == "(":
                args, end = self.call_args()
                return Call(t.start, end, v, args, None, t.start)
            if v == "true":
                return BoolLiteral(t.start, t.end, True)
            if v == "false":
                return BoolLiteral(t.start, t.end, False)
            if v == "null":
                return NullLiteral(t.start, t.end)
            return Identifier(t.start, t.end, v)
        if k == "int":
            self.i += 1
            return IntLiteral(t.start, t.end, t.value)
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
            end = self.expect(")").end
            return Paren(t.start, end, inner)
        raise self.error("an expression", t)

    def string_literal(self, what: str) -> StringLiteral:
        t = self.cur()
        if t.kind == "str":
            self.i += 1
            multiline = self._text.startswith(("'''", "$"), t.start)
            return StringLiteral(t.start, t.end, [t.value], multiline)
        if t.kind != "strhead":
            raise self.error(what, t)
        self.i += 1
        parts: list = [t.value]
        self.enter(True)
        while True:
            parts.append(self.expr())
            nt = self.cur()
            if nt.kind == "strmid":
                self.i += 1
                parts.append(nt.value)
                continue
            if nt.kind == "strtail":
                self.i += 1
                parts.append(nt.value)
                self.leave()
                return StringLiteral(t.start, nt.end, parts, self._text.startswith(("'''", "$"), t.start))
            raise self.error("'}' closing the interpolation", nt)

    def object_expr(self) -> ObjectExpr:
        start = self.expect("{").start
        self.enter(False)
        items: list = []
        while True:
            self.skip_separators()
            t = self.toks[self.i]
            if t.kind == "}":
                break
            decorators = self.decorators() if t.kind == "@" else []
            t = self.toks[self.i]
            if t.kind == "...":
                self.i += 1
                e = self.expr()
                items.append(Spread(t.start, e.end, e))
            elif (t.kind == "id" and t.value == "resource" and self.toks[self.i + 1].kind == "id"
                  and self.toks[self.i + 2].kind in ("str", "strhead")):
                self.i += 1
                items.append(self.s_resource(decorators[0].start if decorators else t.start, decorators))
            else:
                if t.kind == "id":
                    self.i += 1
                    key: str | StringLiteral = t.value
                elif t.kind in ("str", "strhead"):
                    key = self.string_literal("a property name")
                else:
                    raise self.error("a property name or '}'", t)
                self.expect(":", "':' after the property name")
                value = self.expr()
                items.append(ObjectProperty(decorators[0].start if decorators else t.start, value.end, key,
                                            t.start, value, decorators))
            nk = self.toks[self.i].kind
            if nk not in ("nl", ",", "}"):
                raise self.error("a new line, ',' or '}' after the property", self.toks[self.i])
        self.leave()
        end = self.advance().end
        return ObjectExpr(start, end, items)

    def array_or_for(self) -> Expr:
        start = self.expect("[").start
        self.enter(False)
        toks = self.toks
        j = self.i
        while toks[j].kind == "nl":
            j += 1
        if toks[j].kind == "id" and toks[j].value == "for" and toks[j + 1].kind in ("id", "("):
            self.i = j
            result = self.for_expr(start)
            self.leave()
            return result
        items: list = []
        while True:
            self.skip_separators()
            t = toks[self.i]
            if t.kind == "]":
                break
            if t.kind == "...":
                self.i += 1
                e = self.expr()
                items.append(Spread(t.start, e.end, e))
            else:
                items.append(self.expr())
            if toks[self.i].kind not in ("nl", ",", "]"):
                raise self.error("a new line, ',' or ']' after the array item", toks[self.i])
        self.leave()
        end = self.advance().end
        return ArrayExpr(start, end, items)

    def for_expr(self, start: int) -> ForExpr:
        self.advance()  # for
        item = index = None
        if self.kind() == "(":
            self.advance()
            item = self.expect_id("a loop item variable").value
            if self.kind() == ",":
                self.advance()
                index = self.expect_id("a loop index variable").value
            self.expect(")")
        else:
            item = self.expect_id("a loop item variable").value
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
        end = self.expect("]", "']' closing the for-expression").end
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
            k = toks[self.i].kind
            if k == "[":
                nk = toks[self.i + 1].kind
                if nk == "]":
                    end = toks[self.i + 1].end
                    self.i += 2
                    t = TypeArray(t.start, end, t)
                elif nk in ("*", "int") and toks[self.i + 2].kind == "]":
                    member = "*" if nk == "*" else str(toks[self.i + 1].value)
                    end = toks[self.i + 2].end
                    self.i += 3
                    t = TypeMember(t.start, end, t, f"[{member}]")
                else:
                    return t
            elif k == "?":
                end = toks[self.i].end
                self.i += 1
                t = TypeNullable(t.start, end, t)
            elif k == "!":
                end = toks[self.i].end
                self.i += 1
                t = TypeMember(t.start, end, t, "!")
            elif k == ".":
                nt = toks[self.i + 1]
                if nt.kind == "id" and toks[self.i + 2].kind == "<" and isinstance(t, TypeRef):
                    self.i += 1
                    t = self.generic_type(self.advance(), t.start)
                elif nt.kind == "id":
                    self.i += 2
                    t = TypeMember(t.start, nt.end, t, nt.value)
                elif nt.kind == "*":
                    self.i += 2
                    t = TypeMember(t.start, nt.end, t, "*")
                else:
                    raise self.error("a property name", nt)
            else:
                return t

    def primary_type(self) -> TypeExpr:
        t = self.cur()
        k = t.kind
        if k == "id":
            self.i += 1
            v = t.value
            nk = self.toks[self.i].kind
            if v == "resource" and nk in ("str", "strhead"):
                s = self.string_literal("a resource type string")
                return TypeResource(t.start, s.end, v, s)
            if nk == "<":
                return self.generic_type(t, t.start)
            if v in ("true", "false"):
                return TypeLiteral(t.start, t.end, BoolLiteral(t.start, t.end, v == "true"))
            if v == "null":
                return TypeLiteral(t.start, t.end, NullLiteral(t.start, t.end))
            return TypeRef(t.start, t.end, v)
        if k in ("str", "strhead"):
            s = self.string_literal("a string")
            return TypeLiteral(s.start, s.end, s)
        if k == "int":
            self.i += 1
            return TypeLiteral(t.start, t.end, IntLiteral(t.start, t.end, t.value))
        if k in ("-", "!"):
            self.i += 1
            inner = self.primary_type()
            if isinstance(inner, TypeLiteral):
                return TypeLiteral(t.start, inner.end, Unary(t.start, inner.end, k, inner.value))
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
            end = self.expect(")").end
            return TypeParen(t.start, end, inner)
        raise self.error("a type", t)

    def generic_type(self, name: Token, start: int) -> TypeExpr:
        """`resourceInput<'T@v'>`, `sys.resourceOutput<'T@v'>`: the current token is '<'."""
        self.advance()
        self.enter(True)
        args: list[TypeExpr] = [self.type_expr()]
        while self.kind() == ",":
            self.advance()
            args.append(self.type_expr())
        self.leave()
        end = self.expect(">").end
        first = args[0]
        if isinstance(first, TypeLiteral) and isinstance(first.value, StringLiteral):
            return TypeResource(start, end, name.value, first.value)
        return TypeRef(start, end, name.value)

    def object_type(self) -> TypeObject:
        start = self.expect("{").start
        self.enter(False)
        props: list[TypeProperty] = []
        toks = self.toks
        while True:
            self.skip_separators()
            if toks[self.i].kind == "}":
                break
            decorators = self.decorators() if toks[self.i].kind == "@" else []
            t = toks[self.i]
            name: str | None
            if t.kind == "id":
                self.i += 1
                name = t.value
            elif t.kind == "*":
                self.i += 1
                name = None
            elif t.kind in ("str", "strhead"):
                s = self.string_literal("a property name")
                name = s.value if s.value is not None else "<interpolated>"
            else:
                raise self.error("a property name or '}'", t)
            self.expect(":", "':' after the property name")
            ptype = self.type_expr()
            props.append(TypeProperty(decorators[0].start if decorators else t.start, ptype.end, name, ptype,
                                      decorators))
            if toks[self.i].kind not in ("nl", ",", "}"):
                raise self.error("a new line, ',' or '}' after the property type", toks[self.i])
        self.leave()
        end = self.advance().end
        return TypeObject(start, end, props)

    def tuple_type(self) -> TypeTuple:
        start = self.expect("[").start
        self.enter(False)
        items: list[TypeTupleItem] = []
        toks = self.toks
        while True:
            self.skip_separators()
            if toks[self.i].kind == "]":
                break
            decorators = self.decorators() if toks[self.i].kind == "@" else []
            item_start = toks[self.i].start
            ty = self.type_expr()
            items.append(TypeTupleItem(decorators[0].start if decorators else item_start, ty.end, ty, decorators))
            if toks[self.i].kind not in ("nl", ",", "]"):
                raise self.error("a new line, ',' or ']' after the tuple item", toks[self.i])
        self.leave()
        end = self.advance().end
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
