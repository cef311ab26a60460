//! BPMN 2.0 XML → typed, validated, compiled process definitions.
//!
//! [`load`] reads a document (namespace-aware, with or without diagram
//! interchange), checks it, and compiles each process into a
//! [`graph::ProcessGraph`] — the contract with the engine. Problems come back
//! as [`Diagnostic`]s with stable codes (see `docs/validation-codes.md`);
//! [`LoadOutcome::into_result`] turns them into one [`LoadError`].
//!
//! Layers: [`xml`] (reading), `parse` (elements → builder), `compile`
//! (resolution), `validate` (graph checks).

pub mod codes;
mod compensation;
#[allow(
    clippy::disallowed_types,
    reason = "HashMaps here are id lookup tables, never iterated into output"
)]
mod compile;
mod definitions;
pub mod diagnostic;
mod expr_spec;
pub mod extensions;
pub mod graph;
mod load_error;
#[allow(
    clippy::disallowed_types,
    reason = "HashMaps/HashSets here are id lookup tables, never iterated into output"
)]
mod parse;
mod report;
pub mod settings;
pub mod success_codes;
mod timer_due;
mod timer_spec;
mod validate;
pub mod xml;

pub use definitions::{Definitions, LoadOutcome, load, load_bytes};
pub use diagnostic::{Diagnostic, Severity};
pub use extensions::{
    MessageSource, OverlapPolicy, ProcessExtensions, StartSchedule, TaskExtensions, WINDLASS_NS,
    ZEEBE_NS,
};
pub use graph::*;
pub use load_error::LoadError;
pub use parse::timer::{fixed_millis, parse_cycle, parse_date, parse_duration};
pub use settings::SettingMap;
pub use success_codes::SuccessCodes;
pub use timer_due::{Occurrence, add_duration, check_time_zone, cron_after_in, format_instant};
