//! Dedup regions in the engine: a token at a node carrying a dedup key
//! claims it and waits; a grant lets every claim for the key act; a
//! supersede ends the waiting instance; a key that does not render is an
//! incident whose resolution claims again. Replay equals live.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use windlass_engine::driver::{self, Driver, JobOutcome, RunStatus};
use windlass_engine::event::{CompletedBy, Event};
use windlass_engine::state::Status;
use windlass_engine::{
    Command, Ctx, DecideError, Decision, Effect, Finish, IncidentAction, InstanceState, JobRequest,
    step,
};
use windlass_model::Node;
use windlass_types::{Timestamp, Vars};

fn complete(_: &JobRequest, _: &Node) -> JobOutcome {
    JobOutcome::Complete {
        outputs: Vars::new(),
        by: CompletedBy::Handler,
    }
}

/// Starts `dedup.bpmn` with `vars` by hand (no owner answers the claims).
fn started(vars: serde_json::Value) -> (std::sync::Arc<windlass_engine::Plan>, InstanceState) {
    let plan = support::plan("dedup.bpmn");
    let mut st = InstanceState::default();
    let mut out = Decision::default();
    let ctx = Ctx {
        plan: &plan,
        now: Timestamp(1_000),
        definition_key: "dedup",
    };
    let start = Command::Start {
        vars: support::vars(vars),
        business_key: None,
        start_event: None,
        has_parent: false,
    };
    step(&mut st, &start, &ctx, &mut out).unwrap();
    (plan, st)
}

fn send(
    plan: &windlass_engine::Plan,
    st: &mut InstanceState,
    cmd: Command,
) -> Result<Decision, DecideError> {
    let mut out = Decision::default();
    let ctx = Ctx {
        plan,
        now: Timestamp(2_000),
        definition_key: "dedup",
    };
    step(st, &cmd, &ctx, &mut out).map(|()| out)
}

#[test]
fn every_claim_for_a_key_waits_until_it_is_granted() {
    let (plan, mut st) = started(json!({"key": "web/shop"}));
    // The task and the gateway both claimed the key; nothing acts yet.
    let claims: Vec<_> = st.dedup_claims().map(|(_, k)| k.to_string()).collect();
    assert_eq!(claims, vec!["web/shop", "web/shop"]);
    assert_eq!(st.dedup_claimed, vec!["web/shop".to_string()]);
    assert!(st.dedup_held.is_empty());
    // A grant of another key is refused.
    let wrong = send(&plan, &mut st, Command::GrantDedup { key: "x".into() });
    assert_eq!(wrong.unwrap_err(), DecideError::NoDedupClaim("x".into()));
    // The grant lets both act: the task's job is asked for, the gateway
    // leads to C's job.
    let d = send(
        &plan,
        &mut st,
        Command::GrantDedup {
            key: "web/shop".into(),
        },
    )
    .unwrap();
    assert!(matches!(&d.events[0], Event::DedupGranted { key } if key == "web/shop"));
    let jobs: Vec<_> = d
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::RunJob(r) => Some(r.node_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(jobs, vec!["a", "c"]);
    assert_eq!(st.dedup_claims().count(), 0);
    assert_eq!(st.dedup_held, vec!["web/shop".to_string()]);
}

#[test]
fn a_superseded_instance_ends_and_names_its_successor() {
    let (plan, mut st) = started(json!({"key": "k"}));
    let d = send(
        &plan,
        &mut st,
        Command::Supersede {
            key: "k".into(),
            by: "i-2".into(),
        },
    )
    .unwrap();
    assert_eq!(
        st.status,
        Status::Superseded {
            key: "k".into(),
            by: "i-2".into()
        }
    );
    let withdrawn = d
        .events
        .iter()
        .filter(|e| matches!(e, Event::DedupWithdrawn { .. }))
        .count();
    assert_eq!(withdrawn, 2, "{:?}", d.events);
    assert_eq!(
        d.effects.last(),
        Some(&Effect::InstanceFinished(Finish::Superseded {
            key: "k".into(),
            by: "i-2".into()
        }))
    );
    assert!(st.subscriptions.is_empty());
    let again = send(&plan, &mut st, Command::GrantDedup { key: "k".into() });
    assert_eq!(again.unwrap_err(), DecideError::NotRunning);
}

#[test]
fn a_granted_instance_cannot_be_superseded_and_a_cancel_withdraws_claims() {
    let (plan, mut st) = started(json!({"key": "k"}));
    send(&plan, &mut st, Command::GrantDedup { key: "k".into() }).unwrap();
    let late = send(
        &plan,
        &mut st,
        Command::Supersede {
            key: "k".into(),
            by: "i-2".into(),
        },
    );
    assert_eq!(late.unwrap_err(), DecideError::NoDedupClaim("k".into()));

    let (plan, mut st) = started(json!({"key": "k"}));
    let d = send(
        &plan,
        &mut st,
        Command::Cancel {
            reason: "not wanted".into(),
        },
    )
    .unwrap();
    assert!(
        d.events
            .iter()
            .any(|e| matches!(e, Event::DedupWithdrawn { .. }))
    );
    assert!(matches!(st.status, Status::Cancelled { .. }));
    // Every key it claimed is listed for the owner to release.
    assert_eq!(st.dedup_claimed, vec!["k".to_string()]);
}

#[test]
fn the_driver_grants_keys_and_the_run_replays() {
    let plan = support::plan("dedup.bpmn");
    let defs = support::defs("dedup.bpmn");
    let mut resolve = driver::resolver(&defs);
    let mut respond = complete;
    let dr = Driver::start(
        &plan,
        support::vars(json!({"key": "k"})),
        Timestamp(1_000),
        &mut resolve,
        &mut respond,
    )
    .unwrap();
    assert_eq!(dr.status(), RunStatus::Completed);
    assert_eq!(dr.executed().values().sum::<u32>(), 2);
    support::check_replay(&plan, &dr.report());
}

#[test]
fn a_key_that_does_not_render_is_an_incident_resolved_by_claiming_again() {
    let plan = support::plan("dedup.bpmn");
    let defs = support::defs("dedup.bpmn");
    let mut resolve = driver::resolver(&defs);
    let mut respond = complete;
    let mut dr = Driver::start(
        &plan,
        Vars::new(),
        Timestamp(1_000),
        &mut resolve,
        &mut respond,
    )
    .unwrap();
    let RunStatus::Waiting { incidents } = dr.status() else {
        panic!("{:?}", dr.status());
    };
    assert_eq!(incidents.len(), 2, "{incidents:?}");
    assert!(incidents[0].contains("dedup key `{key}`"), "{incidents:?}");
    // Retried without the variable: the incident comes back.
    dr.send(Command::ResolveIncident {
        incident: windlass_engine::ids::IncidentId(0),
        action: IncidentAction::Retry,
    })
    .unwrap();
    // Skipped with the variable: the token claims, is granted and runs.
    dr.send(Command::ResolveIncident {
        incident: windlass_engine::ids::IncidentId(1),
        action: IncidentAction::Skip(support::vars(json!({"key": "k"}))),
    })
    .unwrap();
    dr.send(Command::ResolveIncident {
        incident: windlass_engine::ids::IncidentId(2),
        action: IncidentAction::Retry,
    })
    .unwrap();
    assert_eq!(dr.status(), RunStatus::Completed, "{:?}", dr.history());
    support::check_replay(&plan, &dr.report());
}

/// Three instances of one process started from outside in one driver, all
/// keyed `k`, every job left open: the first holds the key, the second
/// waits, the third supersedes the second (named by its label) and waits;
/// when the first ends, the third is granted the key and runs. Each root
/// counts its own tasks.
#[test]
fn a_newer_root_supersedes_the_waiting_one_and_is_granted_when_the_holder_ends() {
    let plan = support::plan("dedup.bpmn");
    let defs = support::defs("dedup.bpmn");
    let mut resolve = driver::resolver(&defs);
    let mut respond = |_: &JobRequest, _: &Node| JobOutcome::Leave;
    let vars = || support::vars(json!({"key": "k"}));
    let mut dr =
        Driver::start(&plan, vars(), Timestamp(1_000), &mut resolve, &mut respond).unwrap();
    let second = dr.start_root(&plan, vars(), "second").unwrap();
    assert!(matches!(dr.status_of(second), RunStatus::Waiting { .. }));
    let jobs = |st: &InstanceState| {
        st.tokens
            .iter()
            .filter(|t| matches!(t.wait, windlass_engine::state::Wait::Job { .. }))
            .count()
    };
    // Both of its tokens wait for the key, neither at a job.
    assert_eq!(jobs(dr.state_of(second)), 0);
    assert_eq!(jobs(dr.state()), 2);
    let third = dr.start_root(&plan, vars(), "third").unwrap();
    assert_eq!(
        dr.status_of(second),
        RunStatus::Superseded {
            key: "k".into(),
            by: "third".into()
        }
    );
    assert!(matches!(dr.status_of(third), RunStatus::Waiting { .. }));
    assert!(matches!(dr.status(), RunStatus::Waiting { .. }));

    dr.send(Command::Terminate {
        reason: "by hand".into(),
    })
    .unwrap();
    assert!(matches!(dr.status(), RunStatus::Terminated { .. }));
    // Granted: both claims of the third act, its tasks' jobs are open.
    assert_eq!(jobs(dr.state_of(third)), 2);
    assert!(dr.executed().is_empty() && dr.executed_of(third).is_empty());
    dr.send_to(
        third,
        Command::Terminate {
            reason: "done".into(),
        },
    )
    .unwrap();
    assert!(matches!(dr.status_of(third), RunStatus::Terminated { .. }));
    support::check_replay(&plan, &dr.report());
}
