//! The read model of Windlass: what clients see of a store. Generic over
//! the store's read traits (`S: HistoryRead + InstanceIndex +
//! DefinitionRead`), so the CLI reads a SQLite file with it today and the
//! server returns the same views as JSON next (every view is `Serialize`).
//!
//! - [`Views`] ([`reader`]): instance listings with keyset [`page`]s, one
//!   instance's state ([`instance`]), its story event by event
//!   ([`history`]), open [`incidents`].
//! - [`replay`]: the one decode-and-fold loop from stored events to state.
//! - [`statistics`]: per-node counts over every run of a definition.
//! - [`definition`]: definition key → compiled process graph.
//! - [`text`]: the one rule for control characters before text reaches a
//!   terminal; [`time`]: timestamps as RFC 3339 text.
//!
//! Reads never panic on stored data: undecodable events, unknown node
//! indexes and missing definitions are errors or `#index` labels.

pub mod definition;
pub mod dump;
pub mod error;
pub mod history;
pub mod incidents;
pub mod instance;
pub mod page;
pub mod reader;
pub mod replay;
pub mod statistics;
pub mod summary;
#[cfg(test)]
mod tests;
pub mod text;
pub mod time;

pub use dump::{BufferedMessageView, DedupKeyView, DumpView};
pub use error::{ViewError, ViewResult};
pub use history::{HistoryLine, HistoryView};
pub use incidents::IncidentSummary;
pub use instance::{
    BufferedSignalView, IncidentView, InstanceView, OpenJobView, SubscriptionView, TokenView,
};
pub use page::{Cursor, MAX_PAGE, Page, PageRequest};
pub use reader::Views;
pub use replay::Recorded;
pub use statistics::{DefinitionStatistics, NodeStatistics};
pub use summary::InstanceSummary;
