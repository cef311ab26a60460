//! BPMN 2.0 XML → typed, validated, compiled process definitions.
//!
//! The compiled form ([`graph::ProcessGraph`]) is the contract with the
//! engine. Loading (parse → validate → compile) is implemented by the
//! modules added under this crate.

pub mod extensions;
pub mod graph;

pub use extensions::{MessageSource, ProcessExtensions, TaskExtensions, WINDLASS_NS, ZEEBE_NS};
pub use graph::*;
