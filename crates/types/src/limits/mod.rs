//! Limits on what comes in from outside, checked where it comes in so that
//! nothing is stored that cannot be read back or printed: the lengths of
//! the identifiers people choose ([`ids`]) and the depth and size of
//! variable values ([`values`]). Both are re-exported here.

mod bound;
pub mod ids;
pub mod values;

pub use ids::*;
pub use values::*;
