//! The compat dialect's compiled form: operators and the flat node array.

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

/// One node of a compiled expression.
///
/// A program is a flat array of nodes in post-order: every node comes after
/// its operands, so the root is the last node, a unary node's operand is the
/// node just before it and a binary node's right operand is the node just
/// before it (only the left operand's index is stored). Names and strings
/// without escapes are spans of the source; other strings, floats and wide
/// ints live in the program's constant table. Eight bytes a node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Node {
    /// An int literal that fits in 32 bits.
    Int(i32),
    /// A string literal without escapes: the source bytes `start..start + len`.
    Str { start: u32, len: u16 },
    /// A literal kept in the constant table (a string with escapes or a very
    /// long one, a float, a wide int).
    Const(u32),
    /// `True` / `False`.
    Bool(bool),
    /// `None` / `null`.
    Null,
    /// A top-level variable (`x`, `data.x`, `context.data.x`, `data["x"]`)
    /// named by the source bytes `start..start + len`.
    Var { start: u32, len: u16 },
    /// A top-level variable named by the string constant at this index (a
    /// `data["..."]` name with escapes, or a very long name).
    VarConst(u32),
    /// `data` by itself: the whole scope (only usable when indexed).
    Scope,
    /// `context` by itself (only usable through an attribute).
    Context,
    /// `target.name` (target: the node before), the name as a source span.
    Attr { start: u32, len: u16 },
    /// `target.name` with the name in the constant table (very long names).
    AttrConst(u32),
    /// `target[index]`: the target's index (the index is the node before).
    Index(u32),
    /// `-x`.
    Neg,
    /// `+x`.
    Pos,
    /// `not x` / `!x`.
    Not,
    /// `len(x)`.
    Len,
    /// `a and b` / `a && b` (Python: yields an operand); `a`'s index.
    And(u32),
    /// `a or b` / `a || b` (Python: yields an operand); `a`'s index.
    Or(u32),
    /// `a + b` and friends; `a`'s index.
    Arith(Arith, u32),
    /// `a < b` (one comparison); `a`'s index.
    Compare(Cmp, u32),
    /// `a < b <= c ...`: the first operand's index; the [`Node::Link`]s
    /// (one per operator) are the nodes just before.
    Chain(u32),
    /// One `op operand` of a chain: the operand's index.
    Link(Cmp, u32),
    /// `[a, b, ...]` with this many items; the [`Node::Item`]s are the
    /// nodes just before.
    List(u32),
    /// One item of a list: its index.
    Item(u32),
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_node_is_eight_bytes() {
        assert_eq!(std::mem::size_of::<super::Node>(), 8);
    }
}
