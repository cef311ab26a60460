//! The one limit on variable values: how deep a value may nest and how many
//! bytes its JSON text may take.
//!
//! Every value that enters an instance (start input, job and mock outputs,
//! script results, mappings) is checked here before it is committed, so
//! nothing is ever stored that the decoders cannot read back. The depth limit
//! sits well inside what the decoder accepts: histories and outbox rows carry
//! variables as JSON text, which `serde_json` parses up to
//! [`DECODER_MAX_DEPTH`] levels, and a variable map adds one or two levels
//! around each value.
//!
//! Depth counts arrays and objects: a scalar has depth 0, `[]` and `{}` have
//! depth 1, `[[1]]` has depth 2. Size is the length of the compact JSON text
//! (as `serde_json::to_string` writes it).

use super::bound;
use crate::Vars;
use serde_json::Value;
use thiserror::Error;

/// How deep one variable value may nest (arrays and objects).
pub const MAX_VALUE_DEPTH: usize = 64;
/// How many bytes one variable value's JSON text may take (4 MiB).
pub const MAX_VALUE_BYTES: usize = 4 * 1024 * 1024;
/// How many bytes the variables set together (one start input, one job's
/// outputs, one event's map) may take as JSON text (16 MiB).
pub const MAX_VARS_BYTES: usize = 16 * 1024 * 1024;
/// The nesting `serde_json` refuses to parse beyond (its default recursion
/// limit): a value deeper than this cannot be read back at all.
pub const DECODER_MAX_DEPTH: usize = 128;

/// A value (or a set of values) over the limit: what, which limit, by how
/// much and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueLimitError {
    /// A value nests deeper than [`MAX_VALUE_DEPTH`].
    #[error(
        "variable '{name}' is nested {depth} levels deep, {} over the limit of {limit} levels",
        depth - limit
    )]
    TooDeep {
        /// The variable.
        name: String,
        /// Its depth.
        depth: usize,
        /// The limit it exceeds.
        limit: usize,
    },
    /// A value's JSON text is longer than [`MAX_VALUE_BYTES`].
    #[error(
        "variable '{name}' takes {bytes} bytes as JSON, {} over the limit of {limit} bytes",
        bytes - limit
    )]
    TooLarge {
        /// The variable.
        name: String,
        /// Its JSON size.
        bytes: usize,
        /// The limit it exceeds.
        limit: usize,
    },
    /// Variables set together are longer than [`MAX_VARS_BYTES`].
    #[error(
        "the variables set together take {bytes} bytes as JSON, {} over the limit of {limit} bytes",
        bytes - limit
    )]
    VarsTooLarge {
        /// Their JSON size (the whole map).
        bytes: usize,
        /// The limit it exceeds.
        limit: usize,
    },
}

impl ValueLimitError {
    /// The variable named by the error, if one is.
    pub fn variable(&self) -> Option<&str> {
        match self {
            ValueLimitError::TooDeep { name, .. } | ValueLimitError::TooLarge { name, .. } => {
                Some(name)
            }
            ValueLimitError::VarsTooLarge { .. } => None,
        }
    }
}

/// The depth and JSON size of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ValueSize {
    /// Nesting of arrays and objects (a scalar is 0).
    pub depth: usize,
    /// Length of the compact JSON text.
    pub bytes: usize,
}

/// Measures `value` without recursion (any depth is safe) and without
/// allocating its text.
pub fn measure(value: &Value) -> ValueSize {
    enum Frame<'a> {
        Array(std::slice::Iter<'a, Value>),
        Object(serde_json::map::Iter<'a>),
    }
    let mut size = ValueSize::default();
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut next = Some(value);
    loop {
        if let Some(v) = next.take() {
            match v {
                Value::Null | Value::Bool(true) => size.bytes += 4,
                Value::Bool(false) => size.bytes += 5,
                Value::Number(n) => size.bytes += number_len(n),
                Value::String(s) => size.bytes += string_len(s),
                Value::Array(items) => {
                    size.bytes += 2 + items.len().saturating_sub(1);
                    stack.push(Frame::Array(items.iter()));
                    size.depth = size.depth.max(stack.len());
                }
                Value::Object(map) => {
                    size.bytes += 2 + map.len().saturating_sub(1);
                    stack.push(Frame::Object(map.iter()));
                    size.depth = size.depth.max(stack.len());
                }
            }
        }
        match stack.last_mut() {
            None => return size,
            Some(Frame::Array(it)) => match it.next() {
                Some(v) => next = Some(v),
                None => {
                    stack.pop();
                }
            },
            Some(Frame::Object(it)) => match it.next() {
                Some((k, v)) => {
                    size.bytes += string_len(k) + 1;
                    next = Some(v);
                }
                None => {
                    stack.pop();
                }
            },
        }
    }
}

/// Checks one variable against [`MAX_VALUE_DEPTH`] and [`MAX_VALUE_BYTES`].
pub fn check_value(name: &str, value: &Value) -> Result<ValueSize, ValueLimitError> {
    let size = measure(value);
    if size.depth > MAX_VALUE_DEPTH {
        return Err(ValueLimitError::TooDeep {
            name: name.to_string(),
            depth: size.depth,
            limit: MAX_VALUE_DEPTH,
        });
    }
    if size.bytes > MAX_VALUE_BYTES {
        return Err(ValueLimitError::TooLarge {
            name: name.to_string(),
            bytes: size.bytes,
            limit: MAX_VALUE_BYTES,
        });
    }
    Ok(size)
}

/// Checks one variable like [`check_value`], without measuring it exactly
/// when an upper bound of its size already fits (the common case): the
/// outcome is the same, only cheaper.
pub fn check_value_fits(name: &str, value: &Value) -> Result<(), ValueLimitError> {
    match bound::value_bound(value) {
        Some(b) if b <= MAX_VALUE_BYTES => Ok(()),
        _ => check_value(name, value).map(drop),
    }
}

/// Checks every variable of `vars` ([`check_value`]) and the whole map
/// against [`MAX_VARS_BYTES`]; the first problem found is returned.
///
/// Values are measured exactly only when an upper bound of their sizes
/// exceeds a limit (an upper bound counts six bytes for every byte of a
/// string), so a map that fits costs about one pass over its structure, not
/// over every byte of its strings; an empty map (most job outputs) costs
/// nothing.
pub fn check_vars(vars: &Vars) -> Result<(), ValueLimitError> {
    if vars.is_empty() {
        return Ok(());
    }
    match vars_bound(vars) {
        Some(b) if b <= MAX_VARS_BYTES => Ok(()),
        _ => check_vars_exactly(vars),
    }
}

/// An upper bound of the JSON size of `vars` when every value's bound fits
/// the per-value limits; `None` when one does not.
fn vars_bound(vars: &Vars) -> Option<usize> {
    let mut total = 2 + vars.len();
    for (name, value) in vars {
        let b = bound::value_bound(value).filter(|b| *b <= MAX_VALUE_BYTES)?;
        total = total
            .saturating_add(bound::string_bound(name))
            .saturating_add(1 + b);
    }
    Some(total)
}

/// [`check_vars`] measuring every value exactly (the sizes the errors name).
fn check_vars_exactly(vars: &Vars) -> Result<(), ValueLimitError> {
    let mut bytes = 2 + vars.len().saturating_sub(1);
    for (name, value) in vars {
        bytes += string_len(name) + 1 + check_value(name, value)?.bytes;
    }
    if bytes > MAX_VARS_BYTES {
        return Err(ValueLimitError::VarsTooLarge {
            bytes,
            limit: MAX_VARS_BYTES,
        });
    }
    Ok(())
}

/// The nesting of JSON `text` (arrays and objects, strings skipped), read
/// without parsing: lets a decoder tell a value too deep to parse from
/// damaged bytes. Malformed text gives a best-effort answer.
pub fn text_depth(text: &str) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Length of `s` as a JSON string literal (quotes and escapes included).
fn string_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// Decimal digits of `u` (1 for 0).
fn digits(u: u64) -> usize {
    u.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Length of a number's JSON text (its `Display` form, which is what
/// `serde_json` writes), counted without allocating.
pub(super) fn number_len(n: &serde_json::Number) -> usize {
    // Integers (most numbers in process variables) by their digits; the
    // formatter only for floats.
    if let Some(u) = n.as_u64() {
        return digits(u);
    }
    if let Some(i) = n.as_i64() {
        return 1 + digits(i.unsigned_abs());
    }
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut c = Count(0);
    // Writing into a counter cannot fail.
    let _ = std::fmt::write(&mut c, format_args!("{n}"));
    c.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(depth: usize) -> Value {
        let mut v = json!(0);
        for _ in 0..depth {
            v = Value::Array(vec![v]);
        }
        v
    }

    #[test]
    fn sizes_match_serde_json_text() {
        for v in [
            json!(null),
            json!(true),
            json!(false),
            json!(-12),
            json!(0),
            json!(9),
            json!(10),
            json!(i64::MIN),
            json!(18446744073709551615u64),
            json!(1.5e300),
            json!(0.1),
            json!("a\"b\\c\n\u{1}\u{7f}é"),
            json!([]),
            json!({}),
            json!([1, [2, {"k\t": [null, "x"]}], {}]),
            json!({"a": 1, "b": {"c": [true, false]}}),
        ] {
            let want = serde_json::to_string(&v).unwrap().len();
            assert_eq!(measure(&v).bytes, want, "{v}");
        }
    }

    #[test]
    fn depth_counts_arrays_and_objects() {
        assert_eq!(measure(&json!(1)).depth, 0);
        assert_eq!(measure(&json!([])).depth, 1);
        assert_eq!(measure(&json!([[1], {"a": {"b": []}}])).depth, 4);
        // Measuring is iterative (dropping a very deep value is not, so 2,000).
        assert_eq!(measure(&nested(2_000)).depth, 2_000);
    }

    #[test]
    fn deep_values_are_refused_with_name_limit_and_excess() {
        assert!(check_value("b", &nested(MAX_VALUE_DEPTH)).is_ok());
        let err = check_value("b", &nested(MAX_VALUE_DEPTH + 3)).unwrap_err();
        assert_eq!(
            err,
            ValueLimitError::TooDeep {
                name: "b".into(),
                depth: MAX_VALUE_DEPTH + 3,
                limit: MAX_VALUE_DEPTH
            }
        );
        assert_eq!(
            err.to_string(),
            "variable 'b' is nested 67 levels deep, 3 over the limit of 64 levels"
        );
        assert_eq!(err.variable(), Some("b"));
    }

    #[test]
    fn large_values_and_maps_are_refused() {
        let big = Value::String("x".repeat(MAX_VALUE_BYTES));
        let err = check_value("blob", &big).unwrap_err();
        assert!(
            err.to_string()
                .contains("'blob' takes 4194306 bytes as JSON, 2 over the limit of 4194304"),
            "{err}"
        );
        let fits = Value::String("x".repeat(MAX_VALUE_BYTES - 2));
        assert!(check_value("v", &fits).is_ok());
        let vars: Vars = (0..4).map(|i| (format!("v{i}"), fits.clone())).collect();
        let err = check_vars(&vars).unwrap_err();
        assert!(matches!(err, ValueLimitError::VarsTooLarge { .. }), "{err}");
        assert_eq!(err.variable(), None);
        let want = serde_json::to_string(&vars).unwrap().len();
        assert_eq!(
            err,
            ValueLimitError::VarsTooLarge {
                bytes: want,
                limit: MAX_VARS_BYTES
            }
        );
    }

    /// Both checks of one value and of a map holding it (under "v") agree
    /// with the exact measurement; returns the outcome.
    fn agrees(v: &Value) -> Result<(), ValueLimitError> {
        let exact = check_value("v", v).map(drop);
        assert_eq!(check_value_fits("v", v), exact);
        let vars = Vars::from_iter([("v".to_string(), v.clone())]);
        assert_eq!(check_vars(&vars), check_vars_exactly(&vars));
        exact
    }

    #[test]
    fn the_fast_checks_decide_as_the_exact_ones_at_the_limits() {
        let n = MAX_VALUE_BYTES;
        // Plain text: the bound (six bytes a byte) exceeds the limit, the text fits.
        assert!(agrees(&Value::String("x".repeat(n - 2))).is_ok());
        assert!(agrees(&Value::String("x".repeat(n - 1))).is_err());
        // Control characters: the bound is exact.
        assert!(agrees(&Value::String("\u{1}".repeat((n - 2) / 6))).is_ok());
        assert!(agrees(&Value::String("\u{1}".repeat((n - 2) / 6 + 1))).is_err());
        assert!(agrees(&Value::String("\"".repeat((n - 2) / 2))).is_ok());
        assert!(agrees(&Value::String("\"".repeat((n - 2) / 2 + 1))).is_err());
        assert!(agrees(&nested(MAX_VALUE_DEPTH)).is_ok());
        assert!(agrees(&nested(MAX_VALUE_DEPTH + 1)).is_err());
        assert!(agrees(&json!({"a": [1.5, -2, "é\n", {"b": null}], "c": true})).is_ok());
        // Maps: every value fits, the bound of the whole exceeds, the text
        // fits or not.
        let map = |count: usize, value: &Value| -> Vars {
            (0..count)
                .map(|i| (format!("v{i}"), value.clone()))
                .collect()
        };
        let plain = Value::String("x".repeat((MAX_VARS_BYTES - 33) / 4));
        let ctrl = Value::String("\u{1}".repeat(600_000));
        for (vars, fits) in [
            (map(4, &plain), true),
            (map(5, &plain), false),
            (map(4, &ctrl), true),
            (map(5, &ctrl), false),
        ] {
            let exact = check_vars_exactly(&vars);
            assert_eq!(exact.is_ok(), fits);
            assert_eq!(check_vars(&vars), exact);
        }
    }

    #[test]
    fn a_map_of_values_at_the_limit_still_parses() {
        // The limit leaves room for the map (and the record) around a value.
        let mut vars = Vars::new();
        vars.insert("b".into(), nested(MAX_VALUE_DEPTH));
        assert!(check_vars(&vars).is_ok());
        let text = serde_json::to_string(&json!({"outer": vars})).unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_ok());
        assert!(text_depth(&text) < DECODER_MAX_DEPTH);
        let too_deep = serde_json::to_string(&nested(DECODER_MAX_DEPTH)).unwrap();
        assert!(serde_json::from_str::<Value>(&too_deep).is_err());
    }

    #[test]
    fn text_depth_skips_strings() {
        assert_eq!(text_depth(r#"{"a":"[[[\"{{"}"#), 1);
        assert_eq!(text_depth("[[1],[[2]]]"), 3);
        assert_eq!(text_depth(""), 0);
        assert_eq!(text_depth("]]]["), 1);
    }
}
