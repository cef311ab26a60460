//! Deployed definitions: the BPMN source of every process version an
//! instance may run, kept so recovery can compile it again.

use windlass_types::Timestamp;

/// One deployed definition. Rows are immutable: putting the same key again
/// with identical content (process id, version, source; `deployed_at` is not
/// compared, so two processes deploying the same file race harmlessly) is a
/// no-op, with different content an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionRow {
    /// The unique key instances refer to (e.g. `order:3` or a content hash).
    pub key: String,
    /// The BPMN process id.
    pub process_id: String,
    /// The version of this process id (1, 2, ...).
    pub version: u32,
    /// The BPMN XML source.
    pub source: String,
    /// When it was deployed.
    pub deployed_at: Timestamp,
}

/// The latest version of one process: what a node compares with the
/// versions it knows, without reading the sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestDefinition {
    /// The BPMN process id.
    pub process_id: String,
    /// Its highest deployed version.
    pub version: u32,
    /// The key of that version.
    pub key: String,
}
