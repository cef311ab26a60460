//! Loading a BPMN file for running: the loader lives in `windlass-scenario`
//! (shared with `windlass test`); re-exported for the runtime-backed verbs.

pub use windlass_scenario::load::load_file;
