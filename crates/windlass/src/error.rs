//! The facade's errors: the runtime's, and reading files or opening the
//! database, each naming the path.

/// Why an engine call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The runtime refused or failed (an invalid definition names the
    /// diagnostics; an unknown process, a store failure, ...).
    #[error(transparent)]
    Runtime(#[from] windlass_runtime::RuntimeError),
    /// A BPMN file could not be read.
    #[error("cannot read {path}: {detail}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// The database could not be opened.
    #[error("cannot open the database {path}: {detail}")]
    Store {
        /// The database file.
        path: String,
        /// Why.
        detail: String,
    },
}

/// A result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
