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
/// The namespace URI of Camunda 7 extension attributes (only
/// `camunda:collection` and `camunda:elementVariable` on
/// `multiInstanceLoopCharacteristics` are read).
pub const CAMUNDA_NS: &str = "http://camunda.org/schema/1.0/bpmn";

/// Task-level configuration.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TaskExtensions {
    /// The job kind the task runs as: `windlass:task kind="shell"`, or
    /// Zeebe's `taskDefinition type`. `None`: bound by name/id/type at run time.
    pub kind: Option<Box<str>>,
    /// Kind-specific settings (`windlass:task` child `windlass:setting
    /// name=".." value=".."`, or Zeebe task headers), values as templates;
    /// [`Template::source`] gives each value as written.
    #[serde(rename = "settings_source", serialize_with = "template_map_as_written")]
    pub settings: SettingMap<Template>,
    /// Attempts before an incident (`retries`); `None` = runtime default.
    pub retries: Option<u32>,
    /// Per-attempt timeout, ms.
    pub timeout_millis: Option<u64>,
    /// Backoff between attempts, ms.
    pub backoff_millis: Option<u64>,
}

impl TaskExtensions {
    /// No configuration at all.
    pub const EMPTY: TaskExtensions = TaskExtensions {
        kind: None,
        settings: SettingMap::new(),
        retries: None,
        timeout_millis: None,
        backoff_millis: None,
    };

    /// Boxed for a node, `None` when nothing is configured.
    pub fn boxed(self) -> Option<Box<TaskExtensions>> {
        (!self.is_empty()).then(|| Box::new(self))
    }

    /// True when nothing is configured.
    pub fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.settings.is_empty()
            && self.retries.is_none()
            && self.timeout_millis.is_none()
            && self.backoff_millis.is_none()
    }
}

/// Process-level configuration.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcessExtensions {
    /// Template for the instance id (business key), e.g. `renew-{event.name}`.
    #[serde(rename = "instance_id_source", serialize_with = "template_as_written")]
    pub instance_id: Option<Template>,
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

/// Serializes an optional template as the text it was written as (the
/// template keeps its source; no second copy is stored for display).
fn template_as_written<S: serde::Serializer>(
    t: &Option<Template>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    t.as_ref().map(Template::source).serialize(serializer)
}

/// Serializes an optional boxed template as the text it was written as.
pub(crate) fn boxed_template_as_written<S: serde::Serializer>(
    t: &Option<Box<Template>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    t.as_deref().map(Template::source).serialize(serializer)
}

/// Serializes settings as `{name: value as written}`.
fn template_map_as_written<S: serde::Serializer>(
    m: &SettingMap<Template>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(m.len()))?;
    for (k, v) in m {
        map.serialize_entry(k, v.source())?;
    }
    map.end()
}
