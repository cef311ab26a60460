//! Messages: intermediate message catch events with correlation keys,
//! interrupting and non-interrupting message boundary events, every
//! subscription closing with its activity; replay equals live.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use std::sync::Arc;
use windlass_engine::event::{CompletedBy, Event};
use windlass_engine::ids::SubId;
use windlass_engine::state::{Status, Wait};
use windlass_engine::{
    Command, Ctx, DecideError, Effect, IncidentAction, InstanceState, JobKey, Plan, replay, step,
};
use windlass_types::{Timestamp, Vars};

/// One instance driven command by command; every command checks that the
/// history replays to the live state.
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
    fn start(file: &str, input: serde_json::Value) -> Inst {
        let mut i = Inst {
            plan: support::plan(file),
            state: InstanceState::default(),
            history: Vec::new(),
            last: Vec::new(),
            effects: Vec::new(),
        };
        i.cmd(Command::Start {
            vars: vars(input),
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

    fn correlate(
        &mut self,
        sub: u32,
        id: Option<&str>,
        v: serde_json::Value,
    ) -> Result<(), DecideError> {
        self.cmd(Command::CorrelateMessage {
            sub: SubId(sub),
            message_id: id.map(str::to_string),
            vars: vars(v),
        })
    }

    /// Open message subscriptions as (sub, node element id, name, key).
    fn subs(&self) -> Vec<(u32, String, String, Option<String>)> {
        let g = self.plan.graph();
        self.state
            .message_subscriptions()
            .map(|(id, name, key)| {
                let node = self.state.subscription(id).unwrap().node;
                (
                    id.0,
                    g.node(node).id.clone(),
                    name.to_string(),
                    key.map(str::to_string),
                )
            })
            .collect()
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

    fn complete(&mut self, node: &str) {
        let job = self.job_at(node).unwrap();
        self.cmd(Command::CompleteJob {
            job,
            outputs: Vars::new(),
            by: CompletedBy::Handler,
        })
        .unwrap();
    }
}

fn sub(
    id: u32,
    node: &str,
    name: &str,
    key: Option<&str>,
) -> (u32, String, String, Option<String>) {
    (id, node.into(), name.into(), key.map(str::to_string))
}

#[test]
fn a_catch_event_waits_with_its_key_evaluated_once_and_takes_the_message_variables() {
    let mut i = Inst::start("message_catch.bpmn", json!({"orderId": 7}));
    assert_eq!(i.subs(), vec![sub(0, "wait_paid", "paid", Some("7"))]);
    assert!(i.state.tokens.iter().any(|t| t.wait == Wait::Catch));
    assert!(i.job_at("ship").is_none());
    // Not a timer: firing it as one is refused, nothing decided.
    assert_eq!(
        i.cmd(Command::FireTimer { sub: SubId(0) }),
        Err(DecideError::UnknownSubscription(SubId(0)))
    );
    i.correlate(0, Some("m1"), json!({"amount": 3})).unwrap();
    assert_eq!(
        i.last[0],
        Event::MessageCorrelated {
            sub: SubId(0),
            message_id: Some("m1".into()),
            vars: vars(json!({"amount": 3})),
        }
    );
    assert!(i.job_at("ship").is_some(), "the token moved on");
    assert_eq!(i.state.root_vars().unwrap()["amount"], json!(3));
    // A second delivery to the closed subscription is stale.
    assert_eq!(
        i.correlate(0, Some("m1"), json!({})),
        Err(DecideError::UnknownSubscription(SubId(0)))
    );
    i.complete("ship");
    assert_eq!(i.state.status, Status::Completed);
}

#[test]
fn a_correlation_key_that_cannot_be_a_key_is_an_incident_at_the_catch_event() {
    let mut i = Inst::start("message_catch.bpmn", json!({"orderId": {"nested": 1}}));
    assert_eq!(i.state.status, Status::Running);
    assert!(i.state.subscriptions.is_empty());
    let message = match i.last.last() {
        Some(Event::IncidentRaised { message, .. }) => message.clone(),
        other => panic!("expected an incident, got {other:?}"),
    };
    assert!(
        message.contains("correlation key `orderId` of 'wait_paid'")
            && message.contains("not a string or number"),
        "{message}"
    );
    let (incident, _) = i.state.incidents().next().unwrap();
    // Retry with the same variables: the same incident again.
    i.cmd(Command::ResolveIncident {
        incident,
        action: IncidentAction::Retry,
    })
    .unwrap();
    let (incident, _) = i.state.incidents().next().unwrap();
    // Skip moves on as if the message had arrived, with the variables.
    i.cmd(Command::ResolveIncident {
        incident,
        action: IncidentAction::Skip(vars(json!({"paid": true}))),
    })
    .unwrap();
    assert!(i.job_at("ship").is_some());
    assert_eq!(i.state.root_vars().unwrap().get("paid"), Some(&json!(true)));
}

#[test]
fn a_non_interrupting_boundary_message_reopens_and_an_interrupting_one_cancels_the_job() {
    let mut i = Inst::start("message_boundary.bpmn", json!({}));
    assert_eq!(
        i.subs(),
        vec![
            sub(0, "updated", "update", None),
            sub(1, "cancelled", "cancel-order", None)
        ]
    );
    let work = i.job_at("work").unwrap();
    // Non-interrupting: a token starts at 'updated', the job keeps running,
    // and the boundary listens again under a new subscription id.
    i.correlate(0, None, json!({"note": "address changed"}))
        .unwrap();
    assert_eq!(i.job_at("work"), Some(work));
    assert!(i.job_at("note").is_some());
    assert_eq!(
        i.subs(),
        vec![
            sub(1, "cancelled", "cancel-order", None),
            sub(2, "updated", "update", None)
        ]
    );
    i.correlate(2, None, json!({})).unwrap();
    assert_eq!(
        i.state
            .tokens
            .iter()
            .filter(|t| matches!(t.wait, Wait::Job { .. }))
            .count(),
        3
    );
    // Interrupting: the job is cancelled, every subscription of the activity
    // closes, the token continues at 'cancelled'.
    i.correlate(1, None, json!({"reason": "customer"})).unwrap();
    assert!(i.effects.contains(&Effect::CancelJob(work)));
    assert!(
        i.last
            .contains(&Event::MessageUnsubscribed { sub: SubId(3) })
    );
    assert!(i.state.subscriptions.is_empty());
    assert!(i.job_at("work").is_none());
    assert!(i.job_at("refund").is_some());
    assert_eq!(i.state.root_vars().unwrap()["reason"], json!("customer"));
}

#[test]
fn completing_the_activity_closes_its_message_subscriptions() {
    let mut i = Inst::start("message_boundary.bpmn", json!({}));
    i.complete("work");
    assert!(
        i.last
            .contains(&Event::MessageUnsubscribed { sub: SubId(0) })
    );
    assert!(
        i.last
            .contains(&Event::MessageUnsubscribed { sub: SubId(1) })
    );
    assert_eq!(i.state.status, Status::Completed);
    assert_eq!(
        i.correlate(1, None, json!({})),
        Err(DecideError::NotRunning)
    );
}

#[test]
fn terminating_the_instance_closes_its_message_subscriptions() {
    let mut i = Inst::start("message_catch.bpmn", json!({"orderId": "a"}));
    i.cmd(Command::Terminate {
        reason: "by hand".into(),
    })
    .unwrap();
    assert!(
        i.last
            .contains(&Event::MessageUnsubscribed { sub: SubId(0) })
    );
    assert!(i.state.subscriptions.is_empty());
}

#[test]
fn at_an_event_based_gateway_the_message_wins_and_the_timer_closes() {
    let mut i = Inst::start("event_gateway.bpmn", json!({"orderId": "o-1"}));
    assert_eq!(i.subs(), vec![sub(0, "paid", "paid", Some("o-1"))]);
    assert_eq!(i.state.timers().count(), 1, "the timer races the message");
    assert!(i.state.tokens.iter().all(|t| t.wait == Wait::Catch));
    i.correlate(0, None, json!({"amount": 5})).unwrap();
    assert!(i.last.contains(&Event::TimerCancelled { sub: SubId(1) }));
    assert!(i.state.subscriptions.is_empty());
    assert!(i.job_at("ship").is_some());
    assert!(i.job_at("remind").is_none());
    assert_eq!(i.state.root_vars().unwrap()["amount"], json!(5));
    // The losing timer is closed: a late fire is stale.
    assert_eq!(
        i.cmd(Command::FireTimer { sub: SubId(1) }),
        Err(DecideError::UnknownSubscription(SubId(1)))
    );
}

#[test]
fn at_an_event_based_gateway_the_timer_wins_and_the_message_closes() {
    let mut i = Inst::start("event_gateway.bpmn", json!({"orderId": "o-2"}));
    i.cmd(Command::FireTimer { sub: SubId(1) }).unwrap();
    assert!(
        i.last
            .contains(&Event::MessageUnsubscribed { sub: SubId(0) })
    );
    assert!(i.job_at("remind").is_some());
    assert!(i.job_at("ship").is_none());
    assert_eq!(
        i.correlate(0, None, json!({})),
        Err(DecideError::UnknownSubscription(SubId(0)))
    );
    let text: Vec<String> = i
        .history
        .iter()
        .map(|e| windlass_engine::history_text::describe(e, i.plan.graph()))
        .collect();
    assert!(
        text.iter()
            .any(|l| l.contains("waits at event-based gateway")),
        "{text:#?}"
    );
}

#[test]
fn an_event_based_gateway_before_a_receive_task_is_refused_by_name() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <process id="p" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="gw"/>
    <eventBasedGateway id="gw"/>
    <sequenceFlow id="f2" sourceRef="gw" targetRef="sig"/>
    <sequenceFlow id="f3" sourceRef="gw" targetRef="tm"/>
    <receiveTask id="sig"/>
    <intermediateCatchEvent id="tm"><timerEventDefinition><timeDuration>PT1M</timeDuration></timerEventDefinition></intermediateCatchEvent>
  </process>
</definitions>"#;
    let defs = windlass_model::load(xml).definitions.unwrap();
    let err = Plan::new(defs.first_executable().unwrap().clone()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported element 'gw': event-based gateway before receive task 'sig'"
    );
}

#[test]
fn a_receive_task_waits_for_its_message_then_completes_as_an_activity() {
    let mut i = Inst::start(
        "receive_task.bpmn",
        json!({"orderId": "o-1", "items": ["a", "b"]}),
    );
    assert_eq!(i.subs(), vec![sub(1, "receive", "paid", Some("o-1"))]);
    assert!(i.state.timers().next().is_some(), "its boundary timer");
    assert!(i.job_at("receive").is_none(), "no job runs");
    i.correlate(1, None, json!({"amount": 3})).unwrap();
    let receive = i.plan.graph().node_by_id("receive").unwrap();
    assert!(
        i.last
            .iter()
            .any(|e| matches!(e, Event::ActivityCompleted { node, .. } if *node == receive)),
        "{:?}",
        i.last
    );
    assert_eq!(i.state.root_vars().unwrap()["paid"], json!(3), "outputs");
    assert!(i.state.timers().next().is_none(), "the boundary closed");
    // The multi-instance receive task waits for one message per item.
    let mut acks: Vec<_> = i.subs().into_iter().map(|s| (s.1, s.3)).collect();
    acks.sort();
    assert_eq!(
        acks,
        [
            ("acks".to_string(), Some("a".to_string())),
            ("acks".to_string(), Some("b".to_string()))
        ]
    );
    let b = i.subs().into_iter().find(|s| s.3.as_deref() == Some("b"));
    i.correlate(b.unwrap().0, None, json!({})).unwrap();
    assert_eq!(i.state.status, Status::Running, "one item left");
    let a = i.subs()[0].0;
    i.correlate(a, None, json!({})).unwrap();
    assert_eq!(i.state.status, Status::Completed);
}

#[test]
fn a_receive_tasks_boundary_timer_closes_its_subscription() {
    let mut i = Inst::start("receive_task.bpmn", json!({"orderId": 7, "items": []}));
    let (timer, _) = i.state.timers().next().unwrap();
    i.cmd(Command::FireTimer { sub: timer }).unwrap();
    assert!(i.subs().is_empty(), "the message subscription closed");
    assert!(i.job_at("remind").is_some());
}

#[test]
fn a_receive_tasks_key_that_cannot_be_a_key_is_an_incident_and_skip_completes_it() {
    let mut i = Inst::start("receive_task.bpmn", json!({"orderId": [1], "items": []}));
    let message = match i.last.last() {
        Some(Event::IncidentRaised { message, .. }) => message.clone(),
        other => panic!("expected an incident, got {other:?}"),
    };
    assert!(message.contains("'receive'"), "{message}");
    let (incident, _) = i.state.incidents().next().unwrap();
    i.cmd(Command::ResolveIncident {
        incident,
        action: IncidentAction::Skip(vars(json!({"paid": 0}))),
    })
    .unwrap();
    assert_eq!(i.state.root_vars().unwrap()["paid"], json!(0));
    // An empty collection: the multi-instance task completes at once.
    assert_eq!(i.state.status, Status::Completed);
}

fn receive_plan(attrs: &str, inner: &str) -> Result<Plan, String> {
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
             id="d" targetNamespace="urn:t">
  <message id="m" name="m"/>
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="r"/>
    <receiveTask id="r" messageRef="m" {attrs}>{inner}</receiveTask>
  </process>
</definitions>"#
    );
    let out = windlass_model::load(&xml);
    let defs = out
        .definitions
        .ok_or_else(|| format!("{:?}", out.diagnostics))?;
    Plan::new(defs.first_executable().unwrap().clone()).map_err(|e| e.to_string())
}

#[test]
fn receive_tasks_whose_settings_would_be_ignored_are_refused_by_name() {
    assert!(receive_plan("", "").is_ok());
    let e = receive_plan(r#"instantiate="true""#, "").err().unwrap();
    assert!(e.contains("'r'") && e.contains("instantiate"), "{e}");
    let e = receive_plan(
        "",
        r#"<extensionElements><windlass:task kind="http"/></extensionElements>"#,
    )
    .err()
    .unwrap();
    assert!(e.contains("job settings"), "{e}");
    let e = receive_plan(
        "",
        r#"<extensionElements><zeebe:ioMapping><zeebe:input source="=1" target="x"/></zeebe:ioMapping></extensionElements>"#,
    )
    .err()
    .unwrap();
    assert!(e.contains("input mappings"), "{e}");
    let bad = receive_plan(r#"messageRef="nope""#, "");
    assert!(bad.is_err(), "an unresolved messageRef is reported");
}
