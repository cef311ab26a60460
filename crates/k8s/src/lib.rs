//! Kubernetes integration for Windlass.
//!
//! Watch sources, Kubernetes job kinds and operator mode are not implemented
//! yet. What is here today: [`test_env`], which tells tests whether a real
//! API server (started by `scripts/k8s-test-env`) is available to them.

pub mod test_env;
