//! Timers: intermediate timer catch events, interrupting and
//! non-interrupting timer boundary events (cycles re-arming), every
//! subscription closing with its activity; replay equals live.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use windlass_engine::event::Event;
use windlass_engine::ids::SubId;
use windlass_engine::state::{Status, Wait};
use windlass_engine::{
    Command, Ctx, DecideError, Effect, InstanceState, Plan, TimerEffect, replay, step,
    timer_effects,
};
use windlass_types::{Timestamp, Vars};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const MIN: i64 = 60_000;

/// One instance driven command by command.
struct Inst {
    plan: Arc<Plan>,
    state: InstanceState,
    history: Vec<Event>,
    last: Vec<Event>,
    effects: Vec<Effect>,
}

impl Inst {
    fn start(file: &str) -> Inst {
        Inst::start_with(file, Vars::new())
    }

    fn start_with(file: &str, vars: Vars) -> Inst {
        let mut i = Inst {
            plan: support::plan(file),
            state: InstanceState::default(),
            history: Vec::new(),
            last: Vec::new(),
            effects: Vec::new(),
        };
        i.cmd(
            T0,
            Command::Start {
                vars,
                business_key: None,
                start_event: None,
                has_parent: false,
            },
        )
        .unwrap();
        i
    }

    fn cmd(&mut self, now: i64, c: Command) -> Result<(), DecideError> {
        let ctx = Ctx {
            plan: &self.plan,
            now: Timestamp(now),
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

    fn fire(&mut self, now: i64, sub: u32) -> Result<(), DecideError> {
        self.cmd(now, Command::FireTimer { sub: SubId(sub) })
    }

    /// Completes the open job at the node with element id `node`.
    fn complete(&mut self, now: i64, node: &str) {
        let idx = self.plan.graph().node_by_id(node).unwrap();
        let t = self
            .state
            .tokens
            .iter()
            .find(|t| t.node == idx && matches!(t.wait, Wait::Job { .. }))
            .unwrap();
        let Wait::Job { attempt } = t.wait else {
            unreachable!()
        };
        let job = windlass_engine::JobKey {
            node: idx,
            token: t.id,
            attempt,
        };
        self.cmd(
            now,
            Command::CompleteJob {
                job,
                outputs: Vars::new(),
                by: windlass_engine::event::CompletedBy::Handler,
            },
        )
        .unwrap();
    }

    fn node(&self, id: &str) -> windlass_model::NodeIdx {
        self.plan.graph().node_by_id(id).unwrap()
    }

    /// Open timers as (sub, node element id, due).
    fn timers(&self) -> Vec<(u32, String, i64)> {
        let g = self.plan.graph();
        self.state
            .subscriptions
            .iter()
            .map(|s| {
                let due = self.state.timers().find(|(id, _)| *id == s.id).unwrap().1;
                (s.id.0, g.node(s.node).id.clone(), due.millis())
            })
            .collect()
    }

    fn jobs_at(&self, node: &str) -> usize {
        let idx = self.node(node);
        self.state
            .tokens
            .iter()
            .filter(|t| t.node == idx && matches!(t.wait, Wait::Job { .. }))
            .count()
    }
}

fn t(sub: u32, node: &str, due: i64) -> (u32, String, i64) {
    (sub, node.to_string(), due)
}

#[test]
fn catch_events_wait_for_durations_dates_and_the_first_cycle_occurrence() {
    let mut i = Inst::start("timer_catch.bpmn");
    let new_year = 1_798_761_600_000; // 2027-01-01T00:00:00Z
    assert_eq!(
        i.timers(),
        vec![
            t(0, "wait10", T0 + 10 * MIN),
            t(1, "until", new_year),
            t(2, "cycle", T0 + 60 * MIN)
        ]
    );
    assert!(
        i.state
            .tokens
            .iter()
            .filter(|t| t.wait == Wait::Catch)
            .count()
            == 3
    );
    // Every open timer is armed by the start's events.
    let armed: Vec<TimerEffect> = timer_effects(&i.history).collect();
    assert_eq!(armed.len(), 3);
    assert_eq!(
        armed[0],
        TimerEffect::ScheduleTimer {
            sub: SubId(0),
            due_at: Timestamp(T0 + 10 * MIN)
        }
    );

    i.fire(T0 + 10 * MIN, 0).unwrap();
    assert_eq!(i.last[0], Event::TimerFired { sub: SubId(0) });
    assert_eq!(i.jobs_at("after"), 1, "the token moved on to 'After'");
    // A second fire of the same timer is stale: refused, nothing decided.
    assert_eq!(
        i.fire(T0 + 11 * MIN, 0),
        Err(DecideError::UnknownSubscription(SubId(0)))
    );
    // A cycle at a catch event fires once (its first occurrence) and leaves.
    i.fire(T0 + 60 * MIN, 2).unwrap();
    assert!(i.state.subscription(SubId(2)).is_none());
    assert_eq!(i.state.subscriptions.len(), 1, "only the date is left");
    i.complete(T0 + 61 * MIN, "after");
    i.fire(new_year, 1).unwrap();
    assert_eq!(i.state.status, Status::Completed);
}

#[test]
fn an_interrupting_boundary_timer_cancels_the_job_and_closes_the_other_timers() {
    let mut i = Inst::start("timer_boundary.bpmn");
    assert_eq!(
        i.timers(),
        vec![
            t(0, "remind", T0 + 10 * MIN),
            t(1, "timeout", T0 + 60 * MIN)
        ]
    );
    assert_eq!(i.jobs_at("work"), 1);
    i.fire(T0 + 60 * MIN, 1).unwrap();
    assert_eq!(i.jobs_at("work"), 0);
    assert_eq!(i.jobs_at("escalate"), 1);
    assert!(i.effects.iter().any(|e| matches!(e, Effect::CancelJob(_))));
    assert!(
        i.last.contains(&Event::TimerCancelled { sub: SubId(0) }),
        "the cycle closes with its activity"
    );
    assert!(i.state.subscriptions.is_empty());
    assert_eq!(
        timer_effects(&i.last).collect::<Vec<_>>(),
        vec![
            TimerEffect::CancelTimer { sub: SubId(1) },
            TimerEffect::CancelTimer { sub: SubId(0) }
        ]
    );
    assert_eq!(
        i.fire(T0 + 70 * MIN, 0),
        Err(DecideError::UnknownSubscription(SubId(0)))
    );
    i.complete(T0 + 61 * MIN, "escalate");
    assert_eq!(i.state.status, Status::Completed);
}

#[test]
fn a_non_interrupting_cycle_re_arms_until_its_repetitions_are_used_up() {
    let mut i = Inst::start("timer_boundary.bpmn");
    i.fire(T0 + 10 * MIN, 0).unwrap();
    assert_eq!(i.jobs_at("work"), 1, "the activity keeps running");
    assert_eq!(i.jobs_at("nudge"), 1, "a token left by the boundary");
    assert_eq!(
        i.timers(),
        vec![
            t(1, "timeout", T0 + 60 * MIN),
            t(2, "remind", T0 + 20 * MIN)
        ],
        "re-armed as a new subscription"
    );
    i.fire(T0 + 20 * MIN, 2).unwrap();
    i.fire(T0 + 30 * MIN, 3).unwrap();
    assert_eq!(i.jobs_at("nudge"), 3);
    assert_eq!(
        i.timers(),
        vec![t(1, "timeout", T0 + 60 * MIN)],
        "R3: three fires, then no more"
    );
    // The activity completes: its last timer closes.
    i.complete(T0 + 31 * MIN, "work");
    assert_eq!(
        i.last
            .iter()
            .filter(|e| matches!(e, Event::TimerCancelled { .. }))
            .count(),
        1
    );
    assert!(i.state.subscriptions.is_empty());
    for _ in 0..3 {
        i.complete(T0 + 32 * MIN, "nudge");
    }
    assert_eq!(i.state.status, Status::Completed);
}

#[test]
fn a_late_cycle_fire_skips_the_missed_occurrences() {
    let mut i = Inst::start("timer_sub.bpmn");
    // innerTick (R/PT1M) and subTimeout (PT5M) are open.
    assert_eq!(
        i.timers(),
        vec![
            t(0, "subTimeout", T0 + 5 * MIN),
            t(1, "innerTick", T0 + MIN)
        ]
    );
    // Fired 2.5 minutes late: the next occurrence is the first after now.
    i.fire(T0 + 3 * MIN + 30_000, 1).unwrap();
    assert_eq!(
        i.timers(),
        vec![
            t(0, "subTimeout", T0 + 5 * MIN),
            t(2, "innerTick", T0 + 4 * MIN)
        ]
    );
}

#[test]
fn interrupting_a_sub_process_closes_the_timers_inside_it() {
    let mut i = Inst::start("timer_sub.bpmn");
    i.fire(T0 + 5 * MIN, 0).unwrap();
    assert!(i.last.contains(&Event::TimerCancelled { sub: SubId(1) }));
    assert!(i.state.subscriptions.is_empty());
    assert_eq!(i.state.status, Status::Completed);
}

#[test]
fn terminate_closes_every_timer() {
    let mut i = Inst::start("timer_boundary.bpmn");
    i.cmd(
        T0 + MIN,
        Command::Terminate {
            reason: "stop".into(),
        },
    )
    .unwrap();
    assert!(i.state.subscriptions.is_empty());
    assert_eq!(
        timer_effects(&i.last).count(),
        2,
        "both timers of the activity are forgotten"
    );
    assert_eq!(
        i.fire(T0 + 10 * MIN, 0),
        Err(DecideError::NotRunning),
        "a finished instance decides nothing"
    );
}

#[test]
fn a_skipped_cycle_occurrence_re_arms_without_a_token_and_one_shots_still_fire() {
    let mut i = Inst::start("timer_boundary.bpmn");
    // remind (R3/PT10M) is sub 0, timeout (PT1H) sub 1; skipped at +35m.
    i.cmd(T0 + 35 * MIN, Command::SkipTimer { sub: SubId(0) })
        .unwrap();
    assert_eq!(i.last[0], Event::TimerSkipped { sub: SubId(0) });
    assert_eq!(i.jobs_at("nudge"), 0, "nothing runs for a skipped fire");
    assert_eq!(
        i.timers(),
        vec![t(1, "timeout", T0 + 60 * MIN)],
        "R3: the skipped occurrence and the missed ones are used up"
    );
    let mut i = Inst::start("timer_boundary.bpmn");
    i.cmd(T0 + 15 * MIN, Command::SkipTimer { sub: SubId(0) })
        .unwrap();
    assert_eq!(
        i.timers(),
        vec![
            t(1, "timeout", T0 + 60 * MIN),
            t(2, "remind", T0 + 20 * MIN)
        ],
        "re-armed at the next occurrence"
    );
    // A one-shot timer has no later occurrence: skipping it fires it.
    i.cmd(T0 + 3 * 60 * MIN, Command::SkipTimer { sub: SubId(1) })
        .unwrap();
    assert!(i.last.contains(&Event::TimerFired { sub: SubId(1) }));
    assert_eq!(i.jobs_at("escalate"), 1);
    assert_eq!(
        i.cmd(T0 + 4 * 60 * MIN, Command::SkipTimer { sub: SubId(1) }),
        Err(DecideError::UnknownSubscription(SubId(1))),
        "stale"
    );
}

#[test]
fn timer_expressions_are_evaluated_when_the_timer_opens() {
    let vars = support::vars(serde_json::json!({
        "cert": { "notAfter": "2026-03-02T00:00:00Z" },
        "every": "R2/PT15M",
    }));
    let mut i = Inst::start_with("timer_expr.bpmn", vars);
    // 2026-03-02 minus 30 days; the cycle from its variable.
    assert_eq!(
        i.timers(),
        vec![
            t(0, "renew", T0 + 30 * 24 * 60 * MIN),
            t(1, "remind", T0 + 15 * MIN)
        ]
    );
    i.fire(T0 + 15 * MIN, 1).unwrap();
    assert_eq!(i.timers()[1], t(2, "remind", T0 + 30 * MIN), "re-armed");
}

#[test]
fn a_failing_timer_expression_is_an_incident_on_the_catch_event() {
    let vars = support::vars(serde_json::json!({
        "cert": { "notAfter": "not a time" },
        "every": "R/PT1H",
    }));
    let mut i = Inst::start_with("timer_expr.bpmn", vars);
    assert_eq!(i.state.status, Status::Running, "not a failed instance");
    let (incident, message) = i
        .last
        .iter()
        .find_map(|e| match e {
            Event::IncidentRaised {
                incident, message, ..
            } => Some((*incident, message.clone())),
            _ => None,
        })
        .unwrap();
    assert!(message.contains("'renew'"), "{message}");
    assert_eq!(i.timers(), vec![t(0, "remind", T0 + 60 * MIN)]);
    // A retry computes it again (and fails again: the same variables).
    i.cmd(
        T0 + MIN,
        Command::ResolveIncident {
            incident,
            action: windlass_engine::IncidentAction::Retry,
        },
    )
    .unwrap();
    let again = i
        .last
        .iter()
        .find_map(|e| match e {
            Event::IncidentRaised { incident, .. } => Some(*incident),
            _ => None,
        })
        .unwrap();
    // A skip moves on as if the timer had fired.
    i.cmd(
        T0 + 2 * MIN,
        Command::ResolveIncident {
            incident: again,
            action: windlass_engine::IncidentAction::Skip(Vars::new()),
        },
    )
    .unwrap();
    i.complete(T0 + 3 * MIN, "work");
    assert_eq!(i.state.status, Status::Completed);
    assert!(i.state.subscriptions.is_empty());
}
