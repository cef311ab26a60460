//! Binary encoding of events and histories.
//!
//! One event encodes as `[FORMAT_VERSION, postcard(event)…]`; postcard writes
//! the event's tag first (see [`crate::event`]). Variable maps travel as JSON
//! text inside. A history file is `b"WLH"`, the format version, then each
//! event as a varint length followed by its encoding.

use crate::event::Event;
use crate::json_text;
use thiserror::Error;
use windlass_types::limits::{DECODER_MAX_DEPTH, MAX_VALUE_DEPTH};

/// The current event format version.
pub const FORMAT_VERSION: u8 = 1;
const HISTORY_MAGIC: &[u8; 3] = b"WLH";

/// Why bytes could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CodecError {
    /// No bytes at all.
    #[error("empty event record")]
    Empty,
    /// Written by a format this build does not know.
    #[error(
        "event format version {found} is not supported (this build reads up to {FORMAT_VERSION})"
    )]
    UnknownVersion {
        /// The version byte found.
        found: u8,
    },
    /// The payload is not a valid event.
    #[error("event record is corrupt: {0}")]
    Corrupt(String),
    /// The record holds a value nested deeper than JSON text can be read back
    /// (written before values were limited): the data is intact, this build
    /// cannot read it.
    #[error(
        "event record holds a value nested {depth} levels deep; values are read up to \
         {DECODER_MAX_DEPTH} levels (and limited to {MAX_VALUE_DEPTH} levels when written), \
         so this record, written before that limit, cannot be read"
    )]
    TooDeep {
        /// The nesting found in the record's JSON text.
        depth: usize,
    },
    /// The payload decoded but bytes were left over.
    #[error("event record has {0} trailing bytes")]
    Trailing(usize),
    /// A history file without the `WLH` header.
    #[error("not a Windlass history file (missing WLH header)")]
    NotAHistory,
    /// A history file cut short.
    #[error("history is truncated at byte {0}")]
    Truncated(usize),
    /// Encoding failed (should not happen for well-formed events).
    #[error("event could not be encoded: {0}")]
    Encode(String),
}

/// Encodes one event with the current format version.
pub fn encode_event(event: &Event) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(ENCODE_CAPACITY);
    encode_event_into(event, &mut out)?;
    Ok(out)
}

/// A first allocation that fits most events whole (no regrowth).
const ENCODE_CAPACITY: usize = 48;

/// Appends the encoding of one event (version byte, then the body) to `out`,
/// growing it in place: no temporary buffer. On error `out` is emptied.
pub fn encode_event_into(event: &Event, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let mut buf = std::mem::take(out);
    buf.push(FORMAT_VERSION);
    *out = postcard::to_extend(event, buf).map_err(|e| CodecError::Encode(e.to_string()))?;
    Ok(())
}

/// Decodes one event record; never panics on bad input. A record holding a
/// value nested deeper than JSON text can be read (only written before values
/// were limited) gives [`CodecError::TooDeep`], not [`CodecError::Corrupt`].
pub fn decode_event(bytes: &[u8]) -> Result<Event, CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(CodecError::UnknownVersion { found: version });
    }
    json_text::take_too_deep();
    let (event, rest) =
        postcard::take_from_bytes::<Event>(body).map_err(|e| match json_text::take_too_deep() {
            Some(depth) => CodecError::TooDeep { depth },
            None => CodecError::Corrupt(e.to_string()),
        })?;
    if !rest.is_empty() {
        return Err(CodecError::Trailing(rest.len()));
    }
    Ok(event)
}

/// Encodes a whole history as one byte string (golden files, exports).
pub fn encode_history(events: &[Event]) -> Result<Vec<u8>, CodecError> {
    let mut out = HISTORY_MAGIC.to_vec();
    out.push(FORMAT_VERSION);
    for e in events {
        let rec = encode_event(e)?;
        write_varint(&mut out, rec.len() as u64);
        out.extend_from_slice(&rec);
    }
    Ok(out)
}

/// Decodes a history written by [`encode_history`].
pub fn decode_history(bytes: &[u8]) -> Result<Vec<Event>, CodecError> {
    let rest = bytes
        .strip_prefix(HISTORY_MAGIC.as_slice())
        .ok_or(CodecError::NotAHistory)?;
    let (&version, mut rest) = rest.split_first().ok_or(CodecError::Truncated(3))?;
    if version != FORMAT_VERSION {
        return Err(CodecError::UnknownVersion { found: version });
    }
    let mut events = Vec::new();
    while !rest.is_empty() {
        let at = bytes.len() - rest.len();
        let (len, after) = read_varint(rest).ok_or(CodecError::Truncated(at))?;
        let len = usize::try_from(len).map_err(|_| CodecError::Truncated(at))?;
        if after.len() < len {
            return Err(CodecError::Truncated(at));
        }
        let (rec, next) = after.split_at(len);
        events.push(decode_event(rec)?);
        rest = next;
    }
    Ok(events)
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut v: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, &bytes[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::event::{
        CompletedBy, FlowReason, IncidentSite, JobFailure, JobPurpose, Resolution, ScopeKind,
    };
    use crate::ids::{ScopeId, TokenId};
    use serde_json::json;
    use windlass_model::{FlowIdx, NodeIdx, ScopeIdx};

    fn samples() -> Vec<Event> {
        let mut vars = windlass_types::Vars::new();
        vars.insert("x".into(), json!({"a": [1, 2.5, null, "s"]}));
        vec![
            Event::InstanceStarted {
                process_id: "p".into(),
                definition_key: "p:1".into(),
                business_key: Some("bk".into()),
                vars: vars.clone(),
                has_parent: false,
            },
            Event::FlowTaken {
                token: TokenId(1),
                flow: FlowIdx(2),
                to: NodeIdx(3),
                reason: FlowReason::ConditionTrue {
                    condition: "x > 1".into(),
                },
            },
            Event::JobFailed {
                token: TokenId(1),
                attempt: 2,
                failure: JobFailure::Technical {
                    message: "boom".into(),
                    retryable: true,
                },
            },
            Event::VariablesSet {
                scope: ScopeId(0),
                vars,
            },
            Event::InstanceCompleted,
            Event::InstanceTerminated {
                reason: "parent interrupted".into(),
            },
            Event::TimerScheduled {
                sub: crate::ids::SubId(3),
                token: TokenId(2),
                node: NodeIdx(4),
                due_at: windlass_types::Timestamp(1_767_225_600_000),
                occurrence: 1,
            },
            Event::TimerFired {
                sub: crate::ids::SubId(3),
            },
            Event::TimerCancelled {
                sub: crate::ids::SubId(4),
            },
            Event::MessageSubscribed {
                sub: crate::ids::SubId(5),
                token: TokenId(2),
                node: NodeIdx(6),
                name: "paid".into(),
                correlation_key: Some("order-7".into()),
            },
            Event::MessageCorrelated {
                sub: crate::ids::SubId(5),
                message_id: Some("m1".into()),
                vars: windlass_types::Vars::from_iter([("amount".to_string(), json!(3))]),
            },
            Event::MessageUnsubscribed {
                sub: crate::ids::SubId(6),
            },
            Event::EventGatewayWaiting {
                token: TokenId(3),
                gateway: NodeIdx(7),
            },
            Event::SignalSubscribed {
                sub: crate::ids::SubId(7),
                token: TokenId(3),
                node: NodeIdx(8),
                name: "approve".into(),
            },
            Event::SignalBuffered {
                name: "approve".into(),
                vars: windlass_types::Vars::from_iter([("ok".to_string(), json!(true))]),
            },
            Event::SignalDelivered {
                sub: crate::ids::SubId(7),
                buffered: Some(0),
                vars: windlass_types::Vars::from_iter([("ok".to_string(), json!(true))]),
            },
            Event::SignalUnsubscribed {
                sub: crate::ids::SubId(8),
            },
            Event::TimerSkipped {
                sub: crate::ids::SubId(5),
            },
            Event::CancelRequested {
                reason: "by hand".into(),
            },
            Event::InstanceCancelled {
                reason: "by hand".into(),
            },
            Event::InstanceSuspended {
                reason: "maintenance".into(),
            },
            Event::InstanceResumed,
            Event::DedupClaimed {
                sub: crate::ids::SubId(9),
                token: crate::ids::TokenId(2),
                node: windlass_model::NodeIdx(1),
                key: "web/shop".into(),
            },
            Event::DedupGranted {
                key: "web/shop".into(),
            },
            Event::DedupWithdrawn {
                sub: crate::ids::SubId(9),
            },
            Event::InstanceSuperseded {
                key: "web/shop".into(),
                by: "i-2".into(),
            },
            Event::MessageThrown {
                token: TokenId(4),
                node: NodeIdx(9),
                number: 0,
                name: "order-paid".into(),
                correlation_key: Some("o-7".into()),
                vars: windlass_types::Vars::from_iter([("amount".to_string(), json!(3))]),
            },
            Event::IncidentRaisedAt {
                incident: crate::ids::IncidentId(2),
                token: TokenId(4),
                message: "no such key: size".into(),
                site: IncidentSite::Outputs {
                    results: windlass_types::Vars::from_iter([("reply".to_string(), json!({}))]),
                },
            },
            Event::CompensationRecorded {
                scope: ScopeId(1),
                node: NodeIdx(4),
                kept: Some(ScopeId(2)),
            },
            Event::CompensationThrown {
                token: TokenId(5),
                node: NodeIdx(6),
                of: ScopeId(1),
                activity: Some(NodeIdx(4)),
                into: Some(ScopeId(3)),
            },
            Event::CompensationStarted {
                scope: ScopeId(3),
                node: NodeIdx(4),
                into: None,
            },
            Event::ChildEscalated {
                token: TokenId(3),
                number: 1,
                code: Some("late".into()),
                caught_by: Some(NodeIdx(8)),
            },
            Event::TransactionCancelled {
                token: TokenId(5),
                transaction: TokenId(2),
                boundary: NodeIdx(7),
            },
            Event::EscalationThrown {
                token: TokenId(6),
                node: NodeIdx(9),
                code: Some("late".into()),
                caught_by: Some(NodeIdx(11)),
            },
            Event::RunReset {
                from_run: "0190e9c4-0000-7000-8000-000000000001".into(),
                at_seq: 12,
                reason: "replay after the fix".into(),
            },
            Event::SignalThrown {
                token: TokenId(5),
                node: NodeIdx(8),
                number: 1,
                name: "alarm".into(),
                vars: windlass_types::Vars::from_iter([("level".to_string(), json!(4))]),
            },
            Event::IncidentRaisedAt {
                incident: crate::ids::IncidentId(3),
                token: TokenId(4),
                message: "no such key: limit".into(),
                site: IncidentSite::Leave,
            },
        ]
    }

    #[test]
    fn events_round_trip_and_start_with_their_tag() {
        for e in samples() {
            let bytes = encode_event(&e).unwrap();
            assert_eq!(bytes[0], FORMAT_VERSION);
            assert_eq!(bytes[1], e.tag(), "tag of {e:?}");
            assert_eq!(decode_event(&bytes).unwrap(), e);
        }
    }

    /// The nested enums are index-tagged inside an event's bytes like the
    /// events themselves: every variant encodes with its stated tag.
    #[test]
    fn nested_enums_encode_with_their_stated_tags() {
        fn check<T: serde::Serialize + std::fmt::Debug>(v: &T, tag: u8) {
            let bytes = postcard::to_allocvec(v).unwrap();
            assert_eq!(bytes[0], tag, "tag of {v:?}");
        }
        for k in [
            ScopeKind::Process,
            ScopeKind::SubProcess(ScopeIdx(3)),
            ScopeKind::EventSubProcess(ScopeIdx(4)),
            ScopeKind::Element(5),
            ScopeKind::Compensation,
        ] {
            check(&k, k.tag());
        }
        for r in [
            FlowReason::Unconditioned,
            FlowReason::ConditionTrue {
                condition: "x".into(),
            },
            FlowReason::Default,
            FlowReason::Parallel,
        ] {
            check(&r, r.tag());
        }
        for b in [
            CompletedBy::Handler,
            CompletedBy::Mock,
            CompletedBy::NoOp,
            CompletedBy::Skipped,
            CompletedBy::External,
        ] {
            check(&b, b.tag());
        }
        for f in [
            JobFailure::Bpmn {
                code: "c".into(),
                message: None,
            },
            JobFailure::Technical {
                message: "m".into(),
                retryable: false,
            },
        ] {
            check(&f, f.tag());
        }
        for r in [Resolution::Retry, Resolution::Skip] {
            check(&r, r.tag());
        }
        for p in [JobPurpose::Task, JobPurpose::GatewayDecision] {
            check(&p, p.tag());
        }
        for s in [
            IncidentSite::Work,
            IncidentSite::Outputs {
                results: Default::default(),
            },
            IncidentSite::Leave,
            IncidentSite::Subscriptions,
            IncidentSite::Activation,
            IncidentSite::Element,
            IncidentSite::Rearm {
                token: TokenId(3),
                due_at: windlass_types::Timestamp(7),
                occurrence: 2,
                skipped: true,
            },
        ] {
            check(&s, s.tag());
        }
    }

    #[test]
    fn encoding_into_a_buffer_appends_the_same_bytes() {
        let mut buf = vec![7u8];
        for e in samples() {
            let start = buf.len();
            encode_event_into(&e, &mut buf).unwrap();
            assert_eq!(&buf[start..], encode_event(&e).unwrap().as_slice());
        }
        assert_eq!(buf[0], 7);
    }

    #[test]
    fn bad_bytes_give_errors_not_panics() {
        assert_eq!(decode_event(&[]), Err(CodecError::Empty));
        assert_eq!(
            decode_event(&[9, 0]),
            Err(CodecError::UnknownVersion { found: 9 })
        );
        assert!(matches!(
            decode_event(&[1, 200]),
            Err(CodecError::Corrupt(_))
        ));
        let good = encode_event(&Event::InstanceCompleted).unwrap();
        let mut long = good.clone();
        long.push(0);
        assert_eq!(decode_event(&long), Err(CodecError::Trailing(1)));
        // Every truncation of every sample fails cleanly.
        for e in samples() {
            let bytes = encode_event(&e).unwrap();
            for cut in 1..bytes.len() {
                assert!(decode_event(&bytes[..cut]).is_err());
            }
        }
    }

    fn deep_vars(depth: usize) -> windlass_types::Vars {
        let v = (0..depth).fold(json!(0), |v, _| serde_json::Value::Array(vec![v]));
        windlass_types::Vars::from_iter([("b".to_string(), v)])
    }

    #[test]
    fn a_value_too_deep_to_read_names_the_limit_not_corruption() {
        // What builds without the value limit wrote (reliability probe, defect 3).
        let e = Event::VariablesSet {
            scope: crate::ids::ScopeId(0),
            vars: deep_vars(130),
        };
        let bytes = encode_event(&e).unwrap();
        let err = decode_event(&bytes).unwrap_err();
        assert_eq!(err, CodecError::TooDeep { depth: 131 });
        let text = err.to_string();
        assert!(
            text.contains("131 levels deep") && text.contains("128") && !text.contains("corrupt"),
            "{text}"
        );
        // The note does not leak into the next, unrelated failure.
        assert!(matches!(
            decode_event(&[1, 200]),
            Err(CodecError::Corrupt(_))
        ));
        // Values deeper than today's limit but readable (old data) still decode.
        let old = Event::VariablesSet {
            scope: crate::ids::ScopeId(0),
            vars: deep_vars(100),
        };
        assert_eq!(decode_event(&encode_event(&old).unwrap()).unwrap(), old);
    }

    #[test]
    fn floats_read_back_exactly_as_written() {
        // Found by the codec property test: without serde_json's
        // `float_roundtrip` these came back one unit in the last place off,
        // so a replayed state differed from the live one.
        let mut vars = windlass_types::Vars::new();
        vars.insert("a".into(), json!(-1.7927451932866794e197));
        vars.insert("b".into(), json!([[5.897937631660227e-13]]));
        let e = Event::VariablesSet {
            scope: crate::ids::ScopeId(0),
            vars,
        };
        assert_eq!(decode_event(&encode_event(&e).unwrap()).unwrap(), e);
    }

    #[test]
    fn histories_round_trip_and_reject_garbage() {
        let h = samples();
        let bytes = encode_history(&h).unwrap();
        assert_eq!(decode_history(&bytes).unwrap(), h);
        assert_eq!(decode_history(b"nope"), Err(CodecError::NotAHistory));
        assert!(decode_history(&bytes[..bytes.len() - 1]).is_err());
    }
}
