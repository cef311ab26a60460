//! [`LoadError`]: a document that did not load, as one typed error — what
//! [`LoadOutcome::into_result`](crate::LoadOutcome::into_result) returns
//! for callers that only need "the definitions, or why not".

use crate::codes;
use crate::diagnostic::{Diagnostic, Severity};

/// Why a document did not load: its error diagnostics (and the warnings
/// beside them), in document order. Displayed as the errors joined by `"; "`,
/// each as `LINE:COL: error[CODE]: message (element 'ID')`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", joined(&self.errors))]
pub struct LoadError {
    /// The errors; not empty for an outcome of [`crate::load`].
    pub errors: Vec<Diagnostic>,
    /// The warnings of the same document.
    pub warnings: Vec<Diagnostic>,
}

impl LoadError {
    /// Splits `diagnostics` into errors and warnings.
    pub fn new(diagnostics: Vec<Diagnostic>) -> LoadError {
        let (errors, warnings) = diagnostics
            .into_iter()
            .partition(|d| d.severity == Severity::Error);
        LoadError { errors, warnings }
    }

    /// The first error saying that Windlass does not support an element
    /// ([`codes::UNSUPPORTED_ELEMENT`]) or an expression language
    /// ([`codes::UNSUPPORTED_LANGUAGE`]), if any: the document may be
    /// valid BPMN that Windlass cannot run.
    pub fn unsupported(&self) -> Option<&Diagnostic> {
        self.errors
            .iter()
            .find(|d| d.code == codes::UNSUPPORTED_ELEMENT || d.code == codes::UNSUPPORTED_LANGUAGE)
    }
}

/// The errors joined by `"; "`.
fn joined(errors: &[Diagnostic]) -> String {
    if errors.is_empty() {
        return "the document did not load".to_string();
    }
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
