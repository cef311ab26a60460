//! The fast path of the value checks: an upper bound of a value's JSON size,
//! found without reading the bytes of its strings.
//!
//! Every value that is recorded is checked, most of them small and shallow
//! (a number, a short string, a small object), and several times on their
//! way (the runtime's intake, the engine's entry points, the backstop on every
//! event). Counting each string's escapes byte by byte made those checks cost
//! more than the rest of a simple instance's decision; a string's JSON text
//! is at most six bytes per byte plus its quotes, and an integer's digits are
//! found with one logarithm, so a value whose bound fits is accepted at once.
//! Only a value whose bound exceeds a limit is measured exactly (which the
//! limit is defined on), so the outcome is the exact check's in every case.

use super::values::MAX_VALUE_DEPTH;
use serde_json::Value;

/// The longest JSON text of an integer (`-9223372036854775808`,
/// `18446744073709551615`).
const MAX_INTEGER_LEN: usize = 20;
/// The longest JSON text of a float as `serde_json` writes it (the shortest
/// form that reads back exactly, e.g. `-2.2250738585072014e-308`). This holds
/// while `serde_json`'s `arbitrary_precision` feature is off, which keeps
/// numbers as their text; a test fails if it is turned on.
const MAX_FLOAT_LEN: usize = 24;

/// An upper bound of the length of `s` as a JSON string literal: every byte
/// takes at most six (`\u001f`), plus the quotes.
pub(super) fn string_bound(s: &str) -> usize {
    s.len().saturating_mul(6).saturating_add(2)
}

/// An upper bound of the JSON size of `value` when it nests no deeper than
/// [`MAX_VALUE_DEPTH`]; `None` when it nests deeper. The recursion is bounded
/// by the depth limit, so any value is safe to pass.
pub(super) fn value_bound(value: &Value) -> Option<usize> {
    bound(value, MAX_VALUE_DEPTH)
}

/// [`value_bound`] with `levels` of arrays and objects still allowed.
fn bound(value: &Value, levels: usize) -> Option<usize> {
    Some(match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(n) if n.is_f64() => MAX_FLOAT_LEN,
        Value::Number(_) => MAX_INTEGER_LEN,
        Value::String(s) => string_bound(s),
        Value::Array(items) => {
            let levels = levels.checked_sub(1)?;
            let mut b = 2 + items.len();
            for v in items {
                b = b.saturating_add(bound(v, levels)?);
            }
            b
        }
        Value::Object(map) => {
            let levels = levels.checked_sub(1)?;
            let mut b = 2 + map.len();
            for (k, v) in map {
                b = b
                    .saturating_add(string_bound(k))
                    .saturating_add(1)
                    .saturating_add(bound(v, levels)?);
            }
            b
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::limits::values::measure;
    use serde_json::json;

    fn nested(depth: usize) -> Value {
        (0..depth).fold(json!(0), |v, _| Value::Array(vec![v]))
    }

    #[test]
    fn the_bound_is_never_below_the_exact_size() {
        for v in [
            json!(null),
            json!(false),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(-1.7976931348623157e308),
            json!(""),
            json!("\u{1}\u{1f}\"\\é"),
            json!([]),
            json!({}),
            json!([1, [2, {"k\t\u{0}": [null, "x"]}], {}]),
            json!({"a": 1, "b": {"c": [true, false, "\n\n"]}}),
            nested(MAX_VALUE_DEPTH),
        ] {
            let exact = measure(&v).bytes;
            let b = value_bound(&v).unwrap();
            assert!(b >= exact, "{v}: bound {b} < exact {exact}");
        }
    }

    #[test]
    fn numbers_are_never_longer_than_their_bound() {
        let extremes = [
            "-9223372036854775808",
            "18446744073709551615",
            "-1.7976931348623157e308",
            "-2.2250738585072014e-308",
            "-5e-324",
            "-0.1234567890123456789012345678901234567890",
            "123456789012345678901234567890123456789012345",
        ];
        for text in extremes {
            let v: Value = serde_json::from_str(text).unwrap();
            let exact = serde_json::to_string(&v).unwrap().len();
            let b = value_bound(&v).unwrap();
            assert!(
                b >= exact,
                "{text} is written as {v} ({exact} bytes), bound {b}"
            );
        }
    }

    #[test]
    fn the_bound_refuses_exactly_the_values_nested_too_deep() {
        assert!(value_bound(&nested(MAX_VALUE_DEPTH)).is_some());
        assert!(value_bound(&nested(MAX_VALUE_DEPTH + 1)).is_none());
        let deep_in_object = json!({"a": [1, {"b": nested(MAX_VALUE_DEPTH - 2)}]});
        assert_eq!(measure(&deep_in_object).depth, MAX_VALUE_DEPTH + 1);
        assert!(value_bound(&deep_in_object).is_none());
        // Deeper than the recursion may go: it stops at the limit.
        assert!(value_bound(&nested(2_000)).is_none());
    }
}
