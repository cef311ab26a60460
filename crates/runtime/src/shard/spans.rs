//! Log context: the `instance` span a shard enters around the work for one
//! instance (deciding one input, carrying out one effect), so every log line
//! about an instance carries `instance` (its id), `run`, `process` (the
//! process id) and, where one is known, `node` (the element id), without
//! repeating them at each call site.
//!
//! The span is at `error` level, so it is on whenever anything is logged
//! (a `warn` line inside it carries the fields too) and, when nothing
//! listens, costs only `tracing`'s disabled-span check. Its `process` and
//! `node` are looked up only when the span is enabled.

use super::msg::{Input, ShardMsg};
use super::{Shard, Slot};
use crate::definitions::ProcessDef;
use tracing::Span;
use tracing::field::{Empty, display};
use windlass_engine::{Command, Effect};
use windlass_model::NodeIdx;
use windlass_store_api::{InstanceRef, OutboxRow, Store};

/// The span of work for `instance`. `context` names its definition and the
/// node the work is at; it is called only when the span is enabled.
pub(crate) fn instance_span<'a>(
    instance: &InstanceRef,
    context: impl FnOnce() -> Option<(&'a ProcessDef, Option<NodeIdx>)>,
) -> Span {
    let span = tracing::error_span!(
        "instance",
        instance = %instance.id,
        run = %instance.run,
        process = Empty,
        node = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    if let Some((def, node)) = context() {
        span.record("process", display(&def.process_id));
        if let Some(n) = node.and_then(|n| def.plan.graph().nodes.get(n.0 as usize)) {
            span.record("node", display(&n.id));
        }
    }
    span
}

/// The node a command acts at, when it names one (a job's answer).
fn command_node(cmd: &Command) -> Option<NodeIdx> {
    match cmd {
        Command::CompleteJob { job, .. } | Command::FailJob { job, .. } => Some(job.node),
        _ => None,
    }
}

/// The node `effect` is about, in `slot`'s state: the job's, the
/// incident's, the call activity's.
fn effect_node(slot: &Slot, effect: &Effect) -> Option<NodeIdx> {
    let state = &slot.state;
    match effect {
        Effect::RunJob(req) => Some(req.key.node),
        Effect::CancelJob(job) => Some(job.node),
        Effect::IncidentRaised { incident, .. } => state
            .incidents()
            .find(|(id, _)| id == incident)
            .map(|(_, t)| t.node),
        Effect::StartChild { token, .. } | Effect::CancelChild { token } => {
            state.token(*token).map(|t| t.node)
        }
        Effect::InstanceFinished(_)
        | Effect::EscalateToParent { .. }
        | Effect::PublishMessage { .. }
        | Effect::BroadcastSignal { .. } => None,
    }
}

impl<S: Store> Shard<S> {
    /// The span for deciding `input`; none for an input about no single
    /// instance (a broadcast or a re-drive: their instances get spans of
    /// their own where they are taken).
    pub(super) fn input_span(&self, input: &Input) -> Span {
        let live = |instance: &InstanceRef, node: Option<NodeIdx>| {
            instance_span(instance, || {
                self.slots.get(instance).map(|s| (s.def.as_ref(), node))
            })
        };
        match input {
            Input::Msg(ShardMsg::Start(s))
            | Input::Msg(ShardMsg::SignalWithStart { start: s, .. }) => {
                instance_span(&s.instance, || Some((&s.def, None)))
            }
            Input::Msg(ShardMsg::Command { instance, cmd, .. }) => {
                live(instance, command_node(cmd))
            }
            Input::Msg(ShardMsg::Dispatch(row)) => self.row_span(row),
            Input::Msg(ShardMsg::Deliver(d)) => live(&d.instance, None),
            Input::Msg(ShardMsg::Dedup { instance, .. }) => live(instance, None),
            Input::Msg(ShardMsg::Reset(m)) => live(&m.instance, None),
            Input::Msg(ShardMsg::Wait { instance, .. })
            | Input::Msg(ShardMsg::Published { instance, .. })
            | Input::Timer { instance, .. } => live(instance, None),
            Input::Outcome { instance, job, .. }
            | Input::Expired { instance, job, .. }
            | Input::Msg(ShardMsg::Heartbeat { instance, job, .. }) => {
                live(instance, Some(job.node))
            }
            Input::Due {
                instance, request, ..
            } => live(instance, Some(request.key.node)),
            Input::Msg(ShardMsg::Broadcast { .. })
            | Input::Msg(ShardMsg::Adopt(_))
            | Input::Msg(ShardMsg::Release { .. })
            | Input::Redrive(_) => Span::none(),
        }
    }

    /// The span for taking the recovered outbox row `row`.
    pub(super) fn row_span(&self, row: &OutboxRow) -> Span {
        match &row.instance {
            Some(instance) => instance_span(instance, || {
                self.slots.get(instance).map(|s| (s.def.as_ref(), None))
            }),
            None => Span::none(),
        }
    }

    /// The span for carrying out `effect` of `instance`.
    pub(super) fn effect_span(&self, instance: &InstanceRef, effect: &Effect) -> Span {
        instance_span(instance, || {
            let slot = self.slots.get(instance)?;
            Some((slot.def.as_ref(), effect_node(slot, effect)))
        })
    }
}
