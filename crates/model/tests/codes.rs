//! Every validation code has a fixture that produces it, and every code is
//! documented in docs/validation-codes.md.

use std::collections::BTreeSet;
use windlass_model::{codes, load_bytes};

fn fixtures() -> Vec<(String, std::path::PathBuf)> {
    let dir = format!("{}/tests/fixtures/codes", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            (
                p.file_name().expect("name").to_string_lossy()[..6].to_string(),
                p,
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn each_fixture_produces_its_code() {
    let mut failures = Vec::new();
    for (code, path) in fixtures() {
        if codes::FROM_ENGINE.contains(&code.as_str()) {
            // Produced by the engine's plan through `windlass validate`
            // (crates/cli/tests/validate_plan_cli.rs); `load` accepts it.
            let out = load_bytes(&std::fs::read(&path).expect("read"));
            assert!(
                !out.has_errors(),
                "{}: {:#?}",
                path.display(),
                out.diagnostics
            );
            continue;
        }
        let out = load_bytes(&std::fs::read(&path).expect("read"));
        if !out.diagnostics.iter().any(|d| d.code == code) {
            failures.push(format!(
                "{}: expected {code}, got {:#?}",
                path.display(),
                out.diagnostics
            ));
        }
        // Errors and warnings are distinct: definitions only without errors.
        assert_eq!(
            out.definitions.is_some(),
            !out.has_errors(),
            "{}",
            path.display()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_code_has_a_fixture_and_a_doc_entry() {
    let have: BTreeSet<String> = fixtures().into_iter().map(|(c, _)| c).collect();
    let doc_path = format!(
        "{}/../../docs/validation-codes.md",
        env!("CARGO_MANIFEST_DIR")
    );
    let doc = std::fs::read_to_string(&doc_path).expect("docs/validation-codes.md");
    let documented: BTreeSet<String> = doc
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| {
            w.len() == 6 && w.starts_with("WL") && w[2..].bytes().all(|b| b.is_ascii_digit())
        })
        .map(str::to_string)
        .collect();
    for (code, meaning) in codes::ALL {
        assert!(have.contains(*code), "no fixture for {code} ({meaning})");
        assert!(
            documented.contains(*code),
            "{code} is not in docs/validation-codes.md"
        );
    }
    for code in &documented {
        assert!(have.contains(code), "documented {code} has no fixture");
    }
}
