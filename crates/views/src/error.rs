//! The error of every view: what could not be read, and why.

use windlass_store_api::StoreError;

/// Why a view could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ViewError {
    /// The store failed.
    #[error("store error: {0}")]
    Store(#[from] StoreError),
    /// No instance (or no such run of it) is in the store.
    #[error("{}", not_found(.id, .run.as_deref()))]
    NotFound {
        /// The instance id asked for.
        id: String,
        /// The run asked for, if one was.
        run: Option<String>,
    },
    /// A stored event cannot be decoded or does not fold into the state.
    #[error("history of instance '{id}' run '{run}', event {seq}: {detail}")]
    BadHistory {
        /// Instance id.
        id: String,
        /// Run id.
        run: String,
        /// The sequence number of the event.
        seq: u64,
        /// What is wrong with it.
        detail: String,
    },
    /// The definition an instance runs is not stored.
    #[error("the definition '{0}' is not in the store")]
    MissingDefinition(String),
    /// The stored definition does not load.
    #[error("the stored definition '{key}' does not load: {detail}")]
    BadDefinition {
        /// The definition key.
        key: String,
        /// Why.
        detail: String,
    },
    /// A paging cursor is not one this crate produced.
    #[error("malformed cursor '{0}' (use the cursor a listing printed)")]
    BadCursor(String),
}

fn not_found(id: &str, run: Option<&str>) -> String {
    match run {
        Some(r) => format!("no instance '{id}' with run '{r}' in the store"),
        None => format!("no instance '{id}' in the store"),
    }
}

/// Shorthand for view results.
pub type ViewResult<T> = Result<T, ViewError>;
