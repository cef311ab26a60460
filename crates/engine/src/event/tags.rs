//! What every event and nested enum states about itself: its fixed tag
//! (checked against the encoding by the codec tests), the event's type
//! name as clients see it, and the incident an event raises.

use super::{CompletedBy, Event, FlowReason, JobFailure, JobPurpose, Resolution, ScopeKind};
use crate::ids::{IncidentId, TokenId};

impl Event {
    /// The incident, token and message of an incident's raising (tag 13 or
    /// 50), whatever its site.
    pub fn incident_raised(&self) -> Option<(IncidentId, TokenId, &str)> {
        match self {
            Event::IncidentRaised {
                incident,
                token,
                message,
            }
            | Event::IncidentRaisedAt {
                incident,
                token,
                message,
                ..
            } => Some((*incident, *token, message)),
            _ => None,
        }
    }

    /// The variant's name (`JobCompleted`, `TimerFired`, ...): the event's
    /// type as clients see it. Names are as stable as tags: never reused.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::InstanceStarted { .. } => "InstanceStarted",
            Event::ScopeEntered { .. } => "ScopeEntered",
            Event::ScopeClosed { .. } => "ScopeClosed",
            Event::TokenCreated { .. } => "TokenCreated",
            Event::FlowTaken { .. } => "FlowTaken",
            Event::TokenEnded { .. } => "TokenEnded",
            Event::JoinWaiting { .. } => "JoinWaiting",
            Event::JoinFired { .. } => "JoinFired",
            Event::ActivityStarted { .. } => "ActivityStarted",
            Event::ActivityCompleted { .. } => "ActivityCompleted",
            Event::JobCreated { .. } => "JobCreated",
            Event::JobCompleted { .. } => "JobCompleted",
            Event::JobFailed { .. } => "JobFailed",
            Event::IncidentRaised { .. } => "IncidentRaised",
            Event::IncidentResolved { .. } => "IncidentResolved",
            Event::VariablesSet { .. } => "VariablesSet",
            Event::ErrorThrown { .. } => "ErrorThrown",
            Event::ErrorCaught { .. } => "ErrorCaught",
            Event::TokenCancelled { .. } => "TokenCancelled",
            Event::BodyStarted { .. } => "BodyStarted",
            Event::ElementStarted { .. } => "ElementStarted",
            Event::ElementCompleted { .. } => "ElementCompleted",
            Event::ChildStarted { .. } => "ChildStarted",
            Event::ChildCompleted { .. } => "ChildCompleted",
            Event::LinkJumped { .. } => "LinkJumped",
            Event::Terminated { .. } => "Terminated",
            Event::InstanceCompleted => "InstanceCompleted",
            Event::InstanceFailed { .. } => "InstanceFailed",
            Event::InstanceTerminated { .. } => "InstanceTerminated",
            Event::TimerScheduled { .. } => "TimerScheduled",
            Event::TimerFired { .. } => "TimerFired",
            Event::TimerCancelled { .. } => "TimerCancelled",
            Event::MessageSubscribed { .. } => "MessageSubscribed",
            Event::MessageCorrelated { .. } => "MessageCorrelated",
            Event::MessageUnsubscribed { .. } => "MessageUnsubscribed",
            Event::EventGatewayWaiting { .. } => "EventGatewayWaiting",
            Event::SignalSubscribed { .. } => "SignalSubscribed",
            Event::SignalBuffered { .. } => "SignalBuffered",
            Event::SignalDelivered { .. } => "SignalDelivered",
            Event::SignalUnsubscribed { .. } => "SignalUnsubscribed",
            Event::TimerSkipped { .. } => "TimerSkipped",
            Event::CancelRequested { .. } => "CancelRequested",
            Event::InstanceCancelled { .. } => "InstanceCancelled",
            Event::InstanceSuspended { .. } => "InstanceSuspended",
            Event::InstanceResumed => "InstanceResumed",
            Event::DedupClaimed { .. } => "DedupClaimed",
            Event::DedupGranted { .. } => "DedupGranted",
            Event::DedupWithdrawn { .. } => "DedupWithdrawn",
            Event::InstanceSuperseded { .. } => "InstanceSuperseded",
            Event::MessageThrown { .. } => "MessageThrown",
            Event::IncidentRaisedAt { .. } => "IncidentRaisedAt",
            Event::SignalThrown { .. } => "SignalThrown",
            Event::EscalationThrown { .. } => "EscalationThrown",
            Event::RunReset { .. } => "RunReset",
            Event::CompensationRecorded { .. } => "CompensationRecorded",
            Event::CompensationThrown { .. } => "CompensationThrown",
            Event::CompensationStarted { .. } => "CompensationStarted",
            Event::TransactionCancelled { .. } => "TransactionCancelled",
            Event::ChildEscalated { .. } => "ChildEscalated",
        }
    }

    /// The fixed tag of this event (its first encoded byte).
    pub fn tag(&self) -> u8 {
        match self {
            Event::InstanceStarted { .. } => 0,
            Event::ScopeEntered { .. } => 1,
            Event::ScopeClosed { .. } => 2,
            Event::TokenCreated { .. } => 3,
            Event::FlowTaken { .. } => 4,
            Event::TokenEnded { .. } => 5,
            Event::JoinWaiting { .. } => 6,
            Event::JoinFired { .. } => 7,
            Event::ActivityStarted { .. } => 8,
            Event::ActivityCompleted { .. } => 9,
            Event::JobCreated { .. } => 10,
            Event::JobCompleted { .. } => 11,
            Event::JobFailed { .. } => 12,
            Event::IncidentRaised { .. } => 13,
            Event::IncidentResolved { .. } => 14,
            Event::VariablesSet { .. } => 15,
            Event::ErrorThrown { .. } => 16,
            Event::ErrorCaught { .. } => 17,
            Event::TokenCancelled { .. } => 18,
            Event::BodyStarted { .. } => 19,
            Event::ElementStarted { .. } => 20,
            Event::ElementCompleted { .. } => 21,
            Event::ChildStarted { .. } => 22,
            Event::ChildCompleted { .. } => 23,
            Event::LinkJumped { .. } => 24,
            Event::Terminated { .. } => 25,
            Event::InstanceCompleted => 26,
            Event::InstanceFailed { .. } => 27,
            Event::InstanceTerminated { .. } => 28,
            Event::TimerScheduled { .. } => 29,
            Event::TimerFired { .. } => 30,
            Event::TimerCancelled { .. } => 31,
            Event::MessageSubscribed { .. } => 32,
            Event::MessageCorrelated { .. } => 33,
            Event::MessageUnsubscribed { .. } => 34,
            Event::EventGatewayWaiting { .. } => 35,
            Event::SignalSubscribed { .. } => 36,
            Event::SignalBuffered { .. } => 37,
            Event::SignalDelivered { .. } => 38,
            Event::SignalUnsubscribed { .. } => 39,
            Event::TimerSkipped { .. } => 40,
            Event::CancelRequested { .. } => 41,
            Event::InstanceCancelled { .. } => 42,
            Event::InstanceSuspended { .. } => 43,
            Event::InstanceResumed => 44,
            Event::DedupClaimed { .. } => 45,
            Event::DedupGranted { .. } => 46,
            Event::DedupWithdrawn { .. } => 47,
            Event::InstanceSuperseded { .. } => 48,
            Event::MessageThrown { .. } => 49,
            Event::IncidentRaisedAt { .. } => 50,
            Event::SignalThrown { .. } => 51,
            Event::EscalationThrown { .. } => 52,
            Event::RunReset { .. } => 53,
            Event::CompensationRecorded { .. } => 54,
            Event::CompensationThrown { .. } => 55,
            Event::CompensationStarted { .. } => 56,
            Event::TransactionCancelled { .. } => 57,
            Event::ChildEscalated { .. } => 58,
        }
    }
}

impl ScopeKind {
    /// The fixed tag of this variant inside an event's bytes.
    pub fn tag(&self) -> u8 {
        match self {
            ScopeKind::Process => 0,
            ScopeKind::SubProcess(_) => 1,
            ScopeKind::EventSubProcess(_) => 2,
            ScopeKind::Element(_) => 3,
            ScopeKind::Compensation => 4,
        }
    }
}

impl FlowReason {
    /// The fixed tag of this variant inside an event's bytes.
    pub fn tag(&self) -> u8 {
        match self {
            FlowReason::Unconditioned => 0,
            FlowReason::ConditionTrue { .. } => 1,
            FlowReason::Default => 2,
            FlowReason::Parallel => 3,
        }
    }
}

impl CompletedBy {
    /// The fixed tag of this variant inside an event's bytes.
    pub fn tag(&self) -> u8 {
        match self {
            CompletedBy::Handler => 0,
            CompletedBy::Mock => 1,
            CompletedBy::NoOp => 2,
            CompletedBy::Skipped => 3,
            CompletedBy::External => 4,
        }
    }
}

impl JobFailure {
    /// The fixed tag of this variant inside an event's bytes.
    pub fn tag(&self) -> u8 {
        match self {
            JobFailure::Bpmn { .. } => 0,
            JobFailure::Technical { .. } => 1,
        }
    }
}

impl Resolution {
    /// The fixed tag of this variant inside an event's bytes.
    pub fn tag(&self) -> u8 {
        match self {
            Resolution::Retry => 0,
            Resolution::Skip => 1,
        }
    }
}

impl JobPurpose {
    /// The fixed tag of this variant inside an event's bytes.
    pub fn tag(&self) -> u8 {
        match self {
            JobPurpose::Task => 0,
            JobPurpose::GatewayDecision => 1,
        }
    }
}
