//! Scenario files and the one harness that runs them: a BPMN process, its
//! input, task mocks and the expected outcome (format:
//! `shared/corpus/README.md`), run on the engine's pure driver.
//!
//! - [`bounded`]: the one size-limited reader of user-named files (BPMN
//!   documents, `--input @FILE`, scenario files) and its limits.
//! - [`file`](mod@file): the strict scenario format (JSON or YAML), reading it with a
//!   size cap and a nesting pre-scan ([`limits`]), finding scenario files.
//! - [`mocks`]: what a task does when a scenario or `--mock` says so, and
//!   the engine's rule ([`windlass_engine::JobRequest::when_unbound`]) when
//!   nothing does; mocks that match no task are errors.
//! - [`load`]: a BPMN file made ready to run, telling *unsupported* from
//!   *invalid*.
//! - [`steps`]: the scenario clock and the steps run after the instance
//!   settles (`advance`, `terminate`, `expect` checkpoints, ...).
//! - [`run`]: one instance driven to quiescence with a mock table.
//! - [`play`]: the steps played on the engine's stepping driver.
//! - [`verdict`]: the one scenario status type and the expected-vs-actual diff.
//! - [`judge`](mod@judge): one scenario file end to end: pass, fail or unsupported.
//!
//! Used by `windlass test` and by the engine's corpus tests.

pub mod bounded;
pub mod file;
pub mod judge;
pub mod limits;
pub mod load;
pub mod load_set;
pub mod mocks;
pub mod play;
pub mod run;
pub mod steps;
pub mod verdict;

pub use file::{Expectation, ExpectedStatus, Scenario, ScenarioError, collect, is_scenario_file};
pub use judge::{Judged, Options, Outcome, judge, judge_file};
pub use load::{LoadError, Loaded, load_file};
pub use mocks::{MockAnswer, MockBehaviour, MockError, MockTable};
pub use steps::Step;
pub use verdict::{Actual, RunStatus};
