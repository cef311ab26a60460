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
    /// `<windlass:schedule>` of process-level timer start events, in
    /// document order (a timer start event without one uses the defaults).
    pub schedules: Vec<StartSchedule>,
}

/// `<windlass:schedule>` on a process-level timer start event: how the
/// runtime's schedule treats its fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartSchedule {
    /// The timer start event's id.
    pub start_event: String,
    /// What a fire does while the previous run is unfinished.
    pub overlap: OverlapPolicy,
}

/// What a schedule's fire does while the previous run of its instance id
/// is still unfinished (Temporal's overlap policies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum OverlapPolicy {
    /// The fire is dropped (the default).
    #[default]
    Skip,
    /// At most one fire waits and starts when the run finishes; later ones
    /// are dropped.
    BufferOne,
    /// Every fire waits, in order; each starts when the previous run
    /// finishes.
    BufferAll,
    /// The running run is cancelled; the fire starts when it has finished.
    CancelOther,
    /// The running run is terminated and the fire starts at once.
    TerminateOther,
    /// Every fire starts at once, each under its own instance id.
    AllowAll,
}

impl OverlapPolicy {
    /// Every policy, in the order of the docs.
    pub const ALL: [OverlapPolicy; 6] = [
        OverlapPolicy::Skip,
        OverlapPolicy::BufferOne,
        OverlapPolicy::BufferAll,
        OverlapPolicy::CancelOther,
        OverlapPolicy::TerminateOther,
        OverlapPolicy::AllowAll,
    ];

    /// The attribute value (`skip`, `buffer-one`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            OverlapPolicy::Skip => "skip",
            OverlapPolicy::BufferOne => "buffer-one",
            OverlapPolicy::BufferAll => "buffer-all",
            OverlapPolicy::CancelOther => "cancel-other",
            OverlapPolicy::TerminateOther => "terminate-other",
            OverlapPolicy::AllowAll => "allow-all",
        }
    }

    /// The policy an attribute value names, if any.
    pub fn parse(text: &str) -> Option<OverlapPolicy> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// An external source of messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
        /// Every this many milliseconds every watched object is delivered
        /// again (time-based conditions such as a certificate's expiry).
        resync_millis: Option<u64>,
        /// A finalizer the watch puts on every object, so that a deletion is
        /// delivered while the object still exists; the process removes it.
        finalizer: Option<String>,
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
