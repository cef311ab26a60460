//! Masking by name: a value stored under a name that says it is secret
//! (`password`, `dbSecret`, `apiToken`, `api_key`, `credentials`,
//! `privateKey`, …) is shown as [`MASK`] wherever instance data is shown to
//! a person — history lines, the instance views of the API, the CLI and
//! the web UI. The value itself stays in the instance's variables, so the
//! tasks that need it can use it.
//!
//! The rule is on the name, not the value, so it holds for values Windlass
//! never saw as secrets (a token a user's own task returns) and for values
//! it put there knowing they are (`kubernetes.values` with `kind` =
//! `Secret`, which only writes under such a name).

use serde_json::Value;
use windlass_types::Vars;

/// What a masked value is replaced with.
pub const MASK: &str = "•••••• (masked)";

/// The words that make a name secret, compared lower-cased with `-` and `_`
/// removed (so `api_key`, `API-Key` and `apiKey` all match `apikey`).
const WORDS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "token",
    "apikey",
    "credential",
    "privatekey",
];

/// Whether values under `name` are masked.
pub fn is_secret_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    WORDS.iter().any(|w| folded.contains(w))
}

/// `value` with every member whose name is secret masked, at any depth
/// (inside objects and arrays).
pub fn mask_value(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), mask_member(k, v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask_value).collect()),
        other => other.clone(),
    }
}

/// `vars` with every variable (and nested member) whose name is secret
/// masked.
pub fn mask_vars(vars: &Vars) -> Vars {
    vars.iter()
        .map(|(k, v)| (k.clone(), mask_member(k, v)))
        .collect()
}

fn mask_member(name: &str, value: &Value) -> Value {
    if is_secret_name(name) {
        Value::String(MASK.to_string())
    } else {
        mask_value(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_names_are_recognised_in_any_spelling() {
        for name in [
            "password",
            "dbPassword",
            "DB_PASSWD",
            "apiToken",
            "api_key",
            "API-Key",
            "credentials",
            "private_key",
            "dbSecret",
            "secret",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["name", "replicas", "key", "apiVersion", "private", "pass"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn values_under_secret_names_are_masked_at_any_depth() {
        let vars: Vars = json!({
            "user": "ada",
            "dbSecret": {"username": "ada", "password": "hunter2"},
            "items": [{"token": "t1", "id": 1}],
            "config": {"apiKey": ["k"], "port": 5432}
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        let masked = Value::Object(mask_vars(&vars));
        assert_eq!(
            masked,
            json!({
                "user": "ada",
                "dbSecret": MASK,
                "items": [{"token": MASK, "id": 1}],
                "config": {"apiKey": MASK, "port": 5432}
            })
        );
        assert_eq!(mask_value(&json!("plain")), json!("plain"));
    }
}
