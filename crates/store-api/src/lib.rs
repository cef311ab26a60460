//! Store traits and the shared conformance suite.
//!
//! Not implemented yet: this crate is a placeholder laid out by the foundation issue.
