//! Scenario steps: what happens to the instance after it settles, in order
//! (`steps:` of a scenario file), and the scenario clock (`clock:`).
//!
//! Each step is a one-key object: `advance` (an ISO-8601 duration), `message`,
//! `signal`, `broadcast`, `cancel`, `terminate`, `suspend`, `resume`,
//! `start` (another instance of the process, named) or `expect` (a
//! checkpoint with the fields of the final `expect`). `signal`, `cancel`,
//! `terminate`, `suspend`, `resume` and `expect` act on the scenario's
//! instance, or on the one their `instance` names ([`check_instances`]). Steps are
//! read strictly, one by one, so an error names the step's index
//! (`steps[2]`) as well as the field. A step whose engine feature does not
//! exist would be named by [`Step::missing_feature`] (none today), and a
//! scenario holding one judged *unsupported*, never run as if the step were
//! not there.

use crate::file::Expectation;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use windlass_model::{fixed_millis, parse_date, parse_duration};
use windlass_types::{Timestamp, Vars};

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Step {
    /// The clock moves on by this duration; due timers fire in due order.
    Advance(Advance),
    /// A message is published (correlated to one waiting instance).
    Message(Message),
    /// A signal is sent to this instance (buffered until consumed).
    Signal(Signal),
    /// A BPMN broadcast signal.
    Broadcast(Broadcast),
    /// The instance is cancelled.
    Cancel(Cancel),
    /// The instance is terminated.
    Terminate(Terminate),
    /// A checkpoint: status, executed and variables as of now.
    Expect(Expectation),
    /// The instance is suspended.
    Suspend(Suspend),
    /// The suspended instance is resumed.
    Resume(Resume),
    /// Another instance of the scenario's process starts, named.
    Start(Start),
}

impl Step {
    /// The step's key as written (`advance`, `message`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Advance(_) => "advance",
            Step::Message(_) => "message",
            Step::Signal(_) => "signal",
            Step::Broadcast(_) => "broadcast",
            Step::Cancel(_) => "cancel",
            Step::Terminate(_) => "terminate",
            Step::Expect(_) => "expect",
            Step::Suspend(_) => "suspend",
            Step::Resume(_) => "resume",
            Step::Start(_) => "start",
        }
    }

    /// The engine feature this step needs and Windlass does not have yet,
    /// if any.
    pub fn missing_feature(&self) -> Option<&'static str> {
        match self {
            Step::Cancel(_)
            | Step::Advance(_)
            | Step::Message(_)
            | Step::Signal(_)
            | Step::Broadcast(_)
            | Step::Terminate(_)
            | Step::Expect(_)
            | Step::Suspend(_)
            | Step::Resume(_)
            | Step::Start(_) => None,
        }
    }
}

/// `advance: PT1H`: an ISO-8601 duration of fixed length (weeks, days, hours,
/// minutes, seconds; years and months have no fixed length and are refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advance {
    /// The length in milliseconds.
    pub millis: u64,
}

impl<'de> Deserialize<'de> for Advance {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        fixed_duration(&text)
            .map(|millis| Advance { millis })
            .map_err(serde::de::Error::custom)
    }
}

/// `message: {...}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Message {
    /// The message name.
    pub name: String,
    /// The correlation key.
    #[serde(default)]
    pub correlation_key: Option<String>,
    /// The payload.
    #[serde(default)]
    pub variables: Vars,
    /// An id that makes publishing idempotent.
    #[serde(default)]
    pub message_id: Option<String>,
    /// How long it stays buffered when nothing waits (ISO-8601 duration).
    #[serde(default)]
    pub ttl: Option<Advance>,
    /// The name of the instance it starts at a message start event when no
    /// subscription takes it (for later steps).
    #[serde(default)]
    pub instance: Option<String>,
}

/// `signal: {...}`: to one instance.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    /// The signal name.
    pub name: String,
    /// The payload.
    #[serde(default)]
    pub variables: Vars,
    /// The instance it is sent to (a `start` step's name); the scenario's
    /// instance when absent.
    #[serde(default)]
    pub instance: Option<String>,
}

/// `broadcast: {...}`: to every subscription waiting in any instance, and
/// to signal start events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Broadcast {
    /// The signal name.
    pub name: String,
    /// The payload.
    #[serde(default)]
    pub variables: Vars,
    /// The name of the instance it starts at a signal start event (for
    /// later steps).
    #[serde(default)]
    pub instance: Option<String>,
}

/// `start: { instance: NAME, input: {...} }`: another instance of the
/// scenario's process starts at the clock (as a newer event would start
/// one), sharing the clock, the buffered messages and the dedup keys with
/// the scenario's instance, so its dedup claim can supersede an instance
/// waiting for the same key. Later steps name it by `instance`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Start {
    /// Its name in later steps and in the history of an instance it
    /// supersedes.
    pub instance: String,
    /// Its variables.
    #[serde(default)]
    pub input: Vars,
}

/// `cancel: { reason: ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cancel {
    /// The instance it acts on (a `start` step's name); the scenario's
    /// instance when absent.
    #[serde(default)]
    pub instance: Option<String>,
    /// Why (recorded in the history); `cancelled by the scenario` when
    /// absent.
    #[serde(default)]
    pub reason: Option<String>,
}

impl Cancel {
    /// The reason to record.
    pub fn reason(&self) -> &str {
        self.reason
            .as_deref()
            .unwrap_or("cancelled by the scenario")
    }
}

/// `suspend: { reason: ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suspend {
    /// The instance it acts on (a `start` step's name); the scenario's
    /// instance when absent.
    #[serde(default)]
    pub instance: Option<String>,
    /// Why (recorded in the history); `suspended by the scenario` when
    /// absent.
    #[serde(default)]
    pub reason: Option<String>,
}

impl Suspend {
    /// The reason to record.
    pub fn reason(&self) -> &str {
        self.reason
            .as_deref()
            .unwrap_or("suspended by the scenario")
    }
}

/// `resume: {}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resume {
    /// The instance it acts on (a `start` step's name); the scenario's
    /// instance when absent.
    #[serde(default)]
    pub instance: Option<String>,
}

/// `terminate: { reason: ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terminate {
    /// The instance it acts on (a `start` step's name); the scenario's
    /// instance when absent.
    #[serde(default)]
    pub instance: Option<String>,
    /// Why (recorded in the history); `terminated by the scenario` when
    /// absent.
    #[serde(default)]
    pub reason: Option<String>,
}

impl Terminate {
    /// The reason to record.
    pub fn reason(&self) -> &str {
        self.reason
            .as_deref()
            .unwrap_or("terminated by the scenario")
    }
}

impl Step {
    /// The instance this step acts on (`instance:`), if it names one.
    pub fn target(&self) -> Option<&str> {
        match self {
            Step::Signal(Signal { instance, .. })
            | Step::Cancel(Cancel { instance, .. })
            | Step::Terminate(Terminate { instance, .. })
            | Step::Suspend(Suspend { instance, .. })
            | Step::Resume(Resume { instance })
            | Step::Expect(Expectation { instance, .. }) => instance.as_deref(),
            Step::Start(_) | Step::Advance(_) | Step::Message(_) | Step::Broadcast(_) => None,
        }
    }

    /// The name this step gives the instance it starts: a `start` step's
    /// always, a `message`'s or `broadcast`'s when it names one.
    pub fn names(&self) -> Option<&str> {
        match self {
            Step::Start(s) => Some(&s.instance),
            Step::Message(Message { instance, .. })
            | Step::Broadcast(Broadcast { instance, .. }) => instance.as_deref(),
            _ => None,
        }
    }
}

/// Checks the instance names of `steps` and of the final `expect`: a
/// `start`, `message` or `broadcast` step naming the instance it starts
/// gives a new name (not empty, not taken before), and every step acting on
/// a named instance names one an earlier step starts. The error names the
/// step.
pub fn check_instances(steps: &[Step], expect: &Expectation) -> Result<(), String> {
    let mut started: Vec<&str> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        if let Some(name) = step.names() {
            let kind = step.kind();
            if name.trim().is_empty() {
                return Err(format!("steps[{i}] ({kind}): `instance` must not be empty"));
            }
            if started.contains(&name) {
                return Err(format!(
                    "steps[{i}] ({kind}): an instance named `{name}` was started before"
                ));
            }
            started.push(name);
        }
        if let Some(name) = step.target()
            && !started.contains(&name)
        {
            return Err(format!(
                "steps[{i}] ({}): no earlier step starts an instance named `{name}`",
                step.kind()
            ));
        }
    }
    match expect.instance.as_deref() {
        Some(name) if !started.contains(&name) => {
            Err(format!("expect: no step starts an instance named `{name}`"))
        }
        _ => Ok(()),
    }
}

/// Reads `steps:` one step at a time, so an error names the step's index.
pub fn deserialize_steps<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Step>, D::Error> {
    let raw = Vec::<Value>::deserialize(d)?;
    raw.into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value::<Step>(v)
                .map_err(|e| serde::de::Error::custom(format!("steps[{i}]: {e}")))
        })
        .collect()
}

/// Reads `clock:`: an RFC 3339 instant with a zone.
pub fn deserialize_clock<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    let text = String::deserialize(d)?;
    parse_clock(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// The clock a scenario starts at when it names none (the Unix epoch, as
/// before scenarios had a clock).
pub const DEFAULT_CLOCK: Timestamp = Timestamp(0);

/// Parses an RFC 3339 instant; one without a zone is refused.
pub fn parse_clock(text: &str) -> Result<Timestamp, String> {
    let parsed = parse_date(text).map_err(|e| format!("clock: {e}"))?;
    if parsed.local {
        return Err(format!(
            "clock: '{text}' has no time zone; write it in RFC 3339 (e.g. 2026-01-01T00:00:00Z)"
        ));
    }
    Ok(Timestamp(parsed.at_millis))
}

/// The length of an ISO-8601 duration in milliseconds, refusing years and
/// months (no fixed length).
pub fn fixed_duration(text: &str) -> Result<u64, String> {
    let d = parse_duration(text)?;
    fixed_millis(&d).ok_or_else(|| {
        if d.years != 0 || d.months != 0 {
            format!("'{text}': years and months have no fixed length; write weeks or days (P30D)")
        } else {
            format!("'{text}' is too long")
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn steps(v: Value) -> Result<Vec<Step>, String> {
        deserialize_steps(v).map_err(|e| e.to_string())
    }

    #[test]
    fn every_step_kind_reads() {
        let s = steps(json!([
            {"advance": "PT1H30M"},
            {"message": {"name": "paid", "correlationKey": "order-7", "variables": {"amount": 3}, "messageId": "m1", "ttl": "PT10M"}},
            {"signal": {"name": "approve", "variables": {"ok": true}}},
            {"broadcast": {"name": "alert"}},
            {"cancel": {}},
            {"terminate": {"reason": "by hand"}},
            {"terminate": {}},
            {"expect": {"status": "waiting", "executed": {"Check order": 1}, "variables": {"x": 1}}},
            {"suspend": {}},
            {"resume": {}},
            {"cancel": {"reason": "no longer needed"}},
        ]))
        .unwrap();
        assert_eq!(s[0], Step::Advance(Advance { millis: 5_400_000 }));
        let Step::Message(m) = &s[1] else {
            panic!("{s:?}")
        };
        assert_eq!(m.correlation_key.as_deref(), Some("order-7"));
        assert_eq!(m.ttl, Some(Advance { millis: 600_000 }));
        let kinds: Vec<_> = s.iter().map(Step::kind).collect();
        assert_eq!(
            kinds,
            [
                "advance",
                "message",
                "signal",
                "broadcast",
                "cancel",
                "terminate",
                "terminate",
                "expect",
                "suspend",
                "resume",
                "cancel"
            ]
        );
        let Step::Terminate(t) = &s[6] else { panic!() };
        assert_eq!(t.reason(), "terminated by the scenario");
        let Step::Cancel(c) = &s[4] else { panic!() };
        assert_eq!(c.reason(), "cancelled by the scenario");
        let Step::Cancel(c) = &s[10] else { panic!() };
        assert_eq!(c.reason(), "no longer needed");
        assert!(s.iter().all(|s| s.missing_feature().is_none()));
    }

    #[test]
    fn errors_name_the_step_index_and_the_field() {
        let e =
            steps(json!([{"advance": "PT1M"}, {"message": {"name": "a", "correlationkey": "k"}}]))
                .unwrap_err();
        assert!(
            e.contains("steps[1]") && e.contains("unknown field `correlationkey`"),
            "{e}"
        );
        let e = steps(json!([{"advanc": "PT1M"}])).unwrap_err();
        assert!(
            e.contains("steps[0]") && e.contains("unknown variant `advanc`"),
            "{e}"
        );
        let e = steps(json!([{"advance": "PT1M", "terminate": {}}])).unwrap_err();
        assert!(e.contains("steps[0]"), "{e}");
        let e = steps(json!([{"cancel": {"now": true}}])).unwrap_err();
        assert!(
            e.contains("steps[0]") && e.contains("unknown field `now`"),
            "{e}"
        );
        let e = steps(json!([{"expect": {"status": "waiting", "variable": {}}}])).unwrap_err();
        assert!(
            e.contains("steps[0]") && e.contains("unknown field `variable`"),
            "{e}"
        );
        let e = steps(json!([{"signal": {}}])).unwrap_err();
        assert!(e.contains("missing field `name`"), "{e}");
    }

    #[test]
    fn durations_must_have_a_fixed_length() {
        assert_eq!(fixed_duration("P1DT1S").unwrap(), 86_401_000);
        assert_eq!(fixed_duration("PT0.5S").unwrap(), 500);
        assert!(
            fixed_duration("P1M")
                .unwrap_err()
                .contains("no fixed length")
        );
        assert!(fixed_duration("1H").unwrap_err().contains("ISO-8601"));
        let e = steps(json!([{"advance": "P1Y"}])).unwrap_err();
        assert!(e.contains("steps[0]") && e.contains("P1Y"), "{e}");
    }

    #[test]
    fn the_clock_is_rfc3339_with_a_zone() {
        assert_eq!(
            parse_clock("2026-01-01T00:00:00Z").unwrap(),
            Timestamp(1_767_225_600_000)
        );
        assert_eq!(
            parse_clock("1970-01-01T01:00:00+01:00").unwrap(),
            Timestamp(0)
        );
        assert!(
            parse_clock("2026-01-01T00:00:00")
                .unwrap_err()
                .contains("no time zone")
        );
        assert!(parse_clock("tomorrow").is_err());
    }
}
