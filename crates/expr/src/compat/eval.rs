//! The evaluator of the compat dialect, walking the flat node array from
//! the root (the last node).
//!
//! Values are borrowed from the variables or the constants wherever possible
//! (`Cow`), so reading `a.b.c` or comparing two variables copies nothing.
//! String literals are source spans: `==`, `!=`, `is`, `is not`, `'s' in x`
//! and `x["key"]` use them as they are; elsewhere they become a JSON string.
//! Recursion follows the tree, whose height the parser limits.

use std::borrow::Cow;

use serde_json::Value;

use super::CompatProgram;
use super::ast::{Cmp, Node};
use super::ops::{self, IndexResult, NULL};
use crate::{EvalError, Variables, is_truthy};

type Val<'a> = Cow<'a, Value>;

static TRUE: Value = Value::Bool(true);
static FALSE: Value = Value::Bool(false);

fn bool_value(b: bool) -> Val<'static> {
    Cow::Borrowed(if b { &TRUE } else { &FALSE })
}

/// The error for a node array the parser cannot have written.
fn malformed() -> EvalError {
    EvalError::new("internal error: malformed compiled expression")
}

/// `target[key]`, borrowing from a borrowed target.
fn index_value<'a>(target: Val<'a>, key: &Value) -> Result<Val<'a>, EvalError> {
    Ok(match target {
        Cow::Borrowed(t) => match ops::index(t, key)? {
            IndexResult::Borrowed(v) => Cow::Borrowed(v),
            IndexResult::Owned(v) => Cow::Owned(v),
        },
        Cow::Owned(t) => Cow::Owned(match ops::index(&t, key)? {
            IndexResult::Borrowed(v) => v.clone(),
            IndexResult::Owned(v) => v,
        }),
    })
}

/// Evaluates the root of `program` against `vars`.
pub(crate) fn eval_root<'a>(
    program: &'a CompatProgram,
    vars: &'a dyn Variables,
) -> Result<Val<'a>, EvalError> {
    let root = program.nodes.len().checked_sub(1).ok_or_else(malformed)?;
    Eval { program, vars }.eval(root)
}

struct Eval<'a> {
    program: &'a CompatProgram,
    vars: &'a dyn Variables,
}

impl<'a> Eval<'a> {
    #[inline]
    fn node(&self, i: usize) -> Result<Node, EvalError> {
        self.program.nodes.get(i).copied().ok_or_else(malformed)
    }

    #[inline]
    fn constant(&self, k: u32) -> Result<&'a Value, EvalError> {
        self.program.consts.get(k as usize).ok_or_else(malformed)
    }

    #[inline]
    fn text(&self, start: u32, len: u16) -> Result<&'a str, EvalError> {
        let start = start as usize;
        self.program
            .source
            .get(start..start + usize::from(len))
            .ok_or_else(malformed)
    }

    #[inline]
    fn const_text(&self, k: u32) -> Result<&'a str, EvalError> {
        self.constant(k)?.as_str().ok_or_else(malformed)
    }

    #[inline]
    fn lookup(&self, name: &str) -> Val<'a> {
        Cow::Borrowed(self.vars.lookup(name).unwrap_or(&NULL))
    }

    /// The node just before `i` (a unary operand or a right operand).
    #[inline]
    fn before(&self, i: usize) -> Result<usize, EvalError> {
        i.checked_sub(1).ok_or_else(malformed)
    }

    /// The text of node `i` when it is a string literal without escapes.
    #[inline]
    fn str_node(&self, i: usize) -> Result<Option<&'a str>, EvalError> {
        match self.node(i)? {
            Node::Str { start, len } => self.text(start, len).map(Some),
            _ => Ok(None),
        }
    }

    /// `a op b` without materializing a string literal operand (`==`, `!=`,
    /// `is`, `is not` and orderings with a literal on either side, `in` and
    /// `not in` with one on the left); `None` for the general path.
    fn compare_with_string(&self, op: Cmp, a: usize, b: usize) -> Result<Option<bool>, EvalError> {
        match op {
            Cmp::Eq | Cmp::Ne | Cmp::Is | Cmp::IsNot => {
                let negate = matches!(op, Cmp::Ne | Cmp::IsNot);
                // A literal evaluates to itself, without error, so only the
                // other operand needs evaluating.
                if let Some(s) = self.str_node(b)? {
                    let left = self.eval(a)?;
                    return Ok(Some(ops::equal_str(&left, s) != negate));
                }
                if let Some(s) = self.str_node(a)? {
                    let right = self.eval(b)?;
                    return Ok(Some(ops::equal_str(&right, s) != negate));
                }
                Ok(None)
            }
            Cmp::In | Cmp::NotIn => {
                let Some(s) = self.str_node(a)? else {
                    return Ok(None);
                };
                let right = self.eval(b)?;
                match ops::contains_str(&right, s) {
                    Some(found) => Ok(Some(found != (op == Cmp::NotIn))),
                    None => ops::compare(op, &Value::String(s.to_owned()), &right).map(Some),
                }
            }
            Cmp::Lt | Cmp::Le | Cmp::Gt | Cmp::Ge => {
                let (other, s, string_left) = match (self.str_node(a)?, self.str_node(b)?) {
                    (_, Some(s)) => (a, s, false),
                    (Some(s), None) => (b, s, true),
                    (None, None) => return Ok(None),
                };
                let value = self.eval(other)?;
                match ops::order_str(op, &value, s, string_left) {
                    Some(result) => Ok(Some(result)),
                    None => {
                        let string = Value::String(s.to_owned());
                        let (left, right) = if string_left {
                            (&string, &*value)
                        } else {
                            (&*value, &string)
                        };
                        ops::compare(op, left, right).map(Some)
                    }
                }
            }
        }
    }

    fn eval(&self, i: usize) -> Result<Val<'a>, EvalError> {
        Ok(match self.node(i)? {
            Node::Int(n) => Cow::Owned(Value::from(i64::from(n))),
            Node::Str { start, len } => {
                Cow::Owned(Value::String(self.text(start, len)?.to_owned()))
            }
            Node::Const(k) => Cow::Borrowed(self.constant(k)?),
            Node::Bool(b) => bool_value(b),
            Node::Null => Cow::Borrowed(&NULL),
            Node::Var { start, len } => self.lookup(self.text(start, len)?),
            Node::VarConst(k) => self.lookup(self.const_text(k)?),
            Node::Scope => {
                return Err(EvalError::new(
                    "'data' by itself is not supported (variables cannot be listed); use data.name or data[\"name\"]",
                ));
            }
            Node::Context => {
                return Err(EvalError::new(
                    "'context' by itself is not supported; use context.data.name",
                ));
            }
            node @ (Node::Attr { .. } | Node::AttrConst(_)) => {
                let name = match node {
                    Node::Attr { start, len } => self.text(start, len)?,
                    Node::AttrConst(k) => self.const_text(k)?,
                    _ => return Err(malformed()),
                };
                match self.eval(self.before(i)?)? {
                    Cow::Borrowed(t) => Cow::Borrowed(ops::attr(t, name)?),
                    Cow::Owned(t) => Cow::Owned(ops::attr(&t, name)?.clone()),
                }
            }
            Node::Index(target) => {
                let target = target as usize;
                let index = self.before(i)?;
                if let Some(key) = self.str_node(index)? {
                    // `a["key"]` on a map borrows without building the key.
                    if let Node::Scope = self.node(target)? {
                        return Ok(self.lookup(key));
                    }
                    let value = self.eval(target)?;
                    if let Cow::Borrowed(Value::Object(map)) = value {
                        return Ok(Cow::Borrowed(map.get(key).unwrap_or(&NULL)));
                    }
                    return index_value(value, &Value::String(key.to_owned()));
                }
                let key = self.eval(index)?;
                if let Node::Scope = self.node(target)? {
                    let name = key.as_str().ok_or_else(|| {
                        EvalError::new(format!(
                            "data[...] needs a string variable name, got {}",
                            crate::type_name(&key)
                        ))
                    })?;
                    return Ok(self.lookup(name));
                }
                index_value(self.eval(target)?, &key)?
            }
            Node::Neg => Cow::Owned(ops::unary(&*self.eval(self.before(i)?)?, true)?),
            Node::Pos => Cow::Owned(ops::unary(&*self.eval(self.before(i)?)?, false)?),
            Node::Not => bool_value(!is_truthy(&*self.eval(self.before(i)?)?)),
            Node::Len => Cow::Owned(ops::len(&*self.eval(self.before(i)?)?)?),
            Node::And(a) => {
                let left = self.eval(a as usize)?;
                if is_truthy(&left) {
                    self.eval(self.before(i)?)?
                } else {
                    left
                }
            }
            Node::Or(a) => {
                let left = self.eval(a as usize)?;
                if is_truthy(&left) {
                    left
                } else {
                    self.eval(self.before(i)?)?
                }
            }
            Node::Arith(op, a) => {
                let left = self.eval(a as usize)?;
                let right = self.eval(self.before(i)?)?;
                Cow::Owned(ops::arith(op, &left, &right)?)
            }
            Node::Compare(op, a) => {
                let is_str = |k: usize| matches!(self.program.nodes.get(k), Some(Node::Str { .. }));
                if (is_str(a as usize) || is_str(self.before(i)?))
                    && let Some(result) =
                        self.compare_with_string(op, a as usize, self.before(i)?)?
                {
                    return Ok(bool_value(result));
                }
                let left = self.eval(a as usize)?;
                let right = self.eval(self.before(i)?)?;
                bool_value(ops::compare(op, &left, &right)?)
            }
            Node::Chain(first) => {
                let nodes = &self.program.nodes;
                let links = nodes.get(..i).ok_or_else(malformed)?;
                let count = links
                    .iter()
                    .rev()
                    .take_while(|n| matches!(n, Node::Link(..)))
                    .count();
                let mut left = self.eval(first as usize)?;
                for link in &links[i - count..] {
                    let Node::Link(op, operand) = *link else {
                        return Err(malformed());
                    };
                    let right = self.eval(operand as usize)?;
                    if !ops::compare(op, &left, &right)? {
                        return Ok(bool_value(false));
                    }
                    left = right;
                }
                bool_value(true)
            }
            Node::List(count) => {
                let start = i.checked_sub(count as usize).ok_or_else(malformed)?;
                let items = self.program.nodes.get(start..i).ok_or_else(malformed)?;
                Cow::Owned(Value::Array(
                    items
                        .iter()
                        .map(|item| match *item {
                            Node::Item(root) => self.eval(root as usize).map(Cow::into_owned),
                            _ => Err(malformed()),
                        })
                        .collect::<Result<_, _>>()?,
                ))
            }
            Node::Link(..) | Node::Item(_) => return Err(malformed()),
        })
    }
}
