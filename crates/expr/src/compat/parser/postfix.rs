//! The parser's postfix operators: `.name`, `[index]` and `len(x)`, with
//! `data.x`, `data["x"]` and `context.data` folded into variable reads.

use serde_json::Value;

use super::super::ast::Node;
use super::super::lexer::{Sym, Tok};
use super::{Parsed, Parser, RESERVED, describe};
use crate::ExprError;

impl Parser<'_, '_> {
    /// The variable node reading the name that the string leaf `at` holds,
    /// if it is a string.
    fn string_leaf(&self, at: u32) -> Option<Node> {
        match self.node(at)? {
            Node::Str { start, len } => Some(Node::Var { start, len }),
            Node::Const(k) => match self.consts.get(k as usize)? {
                Value::String(_) => Some(Node::VarConst(k)),
                _ => None,
            },
            _ => None,
        }
    }

    /// The variable name node `at` reads, if it is a variable.
    fn var_name(&self, at: u32) -> Option<&str> {
        match self.node(at)? {
            Node::Var { start, len } => {
                let start = start as usize;
                self.source.get(start..start + usize::from(len))
            }
            Node::VarConst(k) => self.consts.get(k as usize)?.as_str(),
            _ => None,
        }
    }

    /// Removes the leaf at the end of the node array (and its constant, if
    /// it is the last one).
    fn pop_leaf(&mut self) {
        if let Some(Node::Const(k) | Node::VarConst(k) | Node::AttrConst(k)) = self.nodes.pop()
            && k as usize + 1 == self.consts.len()
        {
            self.consts.pop();
        }
    }

    /// Applies `.name`, `[index]` and `(args)` after a primary.
    pub(super) fn postfix(&mut self, mut lhs: Parsed) -> Result<Parsed, ExprError> {
        loop {
            match self.peek() {
                Tok::Sym(Sym::Dot) => {
                    self.advance()?;
                    let at = self.cur.at;
                    let name = match self.advance()?.tok {
                        Tok::Name(n)
                            if !RESERVED.contains(&n) && n != "not" && n != "in" && n != "is" =>
                        {
                            n
                        }
                        other => {
                            return Err(self.error_at(
                                at,
                                format!(
                                    "expected an attribute name after '.', found {}",
                                    describe(&other)
                                ),
                            ));
                        }
                    };
                    if self.cur.tok == Tok::Sym(Sym::LParen) {
                        return Err(
                            self.error(format!("method calls ('.{name}(...)') are not supported"))
                        );
                    }
                    match self.node(lhs.0) {
                        Some(Node::Scope) => {
                            let var = self.named(at, name, false)?;
                            self.replace_leaf(lhs.0, var);
                        }
                        Some(Node::Context) if name == "data" => {
                            self.replace_leaf(lhs.0, Node::Scope);
                        }
                        Some(Node::Context) => {
                            let var = self.named(at, name, false)?;
                            self.replace_leaf(lhs.0, var);
                        }
                        _ => {
                            let attr = self.named(at, name, true)?;
                            lhs = self.push_above(lhs.1, attr)?;
                        }
                    }
                }
                Tok::Sym(Sym::LBracket) => {
                    self.advance()?;
                    let index = self.expr(0)?;
                    if self.cur.tok == Tok::Sym(Sym::Colon) {
                        return Err(self.error("slices are not supported"));
                    }
                    self.expect(Sym::RBracket, "to close the index")?;
                    let folded = match (self.node(lhs.0), self.string_leaf(index.0)) {
                        (Some(Node::Scope), Some(var)) => Some(var),
                        _ => None,
                    };
                    match folded {
                        // `data["name"]` reads variable `name`; the string
                        // node goes (its constant stays for a `VarConst`).
                        Some(var) => {
                            self.nodes.pop();
                            self.replace_leaf(lhs.0, var);
                        }
                        None => {
                            lhs = self.push_above(lhs.1.max(index.1), Node::Index(lhs.0))?;
                        }
                    }
                }
                Tok::Sym(Sym::LParen) => {
                    if self.var_name(lhs.0) != Some("len") {
                        return Err(self.error("function calls are not supported (only len(x))"));
                    }
                    // `len` itself is not a variable read: drop its node.
                    self.pop_leaf();
                    self.advance()?;
                    if self.cur.tok == Tok::Sym(Sym::RParen) {
                        return Err(self.error("len() takes exactly one argument"));
                    }
                    let arg = self.expr(0)?;
                    if self.cur.tok == Tok::Sym(Sym::Comma) {
                        return Err(self.error("len() takes exactly one argument"));
                    }
                    self.expect(Sym::RParen, "to close len(")?;
                    lhs = self.push_above(arg.1, Node::Len)?;
                }
                _ => return Ok(lhs),
            }
        }
    }
}
