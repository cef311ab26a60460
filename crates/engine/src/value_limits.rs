//! The value limit ([`windlass_types::limits`]) applied to events: every
//! event the engine decides passes [`check_event`] before it is recorded, so
//! no history holds a value that cannot be decoded again.
//!
//! The places where values enter an instance check them first and turn a
//! refusal into the right outcome (a refused start, a failed job attempt, an
//! incident on a script task); this check is the backstop for the rest
//! (sub-process and call-activity mappings, multi-instance collections, a
//! thrown message's variables),
//! which fails the instance with the same message.

use crate::event::{Event, IncidentSite};
use windlass_types::ValueLimitError;
use windlass_types::limits::{check_value_fits, check_vars};

/// Name used in errors for a multi-instance body's input collection.
pub const INPUT_COLLECTION: &str = "(input collection)";
/// Name used in errors for one multi-instance element's output.
pub const ELEMENT_RESULT: &str = "(element result)";

/// Checks every value `event` carries against the value limit.
///
/// Called for every event decided, most of which carry no value: those are
/// told apart inline by their variant alone, and values that clearly fit are
/// not measured byte by byte (see [`check_vars`]).
#[inline]
pub fn check_event(event: &Event) -> Result<(), ValueLimitError> {
    match event {
        Event::InstanceStarted { vars, .. }
        | Event::ScopeEntered { vars, .. }
        | Event::VariablesSet { vars, .. }
        | Event::JobCompleted { outputs: vars, .. }
        | Event::ChildCompleted { outputs: vars, .. }
        | Event::MessageThrown { vars, .. }
        | Event::SignalThrown { vars, .. }
        | Event::IncidentRaisedAt {
            site: IncidentSite::Outputs { results: vars },
            ..
        } => {
            if vars.is_empty() {
                Ok(())
            } else {
                check_vars(vars)
            }
        }
        Event::BodyStarted { items: Some(v), .. } => check_value_fits(INPUT_COLLECTION, v),
        Event::ElementCompleted {
            result: Some(v), ..
        } => check_value_fits(ELEMENT_RESULT, v),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use windlass_types::Vars;
    use windlass_types::limits::MAX_VALUE_DEPTH;

    fn nested(depth: usize) -> Value {
        (0..depth).fold(json!(1), |v, _| Value::Array(vec![v]))
    }

    #[test]
    fn every_value_bearing_event_is_checked() {
        let deep = Vars::from_iter([("b".to_string(), nested(MAX_VALUE_DEPTH + 1))]);
        let fine = Vars::from_iter([("b".to_string(), nested(MAX_VALUE_DEPTH))]);
        let with = |vars: Vars| {
            vec![
                Event::VariablesSet {
                    scope: crate::ids::ScopeId(0),
                    vars: vars.clone(),
                },
                Event::JobCompleted {
                    token: crate::ids::TokenId(1),
                    attempt: 1,
                    by: crate::event::CompletedBy::Handler,
                    outputs: vars.clone(),
                },
                Event::ChildCompleted {
                    token: crate::ids::TokenId(1),
                    outputs: vars.clone(),
                },
                Event::BodyStarted {
                    token: crate::ids::TokenId(1),
                    total: Some(1),
                    items: vars.get("b").cloned(),
                },
                Event::ElementCompleted {
                    token: crate::ids::TokenId(1),
                    index: 0,
                    result: vars.get("b").cloned(),
                },
            ]
        };
        for e in with(fine) {
            assert_eq!(check_event(&e), Ok(()), "{e:?}");
        }
        for e in with(deep) {
            let err = check_event(&e).unwrap_err();
            assert!(err.to_string().contains("65 levels deep"), "{err}");
        }
        assert_eq!(check_event(&Event::InstanceCompleted), Ok(()));
    }
}
