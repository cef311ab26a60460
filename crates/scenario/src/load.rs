//! Loading a BPMN file for running (read within
//! [`crate::bounded::BPMN_DOCUMENT`]): parse, pick the process, prepare the
//! engine's plan; and telling an *unsupported* element apart from an
//! *invalid* definition (scenarios treat them differently). The CLI's
//! runtime-backed verbs load their files with it too.

use crate::bounded::{BPMN_DOCUMENT, ReadError, read_bounded};
use std::path::Path;
use std::sync::Arc;
use thiserror::Error;
use windlass_engine::{Plan, PlanError};
use windlass_model::{Definitions, ProcessGraph, Severity, codes};

/// A process ready to run.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The whole document (its XML is what gets deployed).
    pub definitions: Definitions,
    /// The chosen process.
    pub graph: Arc<ProcessGraph>,
    /// The engine's plan of it.
    pub plan: Arc<Plan>,
    /// The other documents deployed with it (`windlass run A B`, a
    /// scenario's `deploy`), searched for callees after its own.
    pub deployed_with: Vec<Definitions>,
}

impl Loaded {
    /// Every document deployed: its own first, then the others.
    pub fn documents(&self) -> Vec<Definitions> {
        std::iter::once(self.definitions.clone())
            .chain(self.deployed_with.iter().cloned())
            .collect()
    }
}

/// Why a file cannot be run.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The file cannot be read.
    #[error("{path}: cannot read: {detail}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// The file is larger than [`BPMN_DOCUMENT`] allows (names the file and
    /// the limit).
    #[error(transparent)]
    TooLarge(ReadError),
    /// The engine or the loader does not implement an element.
    #[error("{path}: unsupported: {element}: {detail}")]
    Unsupported {
        /// The file.
        path: String,
        /// The element (id, or kind) not supported.
        element: String,
        /// What is not supported.
        detail: String,
    },
    /// The definition is invalid (every error diagnostic, one a line).
    #[error("{path}: invalid definition:\n{detail}")]
    Invalid {
        /// The file.
        path: String,
        /// The diagnostics or the plan error.
        detail: String,
    },
    /// The requested or an executable process is missing.
    #[error("{path}: {detail}")]
    NoProcess {
        /// The file.
        path: String,
        /// Which process is missing.
        detail: String,
    },
}

/// Reads `path` (at most [`BPMN_DOCUMENT`] bytes) and prepares
/// `process_id` (or the first executable process).
pub fn load_file(path: &Path, process_id: Option<&str>) -> Result<Loaded, LoadError> {
    let definitions = load_document(path)?;
    prepare(definitions, process_id, path)
}

/// Reads and loads the document at `path` (at most [`BPMN_DOCUMENT`]
/// bytes), every error diagnostic refusing it.
pub fn load_document(path: &Path) -> Result<Definitions, LoadError> {
    let shown = path.display().to_string();
    let bytes = read_bounded(path, BPMN_DOCUMENT).map_err(|e| match e {
        ReadError::Io { source, .. } => LoadError::Read {
            path: shown.clone(),
            detail: source.to_string(),
        },
        e @ ReadError::TooLarge { .. } => LoadError::TooLarge(e),
    })?;
    let outcome = windlass_model::load_bytes(&bytes);
    let errors: Vec<_> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if let Some(d) = errors.iter().find(|d| is_unsupported_code(d.code)) {
        return Err(LoadError::Unsupported {
            path: shown,
            element: d.element_id.clone().unwrap_or_else(|| d.code.to_string()),
            detail: d.message.clone(),
        });
    }
    outcome.definitions.ok_or_else(|| {
        let detail = errors
            .iter()
            .map(|d| format!("  {d}"))
            .collect::<Vec<_>>()
            .join("\n");
        LoadError::Invalid {
            path: shown,
            detail,
        }
    })
}

/// Picks `process_id` (or the first executable process) of the document
/// read from `path` and prepares the engine's plan of it.
pub fn prepare(
    definitions: Definitions,
    process_id: Option<&str>,
    path: &Path,
) -> Result<Loaded, LoadError> {
    let shown = path.display().to_string();
    let graph = match process_id {
        Some(id) => definitions
            .process(id)
            .cloned()
            .ok_or_else(|| LoadError::NoProcess {
                path: shown.clone(),
                detail: format!("no process with id '{id}'"),
            })?,
        None => definitions
            .first_executable()
            .cloned()
            .ok_or_else(|| LoadError::NoProcess {
                path: shown.clone(),
                detail: "no executable process (isExecutable=\"true\")".into(),
            })?,
    };
    let plan = Plan::new(Arc::clone(&graph)).map_err(|e| match e {
        PlanError::Unsupported { element, what } => LoadError::Unsupported {
            path: shown.clone(),
            element,
            detail: what,
        },
        PlanError::Invalid { .. } => LoadError::Invalid {
            path: shown.clone(),
            detail: format!("  {e}"),
        },
    })?;
    Ok(Loaded {
        definitions,
        graph,
        plan: Arc::new(plan),
        deployed_with: Vec::new(),
    })
}

fn is_unsupported_code(code: &str) -> bool {
    code == codes::UNSUPPORTED_ELEMENT || code == codes::UNSUPPORTED_LANGUAGE
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(
            &p,
            format!(
                r#"<?xml version="1.0"?><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">{body}</definitions>"#
            ),
        )
        .unwrap();
        p
    }

    #[test]
    fn a_simple_process_loads_and_a_missing_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "a.bpmn",
            r#"<process id="p" isExecutable="true"><startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="e"/><endEvent id="e"/></process>"#,
        );
        let l = load_file(&p, None).unwrap();
        assert_eq!(l.graph.id, "p");
        let e = load_file(&p, Some("q")).unwrap_err().to_string();
        assert!(e.contains("no process with id 'q'"), "{e}");
    }

    #[test]
    fn broken_files_are_invalid_and_missing_files_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("broken.bpmn");
        std::fs::write(&p, "<definitions").unwrap();
        assert!(matches!(
            load_file(&p, None),
            Err(LoadError::Invalid { .. })
        ));
        let missing = dir.path().join("nope.bpmn");
        assert!(matches!(
            load_file(&missing, None),
            Err(LoadError::Read { .. })
        ));
    }

    #[test]
    fn an_endless_stream_is_too_large_not_read_to_the_end() {
        let e = load_file(Path::new("/dev/zero"), None).unwrap_err();
        assert!(matches!(e, LoadError::TooLarge(_)), "{e}");
        assert_eq!(
            e.to_string(),
            "/dev/zero is larger than 64 MiB, the limit for BPMN documents"
        );
    }
}
