//! Windlass (and Zeebe) extension data attached to processes and tasks.
//!
//! The XML form lives under `xmlns:windlass="urn:windlass:bpmn:1"`; see
//! `docs/bpmn-extensions.md`. Zeebe's `zeebe:taskDefinition`,
//! `zeebe:taskHeaders` and `zeebe:ioMapping` map onto the same structures.

use crate::settings::SettingMap;
use serde::Serialize;
use windlass_expr::Template;

/// The namespace URI of Windlass extension elements.
pub const WINDLASS_NS: &str = "urn:windlass:bpmn:1";
/// The namespace URI of Zeebe (Camunda 8) extension elements.
pub const ZEEBE_NS: &str = "http://camunda.org/schema/zeebe/1.0";

/// Task-level configuration.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TaskExtensions {
    /// The job kind the task runs as: `windlass:task kind="shell"`, or
    /// Zeebe's `taskDefinition type`. `None`: bound by name/id/type at run time.
    pub kind: Option<String>,
    /// Kind-specific settings (`windlass:task` child `windlass:setting
    /// name=".." value=".."`, or Zeebe task headers), values as templates.
    #[serde(skip)]
    pub settings: SettingMap<Template>,
    /// Same settings as written, for display.
    pub settings_source: SettingMap<String>,
    /// Attempts before an incident (`retries`); `None` = runtime default.
    pub retries: Option<u32>,
    /// Per-attempt timeout, ms.
    pub timeout_millis: Option<u64>,
    /// Backoff between attempts, ms.
    pub backoff_millis: Option<u64>,
    /// Deduplication key template (e.g. `{event.namespace}/{event.name}`).
    #[serde(skip)]
    pub dedup_key: Option<Template>,
    /// Dedup key as written.
    pub dedup_key_source: Option<String>,
}

/// Process-level configuration.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcessExtensions {
    /// Template for the instance id (business key), e.g. `renew-{event.name}`.
    #[serde(skip)]
    pub instance_id: Option<Template>,
    /// Instance id template as written.
    pub instance_id_source: Option<String>,
    /// Where messages that start or reach instances come from.
    pub sources: Vec<MessageSource>,
}

/// An external source of messages.
#[derive(Debug, Clone, Serialize)]
pub enum MessageSource {
    /// A Kubernetes watch.
    KubernetesWatch {
        /// The message name events are delivered as.
        message: String,
        /// `apiVersion` of the watched kind, e.g. `networking.k8s.io/v1`.
        api_version: String,
        /// The kind, e.g. `Ingress`.
        kind: String,
        /// Namespace; `None` for all namespaces.
        namespace: Option<String>,
        /// Label selector.
        label_selector: Option<String>,
        /// Field selector.
        field_selector: Option<String>,
        /// Which event types are delivered (`added`, `modified`, `deleted`);
        /// empty means all.
        events: Vec<String>,
    },
    /// A cron schedule.
    Cron {
        /// The message name ticks are delivered as.
        message: String,
        /// The cron expression.
        schedule: String,
        /// Optional time zone name.
        timezone: Option<String>,
    },
}
