//! Expressions evaluated around events raise incidents instead of failing
//! the instance: the timers and correlation keys a token evaluates while
//! opening its event subscriptions (boundary events, an event-based
//! gateway's catch events, an event sub-process's listener), the output
//! mappings of a caught message or signal, and a complex gateway's
//! activation condition. Replay equals live.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use windlass_engine::driver::{Driver, JobOutcome, Message, RunStatus};
use windlass_engine::event::{CompletedBy, Event, IncidentSite};
use windlass_engine::ids::IncidentId;
use windlass_engine::state::Wait;
use windlass_engine::{Command, IncidentAction, JobKey, JobRequest};
use windlass_model::Node;
use windlass_types::{Timestamp, Vars};

fn resolve(incident: u32, action: IncidentAction) -> Command {
    Command::ResolveIncident {
        incident: IncidentId(incident),
        action,
    }
}

fn skip(v: serde_json::Value) -> IncidentAction {
    IncidentAction::Skip(support::vars(v))
}

/// The messages of the open incidents.
fn incidents(dr: &Driver<'_>) -> Vec<String> {
    match dr.status() {
        RunStatus::Waiting { incidents } => incidents,
        other => panic!("not waiting: {other:?}"),
    }
}

/// The site of the last incident raised.
fn last_site(dr: &Driver<'_>) -> IncidentSite {
    dr.history()
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::IncidentRaisedAt { site, .. } => Some(site.clone()),
            Event::IncidentRaised { .. } => Some(IncidentSite::Work),
            _ => None,
        })
        .unwrap()
}

/// The names of the open subscriptions' nodes.
fn subscribed(dr: &Driver<'_>, plan: &windlass_engine::Plan) -> Vec<String> {
    let mut v: Vec<String> = dr
        .state()
        .subscriptions
        .iter()
        .map(|s| plan.graph().node(s.node).id.to_string())
        .collect();
    v.sort();
    v
}

fn complete(_: &JobRequest, _: &Node) -> JobOutcome {
    JobOutcome::Complete {
        outputs: Vars::new(),
        by: CompletedBy::Handler,
    }
}

/// `work` stays open (answered by hand); the other tasks complete.
fn leave_work(r: &JobRequest, node: &Node) -> JobOutcome {
    if node.id == "work" {
        JobOutcome::Leave
    } else {
        complete(r, node)
    }
}

#[test]
fn opening_subscriptions_raises_incidents_that_open_them_again() {
    let d = support::defs("expr_incidents_subscriptions.bpmn");
    let plan = support::plan("expr_incidents_subscriptions.bpmn");
    let mut resolver = windlass_engine::driver::resolver(&d);
    let mut respond = complete;
    let mut dr = Driver::start(
        &plan,
        Vars::new(),
        Timestamp(1_000),
        &mut resolver,
        &mut respond,
    )
    .unwrap();

    // The listener's key and the boundary event's key: two incidents, the
    // task has not started its work (no job).
    let open = incidents(&dr);
    assert_eq!(open.len(), 2, "{open:?}");
    assert!(
        open.iter()
            .any(|m| m.contains("'noteStart'") && m.contains("ticket")),
        "{open:?}"
    );
    assert!(
        open.iter()
            .any(|m| m.contains("'stopped'") && m.contains("orderId")),
        "{open:?}"
    );
    assert_eq!(last_site(&dr), IncidentSite::Subscriptions);
    assert!(
        !dr.history()
            .iter()
            .any(|e| matches!(e, Event::JobCreated { .. }))
    );
    assert!(subscribed(&dr, &plan).is_empty());

    // The listener, skipped with its key: it subscribes and takes a note.
    dr.send(resolve(0, skip(json!({"ticket": "t-1"})))).unwrap();
    assert_eq!(subscribed(&dr, &plan), ["noteStart"]);
    dr.publish(Message {
        name: "note".into(),
        correlation_key: Some("t-1".into()),
        message_id: None,
        vars: Vars::new(),
        ttl_millis: None,
    })
    .unwrap();
    assert_eq!(dr.executed().get("Noted"), Some(&1));

    // The boundary event: a retry evaluates again (a new incident); a skip
    // with the key opens it, and only then does the task's work start.
    dr.send(resolve(1, IncidentAction::Retry)).unwrap();
    assert_eq!(incidents(&dr).len(), 1);
    assert_eq!(last_site(&dr), IncidentSite::Subscriptions);
    dr.send(resolve(2, skip(json!({"orderId": "o-1"}))))
        .unwrap();
    assert_eq!(dr.executed().get("Work"), Some(&1));

    // At the event-based gateway: `go` opened, then `late`'s timer failed;
    // `go` was closed with the incident, so a `go` sent now is kept.
    let open = incidents(&dr);
    assert!(
        open[0].contains("'late'") && open[0].contains("patience"),
        "{open:?}"
    );
    assert_eq!(last_site(&dr), IncidentSite::Subscriptions);
    assert_eq!(subscribed(&dr, &plan), ["noteStart"]);
    dr.signal("go", Vars::new()).unwrap();
    assert_eq!(dr.state().signals.len(), 1);
    // Skipped with the duration: both open again, `go` takes the kept
    // signal and wins; the timer closes.
    dr.send(resolve(3, skip(json!({"patience": "PT1H"}))))
        .unwrap();
    assert_eq!(dr.status(), RunStatus::Completed);
    assert_eq!(dr.executed().get("Went"), Some(&1));
    assert_eq!(dr.executed().get("Too late"), None);
    assert!(dr.timers().is_empty());
    support::check_replay(&plan, &dr.report());
}

/// The open job of the token at node `id`.
fn job_at(dr: &Driver<'_>, plan: &windlass_engine::Plan, id: &str) -> JobKey {
    dr.state()
        .tokens
        .iter()
        .find_map(|t| match t.wait {
            Wait::Job { attempt } if plan.graph().node(t.node).id == id => Some(JobKey {
                node: t.node,
                token: t.id,
                attempt,
            }),
            _ => None,
        })
        .unwrap()
}

#[test]
fn caught_outputs_and_activation_conditions_raise_incidents() {
    let d = support::defs("expr_incidents_caught.bpmn");
    let plan = support::plan("expr_incidents_caught.bpmn");
    let mut resolver = windlass_engine::driver::resolver(&d);
    let mut respond = leave_work;
    let mut dr = Driver::start(
        &plan,
        support::vars(json!({"amount": 3})),
        Timestamp(1_000),
        &mut resolver,
        &mut respond,
    )
    .unwrap();

    // A signal at the non-interrupting boundary: its output mapping fails
    // on the boundary's new token; the task and the boundary stay open.
    dr.signal("poke", Vars::new()).unwrap();
    let open = incidents(&dr);
    assert!(
        open[0].contains("'poked'") && open[0].contains("n * 2"),
        "{open:?}"
    );
    assert!(matches!(
        last_site(&dr),
        IncidentSite::Outputs { results } if results.is_empty()
    ));
    assert_eq!(subscribed(&dr, &plan), ["paid", "poked"]);
    // Skip sets the variables instead; the boundary's path goes on.
    dr.send(resolve(0, skip(json!({"pokes": 0})))).unwrap();
    assert_eq!(dr.executed().get("Poked"), Some(&1));
    assert_eq!(dr.variables().get("pokes"), Some(&json!(0)));

    // A second signal carries `n`: the mapping works.
    dr.signal("poke", support::vars(json!({"n": 4}))).unwrap();
    assert_eq!(dr.executed().get("Poked"), Some(&2));
    assert_eq!(dr.variables().get("pokes"), Some(&json!(8)));

    // The message is caught with `rate` missing: an incident keeping the
    // message's variables; a retry maps them again.
    dr.publish(Message {
        name: "paid".into(),
        correlation_key: None,
        message_id: None,
        vars: support::vars(json!({"rate": null, "note": "kept"})),
        ttl_millis: None,
    })
    .unwrap();
    let open = incidents(&dr);
    assert!(
        open[0].contains("'paid'") && open[0].contains("amount * rate"),
        "{open:?}"
    );
    assert!(matches!(
        last_site(&dr),
        IncidentSite::Outputs { results } if results.get("note") == Some(&json!("kept"))
    ));
    assert_eq!(subscribed(&dr, &plan), ["poked"]);
    dr.send(resolve(1, IncidentAction::Retry)).unwrap();
    assert_eq!(incidents(&dr).len(), 1);
    dr.send(resolve(2, skip(json!({"total": 9})))).unwrap();
    assert_eq!(dr.variables().get("total"), Some(&json!(9)));

    // The catch event's token reaches the join: `need` is missing.
    let open = incidents(&dr);
    assert!(
        open[0].contains("'both'") && open[0].contains("arrived >= need * 1"),
        "{open:?}"
    );
    assert_eq!(last_site(&dr), IncidentSite::Activation);
    // The task completes; its token reaches the join too: a second
    // incident. The first token, held by its incident, still counts as
    // able to arrive, so the join does not give up on it.
    let work = job_at(&dr, &plan, "work");
    dr.send(Command::CompleteJob {
        job: work,
        outputs: Vars::new(),
        by: CompletedBy::Handler,
    })
    .unwrap();
    assert_eq!(incidents(&dr).len(), 2);
    // Skipping the first with `need`: it arrives again and waits for the
    // other (one of two arrived).
    dr.send(resolve(3, skip(json!({"need": 2})))).unwrap();
    assert_eq!(incidents(&dr).len(), 1);
    assert_eq!(dr.executed().get("After"), None);
    // Retrying the second: both have arrived, the join fires once.
    dr.send(resolve(4, IncidentAction::Retry)).unwrap();
    assert_eq!(dr.status(), RunStatus::Completed);
    assert_eq!(dr.executed().get("After"), Some(&1));
    assert!(dr.history().iter().any(|e| matches!(
        e,
        Event::JoinFired { merged, .. } if merged.len() == 1
    )));
    support::check_replay(&plan, &dr.report());
}

#[test]
fn loop_expressions_at_an_element_raise_incidents_that_hold_it() {
    let d = support::defs("expr_incidents_loops.bpmn");
    let plan = support::plan("expr_incidents_loops.bpmn");
    let mut resolver = windlass_engine::driver::resolver(&d);
    let mut respond = complete;
    let mut dr = Driver::start(
        &plan,
        support::vars(json!({"items": [1, 2, 3]})),
        Timestamp(1_000),
        &mut resolver,
        &mut respond,
    )
    .unwrap();

    // The standard loop's condition after the first pass.
    let open = incidents(&dr);
    assert!(
        open[0].contains("'poll'") && open[0].contains("loopCounter < passes * 1"),
        "{open:?}"
    );
    assert_eq!(last_site(&dr), IncidentSite::Element);
    assert_eq!(dr.executed().get("Poll"), Some(&1));
    // Retry: the same failure; skip with `passes`: one more pass.
    dr.send(resolve(0, IncidentAction::Retry)).unwrap();
    assert_eq!(incidents(&dr).len(), 1);
    dr.send(resolve(1, skip(json!({"passes": 2})))).unwrap();
    assert_eq!(dr.executed().get("Poll"), Some(&2));

    // `testBefore`: the first pass runs, the second's condition fails and
    // holds the first element.
    let open = incidents(&dr);
    assert!(open[0].contains("'pre'"), "{open:?}");
    assert_eq!(last_site(&dr), IncidentSite::Element);
    assert_eq!(dr.executed().get("Pre"), Some(&1));
    dr.send(resolve(2, skip(json!({"stop": 0})))).unwrap();
    assert_eq!(dr.executed().get("Pre"), Some(&1));

    // The multi-instance's three elements each fail the completion
    // condition: three incidents, the body waits for all of them.
    let open = incidents(&dr);
    assert_eq!(open.len(), 3, "{open:?}");
    assert!(
        open.iter()
            .all(|m| m.contains("'each'") && m.contains("quorum")),
        "{open:?}"
    );
    assert_eq!(dr.executed().get("Each"), Some(&3));
    // With `quorum` = 2, the first is one of two; retrying the second
    // reaches the quorum: the third element, still held, is cancelled with
    // its incident.
    dr.send(resolve(3, skip(json!({"quorum": 2})))).unwrap();
    assert_eq!(incidents(&dr).len(), 2);
    dr.send(resolve(4, IncidentAction::Retry)).unwrap();

    // The first pass's `testBefore` condition: an incident on the activity
    // before its body starts; skip completes it without a pass.
    let open = incidents(&dr);
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(
        open[0].contains("'first'") && open[0].contains("go * 1 > 0"),
        "{open:?}"
    );
    assert_eq!(last_site(&dr), IncidentSite::Work);
    dr.send(resolve(6, IncidentAction::Retry)).unwrap();
    assert_eq!(incidents(&dr).len(), 1);
    dr.send(resolve(7, skip(json!({"go": 0})))).unwrap();
    assert_eq!(dr.status(), RunStatus::Completed);
    assert_eq!(dr.executed().get("First"), None);
    assert!(
        dr.history()
            .iter()
            .any(|e| matches!(e, Event::ElementCompleted { index: 1, .. }))
    );
    support::check_replay(&plan, &dr.report());
}

const MIN: u64 = 60_000;

/// The due times (ms after `t0`) of the open timers at node `id`.
fn due(dr: &Driver<'_>, plan: &windlass_engine::Plan, id: &str, t0: i64) -> Vec<i64> {
    dr.state()
        .subscriptions
        .iter()
        .filter(|s| plan.graph().node(s.node).id == id)
        .filter_map(|s| match s.kind {
            windlass_engine::state::SubKind::Timer { due_at, .. } => Some(due_at.0 - t0),
            _ => None,
        })
        .collect()
}

#[test]
fn a_cycle_that_cannot_re_arm_raises_an_incident_on_the_fired_token() {
    let d = support::defs("expr_incidents_rearm.bpmn");
    let plan = support::plan("expr_incidents_rearm.bpmn");
    let mut resolver = windlass_engine::driver::resolver(&d);
    // `work` stays open; the first three reminders and the first tick
    // spoil their cycle variables.
    let mut reminded = 0;
    let mut ticked = 0;
    let mut respond = |_: &JobRequest, node: &Node| -> JobOutcome {
        let outputs = match node.id.as_str() {
            "work" => return JobOutcome::Leave,
            "remindTask" => {
                reminded += 1;
                if reminded <= 3 {
                    support::vars(json!({"every": "soon"}))
                } else {
                    Vars::new()
                }
            }
            _ => {
                ticked += 1;
                if ticked == 1 {
                    support::vars(json!({"tickEvery": "often"}))
                } else {
                    Vars::new()
                }
            }
        };
        JobOutcome::Complete {
            outputs,
            by: CompletedBy::Handler,
        }
    };
    let t0 = 1_000;
    let vars = support::vars(json!({"every": "R/PT1H", "tickEvery": "R/PT25M"}));
    let mut dr = Driver::start(&plan, vars, Timestamp(t0), &mut resolver, &mut respond).unwrap();
    let min = |n: u64| i64::try_from(n * MIN).unwrap();

    // The listener: its first tick spoils `tickEvery`; the second cannot
    // re-arm. The event sub-process still runs; the listener holds the
    // incident.
    dr.advance(25 * MIN).unwrap();
    assert_eq!(dr.executed().get("Ticked"), Some(&1));
    dr.advance(25 * MIN).unwrap();
    assert_eq!(dr.executed().get("Ticked"), Some(&2));
    let open = incidents(&dr);
    assert!(
        open[0].contains("'tick'") && open[0].contains("often"),
        "{open:?}"
    );
    assert!(matches!(
        last_site(&dr),
        IncidentSite::Rearm {
            occurrence: 1,
            skipped: false,
            ..
        }
    ));
    assert!(due(&dr, &plan, "tick", t0).is_empty());
    dr.send(resolve(0, skip(json!({"tickEvery": "R/PT25M"}))))
        .unwrap();
    assert_eq!(due(&dr, &plan, "tick", t0), [min(75)]);

    // The boundary: the first reminder re-arms and spoils `every`; the
    // second cannot re-arm: its token holds the incident and waits.
    dr.advance(10 * MIN).unwrap();
    assert_eq!(dr.executed().get("Remind"), Some(&1));
    dr.advance(60 * MIN).unwrap();
    assert_eq!(dr.executed().get("Remind"), Some(&1));
    let open = incidents(&dr);
    assert!(
        open[0].contains("'remind'") && open[0].contains("soon"),
        "{open:?}"
    );
    // A retry computes it again (the same failure); a skip with a cycle
    // re-arms it and the reminder goes on.
    let incident = |dr: &Driver<'_>| {
        dr.history()
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::IncidentRaisedAt { incident, .. } => Some(incident.0),
                _ => None,
            })
            .unwrap()
    };
    dr.send(resolve(incident(&dr), IncidentAction::Retry))
        .unwrap();
    assert_eq!(incidents(&dr).len(), 1);
    dr.send(resolve(incident(&dr), skip(json!({"every": "R/PT1H"}))))
        .unwrap();
    assert_eq!(dr.executed().get("Remind"), Some(&2));
    assert_eq!(due(&dr, &plan, "remind", t0), [min(180)]);

    // A skipped occurrence (past the catch-up window) that cannot re-arm:
    // a token created at the boundary event holds the incident and ends
    // when it is resolved, without a reminder.
    let sub = dr
        .state()
        .subscriptions
        .iter()
        .find(|s| plan.graph().node(s.node).id == "remind")
        .map(|s| s.id)
        .unwrap();
    dr.send(Command::SkipTimer { sub }).unwrap();
    assert!(matches!(
        last_site(&dr),
        IncidentSite::Rearm { skipped: true, .. }
    ));
    assert!(due(&dr, &plan, "remind", t0).is_empty());
    dr.send(resolve(incident(&dr), skip(json!({"every": "R/PT1H"}))))
        .unwrap();
    // The occurrence due at 180 min was skipped: the next is at 240 min.
    assert_eq!(dr.executed().get("Remind"), Some(&2));
    assert_eq!(due(&dr, &plan, "remind", t0), [min(240)]);
    assert!(matches!(dr.status(), RunStatus::Waiting { incidents } if incidents.is_empty()));

    // At 240 min the reminder re-arms and spoils `every` once more; at 300
    // min it cannot re-arm. The work completes meanwhile: resolving the
    // incident re-arms nothing, the reminder's token goes on and the
    // instance completes. (The clock is still at 120 min.)
    dr.advance(120 * MIN).unwrap();
    assert_eq!(dr.executed().get("Remind"), Some(&3));
    dr.advance(60 * MIN).unwrap();
    assert_eq!(incidents(&dr).len(), 1);
    let work = job_at(&dr, &plan, "work");
    dr.send(Command::CompleteJob {
        job: work,
        outputs: Vars::new(),
        by: CompletedBy::Handler,
    })
    .unwrap();
    dr.send(resolve(incident(&dr), IncidentAction::Retry))
        .unwrap();
    assert_eq!(dr.status(), RunStatus::Completed);
    assert_eq!(dr.executed().get("Remind"), Some(&4));
    assert!(dr.state().subscriptions.is_empty());
    support::check_replay(&plan, &dr.report());
}
