//! Human-readable history: one line per event, with node and flow names from
//! the graph ("token 3 took flow 'yes' (condition `data.x >= 5` was true)").

use crate::event::{
    CompletedBy, Event, FlowReason, IncidentSite, JobFailure, Resolution, ScopeKind,
};
use windlass_model::{FlowIdx, NodeIdx, ProcessGraph};
use windlass_types::normalize_whitespace;

fn node(g: &ProcessGraph, idx: NodeIdx) -> String {
    match g.nodes.get(idx.0 as usize) {
        Some(n) => match &n.name {
            Some(name) => format!("'{}'", normalize_whitespace(name)),
            None => format!("'{}'", n.id),
        },
        None => format!("#{}", idx.0),
    }
}

fn flow(g: &ProcessGraph, idx: FlowIdx) -> String {
    match g.flows.get(idx.0 as usize) {
        Some(f) => match &f.name {
            Some(name) => format!("'{}'", normalize_whitespace(name)),
            None => format!("'{}'", f.id),
        },
        None => format!("#{}", idx.0),
    }
}

fn flows(g: &ProcessGraph, list: &[FlowIdx]) -> String {
    list.iter()
        .map(|f| flow(g, *f))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Variables as JSON, values under secret names masked.
fn vars(v: &windlass_types::Vars) -> String {
    serde_json::to_string(&crate::secret_names::mask_vars(v)).unwrap_or_default()
}

/// One line describing `event` for a person.
pub fn describe(event: &Event, g: &ProcessGraph) -> String {
    match event {
        Event::InstanceStarted {
            process_id,
            business_key,
            vars: v,
            ..
        } => format!(
            "instance of '{process_id}' started{} with {}",
            business_key
                .as_deref()
                .map(|k| format!(" (business key '{k}')"))
                .unwrap_or_default(),
            vars(v)
        ),
        Event::ScopeEntered { scope, kind, .. } => match kind {
            ScopeKind::Process => format!("scope {scope} (process) opened"),
            ScopeKind::SubProcess(_) | ScopeKind::EventSubProcess(_) => {
                format!("sub-process scope {scope} opened")
            }
            ScopeKind::Element(i) => format!("scope {scope} for loop element {i} opened"),
            ScopeKind::Compensation => format!("compensation scope {scope} opened"),
        },
        Event::ScopeClosed { scope } => format!("scope {scope} closed"),
        Event::TokenCreated { token, node: n, .. } => {
            format!("token {token} created at {}", node(g, *n))
        }
        Event::FlowTaken {
            token,
            flow: f,
            to,
            reason,
        } => {
            let why = match reason {
                FlowReason::Unconditioned => "unconditioned".to_string(),
                FlowReason::ConditionTrue { condition } => {
                    format!("condition `{condition}` was true")
                }
                FlowReason::Default => "default flow: no condition was true".to_string(),
                FlowReason::Parallel => "parallel gateway".to_string(),
            };
            format!(
                "token {token} took flow {} to {} ({why})",
                flow(g, *f),
                node(g, *to)
            )
        }
        Event::TokenEnded { token } => format!("token {token} ended"),
        Event::JoinWaiting {
            token,
            gateway,
            missing,
        } => {
            if missing.is_empty() {
                format!("token {token} waits at join {}", node(g, *gateway))
            } else {
                format!(
                    "token {token} waits at join {} for flows {}",
                    node(g, *gateway),
                    flows(g, missing)
                )
            }
        }
        Event::JoinFired {
            gateway,
            token,
            merged,
        } => format!(
            "join {} fired: token {token} continues{}",
            node(g, *gateway),
            if merged.is_empty() {
                String::new()
            } else {
                let ids: Vec<String> = merged.iter().map(ToString::to_string).collect();
                format!(", merged tokens [{}]", ids.join(", "))
            }
        ),
        Event::ActivityStarted {
            token,
            node: n,
            name,
        } => format!(
            "token {token} started {}{}",
            node(g, *n),
            name.as_deref()
                .map(|r| format!(" as '{r}'"))
                .unwrap_or_default()
        ),
        Event::ActivityCompleted { token, node: n } => {
            format!("token {token} completed {}", node(g, *n))
        }
        Event::JobCreated {
            token,
            node: n,
            attempt,
            not_before,
            ..
        } => format!(
            "job for {} created (token {token}, attempt {attempt}{})",
            node(g, *n),
            not_before
                .map(|t| format!(", not before {} ms", t.millis()))
                .unwrap_or_default()
        ),
        Event::JobCompleted {
            token,
            attempt,
            by,
            outputs,
        } => {
            let by = match by {
                CompletedBy::Handler => "by its handler",
                CompletedBy::Mock => "by a mock",
                CompletedBy::NoOp => "as a no-op (abstract task, nothing bound)",
                CompletedBy::Skipped => "skipped by an operator",
                CompletedBy::External => "through the API (external worker)",
            };
            format!(
                "job of token {token} (attempt {attempt}) completed {by} with {}",
                vars(outputs)
            )
        }
        Event::JobFailed {
            token,
            attempt,
            failure,
        } => match failure {
            JobFailure::Bpmn { code, message } => format!(
                "job of token {token} (attempt {attempt}) threw BPMN error '{code}'{}",
                message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ),
            JobFailure::Technical { message, retryable } => format!(
                "job of token {token} (attempt {attempt}) failed{}: {message}",
                if *retryable { "" } else { " (not retryable)" }
            ),
        },
        Event::IncidentRaised {
            incident,
            token,
            message,
        } => {
            format!("incident {incident} raised at token {token}: {message}")
        }
        Event::IncidentRaisedAt {
            incident,
            token,
            message,
            site,
        } => {
            let at = match site {
                IncidentSite::Work => "",
                IncidentSite::Outputs { .. } => " (output mappings)",
                IncidentSite::Leave => " (outgoing flow conditions)",
                IncidentSite::Subscriptions => " (event subscriptions)",
                IncidentSite::Activation => " (activation condition)",
                IncidentSite::Element => " (loop element completion)",
                IncidentSite::Rearm { .. } => " (timer cycle re-arming)",
            };
            format!("incident {incident} raised at token {token}{at}: {message}")
        }
        Event::IncidentResolved {
            incident,
            resolution,
        } => format!(
            "incident {incident} resolved: {}",
            match resolution {
                Resolution::Retry => "retry",
                Resolution::Skip => "skipped",
            }
        ),
        Event::VariablesSet { scope, vars: v } => {
            format!("variables set in scope {scope}: {}", vars(v))
        }
        Event::ErrorThrown {
            token,
            node: n,
            code,
            message,
        } => format!(
            "error {} thrown at {} (token {token}){}",
            code.as_deref()
                .map(|c| format!("'{c}'"))
                .unwrap_or_else(|| "without code".into()),
            node(g, *n),
            message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ),
        Event::ErrorCaught { by, interrupted } => {
            format!(
                "error caught by {} (interrupting token {interrupted})",
                node(g, *by)
            )
        }
        Event::TokenCancelled { token } => format!("token {token} cancelled"),
        Event::BodyStarted { token, total, .. } => match total {
            Some(n) => format!("token {token} starts a multi-instance body of {n} element(s)"),
            None => format!("token {token} starts a loop"),
        },
        Event::ElementStarted { token, index } => {
            format!("loop element {index} of token {token} started")
        }
        Event::ElementCompleted { token, index, .. } => {
            format!("loop element {index} of token {token} completed")
        }
        Event::ChildStarted { token, process_id } => {
            format!("token {token} started a child instance of '{process_id}'")
        }
        Event::ChildCompleted { token, outputs } => {
            format!(
                "child instance of token {token} completed with {}",
                vars(outputs)
            )
        }
        Event::LinkJumped { token, to } => {
            format!("token {token} jumped by link to {}", node(g, *to))
        }
        Event::Terminated { token, scope } => {
            format!("token {token} reached a terminate end event: scope {scope} ends")
        }
        Event::InstanceCompleted => "instance completed".to_string(),
        Event::InstanceFailed { reason, .. } => format!("instance failed: {reason}"),
        Event::InstanceTerminated { reason } => format!("instance terminated: {reason}"),
        Event::TimerScheduled {
            sub,
            token,
            node: n,
            due_at,
            occurrence,
        } => format!(
            "timer {sub} of token {token} at {} scheduled for {}{}",
            node(g, *n),
            windlass_model::format_instant(due_at.millis()),
            if *occurrence > 0 {
                format!(" (occurrence {})", occurrence + 1)
            } else {
                String::new()
            }
        ),
        Event::TimerFired { sub } => format!("timer {sub} fired"),
        Event::TimerCancelled { sub } => format!("timer {sub} cancelled"),
        Event::MessageSubscribed {
            sub,
            token,
            node: n,
            name,
            correlation_key,
        } => format!(
            "token {token} at {} subscribed to message '{name}'{} (subscription {sub})",
            node(g, *n),
            correlation_key
                .as_ref()
                .map(|k| format!(" with correlation key '{k}'"))
                .unwrap_or_default()
        ),
        Event::MessageCorrelated {
            sub,
            message_id,
            vars: received,
        } => format!(
            "message{} correlated to subscription {sub} with {}",
            message_id
                .as_ref()
                .map(|m| format!(" '{m}'"))
                .unwrap_or_default(),
            vars(received)
        ),
        Event::MessageUnsubscribed { sub } => format!("message subscription {sub} closed"),
        Event::MessageThrown {
            token,
            node: n,
            number,
            name,
            correlation_key,
            vars: sent,
        } => format!(
            "token {token} at {} threw message '{name}'{} (number {number}) with {}",
            node(g, *n),
            correlation_key
                .as_ref()
                .map(|k| format!(" with correlation key '{k}'"))
                .unwrap_or_default(),
            vars(sent)
        ),
        Event::RunReset {
            from_run,
            at_seq,
            reason,
        } => format!("run reset from run {from_run} at its event {at_seq}: {reason}"),
        Event::EscalationThrown {
            token,
            node: n,
            code,
            caught_by,
        } => format!(
            "token {token} at {} threw escalation {}, {}",
            node(g, *n),
            code.as_deref()
                .map(|c| format!("'{c}'"))
                .unwrap_or_else(|| "without code".into()),
            match caught_by {
                Some(c) => format!("caught by {}", node(g, *c)),
                None => "not caught (it goes on)".into(),
            }
        ),
        Event::CompensationRecorded {
            scope,
            node: n,
            kept,
        } => format!(
            "{} completed in scope {scope} and can be compensated{}",
            node(g, *n),
            kept.map(|k| format!(" (scope {k} kept)"))
                .unwrap_or_default()
        ),
        Event::CompensationThrown {
            token,
            node: n,
            of,
            activity,
            into,
        } => format!(
            "token {token} at {} compensates {} of scope {of}{}",
            node(g, *n),
            activity.map_or_else(|| "the completed activities".to_string(), |a| node(g, a)),
            match into {
                Some(c) => format!(" in compensation scope {c}"),
                None => ": nothing to compensate".into(),
            }
        ),
        Event::CompensationStarted {
            scope,
            node: n,
            into,
        } => format!(
            "compensation scope {scope} compensates {}{}",
            node(g, *n),
            into.map(|k| format!(" (restored as scope {k})"))
                .unwrap_or_default()
        ),
        Event::ChildEscalated {
            token,
            number,
            code,
            caught_by,
        } => format!(
            "the child of token {token} sent up escalation {} (its number {number}), {}",
            code.as_deref()
                .map(|c| format!("'{c}'"))
                .unwrap_or_else(|| "without code".into()),
            match caught_by {
                Some(c) => format!("caught by {}", node(g, *c)),
                None => "not caught here".into(),
            }
        ),
        Event::TransactionCancelled {
            token,
            transaction,
            boundary,
        } => format!(
            "token {token} cancelled the transaction of token {transaction}, which leaves by {}",
            node(g, *boundary)
        ),
        Event::SignalThrown {
            token,
            node: n,
            number,
            name,
            vars: sent,
        } => format!(
            "token {token} at {} threw signal '{name}' (number {number}) with {}",
            node(g, *n),
            vars(sent)
        ),
        Event::SignalSubscribed {
            sub,
            token,
            node: n,
            name,
        } => format!(
            "token {token} at {} subscribed to signal '{name}' (subscription {sub})",
            node(g, *n)
        ),
        Event::SignalBuffered {
            name,
            vars: received,
        } => format!(
            "signal '{name}' with {} kept: nothing waits for it yet",
            vars(received)
        ),
        Event::SignalDelivered {
            sub,
            buffered,
            vars: received,
        } => format!(
            "{} reached subscription {sub} with {}",
            if buffered.is_some() {
                "a kept signal"
            } else {
                "a signal"
            },
            vars(received)
        ),
        Event::SignalUnsubscribed { sub } => format!("signal subscription {sub} closed"),
        Event::EventGatewayWaiting { token, gateway } => format!(
            "token {token} waits at event-based gateway {} for the first of its events",
            node(g, *gateway)
        ),
        Event::TimerSkipped { sub } => {
            format!("timer {sub} skipped (later than the catch-up window)")
        }
        Event::CancelRequested { reason } => format!("cancel requested: {reason}"),
        Event::InstanceCancelled { reason } => format!("instance cancelled: {reason}"),
        Event::InstanceSuspended { reason } => format!("instance suspended: {reason}"),
        Event::InstanceResumed => "instance resumed".to_string(),
        Event::DedupClaimed {
            sub,
            token,
            node: n,
            key,
        } => format!(
            "token {token} at {} claims dedup key '{key}' (claim {sub}) and waits",
            node(g, *n)
        ),
        Event::DedupGranted { key } => format!("dedup key '{key}' granted"),
        Event::DedupWithdrawn { sub } => format!("dedup claim {sub} withdrawn"),
        Event::InstanceSuperseded { key, by } => {
            format!("instance superseded by '{by}' (dedup key '{key}')")
        }
    }
}
