//! Operators of the compat dialect over JSON values: equality, ordering,
//! membership, arithmetic, `len`, attribute access and indexing.
//!
//! Rules (also in `docs/expressions.md`):
//! - `==`/`!=`: deep equality; ints and floats compare by value (`1 == 1.0`),
//!   booleans are not numbers (`True == 1` is false, unlike Python).
//! - `< <= > >=`: numbers with numbers, strings with strings (by code point),
//!   bools with bools, lists with lists (element by element). If either side is
//!   `null` the result is `false`. Any other mix is an error.
//! - `in`: element of a list, substring of a string (left must be a string),
//!   key of a map (a non-string left is never a key); `x in null` is `false`.
//! - Arithmetic: ints stay ints (overflow is an error) except `/`, which always
//!   gives a float; `//` and `%` floor like Python; `+` also joins two strings
//!   or two lists. Division by zero is an error.
//! - `a.b` / `a["b"]` on a map: the value or `null` when missing; on `null`:
//!   `null`. `a[i]` on a list or string: Python indexing (negative from the
//!   end), `null` when out of range.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::ast::{Arith, Cmp};
use crate::{EvalError, type_name};

/// The JSON `null` every missing value borrows.
pub(crate) static NULL: Value = Value::Null;

/// A number as the operators see it.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

fn num(value: &Value) -> Option<Num> {
    let n = value.as_number()?;
    Some(match n.as_i64() {
        Some(i) => Num::Int(i),
        None => Num::Float(n.as_f64()?),
    })
}

fn float_of(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    }
}

/// Deep equality with ints and floats compared by value.
pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(i), Some(j)) = (x.as_i64(), y.as_i64()) {
                i == j
            } else if let (Some(i), Some(j)) = (x.as_u64(), y.as_u64()) {
                i == j
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

/// `a == s` for a string `s`: what [`equal`] gives against
/// `Value::String(s)` (only a string equals a string).
pub(crate) fn equal_str(a: &Value, s: &str) -> bool {
    a.as_str() == Some(s)
}

/// `s in container` for a string `s`, when the container's type settles it
/// without an error: what [`compare`] gives for `Cmp::In` with
/// `Value::String(s)` on the left. `None` for the types that are an error.
pub(crate) fn contains_str(container: &Value, s: &str) -> Option<bool> {
    match container {
        Value::Array(items) => Some(items.iter().any(|v| equal_str(v, s))),
        Value::Object(map) => Some(map.contains_key(s)),
        Value::String(t) => Some(t.contains(s)),
        Value::Null => Some(false),
        _ => None,
    }
}

/// `a op s` (or `s op a` when `string_left`) for an ordering operator and a
/// string `s`, when `a`'s type settles it without an error: what [`compare`]
/// gives with `Value::String(s)` in its place. `None` for the types that are
/// an error.
pub(crate) fn order_str(op: Cmp, a: &Value, s: &str, string_left: bool) -> Option<bool> {
    let ord = match a {
        Value::Null => return Some(false),
        Value::String(t) if string_left => s.cmp(t.as_str()),
        Value::String(t) => t.as_str().cmp(s),
        _ => return None,
    };
    Some(match op {
        Cmp::Lt => ord == Ordering::Less,
        Cmp::Le => ord != Ordering::Greater,
        Cmp::Gt => ord == Ordering::Greater,
        Cmp::Ge => ord != Ordering::Less,
        _ => return None,
    })
}

/// The order of two values, or an error naming the types.
fn order(a: &Value, b: &Value, op: Cmp) -> Result<Ordering, EvalError> {
    let incomparable = || {
        EvalError::new(format!(
            "cannot compare {} with {} using '{}'",
            type_name(a),
            type_name(b),
            op.text()
        ))
    };
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => match (num(a), num(b)) {
            (Some(Num::Int(i)), Some(Num::Int(j))) => Ok(i.cmp(&j)),
            (Some(x), Some(y)) => float_of(x)
                .partial_cmp(&float_of(y))
                .ok_or_else(incomparable),
            _ => Err(incomparable()),
        },
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Ok(x.cmp(y)),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                if !equal(p, q) {
                    return order(p, q, op);
                }
            }
            Ok(x.len().cmp(&y.len()))
        }
        _ => Err(incomparable()),
    }
}

/// Applies one comparison operator.
pub(crate) fn compare(op: Cmp, a: &Value, b: &Value) -> Result<bool, EvalError> {
    Ok(match op {
        Cmp::Eq | Cmp::Is => equal(a, b),
        Cmp::Ne | Cmp::IsNot => !equal(a, b),
        Cmp::In => contains(b, a)?,
        Cmp::NotIn => !contains(b, a)?,
        Cmp::Lt | Cmp::Le | Cmp::Gt | Cmp::Ge => {
            if a.is_null() || b.is_null() {
                return Ok(false);
            }
            let ord = order(a, b, op)?;
            match op {
                Cmp::Lt => ord == Ordering::Less,
                Cmp::Le => ord != Ordering::Greater,
                Cmp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }
        }
    })
}

/// `item in container`.
fn contains(container: &Value, item: &Value) -> Result<bool, EvalError> {
    match container {
        Value::Array(items) => Ok(items.iter().any(|v| equal(v, item))),
        Value::Object(map) => Ok(item.as_str().is_some_and(|k| map.contains_key(k))),
        Value::String(s) => match item {
            Value::String(needle) => Ok(s.contains(needle.as_str())),
            other => Err(EvalError::new(format!(
                "'in <string>' needs a string on the left, got {}",
                type_name(other)
            ))),
        },
        Value::Null => Ok(false),
        other => Err(EvalError::new(format!(
            "'in' needs a list, string or map on the right, got {}",
            type_name(other)
        ))),
    }
}

fn number_value(f: f64) -> Result<Value, EvalError> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| EvalError::new("arithmetic result is not a finite number"))
}

fn overflow(op: Arith) -> EvalError {
    EvalError::new(format!("integer overflow in '{}'", op.text()))
}

/// Applies an arithmetic operator.
pub(crate) fn arith(op: Arith, a: &Value, b: &Value) -> Result<Value, EvalError> {
    let (x, y) = match (num(a), num(b)) {
        (Some(x), Some(y)) => (x, y),
        _ => {
            return match (op, a, b) {
                (Arith::Add, Value::String(s), Value::String(t)) => {
                    Ok(Value::String(format!("{s}{t}")))
                }
                (Arith::Add, Value::Array(s), Value::Array(t)) => {
                    Ok(Value::Array(s.iter().chain(t).cloned().collect()))
                }
                _ => Err(EvalError::new(format!(
                    "cannot apply '{}' to {} and {}",
                    op.text(),
                    type_name(a),
                    type_name(b)
                ))),
            };
        }
    };
    if matches!(op, Arith::Div | Arith::FloorDiv | Arith::Mod) && float_of(y) == 0.0 {
        return Err(EvalError::new(format!(
            "division by zero in '{}'",
            op.text()
        )));
    }
    match (x, y) {
        (Num::Int(i), Num::Int(j)) => {
            let r = match op {
                Arith::Add => i.checked_add(j),
                Arith::Sub => i.checked_sub(j),
                Arith::Mul => i.checked_mul(j),
                Arith::Div => return number_value(i as f64 / j as f64),
                Arith::FloorDiv => i.checked_div(j).map(|q| {
                    if i % j != 0 && ((i < 0) != (j < 0)) {
                        q - 1
                    } else {
                        q
                    }
                }),
                Arith::Mod => i.checked_rem(j).map(|r| {
                    if r != 0 && ((r < 0) != (j < 0)) {
                        r + j
                    } else {
                        r
                    }
                }),
            };
            r.map(Value::from).ok_or_else(|| overflow(op))
        }
        (x, y) => {
            let (p, q) = (float_of(x), float_of(y));
            number_value(match op {
                Arith::Add => p + q,
                Arith::Sub => p - q,
                Arith::Mul => p * q,
                Arith::Div => p / q,
                Arith::FloorDiv => (p / q).floor(),
                Arith::Mod => {
                    let r = p % q;
                    if r != 0.0 && ((r < 0.0) != (q < 0.0)) {
                        r + q
                    } else {
                        r
                    }
                }
            })
        }
    }
}

/// Unary minus (`negate`) or plus on a number.
pub(crate) fn unary(value: &Value, negate: bool) -> Result<Value, EvalError> {
    let sign = if negate { "-" } else { "+" };
    match num(value) {
        Some(Num::Int(i)) if negate => i
            .checked_neg()
            .map(Value::from)
            .ok_or_else(|| overflow(Arith::Sub)),
        Some(Num::Float(f)) if negate => number_value(-f),
        Some(_) => Ok(value.clone()),
        None => Err(EvalError::new(format!(
            "cannot apply unary '{sign}' to {}",
            type_name(value)
        ))),
    }
}

/// `len(x)` of a string (chars), list or map.
pub(crate) fn len(value: &Value) -> Result<Value, EvalError> {
    match value {
        Value::String(s) => Ok(Value::from(s.chars().count())),
        Value::Array(a) => Ok(Value::from(a.len())),
        Value::Object(o) => Ok(Value::from(o.len())),
        other => Err(EvalError::new(format!(
            "len() of {} is not defined",
            type_name(other)
        ))),
    }
}

/// `target.name`.
pub(crate) fn attr<'a>(target: &'a Value, name: &str) -> Result<&'a Value, EvalError> {
    match target {
        Value::Object(map) => Ok(map.get(name).unwrap_or(&NULL)),
        Value::Null => Ok(&NULL),
        other => Err(EvalError::new(format!(
            "cannot read attribute '{name}' of {}",
            type_name(other)
        ))),
    }
}

/// Python-style position of `index` in a sequence of `len` items.
fn position(index: &Value, len: usize, what: &str) -> Result<Option<usize>, EvalError> {
    let i = index.as_i64().ok_or_else(|| {
        EvalError::new(format!(
            "{what} index must be an int, got {}",
            type_name(index)
        ))
    })?;
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let i = if i < 0 { i + len } else { i };
    Ok(if (0..len).contains(&i) {
        usize::try_from(i).ok()
    } else {
        None
    })
}

/// `target[index]` when the result can borrow from `target`.
pub(crate) fn index<'a>(target: &'a Value, index: &Value) -> Result<IndexResult<'a>, EvalError> {
    match target {
        Value::Object(map) => match index {
            Value::String(k) => Ok(IndexResult::Borrowed(map.get(k.as_str()).unwrap_or(&NULL))),
            other => Err(EvalError::new(format!(
                "map index must be a string, got {}",
                type_name(other)
            ))),
        },
        Value::Array(items) => Ok(IndexResult::Borrowed(
            position(index, items.len(), "list")?.map_or(&NULL, |i| &items[i]),
        )),
        Value::String(s) => {
            let count = s.chars().count();
            Ok(IndexResult::Owned(
                match position(index, count, "string")? {
                    Some(i) => s
                        .chars()
                        .nth(i)
                        .map_or(Value::Null, |c| Value::String(c.to_string())),
                    None => Value::Null,
                },
            ))
        }
        Value::Null => Ok(IndexResult::Borrowed(&NULL)),
        other => Err(EvalError::new(format!("cannot index {}", type_name(other)))),
    }
}

/// The result of indexing: borrowed from the target, or a new value.
pub(crate) enum IndexResult<'a> {
    /// Part of the target.
    Borrowed(&'a Value),
    /// A value made for the result (a string's char).
    Owned(Value),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equality_is_deep_and_numeric() {
        assert!(equal(&json!(1), &json!(1.0)));
        assert!(equal(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
        assert!(!equal(&json!(true), &json!(1)));
        assert!(equal(&json!(null), &json!(null)));
        assert!(!equal(&json!("1"), &json!(1)));
    }

    #[test]
    fn ordering_rules() {
        assert!(compare(Cmp::Lt, &json!(1), &json!(1.5)).unwrap());
        assert!(compare(Cmp::Ge, &json!("b"), &json!("a")).unwrap());
        assert!(compare(Cmp::Lt, &json!([1, 2]), &json!([1, 3])).unwrap());
        assert!(compare(Cmp::Lt, &json!(false), &json!(true)).unwrap());
        for op in [Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge] {
            assert!(!compare(op, &json!(null), &json!(5)).unwrap());
            assert!(!compare(op, &json!(5), &json!(null)).unwrap());
        }
        let err = compare(Cmp::Lt, &json!("a"), &json!(1)).unwrap_err();
        assert_eq!(err.message, "cannot compare string with int using '<'");
    }

    #[test]
    fn membership_rules() {
        assert!(compare(Cmp::In, &json!("a"), &json!(["a", "b"])).unwrap());
        assert!(compare(Cmp::In, &json!("ell"), &json!("hello")).unwrap());
        assert!(compare(Cmp::In, &json!("k"), &json!({"k": 1})).unwrap());
        assert!(!compare(Cmp::In, &json!(1), &json!({"1": 1})).unwrap());
        assert!(!compare(Cmp::In, &json!("a"), &json!(null)).unwrap());
        assert!(compare(Cmp::NotIn, &json!("a"), &json!(null)).unwrap());
        assert!(compare(Cmp::In, &json!(1), &json!("123")).is_err());
        assert!(compare(Cmp::In, &json!(1), &json!(5)).is_err());
    }

    #[test]
    fn string_shortcuts_agree_with_the_general_operators() {
        let values = [
            json!(null),
            json!(true),
            json!(1),
            json!(1.5),
            json!(""),
            json!("ab"),
            json!("aa"),
            json!("b"),
            json!("é"),
            json!("xaby"),
            json!(["ab", 1]),
            json!(["a"]),
            json!([]),
            json!({"ab": 1}),
            json!({"x": "ab"}),
        ];
        for s in ["", "ab", "a"] {
            let string = Value::String(s.to_owned());
            for v in &values {
                for op in [Cmp::Eq, Cmp::Is] {
                    assert_eq!(compare(op, v, &string).ok(), Some(equal_str(v, s)));
                    assert_eq!(compare(op, &string, v).ok(), Some(equal_str(v, s)));
                }
                for op in [Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge] {
                    match order_str(op, v, s, false) {
                        Some(r) => assert_eq!(compare(op, v, &string).ok(), Some(r)),
                        None => assert!(compare(op, v, &string).is_err(), "{v}"),
                    }
                    match order_str(op, v, s, true) {
                        Some(r) => assert_eq!(compare(op, &string, v).ok(), Some(r)),
                        None => assert!(compare(op, &string, v).is_err(), "{v}"),
                    }
                }
                match contains_str(v, s) {
                    Some(found) => assert_eq!(compare(Cmp::In, &string, v).ok(), Some(found)),
                    None => assert!(compare(Cmp::In, &string, v).is_err(), "{v}"),
                }
            }
        }
    }

    #[test]
    fn arithmetic_follows_python() {
        assert_eq!(arith(Arith::Add, &json!(2), &json!(3)).unwrap(), json!(5));
        assert_eq!(arith(Arith::Div, &json!(7), &json!(2)).unwrap(), json!(3.5));
        assert_eq!(
            arith(Arith::FloorDiv, &json!(-7), &json!(2)).unwrap(),
            json!(-4)
        );
        assert_eq!(arith(Arith::Mod, &json!(-7), &json!(3)).unwrap(), json!(2));
        assert_eq!(
            arith(Arith::Mod, &json!(7.5), &json!(-2)).unwrap(),
            json!(-0.5)
        );
        assert_eq!(
            arith(Arith::Mul, &json!(1.5), &json!(2)).unwrap(),
            json!(3.0)
        );
        assert_eq!(
            arith(Arith::Add, &json!("a"), &json!("b")).unwrap(),
            json!("ab")
        );
        assert_eq!(
            arith(Arith::Add, &json!([1]), &json!([2])).unwrap(),
            json!([1, 2])
        );
        assert!(arith(Arith::Div, &json!(1), &json!(0)).is_err());
        assert!(arith(Arith::Mod, &json!(1.0), &json!(0.0)).is_err());
        assert!(arith(Arith::Add, &json!(i64::MAX), &json!(1)).is_err());
        assert!(arith(Arith::FloorDiv, &json!(i64::MIN), &json!(-1)).is_err());
        assert_eq!(
            arith(Arith::Sub, &json!("a"), &json!(1))
                .unwrap_err()
                .message,
            "cannot apply '-' to string and int"
        );
    }

    #[test]
    fn unary_and_len() {
        assert_eq!(unary(&json!(3), true).unwrap(), json!(-3));
        assert_eq!(unary(&json!(1.5), false).unwrap(), json!(1.5));
        assert!(unary(&json!(i64::MIN), true).is_err());
        assert!(unary(&json!("x"), true).is_err());
        assert_eq!(len(&json!("héllo")).unwrap(), json!(5));
        assert_eq!(len(&json!([1, 2])).unwrap(), json!(2));
        assert_eq!(len(&json!({"a": 1})).unwrap(), json!(1));
        assert!(len(&json!(null)).is_err());
    }

    #[test]
    fn attribute_and_index_rules() {
        let v = json!({"a": {"b": 1}, "l": [10, 20, 30], "s": "héy"});
        assert_eq!(attr(&v, "a").unwrap(), &json!({"b": 1}));
        assert_eq!(attr(&v, "zz").unwrap(), &json!(null));
        assert_eq!(attr(&NULL, "zz").unwrap(), &json!(null));
        assert!(attr(&json!([1]), "x").is_err());
        let get = |t: &Value, i: Value| match index(t, &i).unwrap() {
            IndexResult::Borrowed(v) => v.clone(),
            IndexResult::Owned(v) => v,
        };
        assert_eq!(get(&v["l"], json!(-1)), json!(30));
        assert_eq!(get(&v["l"], json!(3)), json!(null));
        assert_eq!(get(&v["s"], json!(1)), json!("é"));
        assert_eq!(get(&v, json!("a")), json!({"b": 1}));
        assert!(index(&v["l"], &json!("x")).is_err());
        assert!(index(&v, &json!(0)).is_err());
        assert!(index(&json!(5), &json!(0)).is_err());
    }
}
