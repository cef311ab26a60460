//! Proptest strategies for JSON values: random trees, values wrapped to a
//! chosen depth (some beyond the value limit) and strings around the size
//! limit. Shared with the store round-trip tests (included by path).
#![allow(dead_code)]

use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use windlass_types::Vars;
use windlass_types::limits::{MAX_VALUE_BYTES, MAX_VALUE_DEPTH};

/// Scalars of every JSON kind, strings with any characters.
pub fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        any::<String>().prop_map(Value::String),
    ]
}

/// Random trees of arrays and objects (up to 8 levels).
pub fn tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(8, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A tree wrapped in `levels` arrays or one-key objects (chosen by `bits`).
pub fn wrap(mut v: Value, levels: usize, bits: u64) -> Value {
    for i in 0..levels {
        v = if bits >> (i % 64) & 1 == 0 {
            Value::Array(vec![v])
        } else {
            Value::Object(Map::from_iter([(format!("k{i}"), v)]))
        };
    }
    v
}

/// Values from shallow to well past [`MAX_VALUE_DEPTH`] (up to 1.5 times it,
/// still within what the JSON reader accepts).
pub fn deep() -> impl Strategy<Value = Value> {
    (
        tree(),
        0..MAX_VALUE_DEPTH + MAX_VALUE_DEPTH / 2,
        any::<u64>(),
    )
        .prop_map(|(v, levels, bits)| wrap(v, levels, bits))
}

/// Strings just under, at and just over [`MAX_VALUE_BYTES`] (the JSON text
/// adds two quotes).
pub fn large() -> impl Strategy<Value = Value> {
    (MAX_VALUE_BYTES - 8..MAX_VALUE_BYTES + 4).prop_map(|n| Value::String("x".repeat(n)))
}

/// Random trees, shallow or deep.
pub fn value() -> impl Strategy<Value = Value> {
    prop_oneof![tree(), deep()]
}

/// One to three variables with such values.
pub fn vars() -> impl Strategy<Value = Vars> {
    prop::collection::vec(("[a-z]{1,6}", value()), 1..4)
        .prop_map(|kv| kv.into_iter().collect::<Vars>())
}

/// One to three variables, one of them a string around the size limit (a
/// few MiB: use few cases).
pub fn large_vars() -> impl Strategy<Value = Vars> {
    (vars(), "[a-z]{1,6}", large()).prop_map(|(mut vars, name, big)| {
        vars.insert(name, big);
        vars
    })
}
