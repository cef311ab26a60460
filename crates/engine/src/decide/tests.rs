//! Unit tests of command validation, decide-vs-step and incidents.
#![allow(clippy::unwrap_used)]
use super::*;
use crate::command::IncidentAction;
use crate::event::CompletedBy;
use crate::ids::{IncidentId, JobKey, ScopeId, TokenId};
use windlass_model::NodeIdx;
use windlass_types::Vars;

fn plan() -> Plan {
    let defs = windlass_model::load(include_str!("../../tests/fixtures/simple.bpmn"))
        .definitions
        .unwrap();
    Plan::new(defs.first_executable().unwrap().clone()).unwrap()
}

fn start() -> Command {
    Command::Start {
        vars: Vars::new(),
        business_key: Some("bk".into()),
        start_event: None,
        has_parent: false,
    }
}

#[test]
fn commands_are_validated_before_anything_is_decided() {
    let plan = plan();
    let ctx = Ctx {
        plan: &plan,
        now: Timestamp(5),
        definition_key: "simple:1",
    };
    let new = InstanceState::default();
    let job = JobKey {
        node: NodeIdx(2),
        token: TokenId(0),
        attempt: 1,
    };
    let complete = Command::CompleteJob {
        job,
        outputs: Vars::new(),
        by: CompletedBy::Handler,
    };
    assert_eq!(decide(&new, &complete, &ctx), Err(DecideError::NotRunning));
    let mut state = InstanceState::default();
    let mut d = Decision::default();
    step(&mut state, &start(), &ctx, &mut d).unwrap();
    assert_eq!(
        decide(&state, &start(), &ctx),
        Err(DecideError::AlreadyStarted)
    );
    let Some(Effect::RunJob(req)) = d.effects.first() else {
        panic!("{:?}", d.effects)
    };
    let stale = JobKey {
        attempt: 7,
        ..req.key
    };
    let wrong = Command::CompleteJob {
        job: stale,
        outputs: Vars::new(),
        by: CompletedBy::Handler,
    };
    assert_eq!(
        decide(&state, &wrong, &ctx),
        Err(DecideError::UnknownJob(stale))
    );
    let resolve = Command::ResolveIncident {
        incident: IncidentId(3),
        action: IncidentAction::Retry,
    };
    assert_eq!(
        decide(&state, &resolve, &ctx),
        Err(DecideError::UnknownIncident(IncidentId(3)))
    );
    let child = Command::ChildCompleted {
        token: TokenId(0),
        outputs: Vars::new(),
    };
    assert_eq!(
        decide(&state, &child, &ctx),
        Err(DecideError::NotWaitingForChild(TokenId(0)))
    );
    let bad_start = Command::Start {
        vars: Vars::new(),
        business_key: None,
        start_event: Some("nope".into()),
        has_parent: false,
    };
    assert!(matches!(
        decide(&InstanceState::default(), &bad_start, &ctx),
        Err(DecideError::StartEventNotFound { .. })
    ));
}

#[test]
fn decide_leaves_the_state_alone_and_step_matches_it() {
    let plan = plan();
    let ctx = Ctx {
        plan: &plan,
        now: Timestamp(5),
        definition_key: "simple:1",
    };
    let state = InstanceState::default();
    let d = decide(&state, &start(), &ctx).unwrap();
    assert_eq!(state, InstanceState::default());
    let mut live = InstanceState::default();
    let mut d2 = Decision::default();
    step(&mut live, &start(), &ctx, &mut d2).unwrap();
    assert_eq!(d, d2);
    assert_eq!(crate::evolve::replay(&d.events).unwrap(), live);
    assert_eq!(live.business_key.as_deref(), Some("bk"));
}

#[test]
fn incident_retry_and_skip() {
    let plan = plan();
    let ctx = Ctx {
        plan: &plan,
        now: Timestamp(5),
        definition_key: "simple:1",
    };
    let mut s = InstanceState::default();
    let mut d = Decision::default();
    step(&mut s, &start(), &ctx, &mut d).unwrap();
    let mut key = match &d.effects[0] {
        Effect::RunJob(r) => r.key,
        other => panic!("{other:?}"),
    };
    // Not retryable: incident at once.
    let fail = |job| Command::FailJob {
        job,
        failure: crate::event::JobFailure::Technical {
            message: "no".into(),
            retryable: false,
        },
    };
    d.clear();
    step(&mut s, &fail(key), &ctx, &mut d).unwrap();
    assert!(matches!(
        d.effects[0],
        Effect::IncidentRaised {
            incident: IncidentId(0),
            ..
        }
    ));
    assert_eq!(s.incidents().count(), 1);
    // Retry: attempt 2.
    d.clear();
    let retry = Command::ResolveIncident {
        incident: IncidentId(0),
        action: IncidentAction::Retry,
    };
    step(&mut s, &retry, &ctx, &mut d).unwrap();
    key = match &d.effects[0] {
        Effect::RunJob(r) => r.key,
        other => panic!("{other:?}"),
    };
    assert_eq!(key.attempt, 2);
    d.clear();
    step(&mut s, &fail(key), &ctx, &mut d).unwrap();
    // Skip with variables: the instance completes with them.
    d.clear();
    let mut vars = Vars::new();
    vars.insert("done".into(), serde_json::json!(true));
    let skip = Command::ResolveIncident {
        incident: IncidentId(1),
        action: IncidentAction::Skip(vars),
    };
    step(&mut s, &skip, &ctx, &mut d).unwrap();
    assert_eq!(s.status, crate::state::Status::Completed);
    assert_eq!(
        s.root_vars().unwrap().get("done"),
        Some(&serde_json::json!(true))
    );
}

/// Continuations of one step run first, in the order the step produced
/// them, before anything queued earlier; arrivals wait at the back.
#[test]
fn continuations_go_to_the_front_in_produced_order() {
    let plan = plan();
    let mut state = InstanceState::default();
    let mut out = Decision::default();
    let mut ex = Exec {
        st: &mut state,
        plan: &plan,
        g: plan.graph(),
        now: Timestamp(0),
        out: &mut out,
        queue: VecDeque::new(),
        continued: 0,
        joins_fired: false,
    };
    ex.arrive(TokenId(9));
    ex.then(Step::ScopeEmptied(ScopeId(1)));
    ex.arrive(TokenId(8));
    ex.then(Step::ScopeEmptied(ScopeId(2)));
    ex.then(Step::GatewayDecided(TokenId(3)));
    assert_eq!(
        ex.queue.iter().copied().collect::<Vec<_>>(),
        vec![
            Step::ScopeEmptied(ScopeId(1)),
            Step::ScopeEmptied(ScopeId(2)),
            Step::GatewayDecided(TokenId(3)),
            Step::Arrive(TokenId(9)),
            Step::Arrive(TokenId(8)),
        ]
    );
    // The next step's continuation goes before the rest.
    ex.queue.pop_front();
    ex.continued = 0;
    ex.then(Step::ScopeEmptied(ScopeId(4)));
    assert_eq!(ex.queue.front(), Some(&Step::ScopeEmptied(ScopeId(4))));
    assert_eq!(ex.queue.get(1), Some(&Step::ScopeEmptied(ScopeId(2))));
}

/// `job_is_open` answers exactly for the pending attempt of the job's token
/// at the job's node; nothing waits for a child here.
#[test]
fn job_is_open_names_only_the_pending_attempt() {
    let plan = plan();
    let ctx = Ctx {
        plan: &plan,
        now: Timestamp(5),
        definition_key: "simple:1",
    };
    let mut s = InstanceState::default();
    let mut d = Decision::default();
    step(&mut s, &start(), &ctx, &mut d).unwrap();
    let key = match &d.effects[0] {
        Effect::RunJob(r) => r.key,
        other => panic!("{other:?}"),
    };
    assert!(s.job_is_open(&key));
    let next = JobKey {
        attempt: key.attempt + 1,
        ..key
    };
    assert!(!s.job_is_open(&next));
    let elsewhere = JobKey {
        node: NodeIdx(key.node.0 + 1),
        ..key
    };
    assert!(!s.job_is_open(&elsewhere));
    assert_eq!(s.children_waiting().count(), 0);
    d.clear();
    let done = Command::CompleteJob {
        job: key,
        outputs: Vars::new(),
        by: CompletedBy::Handler,
    };
    step(&mut s, &done, &ctx, &mut d).unwrap();
    assert!(!s.job_is_open(&key));
}
