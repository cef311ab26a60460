//! `Command::Reset` and `reset::reset_point`: a run's history cut at a
//! point, the state there carried into a new run that asks again for the
//! jobs open at that point; points inside one decision, past the end or
//! after the run ended are refused; the signals received after the point
//! are read back for reapplying; replay equals live.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use std::sync::Arc;
use windlass_engine::codec::encode_event;
use windlass_engine::event::{CompletedBy, Event};
use windlass_engine::reset::{ResetError, reset_point};
use windlass_engine::state::{Held, Wait};
use windlass_engine::{Command, Ctx, DecideError, Effect, InstanceState, Plan, replay, step};
use windlass_types::{Timestamp, Vars};

struct Run {
    plan: Arc<Plan>,
    state: InstanceState,
    history: Vec<Event>,
    effects: Vec<Effect>,
    /// Every job asked for, in order.
    jobs: Vec<windlass_engine::JobRequest>,
}

impl Run {
    fn new(state: InstanceState, history: Vec<Event>) -> Run {
        Run {
            plan: support::plan("signal_flow.bpmn"),
            state,
            history,
            effects: Vec::new(),
            jobs: Vec::new(),
        }
    }

    fn cmd(&mut self, c: Command) -> Result<(), DecideError> {
        let ctx = Ctx {
            plan: &self.plan,
            now: Timestamp(1_000),
            definition_key: "k",
        };
        let mut out = windlass_engine::Decision::default();
        step(&mut self.state, &c, &ctx, &mut out)?;
        self.jobs.extend(out.effects.iter().filter_map(|e| match e {
            Effect::RunJob(r) => Some((**r).clone()),
            _ => None,
        }));
        self.effects = out.effects;
        self.history.extend(out.events);
        Ok(())
    }

    fn open_job(&self, node_id: &str) -> windlass_engine::JobKey {
        self.jobs
            .iter()
            .rev()
            .find(|r| r.node_id == node_id)
            .map(|r| r.key)
            .unwrap_or_else(|| panic!("no job for {node_id} in {:?}", self.jobs))
    }

    fn complete(&mut self, node_id: &str) {
        let job = self.open_job(node_id);
        self.cmd(Command::CompleteJob {
            job,
            outputs: Vars::new(),
            by: CompletedBy::Handler,
        })
        .unwrap();
    }

    fn encoded(&self) -> Vec<(u64, Vec<u8>)> {
        self.history
            .iter()
            .enumerate()
            .map(|(i, e)| (i as u64 + 1, encode_event(e).unwrap()))
            .collect()
    }
}

fn started() -> Run {
    let mut r = Run::new(InstanceState::default(), Vec::new());
    r.cmd(Command::Start {
        vars: Vars::new(),
        business_key: None,
        start_event: None,
        has_parent: false,
    })
    .unwrap();
    r
}

fn point(r: &Run, at: u64) -> Result<windlass_engine::reset::ResetPoint, ResetError> {
    let enc = r.encoded();
    reset_point(enc.iter().map(|(s, b)| (*s, b.as_slice())), at)
}

fn signal(name: &str, v: serde_json::Value) -> Command {
    Command::Signal {
        name: name.into(),
        vars: v.as_object().cloned().unwrap(),
    }
}

/// Runs prep, the approval signal and work to the end; returns the run and
/// the number of events after the start's decision (prep waiting).
fn finished_run() -> (Run, u64) {
    let mut r = started();
    let prep_waiting = r.history.len() as u64;
    r.complete("prep");
    r.cmd(signal("approve", json!({"by": "ann"}))).unwrap();
    r.cmd(signal("update", json!({"n": 1}))).unwrap();
    r.complete("note");
    r.complete("work");
    assert!(r.state.is_finished());
    (r, prep_waiting)
}

#[test]
fn a_reset_run_asks_again_for_the_jobs_open_at_the_point_and_replays() {
    let (old, prep_waiting) = finished_run();
    let p = point(&old, prep_waiting).unwrap();
    assert!(matches!(
        p.state.tokens.as_slice(),
        [t] if t.wait == Wait::Job { attempt: 1 }
    ));
    let carried = old.history[..prep_waiting as usize].to_vec();
    let mut new = Run::new(p.state, carried);
    new.cmd(Command::Reset {
        from_run: "r-1".into(),
        at_seq: prep_waiting,
        reason: "prep was wrong".into(),
    })
    .unwrap();
    assert_eq!(
        new.history.last(),
        Some(&Event::RunReset {
            from_run: "r-1".into(),
            at_seq: prep_waiting,
            reason: "prep was wrong".into(),
        })
    );
    // prep is asked for again, under the same key (the new run's jobs are
    // told apart by the run).
    assert_eq!(new.open_job("prep"), old_first_job(&old));
    // The new run goes on by itself: replay equals live at every step.
    new.complete("prep");
    assert!(matches!(new.state.tokens.as_slice(), [t] if t.wait == Wait::Catch));
    assert_eq!(replay(&new.history).unwrap(), new.state);
}

fn old_first_job(old: &Run) -> windlass_engine::JobKey {
    old.history
        .iter()
        .find_map(|e| match e {
            Event::JobCreated {
                token,
                node,
                attempt,
                ..
            } => Some(windlass_engine::JobKey {
                node: *node,
                token: *token,
                attempt: *attempt,
            }),
            _ => None,
        })
        .unwrap()
}

#[test]
fn the_signals_received_after_the_point_are_read_back_in_order() {
    let (old, prep_waiting) = finished_run();
    let p = point(&old, prep_waiting).unwrap();
    let got: Vec<(&str, &Vars)> = p
        .signals_after
        .iter()
        .map(|s| (s.name.as_str(), &s.vars))
        .collect();
    assert_eq!(got.len(), 2, "{:?}", p.signals_after);
    assert_eq!(got[0].0, "approve");
    assert_eq!(got[0].1.get("by"), Some(&json!("ann")));
    assert_eq!(got[1].0, "update");
    // Reapplied to the new run, the approval (which arrives before prep is
    // done) is kept and taken when the catch event opens.
    let carried = old.history[..prep_waiting as usize].to_vec();
    let mut new = Run::new(p.state, carried);
    new.cmd(Command::Reset {
        from_run: "r-1".into(),
        at_seq: prep_waiting,
        reason: "again".into(),
    })
    .unwrap();
    new.cmd(signal(&p.signals_after[0].name, json!({"by": "ann"})))
        .unwrap();
    assert_eq!(new.state.signals.len(), 1);
    new.complete("prep");
    assert!(new.state.signals.is_empty());
    assert!(
        new.effects
            .iter()
            .any(|e| matches!(e, Effect::RunJob(r) if r.node_id == "work"))
    );
    // A point after both signals has none to reapply.
    let late = point(&old, old.history.len() as u64 - 1).unwrap();
    assert!(late.signals_after.is_empty());
}

#[test]
fn points_inside_a_decision_past_the_end_or_after_the_end_are_refused() {
    let (old, prep_waiting) = finished_run();
    let last = old.history.len() as u64;
    assert_eq!(
        point(&old, 0).unwrap_err(),
        ResetError::OutOfRange { at_seq: 0, last }
    );
    assert_eq!(
        point(&old, last + 1).unwrap_err(),
        ResetError::OutOfRange {
            at_seq: last + 1,
            last
        }
    );
    assert_eq!(
        point(&old, last).unwrap_err(),
        ResetError::Ended { at_seq: last }
    );
    // Every point before prep waits is inside the start's decision.
    for at in 1..prep_waiting {
        let p = point(&old, at).unwrap();
        let carried = old.history[..at as usize].to_vec();
        let mut new = Run::new(p.state, carried);
        let e = new
            .cmd(Command::Reset {
                from_run: "r-1".into(),
                at_seq: at,
                reason: "x".into(),
            })
            .unwrap_err();
        assert!(
            matches!(e, DecideError::ResetInsideDecision { at_seq, .. } if at_seq == at),
            "event {at}: {e:?}"
        );
        assert!(e.to_string().contains("inside one decision"), "{e}");
    }
}

#[test]
fn a_run_reset_while_suspended_holds_its_open_jobs_until_resumed() {
    let mut old = started();
    old.cmd(Command::Suspend {
        reason: "look".into(),
    })
    .unwrap();
    let at = old.history.len() as u64;
    old.cmd(Command::Terminate {
        reason: "gave up".into(),
    })
    .unwrap();
    let p = point(&old, at).unwrap();
    let mut new = Run::new(p.state, old.history[..at as usize].to_vec());
    new.cmd(Command::Reset {
        from_run: "r-1".into(),
        at_seq: at,
        reason: "retry".into(),
    })
    .unwrap();
    assert!(new.effects.iter().all(|e| !matches!(e, Effect::RunJob(_))));
    assert!(matches!(new.state.held.as_slice(), [Held::Job { .. }]));
    new.cmd(Command::Resume).unwrap();
    assert!(
        new.effects
            .iter()
            .any(|e| matches!(e, Effect::RunJob(r) if r.node_id == "prep"))
    );
    assert_eq!(replay(&new.history).unwrap(), new.state);
}
