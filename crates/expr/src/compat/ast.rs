//! The compat dialect's syntax tree, built once at compile time.

use serde_json::Value;

/// Binary arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
}

impl Arith {
    /// The operator as written.
    pub(crate) fn text(self) -> &'static str {
        match self {
            Arith::Add => "+",
            Arith::Sub => "-",
            Arith::Mul => "*",
            Arith::Div => "/",
            Arith::FloorDiv => "//",
            Arith::Mod => "%",
        }
    }
}

/// Comparison operators (they may be chained: `a < b <= c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Is,
    IsNot,
}

impl Cmp {
    /// The operator as written.
    pub(crate) fn text(self) -> &'static str {
        match self {
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::In => "in",
            Cmp::NotIn => "not in",
            Cmp::Is => "is",
            Cmp::IsNot => "is not",
        }
    }
}

/// An expression node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// A literal value.
    Literal(Value),
    /// A top-level variable (`x`, `data.x`, `data["x"]`, `context.data.x`).
    Var(Box<str>),
    /// `data` by itself: the whole scope (only usable when indexed).
    Scope,
    /// `context` by itself (only usable through an attribute).
    Context,
    /// `target.name`.
    Attr(Box<Node>, Box<str>),
    /// `target[index]`.
    Index(Box<Node>, Box<Node>),
    /// `-x`.
    Neg(Box<Node>),
    /// `+x`.
    Pos(Box<Node>),
    /// `not x` / `!x`.
    Not(Box<Node>),
    /// `a and b` / `a && b` (Python: yields an operand).
    And(Box<Node>, Box<Node>),
    /// `a or b` / `a || b` (Python: yields an operand).
    Or(Box<Node>, Box<Node>),
    /// `a + b` and friends.
    Arith(Arith, Box<Node>, Box<Node>),
    /// `a < b <= c ...`: the first operand then each (operator, operand).
    Compare(Box<Node>, Box<[(Cmp, Node)]>),
    /// `[a, b, ...]`.
    List(Box<[Node]>),
    /// `len(x)`.
    Len(Box<Node>),
}

impl Node {
    /// Adds the top-level variables this node reads to `out`.
    pub(crate) fn collect_variables(&self, out: &mut Vec<String>) {
        match self {
            Node::Var(name) => out.push(name.to_string()),
            Node::Literal(_) | Node::Scope | Node::Context => {}
            Node::Attr(t, _) | Node::Neg(t) | Node::Pos(t) | Node::Not(t) | Node::Len(t) => {
                t.collect_variables(out)
            }
            Node::Index(a, b) | Node::And(a, b) | Node::Or(a, b) | Node::Arith(_, a, b) => {
                a.collect_variables(out);
                b.collect_variables(out);
            }
            Node::Compare(first, rest) => {
                first.collect_variables(out);
                rest.iter().for_each(|(_, n)| n.collect_variables(out));
            }
            Node::List(items) => items.iter().for_each(|n| n.collect_variables(out)),
        }
    }
}
