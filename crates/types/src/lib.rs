//! Shared building blocks of Windlass: the injected [`Clock`], timestamps and
//! variable helpers, and the length [`limits`] of user-chosen ids. This crate
//! has no I/O and no async runtime.

pub mod clock;
pub mod limits;
pub mod vars;

pub use clock::{Clock, MockClock, SystemClock, Timestamp};
pub use vars::{Vars, normalize_whitespace};
