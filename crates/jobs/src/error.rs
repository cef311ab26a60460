//! [`ConfigError`]: a task's settings cannot be run as they are. Reported
//! as a failure without retry, so the task becomes an incident naming it.

/// Why a task's settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A setting the kind does not know.
    #[error("task '{task}' (kind '{kind}'): unknown setting '{name}'")]
    Unknown {
        /// The task's name or element id.
        task: String,
        /// The job kind.
        kind: String,
        /// The setting.
        name: String,
    },
    /// A setting (or value) the kind knows but does not support yet.
    #[error("task '{task}' (kind '{kind}'): setting '{name}' is not supported yet{detail}")]
    Unsupported {
        /// The task's name or element id.
        task: String,
        /// The job kind.
        kind: String,
        /// The setting.
        name: String,
        /// More about what is unsupported (starts with `: ` when set).
        detail: String,
    },
    /// A required setting is absent.
    #[error("task '{task}' (kind '{kind}'): the required setting '{name}' is missing")]
    Missing {
        /// The task's name or element id.
        task: String,
        /// The job kind.
        kind: String,
        /// The setting.
        name: String,
    },
    /// A setting's value is not valid.
    #[error("task '{task}' (kind '{kind}'): setting '{name}': {why}")]
    Invalid {
        /// The task's name or element id.
        task: String,
        /// The job kind.
        kind: String,
        /// The setting.
        name: String,
        /// What is wrong with it.
        why: String,
    },
}
