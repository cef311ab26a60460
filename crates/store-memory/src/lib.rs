//! In-memory store backend.
//!
//! Not implemented yet: this crate is a placeholder laid out by the foundation issue.
