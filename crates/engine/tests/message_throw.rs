//! Message throw and end events: the message is recorded (`MessageThrown`,
//! numbered per instance) and handed out as `Effect::PublishMessage`, with
//! the key evaluated in the thrower's scope and the input mappings as its
//! variables; a key that cannot be evaluated is an incident (retry throws,
//! skip moves on without throwing). Replay equals live throughout, and the
//! driver publishes what is thrown after the tree settles.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use std::sync::Arc;
use windlass_engine::event::Event;
use windlass_engine::state::Status;
use windlass_engine::{
    Command, Ctx, Effect, IncidentAction, InstanceState, Plan, decide, replay, step,
};
use windlass_types::{Timestamp, Vars};

struct Inst {
    plan: Arc<Plan>,
    state: InstanceState,
    history: Vec<Event>,
    last: Vec<Event>,
    effects: Vec<Effect>,
}

impl Inst {
    fn start(input: serde_json::Value) -> Inst {
        let mut i = Inst {
            plan: support::plan("message_throw.bpmn"),
            state: InstanceState::default(),
            history: Vec::new(),
            last: Vec::new(),
            effects: Vec::new(),
        };
        i.cmd(Command::Start {
            vars: support::vars(input),
            business_key: None,
            start_event: None,
            has_parent: false,
        });
        i
    }

    fn cmd(&mut self, c: Command) {
        let ctx = Ctx {
            plan: &self.plan,
            now: Timestamp(1_000),
            definition_key: "k",
        };
        let mut out = windlass_engine::Decision::default();
        step(&mut self.state, &c, &ctx, &mut out).unwrap();
        self.last = out.events.clone();
        self.effects = out.effects;
        self.history.extend(out.events);
        assert_eq!(replay(&self.history).unwrap(), self.state, "replay = live");
    }

    fn published(&self) -> Vec<(u32, String, Option<String>, Vars)> {
        (self.effects.iter())
            .filter_map(|e| match e {
                Effect::PublishMessage {
                    number,
                    name,
                    correlation_key,
                    vars,
                    ..
                } => Some((*number, name.clone(), correlation_key.clone(), vars.clone())),
                _ => None,
            })
            .collect()
    }

    fn correlate_first(&mut self, vars: serde_json::Value) {
        let (sub, _, _) = self.state.message_subscriptions().next().unwrap();
        self.cmd(Command::CorrelateMessage {
            sub,
            message_id: None,
            vars: support::vars(vars),
        });
    }
}

#[test]
fn a_throw_event_records_and_publishes_its_message_with_key_and_mapped_variables() {
    let mut i = Inst::start(json!({"order": "o-1", "price": 2}));
    let thrown: Vec<_> = (i.last.iter())
        .filter(|e| matches!(e, Event::MessageThrown { .. }))
        .cloned()
        .collect();
    let send = i.plan.graph().node_by_id("send").unwrap();
    assert!(
        matches!(&thrown[..], [Event::MessageThrown { node, number: 0, name, correlation_key: Some(k), vars, .. }]
            if *node == send && name == "ping" && k == "o-1" && vars == &support::vars(json!({"amount": 6}))),
        "{thrown:?}"
    );
    assert_eq!(
        i.published(),
        [(
            0,
            "ping".to_string(),
            Some("o-1".to_string()),
            support::vars(json!({"amount": 6}))
        )]
    );
    // The token moved on to the catch event; the message is the runtime's
    // to deliver.
    assert_eq!(i.state.message_subscriptions().count(), 1);
    i.correlate_first(json!({"amount": 6}));
    // The end event throws the next number, without a key or variables.
    assert_eq!(i.published(), [(1, "done".to_string(), None, Vars::new())]);
    assert_eq!(i.state.messages_thrown, 2);
    assert_eq!(i.state.status, Status::Completed);
}

#[test]
fn a_key_that_cannot_be_evaluated_is_an_incident_retry_throws_and_skip_does_not() {
    let mut i = Inst::start(json!({"price": 2}));
    let message = match i.last.last() {
        Some(Event::IncidentRaised { message, .. }) => message.clone(),
        other => panic!("expected an incident, got {other:?}"),
    };
    assert!(message.contains("'send'"), "{message}");
    assert!(i.published().is_empty(), "nothing thrown");
    // A skip sets the variables and moves on without throwing.
    let (incident, _) = i.state.incidents().next().unwrap();
    i.cmd(Command::ResolveIncident {
        incident,
        action: IncidentAction::Skip(support::vars(json!({"order": "o-2"}))),
    });
    assert!(i.published().is_empty(), "a skip does not throw");
    assert_eq!(i.state.messages_thrown, 0);
    assert_eq!(i.state.message_subscriptions().count(), 1, "moved on");

    let mut j = Inst::start(json!({"price": 2}));
    let (incident, _) = j.state.incidents().next().unwrap();
    // A retry with the variable still missing raises it again.
    j.cmd(Command::ResolveIncident {
        incident,
        action: IncidentAction::Retry,
    });
    assert!(j.published().is_empty());
    assert_eq!(j.state.incidents().count(), 1);
}

#[test]
fn the_driver_publishes_a_thrown_message_once_the_tree_settles() {
    let out = support::run(
        "message_throw.bpmn",
        json!({"order": "o-1", "price": 1}),
        &[],
    );
    assert_eq!(
        out.state.status,
        Status::Completed,
        "it caught its own ping"
    );
    assert_eq!(out.state.root_vars().unwrap()["amount"], json!(3));
}

#[test]
fn decide_and_step_agree_on_a_throw() {
    let plan = support::plan("message_throw.bpmn");
    let ctx = Ctx {
        plan: &plan,
        now: Timestamp(0),
        definition_key: "k",
    };
    let start = Command::Start {
        vars: support::vars(json!({"order": 7, "price": 1})),
        business_key: None,
        start_event: None,
        has_parent: false,
    };
    let d = decide(&InstanceState::default(), &start, &ctx).unwrap();
    assert!(d.effects.iter().any(|e| matches!(e,
        Effect::PublishMessage { correlation_key: Some(k), .. } if k == "7")));
}
