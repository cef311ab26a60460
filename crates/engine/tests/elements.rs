//! Every supported element, driven through fixtures, with replay checks.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{M, ex, executed, run};
use windlass_engine::driver::RunStatus;
use windlass_engine::event::{Event, FlowReason};

#[test]
fn simple_task_with_template_name() {
    let r = run("simple.bpmn", json!({"what": "laundry"}), &[]);
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(executed(&r), ex(&[("Do laundry", 1)]));
}

#[test]
fn exclusive_takes_first_true_condition_in_order_else_default() {
    let r = run("exclusive.bpmn", json!({"x": 12}), &[]);
    assert_eq!(executed(&r), ex(&[("Big", 1)]));
    let taken = r.history.iter().find_map(|e| match e {
        Event::FlowTaken {
            reason: FlowReason::ConditionTrue { condition },
            ..
        } => Some(condition.clone()),
        _ => None,
    });
    assert_eq!(taken.as_deref(), Some("data.x >= 5"));
    let r = run("exclusive.bpmn", json!({"x": 1}), &[]);
    assert_eq!(executed(&r), ex(&[("Small", 1)]));
    assert!(r.history.iter().any(|e| matches!(
        e,
        Event::FlowTaken {
            reason: FlowReason::Default,
            ..
        }
    )));
    // Missing variable: comparison is false, default taken.
    let r = run("exclusive.bpmn", json!({}), &[]);
    assert_eq!(executed(&r), ex(&[("Small", 1)]));
}

#[test]
fn exclusive_without_true_condition_or_default_fails_naming_the_gateway() {
    let r = run("exclusive_no_default.bpmn", json!({"x": 3}), &[]);
    match &r.status {
        RunStatus::Failed { reason } => assert!(
            reason.contains("'gw'") && reason.contains("Route"),
            "{reason}"
        ),
        other => panic!("expected failure, got {other:?}"),
    }
    assert!(r.executed.is_empty());
}

#[test]
fn parallel_join_waits_for_every_branch() {
    let r = run("parallel.bpmn", json!({}), &[("B", M::Leave)]);
    assert!(matches!(r.status, RunStatus::Waiting { .. }));
    assert_eq!(executed(&r), ex(&[("A", 1)]));
    let waiting = r.history.iter().find_map(|e| match e {
        Event::JoinWaiting { missing, .. } => Some(missing.clone()),
        _ => None,
    });
    assert_eq!(waiting.map(|m| m.len()), Some(1));
    let r = run("parallel.bpmn", json!({}), &[]);
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(executed(&r), ex(&[("A", 1), ("B", 1), ("After", 1)]));
}

#[test]
fn inclusive_join_waits_only_for_tokens_that_can_still_arrive() {
    // a and b false: only C runs; the join must not wait for A or B.
    let r = run("inclusive.bpmn", json!({"a": false, "b": false}), &[]);
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(executed(&r), ex(&[("C", 1), ("After", 1)]));
    // All three; B's token leaves the path at the exclusive gateway, so the
    // join fires once A and C arrived.
    let r = run(
        "inclusive.bpmn",
        json!({"a": true, "b": true, "skip": true}),
        &[],
    );
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(
        executed(&r),
        ex(&[("A", 1), ("B", 1), ("C", 1), ("After", 1)])
    );
    // B still running: the join waits (B can reach it).
    let r = run(
        "inclusive.bpmn",
        json!({"a": true, "b": true, "skip": false}),
        &[("B", M::Leave)],
    );
    assert!(matches!(r.status, RunStatus::Waiting { .. }));
    assert_eq!(executed(&r), ex(&[("A", 1), ("C", 1)]));
    // B arrives: one activation, After runs once.
    let r = run(
        "inclusive.bpmn",
        json!({"a": true, "b": true, "skip": false}),
        &[],
    );
    assert_eq!(
        executed(&r),
        ex(&[("A", 1), ("B", 1), ("C", 1), ("After", 1)])
    );
    let fired: Vec<_> = r
        .history
        .iter()
        .filter(|e| matches!(e, Event::JoinFired { .. }))
        .collect();
    assert_eq!(fired.len(), 1);
}

#[test]
fn error_end_event_is_caught_by_the_sub_process_boundary() {
    let r = run("errors.bpmn", json!({"fail": true}), &[]);
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(executed(&r), ex(&[("Risky", 1), ("Cleanup", 1)]));
    let r = run("errors.bpmn", json!({"fail": false}), &[]);
    assert_eq!(executed(&r), ex(&[("Risky", 1), ("Done", 1)]));
}

#[test]
fn task_errors_are_caught_by_code_innermost_first_or_fail_the_instance() {
    // 'other' is caught on the task itself; the sub-process then completes.
    let r = run("errors.bpmn", json!({}), &[("Risky", M::Err("other"))]);
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(executed(&r), ex(&[("Handle other", 1), ("Done", 1)]));
    // 'broken' propagates to the sub-process boundary.
    let r = run("errors.bpmn", json!({}), &[("Risky", M::Err("broken"))]);
    assert_eq!(executed(&r), ex(&[("Cleanup", 1)]));
    // An unknown code is not caught: the instance fails.
    let r = run("errors.bpmn", json!({}), &[("Risky", M::Err("nobody"))]);
    match &r.status {
        RunStatus::Failed { reason } => assert!(reason.contains("'nobody'"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn error_event_sub_process_interrupts_the_scope() {
    let r = run(
        "event_subprocess.bpmn",
        json!({}),
        &[("A", M::Err("x")), ("B", M::Leave)],
    );
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(executed(&r), ex(&[("Recover", 1)]));
    // B's job was cancelled by the interruption.
    assert!(
        r.steps
            .iter()
            .flat_map(|s| &s.effects)
            .any(|e| matches!(e, windlass_engine::Effect::CancelJob(_)))
    );
}

#[test]
fn multi_instance_parallel_collection_and_sequential_with_completion_condition() {
    let r = run(
        "multi_instance.bpmn",
        json!({"items": ["a", "b", "c"]}),
        &[("each", M::Out(json!({"answer": "ok"})))],
    );
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(
        executed(&r),
        ex(&[
            ("Handle a", 1),
            ("Handle b", 1),
            ("Handle c", 1),
            ("Step", 2)
        ])
    );
    assert_eq!(r.variables.get("results"), Some(&json!(["ok", "ok", "ok"])));
    // Element variables stay in their element scope.
    assert!(!r.variables.contains_key("item"));
    // Empty collection: no element, the body completes at once.
    let r = run("multi_instance.bpmn", json!({"items": []}), &[]);
    assert_eq!(executed(&r), ex(&[("Step", 2)]));
    assert_eq!(r.variables.get("results"), Some(&json!([])));
}

#[test]
fn nested_multi_instance_runs_every_inner_element() {
    let r = run("nested_mi.bpmn", json!({"groups": ["g1", "g2"]}), &[]);
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(
        executed(&r),
        ex(&[("Work g1", 2), ("Work g2", 2), ("After", 1)])
    );
    assert!(r.state.tokens.is_empty());
}

#[test]
fn error_inside_a_multi_instance_sub_process_cancels_all_elements() {
    // The first inner element of g1 fails; everything else is still pending.
    let r = run(
        "nested_mi.bpmn",
        json!({"groups": ["g1", "g2"]}),
        &[("inner", M::Err("bad"))],
    );
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(executed(&r), ex(&[("Recover", 1)]));
    let cancelled = r
        .steps
        .iter()
        .flat_map(|s| &s.effects)
        .filter(|e| matches!(e, windlass_engine::Effect::CancelJob(_)))
        .count();
    assert_eq!(cancelled, 3, "the three other inner jobs are cancelled");
    assert_eq!(r.state.scopes.len(), 1, "only the process scope is left");
}

#[test]
fn standard_loop_checks_after_each_pass_and_test_before() {
    let mut n = 0;
    let _ = &mut n;
    let r = run("loop.bpmn", json!({"ready": false, "again": false}), &[]);
    // Never ready: loopMaximum 5 stops it; `pre` never runs (testBefore).
    assert_eq!(
        executed(&r),
        ex(&[
            ("Poll 0", 1),
            ("Poll 1", 1),
            ("Poll 2", 1),
            ("Poll 3", 1),
            ("Poll 4", 1)
        ])
    );
    let r = run(
        "loop.bpmn",
        json!({"again": false}),
        &[("poll", M::Out(json!({"ready": true})))],
    );
    assert_eq!(executed(&r), ex(&[("Poll 0", 1)]));
    let r = run(
        "loop.bpmn",
        json!({"ready": true, "again": true}),
        &[("pre", M::Out(json!({"again": false})))],
    );
    assert_eq!(executed(&r), ex(&[("Poll 0", 1), ("Pre", 1)]));
}

#[test]
fn call_activity_maps_variables_in_and_out_and_propagates_failure() {
    let r = run("call.bpmn", json!({"n": 4}), &[]);
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(executed(&r), ex(&[("Child work", 1), ("After", 1)]));
    assert_eq!(r.variables.get("result"), Some(&json!(9)));
    let r = run(
        "call.bpmn",
        json!({"n": 4}),
        &[("childWork", M::Err("child-broke"))],
    );
    assert_eq!(executed(&r), ex(&[("Handle child failure", 1)]));
}

#[test]
fn script_link_and_terminate() {
    let r = run("misc.bpmn", json!({"a": 2, "b": 3}), &[("slow", M::Leave)]);
    assert_eq!(
        r.status,
        RunStatus::Completed,
        "terminate ends the instance although Slow waits"
    );
    assert_eq!(r.variables.get("total"), Some(&json!(5)));
    assert_eq!(executed(&r), ex(&[("Calc", 1)]));
    assert!(
        r.history
            .iter()
            .any(|e| matches!(e, Event::LinkJumped { .. }))
    );
    assert!(
        r.history
            .iter()
            .any(|e| matches!(e, Event::Terminated { .. }))
    );
}

#[test]
fn complex_gateway_activation_condition_and_handler_decision() {
    let r = run(
        "complex.bpmn",
        json!({}),
        &[("C", M::Leave), ("decide", M::Out(json!({"pick": "y"})))],
    );
    assert_eq!(executed(&r), ex(&[("A", 1), ("B", 1), ("Y", 1)]));
    let r = run(
        "complex.bpmn",
        json!({}),
        &[("decide", M::Out(json!({"pick": "x"})))],
    );
    // All three arrive: it fires on the second, the late third token ends.
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(executed(&r), ex(&[("A", 1), ("B", 1), ("C", 1), ("X", 1)]));
}

#[test]
fn technical_failures_retry_with_backoff_then_raise_an_incident() {
    let r = run(
        "retries.bpmn",
        json!({"who": "me"}),
        &[("flaky", M::Tech("exit 1"))],
    );
    match &r.status {
        RunStatus::Waiting { incidents } => {
            assert_eq!(incidents.len(), 1);
            assert!(
                incidents[0].contains("Flaky") && incidents[0].contains("2 attempt"),
                "{incidents:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let jobs: Vec<_> = r
        .steps
        .iter()
        .flat_map(|s| &s.effects)
        .filter_map(|e| match e {
            windlass_engine::Effect::RunJob(j) => Some(j.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        jobs[0].settings.get("cmd").map(String::as_str),
        Some("echo me")
    );
    assert_eq!(jobs[0].kind.as_deref(), Some("shell"));
    assert_eq!(jobs[1].key.attempt, 2);
    // The backoff (500 ms from 1,000), shortened by up to a fifth (jitter).
    let due = jobs[1].not_before.unwrap().0;
    assert!((1_400..=1_500).contains(&due), "{due}");
}

#[test]
fn unsupported_elements_are_refused_by_name() {
    let d = support::defs("unsupported.bpmn");
    let err = windlass_engine::Plan::new(d.first_executable().unwrap().clone()).unwrap_err();
    assert!(
        err.to_string().contains("waitCondition") && err.to_string().contains("conditional"),
        "{err}"
    );
}

#[test]
fn history_reads_like_a_story() {
    let r = run("exclusive.bpmn", json!({"x": 7}), &[]);
    let d = support::defs("exclusive.bpmn");
    let g = d.first_executable().unwrap();
    let lines: Vec<String> = r
        .history
        .iter()
        .map(|e| windlass_engine::history_text::describe(e, g))
        .collect();
    let text = lines.join("\n");
    assert!(
        text.contains("took flow 'big' to 'Big' (condition `data.x >= 5` was true)"),
        "{text}"
    );
    assert!(
        text.contains("completed by a mock") || text.contains("completed by its handler"),
        "{text}"
    );
    let r = run("parallel.bpmn", json!({}), &[("B", M::Leave)]);
    let d = support::defs("parallel.bpmn");
    let g = d.first_executable().unwrap();
    let text: Vec<String> = r
        .history
        .iter()
        .map(|e| windlass_engine::history_text::describe(e, g))
        .collect();
    assert!(
        text.iter()
            .any(|l| l.contains("waits at join 'Join' for flows 'jb'")),
        "{text:#?}"
    );
    // Token numbers print as numbers, not as Rust debug output of the ids.
    let r = run("parallel.bpmn", json!({}), &[]);
    let text: Vec<String> = r
        .history
        .iter()
        .map(|e| windlass_engine::history_text::describe(e, g))
        .collect();
    let fired = text
        .iter()
        .find(|l| l.contains("fired"))
        .expect("the join fires");
    assert!(
        fired.contains("merged tokens [") && !fired.contains("TokenId"),
        "{fired}"
    );
}

#[test]
fn a_failing_output_mapping_raises_an_incident_naming_element_and_expression() {
    let r = run(
        "bad_mapping.bpmn",
        json!({}),
        &[("work", M::Out(json!({"count": "three"})))],
    );
    match &r.status {
        RunStatus::Waiting { incidents } => {
            assert_eq!(incidents.len(), 1, "{incidents:?}");
            assert!(
                incidents[0].contains("'work'") && incidents[0].contains("`count + 1`"),
                "{incidents:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(r.history.last(), Some(Event::IncidentRaisedAt { .. })),
        "nothing happens after the incident"
    );
    let r = run(
        "bad_mapping.bpmn",
        json!({}),
        &[("work", M::Out(json!({"count": 2})))],
    );
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(r.variables.get("next"), Some(&json!(3)));
}

#[test]
fn a_cycle_without_wait_state_fails_instead_of_hanging() {
    let r = run("busy_cycle.bpmn", json!({}), &[]);
    match &r.status {
        RunStatus::Failed { reason } => {
            assert!(reason.contains("without reaching a wait state"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn terminate_inside_a_sub_process_ends_only_the_sub_process() {
    // Implicit start inside the sub-process: the fork has no incoming flow.
    let r = run("terminate_sub.bpmn", json!({}), &[("slow", M::Leave)]);
    assert_eq!(r.status, RunStatus::Completed);
    assert_eq!(executed(&r), ex(&[("After", 1)]));
    assert!(
        r.steps
            .iter()
            .flat_map(|s| &s.effects)
            .any(|e| matches!(e, windlass_engine::Effect::CancelJob(_)))
    );
}

#[test]
fn an_error_inside_an_error_event_sub_process_is_not_caught_by_itself() {
    let r = run(
        "event_subprocess.bpmn",
        json!({}),
        &[
            ("A", M::Err("x")),
            ("B", M::Leave),
            ("recover", M::Err("y")),
        ],
    );
    match &r.status {
        RunStatus::Failed { reason } => assert!(reason.contains("'y'"), "{reason}"),
        other => panic!("{other:?}"),
    }
}
