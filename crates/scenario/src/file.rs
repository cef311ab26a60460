//! Scenario files: a BPMN process, its input, task mocks and the expected
//! outcome (format: `shared/corpus/README.md`), in JSON or the same shape in
//! YAML; and finding them in directories.
//!
//! The format is strict: an unknown key (`mock`, `executd`, `processId`) is
//! an error naming the key and the file, so a typo cannot make a scenario
//! pass. Files larger than [`MAX_SCENARIO_BYTES`](crate::limits::MAX_SCENARIO_BYTES) or nested deeper than the
//! [`crate::limits`] allow are refused before parsing.

use crate::bounded::{ReadError, SCENARIO_FILE, read_text_bounded};
use crate::limits::check_nesting;
use crate::mocks::{MockError, MockTable};
use crate::steps::{DEFAULT_CLOCK, Step};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;
use windlass_types::{Timestamp, Vars};

/// The final status a scenario expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedStatus {
    /// No token left and nothing failed.
    Completed,
    /// An unhandled error ended it, or the definition was rejected as invalid.
    Failed,
    /// Nothing can run but the instance is not finished (incl. incidents).
    Waiting,
    /// Ended by a `cancel` step (after the cleanup its handlers ran).
    Cancelled,
    /// Ended by a `terminate` step.
    Terminated,
    /// Replaced, while it waited for a dedup key, by a newer claim.
    Superseded,
}

impl ExpectedStatus {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectedStatus::Completed => "completed",
            ExpectedStatus::Failed => "failed",
            ExpectedStatus::Waiting => "waiting",
            ExpectedStatus::Cancelled => "cancelled",
            ExpectedStatus::Terminated => "terminated",
            ExpectedStatus::Superseded => "superseded",
        }
    }

    /// Why no scenario can end in this status yet (every status can be
    /// brought about today: `superseded` by a `start` step whose instance
    /// claims the same dedup key).
    pub fn missing_feature(self) -> Option<&'static str> {
        match self {
            ExpectedStatus::Completed
            | ExpectedStatus::Failed
            | ExpectedStatus::Waiting
            | ExpectedStatus::Cancelled
            | ExpectedStatus::Terminated
            | ExpectedStatus::Superseded => None,
        }
    }
}

/// `expect` of a scenario, and of an `expect` step (a checkpoint).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The status.
    pub status: ExpectedStatus,
    /// Exact map: resolved task name → completions.
    #[serde(default)]
    pub executed: BTreeMap<String, u64>,
    /// A subset of the process variables: each one listed must be there
    /// with this value; others are not looked at.
    #[serde(default)]
    pub variables: Vars,
    /// Whether the instance is suspended (`suspend` / `resume` steps); not
    /// compared when absent.
    #[serde(default)]
    pub suspended: Option<bool>,
    /// The instance compared (a `start` step's name); the scenario's
    /// instance when absent.
    #[serde(default)]
    pub instance: Option<String>,
}

/// One scenario as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short description.
    #[serde(default)]
    pub name: Option<String>,
    /// The BPMN file, relative to the scenario file.
    pub process: String,
    /// Run this process of the file instead of the first executable one.
    #[serde(default)]
    pub process_id: Option<String>,
    /// More BPMN files (or folders of them) deployed with `process`,
    /// relative to the scenario file: call activities find their callees
    /// in them too.
    #[serde(default)]
    pub deploy: Vec<String>,
    /// Initial variables.
    #[serde(default)]
    pub input: Vars,
    /// Task → mock value.
    #[serde(default)]
    pub mocks: BTreeMap<String, Value>,
    /// The scenario clock's start (RFC 3339); [`DEFAULT_CLOCK`] when absent.
    #[serde(default, deserialize_with = "crate::steps::deserialize_clock")]
    pub clock: Option<Timestamp>,
    /// What happens after the instance settles, in order.
    #[serde(default, deserialize_with = "crate::steps::deserialize_steps")]
    pub steps: Vec<Step>,
    /// The expected outcome (after the last step).
    pub expect: Expectation,
    /// Where the expectation comes from.
    #[serde(default)]
    pub notes: Option<String>,
    /// Adhesive/Spiff disagreed; decided by the spec.
    #[serde(default)]
    pub spec_divergence: Option<bool>,
}

/// A scenario that cannot be read, named by file.
#[derive(Debug, Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The JSON does not fit the scenario format.
    #[error("{path}: not a valid scenario: {detail}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        detail: String,
    },
    /// A mock value has no valid form.
    #[error("{path}: {source}")]
    Mock {
        /// The file.
        path: PathBuf,
        /// Which mock and why.
        source: MockError,
    },
    /// The file is neither `.json` nor `.yaml`/`.yml`.
    #[error("{0}: a scenario file must end in .json, .yaml or .yml")]
    Extension(PathBuf),
    /// The file is larger than [`MAX_SCENARIO_BYTES`](crate::limits::MAX_SCENARIO_BYTES).
    #[error("{path}: the file is larger than the limit of {limit} bytes for a scenario")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The text nests deeper than [`crate::limits`] allow.
    #[error("{path}: not a valid scenario: {detail}")]
    TooDeep {
        /// The file.
        path: PathBuf,
        /// Which limit, where.
        detail: String,
    },
}

impl Scenario {
    /// Reads a scenario file (`.json`, `.yaml` or `.yml`).
    pub fn read(path: &Path) -> Result<Scenario, ScenarioError> {
        let ext = extension(path);
        if !matches!(ext, Some("json" | "yaml" | "yml")) {
            return Err(ScenarioError::Extension(path.to_path_buf()));
        }
        let text = read_capped(path)?;
        Self::parse(&text, path)
    }

    /// Parses scenario text; `path` names it in errors and its extension
    /// picks the format (`.json`, else YAML).
    pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        let format = |detail: String| ScenarioError::Format {
            path: path.to_path_buf(),
            detail,
        };
        let s: Scenario = if extension(path) == Some("json") {
            // serde_json refuses nesting deeper than 128 levels by itself, fast.
            serde_json::from_str(text).map_err(|e| format(e.to_string()))?
        } else {
            check_nesting(text).map_err(|detail| ScenarioError::TooDeep {
                path: path.to_path_buf(),
                detail,
            })?;
            serde_norway::from_str(text).map_err(|e| format(e.to_string()))?
        };
        crate::steps::check_instances(&s.steps, &s.expect).map_err(format)?;
        Ok(s)
    }

    /// The scenario's mocks as a table.
    pub fn mock_table(&self, path: &Path) -> Result<MockTable, ScenarioError> {
        let mut table = MockTable::new();
        for (key, value) in &self.mocks {
            table
                .insert(key, value)
                .map_err(|source| ScenarioError::Mock {
                    path: path.to_path_buf(),
                    source,
                })?;
        }
        Ok(table)
    }

    /// When the scenario's clock starts.
    pub fn start_time(&self) -> Timestamp {
        self.clock.unwrap_or(DEFAULT_CLOCK)
    }

    /// The BPMN file, resolved against the scenario file's folder.
    pub fn process_path(&self, scenario_path: &Path) -> PathBuf {
        scenario_path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(&self.process)
    }

    /// The paths of `deploy`, relative to the scenario file at
    /// `scenario_path`.
    pub fn deploy_paths(&self, scenario_path: &Path) -> Vec<PathBuf> {
        let dir = scenario_path.parent().unwrap_or_else(|| Path::new("."));
        self.deploy.iter().map(|p| dir.join(p)).collect()
    }
}

/// Reads a file of at most [`MAX_SCENARIO_BYTES`](crate::limits::MAX_SCENARIO_BYTES) as UTF-8.
fn read_capped(path: &Path) -> Result<String, ScenarioError> {
    read_text_bounded(path, SCENARIO_FILE).map_err(|e| match e {
        ReadError::Io { path, source } => ScenarioError::Read { path, source },
        ReadError::TooLarge { path, limit } => ScenarioError::TooLarge {
            path,
            limit: limit.bytes,
        },
    })
}

fn extension(path: &Path) -> Option<&str> {
    path.extension().and_then(|e| e.to_str())
}

/// True for `*.scenario.json`, `*.scenario.yaml`, `*.scenario.yml`.
pub fn is_scenario_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    [".scenario.json", ".scenario.yaml", ".scenario.yml"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// Expands the given paths: files as given, directories to their
/// `*.scenario.{json,yaml,yml}` files (not recursive), sorted by name.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScenarioError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|source| ScenarioError::Read {
                path: path.clone(),
                source,
            })?;
            let mut found: Vec<PathBuf> = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|source| ScenarioError::Read {
                    path: path.clone(),
                    source,
                })?;
                let p = entry.path();
                if p.is_file() && is_scenario_file(&p) {
                    found.push(p);
                }
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_read_to_the_same_scenario() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("a.scenario.json");
        std::fs::write(
            &json,
            r#"{"name":"n","process":"p.bpmn","input":{"x":1},
               "mocks":{"T":{"output":{"y":2}}},
               "expect":{"status":"completed","executed":{"T":1}},"notes":"z"}"#,
        )
        .unwrap();
        let yaml = dir.path().join("a.scenario.yaml");
        std::fs::write(
            &yaml,
            "name: n\nprocess: p.bpmn\ninput:\n  x: 1\nmocks:\n  T:\n    output:\n      y: 2\n\
             expect:\n  status: completed\n  executed:\n    T: 1\nnotes: z\n",
        )
        .unwrap();
        let a = Scenario::read(&json).unwrap();
        let b = Scenario::read(&yaml).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.process_path(&json), dir.path().join("p.bpmn"));
        assert_eq!(a.mock_table(&json).unwrap().entries().len(), 1);
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.scenario.json");
        std::fs::write(&p, r#"{"process":"p.bpmn","expect":{"status":"done"}}"#).unwrap();
        let e = Scenario::read(&p).unwrap_err().to_string();
        assert!(e.contains("b.scenario.json") && e.contains("done"), "{e}");
        let t = dir.path().join("c.txt");
        std::fs::write(&t, "{}").unwrap();
        assert!(matches!(
            Scenario::read(&t),
            Err(ScenarioError::Extension(_))
        ));
    }

    #[test]
    fn directories_expand_to_sorted_scenarios_only() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["b.scenario.yml", "a.scenario.json", "x.bpmn", "c.json"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let found = collect(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["a.scenario.json", "b.scenario.yml"]);
    }
}
