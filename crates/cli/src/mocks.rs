//! Task mocks for the runtime-backed verbs (`run`, `recover`, `bench`):
//! the table lives in `windlass-scenario`, shared with `windlass test`.

pub use windlass_scenario::mocks::{MockBehaviour, MockTable};
