//! The conditions and templates of the model crate's generated benchmark
//! document (`crates/model/benches/support/generated.rs`): per task `i`, a
//! compat condition `x >= {i} && y != "z"`, a name `Step {i} for
//! {event.name}` and a setting `echo {x} {i}`.

/// The `n` compat-dialect flow conditions.
pub fn conditions(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("x >= {i} && y != \"z\"")).collect()
}

/// The `2 n` templates (a name and a setting per task).
pub fn templates(n: usize) -> Vec<String> {
    (0..n)
        .flat_map(|i| {
            [
                format!("Step {i} for {{event.name}}"),
                format!("echo {{x}} {i}"),
            ]
        })
        .collect()
}
