//! Shared output of model diagnostics: `FILE:LINE:COL: error[CODE]: message
//! (element 'ID')` lines, or JSON objects.

use serde::Serialize;
use std::path::Path;
use windlass_model::{Diagnostic, Severity};

/// `--format` of `validate` and `inspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Text,
    /// JSON.
    Json,
}

/// One diagnostic line in the compiler-like text form.
pub fn line(file: &Path, d: &Diagnostic) -> String {
    let (l, c) = d.position.map_or((0, 0), |p| (p.line, p.column));
    let mut s = format!(
        "{}:{l}:{c}: {}[{}]: {}",
        file.display(),
        d.severity,
        d.code,
        d.message
    );
    if let Some(id) = &d.element_id {
        s.push_str(&format!(" (element '{id}')"));
    }
    s
}

/// A file's diagnostics as JSON.
#[derive(Debug, Serialize)]
pub struct FileReport<'a> {
    /// The file as given.
    pub file: String,
    /// True when the file loaded (no error).
    pub valid: bool,
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
    /// Every diagnostic.
    pub diagnostics: &'a [Diagnostic],
}

impl<'a> FileReport<'a> {
    /// Summarises `diagnostics` of `file`.
    pub fn new(file: &Path, diagnostics: &'a [Diagnostic]) -> Self {
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        FileReport {
            file: file.display().to_string(),
            valid: errors == 0,
            errors,
            warnings: diagnostics.len() - errors,
            diagnostics,
        }
    }
}
