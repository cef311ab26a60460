//! Shared helpers for the engine's integration tests: loading fixtures,
//! driving instances with mocks, and checking that live execution and replay
//! (whole and event by event) agree.
#![allow(clippy::unwrap_used)]
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use windlass_engine::codec::{decode_event, encode_event};
use windlass_engine::driver::{self, JobOutcome, RunReport};
use windlass_engine::event::{CompletedBy, JobFailure};
use windlass_engine::{Ctx, Decision, InstanceState, JobRequest, Plan, decide, evolve, replay};
use windlass_model::{Definitions, Node};
use windlass_scenario::mocks::TaskRef;
use windlass_types::{Timestamp, Vars};

/// Loads a fixture and returns its definitions.
pub fn defs(file: &str) -> Definitions {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(file);
    let xml = std::fs::read_to_string(&path).unwrap();
    let out = windlass_model::load(&xml);
    let errors: Vec<String> = out.diagnostics.iter().map(|d| d.to_string()).collect();
    out.definitions
        .unwrap_or_else(|| panic!("{file} does not load: {errors:#?}"))
}

/// The plan of the first executable process of a fixture.
pub fn plan(file: &str) -> Arc<Plan> {
    let d = defs(file);
    Arc::new(Plan::new(d.first_executable().unwrap().clone()).unwrap())
}

/// A JSON object as variables.
pub fn vars(v: Value) -> Vars {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

/// What a mock does.
#[derive(Clone)]
pub enum M {
    /// Complete with these variables.
    Out(Value),
    /// Fail with a BPMN error code.
    Err(&'static str),
    /// Fail technically (retryable).
    Tech(&'static str),
    /// Leave pending.
    Leave,
}

/// Runs the first executable process of `file`; tasks are answered by id or
/// normalised raw name from `mocks`, else completed with no variables.
/// Checks replay determinism before returning.
pub type RunOutput = RunReport;

pub fn run(file: &str, input: Value, mocks: &[(&str, M)]) -> RunReport {
    let d = defs(file);
    let plan = Arc::new(Plan::new(d.first_executable().unwrap().clone()).unwrap());
    let mocks: BTreeMap<String, M> = mocks
        .iter()
        .map(|(k, m)| (k.to_string(), m.clone()))
        .collect();
    // Keys follow the scenario harness's rule (id, then name as written).
    // Unlike a scenario, an unmocked job completes as a bound handler would:
    // these tests bind everything (the golden histories record it so).
    let mut respond =
        |_: &JobRequest, node: &Node| match TaskRef::of(node).find(|key| mocks.get(key)) {
            Some(M::Out(v)) => JobOutcome::Complete {
                outputs: vars(v.clone()),
                by: CompletedBy::Mock,
            },
            Some(M::Err(code)) => JobOutcome::Fail(JobFailure::Bpmn {
                code: code.to_string(),
                message: None,
            }),
            Some(M::Tech(msg)) => JobOutcome::Fail(JobFailure::Technical {
                message: msg.to_string(),
                retryable: true,
            }),
            Some(M::Leave) => JobOutcome::Leave,
            None => JobOutcome::Complete {
                outputs: Vars::new(),
                by: CompletedBy::Handler,
            },
        };
    let mut resolve = driver::resolver(&d);
    let report = driver::run(
        &plan,
        vars(input),
        Timestamp(1_000),
        &mut resolve,
        &mut respond,
    )
    .unwrap();
    check_replay(&plan, &report);
    report
}

/// Live state and decisions equal those rebuilt from the history, whole and
/// event by event; every event survives the codec.
pub fn check_replay(plan: &Plan, report: &RunReport) {
    let whole = replay(&report.history).unwrap();
    assert_eq!(
        whole, report.state,
        "state rebuilt from the whole history differs"
    );
    let mut folded = InstanceState::default();
    for e in &report.history {
        folded = evolve(folded, e).unwrap();
        assert_eq!(&decode_event(&encode_event(e).unwrap()).unwrap(), e);
    }
    assert_eq!(folded, report.state, "state folded event by event differs");
    for s in &report.steps {
        let before = replay(&report.history[..s.first_event]).unwrap();
        let ctx = Ctx {
            plan,
            now: s.now,
            definition_key: &plan.graph().id,
        };
        let d = decide(&before, &s.command, &ctx).unwrap();
        let expected = Decision {
            events: report.history[s.first_event..s.first_event + s.event_count].to_vec(),
            effects: s.effects.clone(),
        };
        assert_eq!(
            d, expected,
            "re-deciding {:?} from the rebuilt state differs",
            s.command
        );
    }
}

/// The executed map as (name, count) pairs for terse assertions.
pub fn executed(report: &RunReport) -> Vec<(String, u32)> {
    report
        .executed
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

/// Builds an expected executed list.
pub fn ex(pairs: &[(&str, u32)]) -> Vec<(String, u32)> {
    let mut v: Vec<(String, u32)> = pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    v.sort();
    v
}
