//! Helpers shared by the end-to-end tests that drive the real `windlass`
//! binary: running it, reading its output, and the example files.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the binary with `args` and waits for it.
pub fn windlass(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(args)
        .output()
        .expect("run windlass")
}

/// Stdout followed by stderr, for assertions and failure messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Stdout parsed as JSON; panics with the output when it is not.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

/// The certificate-renewal example process.
pub fn renewal() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/certificate-renewal.bpmn")
}

/// A path as `&str` (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
