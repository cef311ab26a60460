//! Pure event-sourced BPMN engine: decide and evolve.
//!
//! Not implemented yet: this crate is a placeholder laid out by the foundation issue.
