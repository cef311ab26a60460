//! A Pratt parser for the compat dialect.
//!
//! Precedence, lowest first (as in Python): `or`/`||`, `and`/`&&`,
//! `not`/`!`, comparisons (`== != < <= > >= in not-in is is-not`, chainable),
//! `+ -`, `* / // %`, unary `- +`, then postfix `.name`, `[index]`, `len(x)`.
//! Nesting (and the height of the tree) is limited to [`MAX_DEPTH`] so no
//! input can exhaust the stack while parsing or evaluating.

use serde_json::Value;

use super::ast::{Arith, Cmp, Node};
use super::lexer::{Sym, Tok, Token, tokenize};
use crate::ExprError;

/// The deepest nesting (and tree height) an expression may have.
pub(crate) const MAX_DEPTH: usize = 128;

/// Python keywords the dialect does not give a meaning to.
const RESERVED: [&str; 29] = [
    "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else",
    "except", "finally", "for", "from", "global", "if", "import", "lambda", "nonlocal", "pass",
    "raise", "return", "try", "while", "with", "yield", "and", "or",
];

/// Binding power of `not` / `!` (binds looser than comparisons).
const NOT_BP: u8 = 5;
/// Binding power of unary minus and plus.
const UNARY_BP: u8 = 13;

/// A parsed node and the height of its tree.
type Parsed = (Node, usize);

/// Parses `source` (already trimmed) into a tree.
pub(crate) fn parse(source: &str) -> Result<Node, ExprError> {
    let tokens = tokenize(source)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    if parser.peek() == &Tok::Eof {
        return Err(ExprError::at(0, "empty expression"));
    }
    let (node, _) = parser.expr(0)?;
    match parser.peek() {
        Tok::Eof => Ok(node),
        _ => Err(parser.trailing()),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

/// How a token reads in an error message.
fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Int(_) | Tok::Float(_) => "a number".into(),
        Tok::Str(_) => "a string".into(),
        Tok::Name(n) => format!("'{n}'"),
        Tok::Sym(s) => format!("'{}'", s.text()),
        Tok::Eof => "the end of the expression".into(),
    }
}

fn grow((node, height): Parsed) -> Result<Parsed, usize> {
    if height >= MAX_DEPTH {
        Err(height)
    } else {
        Ok((node, height + 1))
    }
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos.min(self.tokens.len() - 1)].tok
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        &self.tokens[(self.pos + ahead).min(self.tokens.len() - 1)].tok
    }

    fn offset(&self) -> usize {
        self.tokens[self.pos.min(self.tokens.len() - 1)].offset
    }

    /// Moves the current token out (the parser never looks back, so no
    /// copy is needed) and steps past it; at the end it keeps returning Eof.
    fn advance(&mut self) -> Token {
        let last = self.tokens.len() - 1;
        if self.pos >= last {
            return self.tokens[last].clone();
        }
        let slot = &mut self.tokens[self.pos];
        self.pos += 1;
        Token {
            tok: std::mem::replace(&mut slot.tok, Tok::Eof),
            offset: slot.offset,
        }
    }

    fn error(&self, message: impl Into<String>) -> ExprError {
        ExprError::at(self.offset(), message)
    }

    fn too_deep(&self) -> ExprError {
        self.error(format!(
            "expression is nested more than {MAX_DEPTH} levels deep"
        ))
    }

    /// Wraps `parsed` one level deeper, failing past [`MAX_DEPTH`].
    fn wrap(&self, parsed: Parsed, make: impl FnOnce(Node) -> Node) -> Result<Parsed, ExprError> {
        let (node, height) = grow(parsed).map_err(|_| self.too_deep())?;
        Ok((make(node), height))
    }

    fn expect(&mut self, sym: Sym, context: &str) -> Result<(), ExprError> {
        if self.peek() == &Tok::Sym(sym) {
            self.advance();
            Ok(())
        } else {
            Err(self.error(format!(
                "expected '{}' {context}, found {}",
                sym.text(),
                describe(self.peek())
            )))
        }
    }

    /// The error for a token left over after a complete expression.
    fn trailing(&self) -> ExprError {
        match self.peek() {
            Tok::Sym(Sym::Assign) | Tok::Sym(Sym::Walrus) => {
                self.error("assignment is not supported")
            }
            Tok::Name(n) if n == "if" => {
                self.error("conditional expressions (x if c else y) are not supported")
            }
            Tok::Name(n) if n == "for" => self.error("comprehensions are not supported"),
            Tok::Sym(Sym::StarStar) => self.error("operator '**' is not supported"),
            other => self.error(format!(
                "unexpected {} after a complete expression",
                describe(other)
            )),
        }
    }

    /// Parses an expression whose operators bind at least as tight as `min_bp`.
    fn expr(&mut self, min_bp: u8) -> Result<Parsed, ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.too_deep());
        }
        let result = self.expr_inner(min_bp);
        self.depth -= 1;
        result
    }

    fn expr_inner(&mut self, min_bp: u8) -> Result<Parsed, ExprError> {
        let mut lhs = self.prefix(min_bp)?;
        loop {
            let (l_bp, r_bp) = match self.peek() {
                Tok::Name(n) if n == "or" => (1, 2),
                Tok::Sym(Sym::OrOr) => (1, 2),
                Tok::Name(n) if n == "and" => (3, 4),
                Tok::Sym(Sym::AndAnd) => (3, 4),
                Tok::Sym(Sym::Plus | Sym::Minus) => (9, 10),
                Tok::Sym(Sym::Star | Sym::Slash | Sym::SlashSlash | Sym::Percent) => (11, 12),
                _ if self.comparison_ahead().is_some() => (7, 8),
                _ => break,
            };
            if l_bp < min_bp {
                break;
            }
            if l_bp == 7 {
                lhs = self.comparison_chain(lhs)?;
                continue;
            }
            let op = self.advance().tok;
            let rhs = self.expr(r_bp)?;
            let height = lhs.1.max(rhs.1);
            let (l, r) = (Box::new(lhs.0), Box::new(rhs.0));
            let node = match op {
                Tok::Name(n) if n == "or" => Node::Or(l, r),
                Tok::Sym(Sym::OrOr) => Node::Or(l, r),
                Tok::Name(_) | Tok::Sym(Sym::AndAnd) => Node::And(l, r),
                Tok::Sym(Sym::Plus) => Node::Arith(Arith::Add, l, r),
                Tok::Sym(Sym::Minus) => Node::Arith(Arith::Sub, l, r),
                Tok::Sym(Sym::Star) => Node::Arith(Arith::Mul, l, r),
                Tok::Sym(Sym::Slash) => Node::Arith(Arith::Div, l, r),
                Tok::Sym(Sym::SlashSlash) => Node::Arith(Arith::FloorDiv, l, r),
                _ => Node::Arith(Arith::Mod, l, r),
            };
            lhs = grow((node, height)).map_err(|_| self.too_deep())?;
        }
        Ok(lhs)
    }

    /// The comparison operator at the cursor and how many tokens it spans.
    fn comparison_ahead(&self) -> Option<(Cmp, usize)> {
        Some(match self.peek() {
            Tok::Sym(Sym::EqEq) => (Cmp::Eq, 1),
            Tok::Sym(Sym::NotEq) => (Cmp::Ne, 1),
            Tok::Sym(Sym::Lt) => (Cmp::Lt, 1),
            Tok::Sym(Sym::Le) => (Cmp::Le, 1),
            Tok::Sym(Sym::Gt) => (Cmp::Gt, 1),
            Tok::Sym(Sym::Ge) => (Cmp::Ge, 1),
            Tok::Name(n) if n == "in" => (Cmp::In, 1),
            Tok::Name(n) if n == "not" && matches!(self.peek_at(1), Tok::Name(m) if m == "in") => {
                (Cmp::NotIn, 2)
            }
            Tok::Name(n) if n == "is" && matches!(self.peek_at(1), Tok::Name(m) if m == "not") => {
                (Cmp::IsNot, 2)
            }
            Tok::Name(n) if n == "is" => (Cmp::Is, 1),
            _ => return None,
        })
    }

    /// Parses `op operand` pairs after `first` into one comparison node.
    fn comparison_chain(&mut self, first: Parsed) -> Result<Parsed, ExprError> {
        let mut height = first.1;
        let mut rest = Vec::new();
        while let Some((op, width)) = self.comparison_ahead() {
            for _ in 0..width {
                self.advance();
            }
            let (operand, h) = self.expr(8)?;
            height = height.max(h);
            rest.push((op, operand));
        }
        grow((
            Node::Compare(Box::new(first.0), rest.into_boxed_slice()),
            height,
        ))
        .map_err(|_| self.too_deep())
    }

    /// Parses a prefix operator or a primary, then its postfix operators.
    fn prefix(&mut self, min_bp: u8) -> Result<Parsed, ExprError> {
        let token = self.advance();
        let at = token.offset;
        let primary = match token.tok {
            Tok::Int(i) => (Node::Literal(Value::from(i)), 1),
            Tok::Float(f) => (Node::Literal(Value::from(f)), 1),
            Tok::Str(s) => (Node::Literal(Value::String(s)), 1),
            Tok::Sym(Sym::Minus) => return self.unary(UNARY_BP, Node::Neg),
            Tok::Sym(Sym::Plus) => return self.unary(UNARY_BP, Node::Pos),
            Tok::Sym(Sym::Bang) => return self.not(min_bp, at, "!"),
            Tok::Sym(Sym::LParen) => self.parenthesized(at)?,
            Tok::Sym(Sym::LBracket) => self.list()?,
            Tok::Sym(Sym::LBrace) => {
                return Err(ExprError::at(at, "dict and set literals are not supported"));
            }
            Tok::Name(name) => match name.as_str() {
                "not" => return self.not(min_bp, at, "not"),
                "True" | "true" => (Node::Literal(Value::Bool(true)), 1),
                "False" | "false" => (Node::Literal(Value::Bool(false)), 1),
                "None" | "null" => (Node::Literal(Value::Null), 1),
                "data" => (Node::Scope, 1),
                "context" => (Node::Context, 1),
                "lambda" => return Err(ExprError::at(at, "lambda expressions are not supported")),
                "in" | "is" => {
                    return Err(ExprError::at(
                        at,
                        format!("expected an expression, found '{name}'"),
                    ));
                }
                n if RESERVED.contains(&n) => {
                    return Err(ExprError::at(
                        at,
                        format!("expected an expression, found the keyword '{n}'"),
                    ));
                }
                _ => (Node::Var(name.into()), 1),
            },
            other => {
                return Err(ExprError::at(
                    at,
                    format!("expected an expression, found {}", describe(&other)),
                ));
            }
        };
        self.postfix(primary)
    }

    fn unary(&mut self, bp: u8, make: fn(Box<Node>) -> Node) -> Result<Parsed, ExprError> {
        let operand = self.expr(bp)?;
        self.wrap(operand, |n| make(Box::new(n)))
    }

    fn not(&mut self, min_bp: u8, at: usize, spelled: &str) -> Result<Parsed, ExprError> {
        if min_bp > NOT_BP {
            return Err(ExprError::at(
                at,
                format!("'{spelled}' must be parenthesized here"),
            ));
        }
        let operand = self.expr(NOT_BP)?;
        self.wrap(operand, |n| Node::Not(Box::new(n)))
    }

    fn parenthesized(&mut self, at: usize) -> Result<Parsed, ExprError> {
        if self.peek() == &Tok::Sym(Sym::RParen) {
            return Err(ExprError::at(
                at,
                "empty parentheses (tuples) are not supported",
            ));
        }
        let inner = self.expr(0)?;
        match self.peek() {
            Tok::Sym(Sym::Comma) => Err(self.error("tuples are not supported")),
            Tok::Name(n) if n == "for" => {
                Err(self.error("generator expressions are not supported"))
            }
            Tok::Sym(Sym::RParen) => {
                self.advance();
                Ok(inner)
            }
            _ => Err(self.error(format!("expected ')', found {}", describe(self.peek())))),
        }
    }

    fn list(&mut self) -> Result<Parsed, ExprError> {
        let mut items = Vec::new();
        let mut height = 0;
        while self.peek() != &Tok::Sym(Sym::RBracket) {
            let (item, h) = self.expr(0)?;
            height = height.max(h);
            items.push(item);
            match self.peek() {
                Tok::Sym(Sym::Comma) => {
                    self.advance();
                }
                Tok::Sym(Sym::RBracket) => {}
                Tok::Name(n) if n == "for" => {
                    return Err(self.error("list comprehensions are not supported"));
                }
                other => {
                    return Err(self.error(format!(
                        "expected ',' or ']' in a list, found {}",
                        describe(other)
                    )));
                }
            }
        }
        self.advance();
        grow((Node::List(items.into_boxed_slice()), height)).map_err(|_| self.too_deep())
    }

    /// Applies `.name`, `[index]` and `(args)` after a primary.
    fn postfix(&mut self, mut lhs: Parsed) -> Result<Parsed, ExprError> {
        loop {
            match self.peek() {
                Tok::Sym(Sym::Dot) => {
                    self.advance();
                    let at = self.offset();
                    let name = match self.advance().tok {
                        Tok::Name(n)
                            if !RESERVED.contains(&n.as_str())
                                && n != "not"
                                && n != "in"
                                && n != "is" =>
                        {
                            n
                        }
                        other => {
                            return Err(ExprError::at(
                                at,
                                format!(
                                    "expected an attribute name after '.', found {}",
                                    describe(&other)
                                ),
                            ));
                        }
                    };
                    if self.peek() == &Tok::Sym(Sym::LParen) {
                        return Err(
                            self.error(format!("method calls ('.{name}(...)') are not supported"))
                        );
                    }
                    lhs = match lhs.0 {
                        Node::Scope => (Node::Var(name.into()), lhs.1),
                        Node::Context if name == "data" => (Node::Scope, lhs.1),
                        Node::Context => (Node::Var(name.into()), lhs.1),
                        _ => self.wrap(lhs, |n| Node::Attr(Box::new(n), name.into()))?,
                    };
                }
                Tok::Sym(Sym::LBracket) => {
                    self.advance();
                    let index = self.expr(0)?;
                    if self.peek() == &Tok::Sym(Sym::Colon) {
                        return Err(self.error("slices are not supported"));
                    }
                    self.expect(Sym::RBracket, "to close the index")?;
                    lhs = match (lhs.0, index.0) {
                        (Node::Scope, Node::Literal(Value::String(s))) => {
                            (Node::Var(s.into()), lhs.1)
                        }
                        (target, index_node) => {
                            let height = lhs.1.max(index.1);
                            grow((Node::Index(Box::new(target), Box::new(index_node)), height))
                                .map_err(|_| self.too_deep())?
                        }
                    };
                }
                Tok::Sym(Sym::LParen) => {
                    if !matches!(&lhs.0, Node::Var(n) if &**n == "len") {
                        return Err(self.error("function calls are not supported (only len(x))"));
                    }
                    self.advance();
                    if self.peek() == &Tok::Sym(Sym::RParen) {
                        return Err(self.error("len() takes exactly one argument"));
                    }
                    let arg = self.expr(0)?;
                    if self.peek() == &Tok::Sym(Sym::Comma) {
                        return Err(self.error("len() takes exactly one argument"));
                    }
                    self.expect(Sym::RParen, "to close len(")?;
                    lhs = self.wrap(arg, |n| Node::Len(Box::new(n)))?;
                }
                _ => return Ok(lhs),
            }
        }
    }
}
