//! Kubernetes integration for Windlass.
//!
//! Not implemented yet: this crate is a placeholder laid out by the foundation issue.
