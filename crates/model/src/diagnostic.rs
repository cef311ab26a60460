//! Problems found while loading a BPMN document.

use crate::graph::Position;
use serde::Serialize;
use std::fmt;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The document cannot be run; `load` returns no definitions.
    Error,
    /// The document loads, but something is likely wrong or is ignored.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem, with a stable code (see `docs/validation-codes.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code such as `WL0006`.
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
    /// The BPMN element id the problem is about, when known.
    pub element_id: Option<String>,
    /// Where in the XML the problem is, when known.
    pub position: Option<Position>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.position {
            write!(f, "{}:{}: ", p.line, p.column)?;
        }
        write!(f, "{}[{}]: {}", self.severity, self.code, self.message)?;
        if let Some(id) = &self.element_id {
            write!(f, " (element '{id}')")?;
        }
        Ok(())
    }
}
