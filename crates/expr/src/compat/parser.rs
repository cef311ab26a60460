//! A Pratt parser for the compat dialect, writing the flat node array of
//! [`Node`]s directly (post-order) while it pulls tokens from the lexer.
//!
//! Precedence, lowest first (as in Python): `or`/`||`, `and`/`&&`,
//! `not`/`!`, comparisons (`== != < <= > >= in not-in is is-not`, chainable),
//! `+ -`, `* / // %`, unary `- +`, then postfix `.name`, `[index]`, `len(x)`.
//! Nesting (and the height of the tree) is limited to [`MAX_DEPTH`] so no
//! input can exhaust the stack while parsing or evaluating.
//!
//! Lexical errors win over syntax errors, wherever they are (the source is
//! lexed as a whole first, conceptually): after a syntax error the rest of the
//! source is lexed and its first lexical error, if any, is reported instead.

use std::borrow::Cow;
use std::cell::Cell;

use serde_json::Value;

use super::ast::{Arith, Cmp, Node};
use super::lexer::{Lexer, Sym, Tok, Token, char_offset};
use crate::ExprError;

mod postfix;

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

/// A parsed subtree: its root's index and its height.
type Parsed = (u32, usize);

/// The compiled form: the nodes (root last) and the constant table.
pub(crate) struct Compiled {
    pub(crate) nodes: Box<[Node]>,
    pub(crate) consts: Box<[Value]>,
}

/// The largest node buffer kept for reuse between compilations.
const SCRATCH_KEPT: usize = 4096;

thread_local! {
    /// A node buffer reused by every compilation on this thread, so the
    /// program's node array is allocated once at its exact size.
    static SCRATCH: Cell<Vec<Node>> = const { Cell::new(Vec::new()) };
}

/// Parses `source` (already trimmed, at most `u32::MAX` bytes).
pub(crate) fn parse(source: &str) -> Result<Compiled, ExprError> {
    let mut nodes = SCRATCH.take();
    nodes.clear();
    let result = parse_into(source, &mut nodes);
    nodes.clear();
    if nodes.capacity() <= SCRATCH_KEPT {
        SCRATCH.set(nodes);
    }
    result
}

fn parse_into(source: &str, nodes: &mut Vec<Node>) -> Result<Compiled, ExprError> {
    let mut parser = Parser::new(source, nodes)?;
    match parser.parse_all() {
        Ok(()) => Ok(Compiled {
            nodes: Box::from(parser.nodes.as_slice()),
            consts: std::mem::take(&mut parser.consts).into_boxed_slice(),
        }),
        Err(syntax) => Err(parser.first_lex_error().unwrap_or(syntax)),
    }
}

struct Parser<'a, 'n> {
    source: &'a str,
    lexer: Lexer<'a>,
    /// The current token and the one after it.
    cur: Token<'a>,
    next: Token<'a>,
    depth: usize,
    /// The node array being written (a reused buffer).
    nodes: &'n mut Vec<Node>,
    consts: Vec<Value>,
    /// Chain links and list items waiting for their operands to be written.
    pending: Vec<Node>,
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

/// The span `start..start + len` as node fields, when it fits them.
fn span(start: usize, len: usize) -> Option<(u32, u16)> {
    Some((u32::try_from(start).ok()?, u16::try_from(len).ok()?))
}

/// One level taller, or `Err` past [`MAX_DEPTH`].
fn grow(height: usize) -> Result<usize, ()> {
    if height >= MAX_DEPTH {
        Err(())
    } else {
        Ok(height + 1)
    }
}

fn is_name(tok: &Tok, name: &str) -> bool {
    matches!(tok, Tok::Name(n) if *n == name)
}

impl<'a, 'n> Parser<'a, 'n> {
    fn new(source: &'a str, nodes: &'n mut Vec<Node>) -> Result<Parser<'a, 'n>, ExprError> {
        let mut lexer = Lexer::new(source);
        let cur = lexer.next_token()?;
        let next = lexer.next_token()?;
        Ok(Parser {
            source,
            lexer,
            cur,
            next,
            depth: 0,
            nodes,
            consts: Vec::new(),
            pending: Vec::new(),
        })
    }

    fn parse_all(&mut self) -> Result<(), ExprError> {
        if self.cur.tok == Tok::Eof {
            return Err(ExprError::at(0, "empty expression"));
        }
        self.expr(0)?;
        match self.cur.tok {
            Tok::Eof => Ok(()),
            _ => Err(self.trailing()),
        }
    }

    /// The first lexical error in the rest of the source, if any.
    fn first_lex_error(&mut self) -> Option<ExprError> {
        loop {
            match self.lexer.next_token() {
                Ok(Token { tok: Tok::Eof, .. }) => return None,
                Ok(_) => {}
                Err(e) => return Some(e),
            }
        }
    }

    fn peek(&self) -> &Tok<'a> {
        &self.cur.tok
    }

    /// Steps past the current token and returns it; at the end it keeps
    /// returning Eof.
    fn advance(&mut self) -> Result<Token<'a>, ExprError> {
        let after = self.lexer.next_token()?;
        let next = std::mem::replace(&mut self.next, after);
        Ok(std::mem::replace(&mut self.cur, next))
    }

    fn error_at(&self, byte: usize, message: impl Into<String>) -> ExprError {
        ExprError::at(char_offset(self.source, byte), message)
    }

    fn error(&self, message: impl Into<String>) -> ExprError {
        self.error_at(self.cur.at, message)
    }

    fn too_deep(&self) -> ExprError {
        self.error(format!(
            "expression is nested more than {MAX_DEPTH} levels deep"
        ))
    }

    /// Appends `node`; returns its index.
    fn push(&mut self, node: Node) -> Result<u32, ExprError> {
        let index = u32::try_from(self.nodes.len())
            .map_err(|_| ExprError::at(0, "expression has too many parts"))?;
        self.nodes.push(node);
        Ok(index)
    }

    /// Appends `node` one level above a subtree of height `height`.
    fn push_above(&mut self, height: usize, node: Node) -> Result<Parsed, ExprError> {
        let height = grow(height).map_err(|_| self.too_deep())?;
        Ok((self.push(node)?, height))
    }

    /// Adds a constant; returns its index.
    fn constant(&mut self, value: Value) -> Result<u32, ExprError> {
        let index = u32::try_from(self.consts.len())
            .map_err(|_| ExprError::at(0, "expression has too many parts"))?;
        self.consts.push(value);
        Ok(index)
    }

    /// The node for a variable (`attr` false) or attribute named by the
    /// source bytes `start..start + name.len()`.
    fn named(&mut self, start: usize, name: &str, attr: bool) -> Result<Node, ExprError> {
        if let Some((start, len)) = span(start, name.len()) {
            return Ok(if attr {
                Node::Attr { start, len }
            } else {
                Node::Var { start, len }
            });
        }
        let k = self.constant(Value::String(name.to_owned()))?;
        Ok(if attr {
            Node::AttrConst(k)
        } else {
            Node::VarConst(k)
        })
    }

    /// Replaces the leaf at the end of the node array (the root `at`).
    fn replace_leaf(&mut self, at: u32, node: Node) {
        if let Some(slot) = self.nodes.get_mut(at as usize) {
            *slot = node;
        }
    }

    /// The node at `at`, if any.
    fn node(&self, at: u32) -> Option<Node> {
        self.nodes.get(at as usize).copied()
    }

    fn expect(&mut self, sym: Sym, context: &str) -> Result<(), ExprError> {
        if self.cur.tok == Tok::Sym(sym) {
            self.advance()?;
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
            Tok::Name("if") => {
                self.error("conditional expressions (x if c else y) are not supported")
            }
            Tok::Name("for") => self.error("comprehensions are not supported"),
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
                Tok::Name("or") | Tok::Sym(Sym::OrOr) => (1, 2),
                Tok::Name("and") | Tok::Sym(Sym::AndAnd) => (3, 4),
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
            let op = self.advance()?.tok;
            let rhs = self.expr(r_bp)?;
            let l = lhs.0;
            let node = match op {
                Tok::Name("or") | Tok::Sym(Sym::OrOr) => Node::Or(l),
                Tok::Name(_) | Tok::Sym(Sym::AndAnd) => Node::And(l),
                Tok::Sym(Sym::Plus) => Node::Arith(Arith::Add, l),
                Tok::Sym(Sym::Minus) => Node::Arith(Arith::Sub, l),
                Tok::Sym(Sym::Star) => Node::Arith(Arith::Mul, l),
                Tok::Sym(Sym::Slash) => Node::Arith(Arith::Div, l),
                Tok::Sym(Sym::SlashSlash) => Node::Arith(Arith::FloorDiv, l),
                _ => Node::Arith(Arith::Mod, l),
            };
            lhs = self.push_above(lhs.1.max(rhs.1), node)?;
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
            Tok::Name("in") => (Cmp::In, 1),
            Tok::Name("not") if is_name(&self.next.tok, "in") => (Cmp::NotIn, 2),
            Tok::Name("is") if is_name(&self.next.tok, "not") => (Cmp::IsNot, 2),
            Tok::Name("is") => (Cmp::Is, 1),
            _ => return None,
        })
    }

    /// Parses `op operand` pairs after `first` into one comparison: a
    /// [`Node::Compare`] for one operator, else [`Node::Link`]s and a
    /// [`Node::Chain`].
    fn comparison_chain(&mut self, first: Parsed) -> Result<Parsed, ExprError> {
        let mut height = first.1;
        let mark = self.pending.len();
        let mut only: Option<(Cmp, u32)> = None;
        while let Some((op, width)) = self.comparison_ahead() {
            for _ in 0..width {
                self.advance()?;
            }
            let (operand, h) = self.expr(8)?;
            height = height.max(h);
            if self.pending.len() == mark {
                match only.take() {
                    None => {
                        only = Some((op, operand));
                        continue;
                    }
                    Some((op1, operand1)) => self.pending.push(Node::Link(op1, operand1)),
                }
            }
            self.pending.push(Node::Link(op, operand));
        }
        let height = grow(height).map_err(|_| self.too_deep())?;
        let root = match only {
            // One operator: its operand is the node just before.
            Some((op, _)) => self.push(Node::Compare(op, first.0))?,
            None => {
                self.flush_pending(mark)?;
                self.push(Node::Chain(first.0))?
            }
        };
        Ok((root, height))
    }

    /// Moves the pending nodes from `mark` on to the node array.
    fn flush_pending(&mut self, mark: usize) -> Result<(), ExprError> {
        let count = self.pending.len().saturating_sub(mark);
        u32::try_from(self.nodes.len() + count)
            .map_err(|_| ExprError::at(0, "expression has too many parts"))?;
        self.nodes.extend(self.pending.drain(mark..));
        Ok(())
    }

    /// Parses a prefix operator or a primary, then its postfix operators.
    fn prefix(&mut self, min_bp: u8) -> Result<Parsed, ExprError> {
        let token = self.advance()?;
        let at = token.at;
        let leaf = match token.tok {
            Tok::Int(i) => match i32::try_from(i) {
                Ok(small) => Node::Int(small),
                Err(_) => Node::Const(self.constant(Value::from(i))?),
            },
            Tok::Float(f) => Node::Const(self.constant(Value::from(f))?),
            Tok::Str(s) => {
                // Without escapes the text is the source after the quote.
                let span = match &s {
                    Cow::Borrowed(text) => span(at + 1, text.len()),
                    Cow::Owned(_) => None,
                };
                match span {
                    Some((start, len)) => Node::Str { start, len },
                    None => Node::Const(self.constant(Value::String(s.into_owned()))?),
                }
            }
            Tok::Sym(Sym::Minus) => return self.unary(UNARY_BP, Node::Neg),
            Tok::Sym(Sym::Plus) => return self.unary(UNARY_BP, Node::Pos),
            Tok::Sym(Sym::Bang) => return self.not(min_bp, at, "!"),
            Tok::Sym(Sym::LParen) => {
                let inner = self.parenthesized(at)?;
                return self.postfix(inner);
            }
            Tok::Sym(Sym::LBracket) => {
                let list = self.list()?;
                return self.postfix(list);
            }
            Tok::Sym(Sym::LBrace) => {
                return Err(self.error_at(at, "dict and set literals are not supported"));
            }
            Tok::Name(name) => match name {
                "not" => return self.not(min_bp, at, "not"),
                "True" | "true" => Node::Bool(true),
                "False" | "false" => Node::Bool(false),
                "None" | "null" => Node::Null,
                "data" => Node::Scope,
                "context" => Node::Context,
                "lambda" => {
                    return Err(self.error_at(at, "lambda expressions are not supported"));
                }
                "in" | "is" => {
                    return Err(
                        self.error_at(at, format!("expected an expression, found '{name}'"))
                    );
                }
                n if RESERVED.contains(&n) => {
                    return Err(self.error_at(
                        at,
                        format!("expected an expression, found the keyword '{n}'"),
                    ));
                }
                _ => self.named(at, name, false)?,
            },
            other => {
                return Err(self.error_at(
                    at,
                    format!("expected an expression, found {}", describe(&other)),
                ));
            }
        };
        let index = self.push(leaf)?;
        self.postfix((index, 1))
    }

    fn unary(&mut self, bp: u8, node: Node) -> Result<Parsed, ExprError> {
        let operand = self.expr(bp)?;
        self.push_above(operand.1, node)
    }

    fn not(&mut self, min_bp: u8, at: usize, spelled: &str) -> Result<Parsed, ExprError> {
        if min_bp > NOT_BP {
            return Err(self.error_at(at, format!("'{spelled}' must be parenthesized here")));
        }
        let operand = self.expr(NOT_BP)?;
        self.push_above(operand.1, Node::Not)
    }

    fn parenthesized(&mut self, at: usize) -> Result<Parsed, ExprError> {
        if self.cur.tok == Tok::Sym(Sym::RParen) {
            return Err(self.error_at(at, "empty parentheses (tuples) are not supported"));
        }
        let inner = self.expr(0)?;
        match self.peek() {
            Tok::Sym(Sym::Comma) => Err(self.error("tuples are not supported")),
            Tok::Name("for") => Err(self.error("generator expressions are not supported")),
            Tok::Sym(Sym::RParen) => {
                self.advance()?;
                Ok(inner)
            }
            _ => Err(self.error(format!("expected ')', found {}", describe(self.peek())))),
        }
    }

    fn list(&mut self) -> Result<Parsed, ExprError> {
        let mark = self.pending.len();
        let mut height = 0;
        while self.cur.tok != Tok::Sym(Sym::RBracket) {
            let (item, h) = self.expr(0)?;
            height = height.max(h);
            self.pending.push(Node::Item(item));
            match self.peek() {
                Tok::Sym(Sym::Comma) => {
                    self.advance()?;
                }
                Tok::Sym(Sym::RBracket) => {}
                Tok::Name("for") => {
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
        self.advance()?;
        let height = grow(height).map_err(|_| self.too_deep())?;
        let count = u32::try_from(self.pending.len() - mark)
            .map_err(|_| ExprError::at(0, "expression has too many parts"))?;
        self.flush_pending(mark)?;
        Ok((self.push(Node::List(count))?, height))
    }
}
