//! Signals: sent to one instance (kept in order until a subscription for
//! their name opens) and broadcast (every waiting subscription, nothing
//! kept); signal catch events and interrupting / non-interrupting signal
//! boundary events; replay equals live.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use std::sync::Arc;
use windlass_engine::event::{CompletedBy, Event};
use windlass_engine::ids::SubId;
use windlass_engine::state::{Status, Wait};
use windlass_engine::{
    Command, Ctx, DecideError, Effect, InstanceState, JobKey, Plan, replay, step,
};
use windlass_types::{Timestamp, Vars};

struct Inst {
    plan: Arc<Plan>,
    state: InstanceState,
    history: Vec<Event>,
    last: Vec<Event>,
    effects: Vec<Effect>,
}

fn vars(v: serde_json::Value) -> Vars {
    v.as_object().cloned().unwrap_or_default()
}

impl Inst {
    fn start() -> Inst {
        let mut i = Inst {
            plan: support::plan("signal_flow.bpmn"),
            state: InstanceState::default(),
            history: Vec::new(),
            last: Vec::new(),
            effects: Vec::new(),
        };
        i.cmd(Command::Start {
            vars: Vars::new(),
            business_key: None,
            start_event: None,
            has_parent: false,
        })
        .unwrap();
        i
    }

    fn cmd(&mut self, c: Command) -> Result<(), DecideError> {
        let ctx = Ctx {
            plan: &self.plan,
            now: Timestamp(1_000),
            definition_key: "k",
        };
        let mut out = windlass_engine::Decision::default();
        step(&mut self.state, &c, &ctx, &mut out)?;
        self.last = out.events.clone();
        self.effects = out.effects;
        self.history.extend(out.events);
        assert_eq!(replay(&self.history).unwrap(), self.state, "replay = live");
        Ok(())
    }

    fn signal(&mut self, name: &str, v: serde_json::Value) {
        self.cmd(Command::Signal {
            name: name.into(),
            vars: vars(v),
        })
        .unwrap();
    }

    fn broadcast(&mut self, name: &str, v: serde_json::Value) {
        self.cmd(Command::BroadcastSignal {
            name: name.into(),
            vars: vars(v),
        })
        .unwrap();
    }

    fn job_at(&self, node: &str) -> Option<JobKey> {
        let idx = self.plan.graph().node_by_id(node).unwrap();
        self.state.tokens.iter().find_map(|t| match t.wait {
            Wait::Job { attempt } if t.node == idx => Some(JobKey {
                node: idx,
                token: t.id,
                attempt,
            }),
            _ => None,
        })
    }

    fn jobs_at(&self, node: &str) -> usize {
        let idx = self.plan.graph().node_by_id(node).unwrap();
        self.state
            .tokens
            .iter()
            .filter(|t| t.node == idx && matches!(t.wait, Wait::Job { .. }))
            .count()
    }

    fn complete(&mut self, node: &str) {
        let job = self.job_at(node).unwrap();
        self.cmd(Command::CompleteJob {
            job,
            outputs: Vars::new(),
            by: CompletedBy::Handler,
        })
        .unwrap();
    }

    fn signal_subs(&self) -> Vec<(u32, String)> {
        self.state
            .signal_subscriptions()
            .map(|(s, n)| (s.0, n.to_string()))
            .collect()
    }
}

#[test]
fn a_signal_nothing_waits_for_is_kept_in_order_and_taken_when_its_catch_event_opens() {
    let mut i = Inst::start();
    i.signal("approve", json!({"by": "ann"}));
    i.signal("approve", json!({"by": "bob"}));
    assert_eq!(i.state.signals.len(), 2, "kept, shown in the state");
    assert_eq!(i.state.signals[0].vars["by"], json!("ann"));
    assert!(matches!(i.last[0], Event::SignalBuffered { .. }));
    // The catch event opens after 'prep' and takes the oldest kept signal.
    i.complete("prep");
    assert!(i.last.iter().any(|e| matches!(
        e,
        Event::SignalDelivered {
            buffered: Some(0),
            ..
        }
    )));
    assert_eq!(i.state.root_vars().unwrap()["by"], json!("ann"));
    assert_eq!(i.state.signals.len(), 1, "bob's is still kept");
    assert!(i.job_at("work").is_some());
}

#[test]
fn a_signal_sent_while_the_catch_event_waits_moves_the_token() {
    let mut i = Inst::start();
    i.complete("prep");
    assert_eq!(i.signal_subs(), vec![(0, "approve".to_string())]);
    i.signal("approve", json!({"by": "carl"}));
    assert!(i.state.signals.is_empty());
    assert!(i.job_at("work").is_some());
    assert_eq!(i.state.root_vars().unwrap()["by"], json!("carl"));
}

#[test]
fn a_broadcast_reaches_every_waiting_subscription_and_keeps_nothing() {
    let mut i = Inst::start();
    // Nothing waits for 'approve' yet: a broadcast is not kept.
    i.broadcast("approve", json!({}));
    assert!(i.last.is_empty());
    assert!(i.state.signals.is_empty());
    i.complete("prep");
    i.broadcast("approve", json!({}));
    assert!(i.job_at("work").is_some());
    // Non-interrupting 'update': a broadcast starts one token and the
    // boundary re-opens; it is not taken twice by the re-opened one.
    i.broadcast("update", json!({"rev": 2}));
    assert_eq!(i.jobs_at("note"), 1);
    assert_eq!(i.jobs_at("work"), 1);
    let subs = i.signal_subs();
    assert_eq!(subs.len(), 2, "{subs:?}");
    assert!(subs.iter().any(|(_, n)| n == "update"));
    // Interrupting 'abort' sent to the instance: the job is cancelled, every
    // subscription of the activity closes.
    let work = i.job_at("work").unwrap();
    i.signal("abort", json!({"why": "outage"}));
    assert!(i.effects.contains(&Effect::CancelJob(work)));
    assert!(i.state.subscriptions.is_empty());
    assert_eq!(i.jobs_at("rollback"), 1);
    assert!(
        i.last
            .iter()
            .any(|e| matches!(e, Event::SignalUnsubscribed { .. }))
    );
}

#[test]
fn a_kept_interrupting_signal_stops_the_activity_before_its_job_is_created() {
    let mut i = Inst::start();
    i.signal("abort", json!({}));
    i.signal("approve", json!({}));
    i.complete("prep");
    // 'approve' was taken at the catch event; 'work' started, its 'abort'
    // boundary took the kept signal at once: no job for 'work' ever.
    assert!(
        !i.history
            .iter()
            .any(|e| matches!(e, Event::JobCreated { node, .. } if *node == i.plan.graph().node_by_id("work").unwrap()))
    );
    assert_eq!(i.jobs_at("rollback"), 1);
    assert!(i.state.signals.is_empty());
    assert!(i.state.subscriptions.is_empty());
    i.complete("rollback");
    assert_eq!(i.state.status, Status::Completed);
}

#[test]
fn terminating_closes_signal_subscriptions_and_a_finished_instance_refuses_signals() {
    let mut i = Inst::start();
    i.complete("prep");
    i.cmd(Command::Terminate {
        reason: "by hand".into(),
    })
    .unwrap();
    assert!(
        i.last
            .contains(&Event::SignalUnsubscribed { sub: SubId(0) })
    );
    assert_eq!(
        i.cmd(Command::Signal {
            name: "approve".into(),
            vars: Vars::new()
        }),
        Err(DecideError::NotRunning)
    );
}
