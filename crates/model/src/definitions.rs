//! The public entry points: [`load`], [`load_bytes`], and what they return.

use crate::codes;
use crate::diagnostic::{Diagnostic, Severity};
use crate::graph::ProcessGraph;
use crate::load_error::LoadError;
use crate::report::Report;
use crate::xml::tree::Element;
use std::sync::Arc;

/// A loaded BPMN document: every process compiled, plus the original XML.
#[derive(Debug, Clone)]
pub struct Definitions {
    id: Option<String>,
    name: Option<String>,
    target_namespace: Option<String>,
    processes: Vec<Arc<ProcessGraph>>,
    xml: Arc<str>,
}

impl Definitions {
    /// The `id` of `<definitions>`.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    /// The `name` of `<definitions>`.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// The `targetNamespace` of `<definitions>`.
    pub fn target_namespace(&self) -> Option<&str> {
        self.target_namespace.as_deref()
    }
    /// Every process, executable or not, in document order.
    pub fn processes(&self) -> &[Arc<ProcessGraph>] {
        &self.processes
    }
    /// The process with this id.
    pub fn process(&self, id: &str) -> Option<&Arc<ProcessGraph>> {
        self.processes.iter().find(|p| p.id == id)
    }
    /// The first process with `isExecutable` true (or absent).
    pub fn first_executable(&self) -> Option<&Arc<ProcessGraph>> {
        self.processes.iter().find(|p| p.is_executable)
    }
    /// The original XML text.
    pub fn xml(&self) -> &str {
        &self.xml
    }
    /// The original XML text, shared.
    pub fn xml_shared(&self) -> &Arc<str> {
        &self.xml
    }
}

/// The result of [`load`]: definitions when there is no error, and every
/// diagnostic (errors and warnings) in document order.
#[derive(Debug, Clone)]
pub struct LoadOutcome {
    /// `Some` iff `diagnostics` holds no error.
    pub definitions: Option<Definitions>,
    /// Errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadOutcome {
    /// The definitions, or every diagnostic as one [`LoadError`] when there
    /// is an error. Warnings of a document that loads are dropped (read
    /// [`LoadOutcome::diagnostics`] first to show them).
    pub fn into_result(self) -> Result<Definitions, LoadError> {
        match self.definitions {
            Some(d) if !self.has_errors() => Ok(d),
            _ => Err(LoadError::new(self.diagnostics)),
        }
    }

    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Parses, validates and compiles a BPMN document. Never panics.
pub fn load(source: &str) -> LoadOutcome {
    let (text, base) = match source.strip_prefix('\u{feff}') {
        Some(rest) => (rest, '\u{feff}'.len_utf8()),
        None => (source, 0),
    };
    let mut report = Report::new(source, base);
    let Some(doc) = crate::xml::reader::read(text, &mut report) else {
        return finish(report, None);
    };
    let Some(root) = doc.root() else {
        return finish(report, None);
    };
    crate::validate::ids::check(root, &mut report);
    let processes = processes(root, &mut report);
    if !processes.iter().any(|p| p.is_executable) {
        report.warning(
            codes::NO_EXECUTABLE_PROCESS,
            "the document has no executable process",
            root.id(),
            Some(root.offset),
        );
    }
    let defs = Definitions {
        id: root.id().map(str::to_string),
        name: root.attr("name").map(str::to_string),
        target_namespace: root.attr("targetNamespace").map(str::to_string),
        processes: processes.into_iter().map(Arc::new).collect(),
        xml: Arc::from(source),
    };
    finish(report, Some(defs))
}

/// Reads each process of `root`, then compiles it: the parse step fills a
/// builder, the compile step resolves it into a graph and runs the graph
/// checks when the process had no error so far.
fn processes<'t>(root: &'t Element<'t>, report: &mut Report<'_>) -> Vec<ProcessGraph> {
    let mut ctx = crate::parse::definitions::context(root, report);
    let mut graphs = Vec::new();
    for el in root.bpmn_children("process") {
        let errors_before = ctx.report.error_count();
        if let Some(parsed) = crate::parse::process::process(&mut ctx, el) {
            graphs.push(crate::compile::compile(ctx.report, parsed, errors_before));
        }
    }
    graphs
}

fn finish(report: Report<'_>, defs: Option<Definitions>) -> LoadOutcome {
    let has_errors = report.has_errors();
    let mut diagnostics = report.diagnostics;
    diagnostics.sort_by_key(|d| d.position.map(|p| (p.line, p.column)));
    LoadOutcome {
        definitions: if has_errors { None } else { defs },
        diagnostics,
    }
}

/// Like [`load`], for raw file bytes: UTF-8 (with or without byte-order
/// mark) is read as is; a document declaring ISO-8859-1 / windows-1252 that
/// is not valid UTF-8 is decoded as Latin-1 with a warning; anything else
/// that is not UTF-8 is an error.
pub fn load_bytes(bytes: &[u8]) -> LoadOutcome {
    match std::str::from_utf8(bytes) {
        Ok(s) => load(s),
        Err(e) => {
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).to_ascii_lowercase();
            let latin = ["iso-8859-1", "latin1", "windows-1252", "cp1252"]
                .iter()
                .any(|enc| {
                    head.contains(&format!("encoding=\"{enc}\""))
                        || head.contains(&format!("encoding='{enc}'"))
                });
            if latin {
                let text: String = bytes.iter().map(|&b| char::from(b)).collect();
                let mut out = load(&text);
                out.diagnostics.insert(
                    0,
                    Diagnostic {
                        severity: Severity::Warning,
                        code: codes::ENCODING,
                        message:
                            "the document is not UTF-8; it was decoded as ISO-8859-1 (Latin-1)"
                                .into(),
                        element_id: None,
                        position: None,
                    },
                );
                return out;
            }
            let at = e.valid_up_to();
            let before = &bytes[..at];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            LoadOutcome {
                definitions: None,
                diagnostics: vec![Diagnostic {
                    severity: Severity::Error,
                    code: codes::ENCODING,
                    message: format!("the document is not valid UTF-8 (byte {at})"),
                    element_id: None,
                    position: Some(crate::graph::Position {
                        line: u32::try_from(line).unwrap_or(u32::MAX),
                        column: u32::try_from(col).unwrap_or(u32::MAX),
                    }),
                }],
            }
        }
    }
}
