//! Async runtime: group commit, effects after commit, recovery.
//!
//! Not implemented yet: this crate is a placeholder laid out by the foundation issue.
