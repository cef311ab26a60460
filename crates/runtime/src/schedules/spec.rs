//! What a schedule is, as the schedule service stores it in a row's `spec`
//! (JSON): what a fire does (start a process at its timer start event, or
//! publish a `windlass:cron` source's message), when it fires (a cron
//! expression with an optional time zone, an `R[n]/[start/]period` cycle,
//! a `timeDate` one-shot, a `timeDuration` one-shot counted from the
//! deployment) and its overlap policy. Derived from a deployed process
//! ([`derive`]); the due times come from the model's pure timer functions.

use crate::definitions::ProcessDef;
use serde::{Deserialize, Serialize};
use windlass_model::{
    EventTrigger, MessageSource, NodeKind, Occurrence, OverlapPolicy, ScopeIdx, TimerCycle,
    TimerPart, TimerSpec,
};

/// What a fire does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Target {
    /// Start an instance of the process at this timer start event.
    Start { start_event: String },
    /// Publish this message (a `windlass:cron` source).
    Publish { message: String },
}

/// When it fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Timing {
    /// A cron expression, in a time zone (UTC when `None`).
    Cron {
        expression: String,
        zone: Option<String>,
    },
    /// An ISO-8601 repeating interval (`R3/PT10M`, `R/2026-01-01T00:00:00Z/P1D`).
    Cycle { source: String },
    /// A `timeDate`: once.
    Date { source: String },
    /// A `timeDuration`: once, that long after the schedule was created.
    Duration { source: String },
}

/// A schedule's definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Spec {
    pub target: Target,
    pub timing: Timing,
    /// [`OverlapPolicy::as_str`].
    pub overlap: String,
}

impl Spec {
    /// The overlap policy (an unknown stored name reads as the default:
    /// only this code writes it).
    pub fn overlap(&self) -> OverlapPolicy {
        OverlapPolicy::parse(&self.overlap).unwrap_or_default()
    }

    /// The row bytes.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads the row bytes of schedule `id`.
    pub fn decode(id: &str, bytes: &[u8]) -> Result<Spec, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("schedule '{id}': bad spec: {e}"))
    }

    fn timer(&self) -> Result<Option<TimerSpec>, String> {
        let (part, text) = match &self.timing {
            Timing::Cron { .. } => return Ok(None),
            Timing::Cycle { source } => (TimerPart::Cycle, source),
            Timing::Date { source } => (TimerPart::Date, source),
            Timing::Duration { source } => (TimerPart::Duration, source),
        };
        TimerSpec::from_text(part, text).map(|(t, _)| Some(t))
    }

    /// The first occurrence of a schedule created at `now` (`None`: never).
    pub fn first(&self, now: i64) -> Result<Option<Occurrence>, String> {
        match (&self.timing, self.timer()?) {
            (Timing::Cron { expression, zone }, _) => Ok(Some(Occurrence {
                due_millis: windlass_model::cron_after_in(expression, zone.as_deref(), now)?,
                occurrence: 0,
            })),
            (_, Some(t)) => t.first_due(now),
            (_, None) => Ok(None),
        }
    }

    /// The occurrence after `prev` that is due strictly after `after`
    /// (`None`: no more). Occurrences between are skipped (and counted in
    /// the occurrence number of cycles).
    pub fn next(&self, prev: Occurrence, after: i64) -> Result<Option<Occurrence>, String> {
        match (&self.timing, self.timer()?) {
            (Timing::Cron { expression, zone }, _) => Ok(Some(Occurrence {
                due_millis: windlass_model::cron_after_in(
                    expression,
                    zone.as_deref(),
                    after.max(prev.due_millis),
                )?,
                occurrence: prev.occurrence.saturating_add(1),
            })),
            (_, Some(t)) => t.next_due(prev, after.max(prev.due_millis)),
            (_, None) => Ok(None),
        }
    }
}

/// The schedules a deployed process defines, with their ids: one per
/// process-level timer start event (`{processId}/{startEventId}`) and one
/// per `windlass:cron` source (`{processId}/cron/{message}`, `#2`, `#3`
/// appended when a message has several). A timer start event whose timer
/// is an expression is refused by the engine's plan, so it never gets here.
pub(crate) fn derive(def: &ProcessDef) -> Vec<(String, Spec)> {
    let g = def.plan.graph();
    let mut out: Vec<(String, Spec)> = Vec::new();
    for node in &g.nodes {
        let NodeKind::StartEvent {
            trigger: EventTrigger::Timer(timer),
            ..
        } = &node.kind
        else {
            continue;
        };
        if node.scope != ScopeIdx::ROOT {
            continue;
        }
        let timing = match timer.as_ref() {
            TimerSpec::Date { source, .. } => Timing::Date {
                source: source.clone(),
            },
            TimerSpec::Duration { source, .. } => Timing::Duration {
                source: source.clone(),
            },
            TimerSpec::Cycle {
                cycle: TimerCycle::Cron { expression },
                ..
            } => Timing::Cron {
                expression: expression.clone(),
                zone: None,
            },
            TimerSpec::Cycle { source, .. } => Timing::Cycle {
                source: source.clone(),
            },
            TimerSpec::Expression { .. } => continue,
        };
        let overlap = g
            .extensions
            .schedules
            .iter()
            .find(|s| s.start_event == node.id)
            .map(|s| s.overlap)
            .unwrap_or_default();
        out.push((
            format!("{}/{}", g.id, node.id),
            Spec {
                target: Target::Start {
                    start_event: node.id.clone(),
                },
                timing,
                overlap: overlap.as_str().to_string(),
            },
        ));
    }
    for source in &g.extensions.sources {
        let MessageSource::Cron {
            message,
            schedule,
            timezone,
        } = source
        else {
            continue;
        };
        let base = format!("{}/cron/{message}", g.id);
        let mut id = base.clone();
        let mut n = 1;
        while out.iter().any(|(i, _)| *i == id) {
            n += 1;
            id = format!("{base}#{n}");
        }
        out.push((
            id,
            Spec {
                target: Target::Publish {
                    message: message.clone(),
                },
                timing: Timing::Cron {
                    expression: schedule.clone(),
                    zone: timezone.clone(),
                },
                overlap: OverlapPolicy::default().as_str().to_string(),
            },
        ));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    fn spec(timing: Timing) -> Spec {
        Spec {
            target: Target::Start {
                start_event: "s".into(),
            },
            timing,
            overlap: "skip".into(),
        }
    }

    #[test]
    fn specs_round_trip_and_compute_their_times() {
        let cycle = spec(Timing::Cycle {
            source: "R2/PT1M".into(),
        });
        assert_eq!(Spec::decode("x", &cycle.encode()).unwrap(), cycle);
        let first = cycle.first(T0).unwrap().unwrap();
        assert_eq!(first.due_millis, T0 + 60_000);
        let second = cycle.next(first, first.due_millis).unwrap().unwrap();
        assert_eq!(second.due_millis, T0 + 120_000);
        assert_eq!(cycle.next(second, second.due_millis).unwrap(), None);

        let cron = spec(Timing::Cron {
            expression: "0 3 * * *".into(),
            zone: Some("Europe/Berlin".into()),
        });
        assert_eq!(
            cron.first(T0).unwrap().unwrap().due_millis,
            T0 + 2 * 3_600_000
        );
        let date = spec(Timing::Date {
            source: "2026-01-02T00:00:00Z".into(),
        });
        let once = date.first(T0).unwrap().unwrap();
        assert_eq!(once.due_millis, T0 + 86_400_000);
        assert_eq!(date.next(once, once.due_millis).unwrap(), None);
        assert!(
            Spec::decode("x", b"{")
                .unwrap_err()
                .contains("schedule 'x'")
        );
    }
}
