//! Collects diagnostics while loading, turning byte offsets into positions.

use crate::diagnostic::{Diagnostic, Severity};
use crate::graph::Position;
use crate::xml::position::LineIndex;

/// The diagnostics of one load, with the source's line index.
#[derive(Debug)]
pub struct Report<'s> {
    lines: LineIndex<'s>,
    /// Base added to every offset (e.g. a stripped byte-order mark).
    base: usize,
    /// Everything reported so far.
    pub diagnostics: Vec<Diagnostic>,
}

impl<'s> Report<'s> {
    /// An empty report over `source`; offsets given later are relative to
    /// `source[base..]`.
    pub fn new(source: &'s str, base: usize) -> Self {
        Report {
            lines: LineIndex::new(source),
            base,
            diagnostics: Vec::new(),
        }
    }

    /// The line/column of a byte offset.
    pub fn position(&self, offset: usize) -> Position {
        self.lines.position(offset + self.base)
    }

    /// Adds a diagnostic.
    pub fn push(
        &mut self,
        severity: Severity,
        code: &'static str,
        message: impl Into<String>,
        element_id: Option<&str>,
        offset: Option<usize>,
    ) {
        let position = offset.map(|o| self.position(o));
        self.diagnostics.push(Diagnostic {
            severity,
            code,
            message: message.into(),
            element_id: element_id.map(str::to_string),
            position,
        });
    }

    /// Adds an error.
    pub fn error(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        element_id: Option<&str>,
        offset: Option<usize>,
    ) {
        self.push(Severity::Error, code, message, element_id, offset);
    }

    /// Adds a warning.
    pub fn warning(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        element_id: Option<&str>,
        offset: Option<usize>,
    ) {
        self.push(Severity::Warning, code, message, element_id, offset);
    }

    /// Adds a diagnostic at an already computed position.
    pub fn push_at(
        &mut self,
        severity: Severity,
        code: &'static str,
        message: impl Into<String>,
        element_id: Option<&str>,
        position: Position,
    ) {
        self.diagnostics.push(Diagnostic {
            severity,
            code,
            message: message.into(),
            element_id: element_id.map(str::to_string),
            position: Some(position),
        });
    }

    /// How many errors were reported so far.
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// True when any error was reported.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}
