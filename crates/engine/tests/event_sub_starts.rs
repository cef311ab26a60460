//! Event sub-processes started by a timer, a message or a signal: their
//! listeners open with the scope (the process, an embedded sub-process),
//! an interrupting one cancels the scope's work and other listeners, a
//! non-interrupting one runs beside it and listens again, and the
//! listeners close when their scope completes. Event sub-processes the
//! engine cannot run are refused by name. Replay equals live throughout.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use std::sync::Arc;
use windlass_engine::event::{CompletedBy, Event};
use windlass_engine::state::{Status, Wait};
use windlass_engine::{Command, Ctx, DecideError, InstanceState, JobKey, Plan, replay, step};
use windlass_types::{Timestamp, Vars};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const MIN: i64 = 60_000;

struct Inst {
    plan: Arc<Plan>,
    state: InstanceState,
    history: Vec<Event>,
}

impl Inst {
    fn start() -> Inst {
        let mut i = Inst {
            plan: support::plan("event_sub_starts.bpmn"),
            state: InstanceState::default(),
            history: Vec::new(),
        };
        i.cmd(Command::Start {
            vars: support::vars(json!({"ticket": "T-1"})),
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
            now: Timestamp(T0),
            definition_key: "k",
        };
        let mut out = windlass_engine::Decision::default();
        step(&mut self.state, &c, &ctx, &mut out)?;
        self.history.extend(out.events);
        assert_eq!(replay(&self.history).unwrap(), self.state, "replay = live");
        Ok(())
    }

    /// The element ids of the nodes with an open job, sorted.
    fn jobs(&self) -> Vec<String> {
        let g = self.plan.graph();
        let mut out: Vec<String> = (self.state.tokens.iter())
            .filter(|t| matches!(t.wait, Wait::Job { .. }))
            .map(|t| g.node(t.node).id.clone())
            .collect();
        out.sort();
        out
    }

    fn complete(&mut self, node: &str) {
        let idx = self.plan.graph().node_by_id(node).unwrap();
        let job = (self.state.tokens.iter())
            .find_map(|t| match t.wait {
                Wait::Job { attempt } if t.node == idx => Some(JobKey {
                    node: idx,
                    token: t.id,
                    attempt,
                }),
                _ => None,
            })
            .unwrap();
        self.cmd(Command::CompleteJob {
            job,
            outputs: Vars::new(),
            by: CompletedBy::Handler,
        })
        .unwrap();
    }

    /// Open subscriptions as (kind, start event id), sorted.
    fn listening(&self) -> Vec<(&'static str, String)> {
        let g = self.plan.graph();
        let node = |id| g.node(self.state.subscription(id).unwrap().node).id.clone();
        let mut out: Vec<_> = (self.state.timers().map(|(id, _)| ("timer", node(id))))
            .chain((self.state.message_subscriptions()).map(|(id, _, _)| ("message", node(id))))
            .chain((self.state.signal_subscriptions()).map(|(id, _)| ("signal", node(id))))
            .collect();
        out.sort();
        out
    }

    fn sub_of(&self, start: &str) -> u32 {
        let idx = self.plan.graph().node_by_id(start).unwrap();
        (self.state.subscriptions.iter())
            .find(|s| s.node == idx)
            .unwrap()
            .id
            .0
    }
}

fn l(kind: &'static str, node: &str) -> (&'static str, String) {
    (kind, node.into())
}

#[test]
fn listeners_open_with_their_scope_and_close_when_it_completes() {
    let mut i = Inst::start();
    assert_eq!(i.jobs(), ["work"]);
    assert_eq!(
        i.listening(),
        [
            l("message", "noted"),
            l("signal", "ping"),
            l("timer", "late")
        ]
    );
    let due: Vec<i64> = i.state.timers().map(|(_, at)| at.0 - T0).collect();
    assert_eq!(due, [10 * MIN]);
    let key = i.state.message_subscriptions().next().unwrap().2;
    assert_eq!(key, Some("T-1"), "the key is evaluated when it opens");
    // The sub-process completes: its listeners close, the process's stays.
    i.complete("work");
    assert_eq!(i.jobs(), ["after"]);
    assert_eq!(i.listening(), [l("signal", "ping")]);
    i.complete("after");
    assert_eq!(i.state.status, Status::Completed);
    assert!(i.listening().is_empty(), "closed with the process");
}

#[test]
fn a_non_interrupting_message_runs_beside_the_work_and_listens_again() {
    let mut i = Inst::start();
    let sub = i.sub_of("noted");
    i.cmd(Command::CorrelateMessage {
        sub: windlass_engine::ids::SubId(sub),
        message_id: None,
        vars: support::vars(json!({"note": "disk full"})),
    })
    .unwrap();
    assert_eq!(i.jobs(), ["log", "work"]);
    assert!(i.listening().contains(&l("message", "noted")), "again");
    assert_ne!(i.sub_of("noted"), sub, "a new subscription");
    let seen = (i.state.scopes.iter()).any(|s| s.vars.get("note") == Some(&json!("disk full")));
    assert!(seen, "the message variables arrive: {:?}", i.state.scopes);
    i.complete("log");
    assert_eq!(i.jobs(), ["work"]);
    // The sub-process waits for neither listener: completing the work
    // completes it.
    i.complete("work");
    assert_eq!(i.jobs(), ["after"]);
}

#[test]
fn an_interrupting_timer_cancels_the_work_and_the_other_listeners_of_its_scope() {
    let mut i = Inst::start();
    let sub = i.sub_of("late");
    i.cmd(Command::FireTimer {
        sub: windlass_engine::ids::SubId(sub),
    })
    .unwrap();
    assert_eq!(i.jobs(), ["escalate"], "the work is cancelled");
    assert_eq!(
        i.listening(),
        [l("signal", "ping")],
        "the scope's message listener closed; the process's stays"
    );
    i.complete("escalate");
    // The event sub-process ran in the sub-process's place: the process
    // moves on after the sub-process.
    assert_eq!(i.jobs(), ["after"]);
    i.complete("after");
    assert_eq!(i.state.status, Status::Completed);
}

#[test]
fn a_non_interrupting_signal_at_process_level_runs_as_often_as_it_comes() {
    let mut i = Inst::start();
    for _ in 0..2 {
        i.cmd(Command::Signal {
            name: "ping".into(),
            vars: Vars::new(),
        })
        .unwrap();
    }
    assert_eq!(i.jobs(), ["pong", "pong", "work"]);
    i.complete("work");
    i.complete("after");
    assert_eq!(i.state.status, Status::Running, "two runs still open");
    i.complete("pong");
    i.complete("pong");
    assert_eq!(i.state.status, Status::Completed);
    assert!(i.listening().is_empty());
}

fn refusal(esp_body: &str) -> String {
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:t">
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
    <endEvent id="e"/>
    <subProcess id="esp" triggeredByEvent="true">{esp_body}</subProcess>
  </process>
</definitions>"#
    );
    let defs = windlass_model::load(&xml).definitions.unwrap();
    match Plan::new(defs.first_executable().unwrap().clone()) {
        Ok(_) => panic!("accepted: {esp_body}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn event_sub_processes_the_engine_cannot_run_are_refused_by_name() {
    let none = refusal(r#"<task id="t"/>"#);
    assert!(
        none.contains("esp") && none.contains("without a start event"),
        "{none}"
    );
    let two = refusal(
        r#"<startEvent id="a"><signalEventDefinition/></startEvent>
           <startEvent id="b"><signalEventDefinition/></startEvent>"#,
    );
    assert!(two.contains("more than one start event"), "{two}");
    let conditional = refusal(
        r#"<startEvent id="c"><conditionalEventDefinition><condition>x</condition></conditionalEventDefinition></startEvent>"#,
    );
    assert!(conditional.contains("conditional"), "{conditional}");
}
