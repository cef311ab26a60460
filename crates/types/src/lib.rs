//! Shared building blocks of Windlass: the injected [`Clock`], timestamps,
//! variable helpers, the [`partition`] mapping of keys onto fixed virtual
//! partitions and [`PartitionSet`]s of them, and the [`limits`] on what comes in (the lengths of
//! user-chosen ids, the depth and size of variable values). This crate has
//! no I/O and no async runtime.

pub mod clock;
pub mod limits;
pub mod partition;
pub mod partition_anchor;
pub mod partition_set;
pub mod vars;

pub use clock::{Clock, MockClock, SystemClock, Timestamp};
pub use limits::ValueLimitError;
pub use partition::{PARTITIONS, Partition};
pub use partition_set::{PartitionSet, PartitionSetError};
pub use vars::{Vars, normalize_whitespace};
