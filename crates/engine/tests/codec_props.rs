//! Property tests of the value limit and the event codec (issue 16): random
//! deep and large values round-trip through the codec; what the engine
//! decides never carries a value over the limit (start variables over it are
//! refused, job outputs over it fail the attempt); random and mutated bytes
//! never panic the decoders.
#![allow(clippy::unwrap_used)]

#[path = "support/json_values.rs"]
mod json_values;
mod support;

use json_values::{large_vars, value, vars};
use proptest::prelude::*;
use serde_json::Value;
use windlass_engine::codec::{
    CodecError, decode_event, decode_history, encode_event, encode_history,
};
use windlass_engine::command::Command;
use windlass_engine::effect::Effect;
use windlass_engine::event::{CompletedBy, Event, ScopeKind};
use windlass_engine::ids::{ScopeId, TokenId};
use windlass_engine::value_limits::check_event;
use windlass_engine::{Ctx, DecideError, InstanceState, apply, decide, replay};
use windlass_types::limits::{check_value, check_vars, measure};
use windlass_types::{Timestamp, Vars};

fn events_with(vars: &Vars, v: &Value) -> Vec<Event> {
    vec![
        Event::InstanceStarted {
            process_id: "p".into(),
            definition_key: "p:1".into(),
            business_key: None,
            vars: vars.clone(),
            has_parent: false,
        },
        Event::ScopeEntered {
            scope: ScopeId(1),
            parent: Some(ScopeId(0)),
            kind: ScopeKind::Element(0),
            owner: Some(TokenId(1)),
            vars: vars.clone(),
        },
        Event::VariablesSet {
            scope: ScopeId(0),
            vars: vars.clone(),
        },
        Event::JobCompleted {
            token: TokenId(1),
            attempt: 1,
            by: CompletedBy::Handler,
            outputs: vars.clone(),
        },
        Event::ChildCompleted {
            token: TokenId(1),
            outputs: vars.clone(),
        },
        Event::BodyStarted {
            token: TokenId(1),
            total: Some(1),
            items: Some(v.clone()),
        },
        Event::ElementCompleted {
            token: TokenId(1),
            index: 0,
            result: Some(v.clone()),
        },
    ]
}

/// Runs Start and then completes the first job with `outputs`; returns the
/// history, or the refusal of the start.
fn decide_run(start: &Vars, outputs: &Vars) -> Result<(Vec<Event>, InstanceState), DecideError> {
    let plan = support::plan("deep_outputs.bpmn");
    let ctx = Ctx {
        plan: &plan,
        now: Timestamp(1_000),
        definition_key: "deep_outputs",
    };
    let mut state = InstanceState::default();
    let mut history = Vec::new();
    let cmd = Command::Start {
        vars: start.clone(),
        business_key: None,
        start_event: None,
        has_parent: false,
    };
    let d = decide(&state, &cmd, &ctx)?;
    let job = d.effects.iter().find_map(|e| match e {
        Effect::RunJob(r) => Some(r.key),
        _ => None,
    });
    for e in d.events {
        apply(&mut state, &e).unwrap();
        history.push(e);
    }
    let job = job.unwrap();
    let cmd = Command::CompleteJob {
        job,
        outputs: outputs.clone(),
        by: CompletedBy::Handler,
    };
    for e in decide(&state, &cmd, &ctx).unwrap().events {
        apply(&mut state, &e).unwrap();
        history.push(e);
    }
    Ok((history, state))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn values_round_trip_through_the_codec_and_the_check_matches_the_limit(
        vars in vars(),
        v in value(),
    ) {
        // The limit measures exactly the JSON text the codec writes.
        prop_assert_eq!(measure(&v).bytes, serde_json::to_string(&v).unwrap().len());
        let vars_fit = check_vars(&vars).is_ok();
        let value_fits = check_value("v", &v).is_ok();
        for e in events_with(&vars, &v) {
            let fits = match e {
                Event::BodyStarted { .. } | Event::ElementCompleted { .. } => value_fits,
                _ => vars_fit,
            };
            prop_assert_eq!(check_event(&e).is_ok(), fits);
            // Everything the strategies make (up to 1.5 times the depth
            // limit) is still readable, so even refused values decode.
            let bytes = encode_event(&e).unwrap();
            prop_assert_eq!(decode_event(&bytes).unwrap(), e);
        }
        let h = events_with(&vars, &v);
        prop_assert_eq!(decode_history(&encode_history(&h).unwrap()).unwrap(), h);
    }

    #[test]
    fn nothing_decided_carries_a_value_over_the_limit(start in vars(), outputs in vars()) {
        match decide_run(&start, &outputs) {
            Err(e) => {
                prop_assert!(check_vars(&start).is_err());
                prop_assert!(matches!(e, DecideError::ValueLimit(_)), "{}", e);
            }
            Ok((history, state)) => {
                prop_assert!(check_vars(&start).is_ok());
                for e in &history {
                    prop_assert!(check_event(e).is_ok(), "{:?}", e.tag());
                    prop_assert_eq!(&decode_event(&encode_event(e).unwrap()).unwrap(), e);
                }
                prop_assert_eq!(replay(&history).unwrap(), state.clone());
                let completed = history.iter().any(|e| matches!(e, Event::JobCompleted { .. }));
                let failed = history.iter().any(|e| matches!(e, Event::JobFailed { .. }));
                prop_assert_eq!(completed, check_vars(&outputs).is_ok());
                prop_assert_eq!(failed, !completed);
                if completed {
                    let root = state.root_vars().cloned().unwrap_or_default();
                    for (k, v) in &outputs {
                        prop_assert_eq!(root.get(k), Some(v));
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn large_values_are_taken_up_to_the_limit_and_refused_beyond(outputs in large_vars()) {
        let (history, _) = decide_run(&Vars::new(), &outputs).unwrap();
        let fits = check_vars(&outputs).is_ok();
        prop_assert_eq!(history.iter().any(|e| matches!(e, Event::JobCompleted { .. })), fits);
        for e in &history {
            prop_assert!(check_event(e).is_ok());
            prop_assert_eq!(&decode_event(&encode_event(e).unwrap()).unwrap(), e);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_decoders(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_event(&bytes);
        let mut rec = vec![1u8];
        rec.extend_from_slice(&bytes);
        let _ = decode_event(&rec);
        let mut hist = b"WLH\x01".to_vec();
        hist.extend_from_slice(&bytes);
        let _ = decode_history(&hist);
    }

    #[test]
    fn mutated_records_never_panic_and_too_deep_is_never_corrupt(
        which in 0usize..7,
        levels in 0usize..200,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let v = json_values::wrap(Value::from(1), levels, 0);
        let vars = Vars::from_iter([("b".to_string(), v.clone())]);
        let e = events_with(&vars, &v).swap_remove(which);
        let mut bytes = encode_event(&e).unwrap();
        let intact = decode_event(&bytes);
        // Intact records decode, or (beyond what JSON text can be read)
        // say so: never "corrupt".
        // A variable map adds one level around the value in the JSON text.
        let in_map = !matches!(e, Event::BodyStarted { .. } | Event::ElementCompleted { .. });
        if measure(&v).depth + usize::from(in_map) < windlass_types::limits::DECODER_MAX_DEPTH {
            prop_assert_eq!(intact.unwrap(), e);
        } else {
            prop_assert!(matches!(intact, Err(CodecError::TooDeep { .. })), "{:?}", intact);
        }
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        let _ = decode_event(&bytes);
    }
}
