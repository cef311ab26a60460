//! The tree-walking evaluator of the compat dialect.
//!
//! Values are borrowed from the variables wherever possible (`Cow`), so
//! reading `a.b.c` or comparing two variables copies nothing.

use std::borrow::Cow;

use serde_json::Value;

use super::ast::Node;
use super::ops::{self, IndexResult, NULL};
use crate::{EvalError, Variables, is_truthy};

type Val<'a> = Cow<'a, Value>;

/// Evaluates `node` against `vars`.
pub(crate) fn eval<'a>(node: &'a Node, vars: &'a dyn Variables) -> Result<Val<'a>, EvalError> {
    Ok(match node {
        Node::Literal(v) => Cow::Borrowed(v),
        Node::Var(name) => Cow::Borrowed(vars.lookup(name).unwrap_or(&NULL)),
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
        Node::Attr(target, name) => match eval(target, vars)? {
            Cow::Borrowed(t) => Cow::Borrowed(ops::attr(t, name)?),
            Cow::Owned(t) => Cow::Owned(ops::attr(&t, name)?.clone()),
        },
        Node::Index(target, index) => {
            let key = eval(index, vars)?;
            if let Node::Scope = **target {
                let name = key.as_str().ok_or_else(|| {
                    EvalError::new(format!(
                        "data[...] needs a string variable name, got {}",
                        crate::type_name(&key)
                    ))
                })?;
                return Ok(Cow::Borrowed(vars.lookup(name).unwrap_or(&NULL)));
            }
            match eval(target, vars)? {
                Cow::Borrowed(t) => match ops::index(t, &key)? {
                    IndexResult::Borrowed(v) => Cow::Borrowed(v),
                    IndexResult::Owned(v) => Cow::Owned(v),
                },
                Cow::Owned(t) => Cow::Owned(match ops::index(&t, &key)? {
                    IndexResult::Borrowed(v) => v.clone(),
                    IndexResult::Owned(v) => v,
                }),
            }
        }
        Node::Neg(x) => Cow::Owned(ops::unary(&*eval(x, vars)?, true)?),
        Node::Pos(x) => Cow::Owned(ops::unary(&*eval(x, vars)?, false)?),
        Node::Not(x) => Cow::Owned(Value::Bool(!is_truthy(&*eval(x, vars)?))),
        Node::And(a, b) => {
            let left = eval(a, vars)?;
            if is_truthy(&left) {
                eval(b, vars)?
            } else {
                left
            }
        }
        Node::Or(a, b) => {
            let left = eval(a, vars)?;
            if is_truthy(&left) {
                left
            } else {
                eval(b, vars)?
            }
        }
        Node::Arith(op, a, b) => Cow::Owned(ops::arith(*op, &*eval(a, vars)?, &*eval(b, vars)?)?),
        Node::Compare(first, rest) => {
            let mut left = eval(first, vars)?;
            for (op, operand) in rest {
                let right = eval(operand, vars)?;
                if !ops::compare(*op, &left, &right)? {
                    return Ok(Cow::Owned(Value::Bool(false)));
                }
                left = right;
            }
            Cow::Owned(Value::Bool(true))
        }
        Node::List(items) => Cow::Owned(Value::Array(
            items
                .iter()
                .map(|n| eval(n, vars).map(Cow::into_owned))
                .collect::<Result<_, _>>()?,
        )),
        Node::Len(x) => Cow::Owned(ops::len(&*eval(x, vars)?)?),
    })
}
