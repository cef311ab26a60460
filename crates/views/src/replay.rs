//! Stored history → decoded events → instance state. The decode-and-fold
//! loop lives here once; every view builds on it.

use crate::error::{ViewError, ViewResult};
use windlass_engine::codec::decode_event;
use windlass_engine::{Event, InstanceState, apply};
use windlass_store_api::{HistoryEvent, InstanceRef, Timestamp};

/// One decoded history event with what the store recorded about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// Sequence number (1-based).
    pub seq: u64,
    /// When its commit was recorded; `Timestamp(0)` when it was not.
    pub recorded_at: Timestamp,
    /// The decoded event.
    pub event: Event,
}

fn bad(instance: &InstanceRef, seq: u64, detail: String) -> ViewError {
    ViewError::BadHistory {
        id: instance.id.as_str().to_string(),
        run: instance.run.as_str().to_string(),
        seq,
        detail,
    }
}

/// Decodes every stored event of `instance`; the error names the first
/// event that does not decode.
pub fn decode(instance: &InstanceRef, stored: Vec<HistoryEvent>) -> ViewResult<Vec<Recorded>> {
    stored
        .into_iter()
        .map(|e| {
            let event =
                decode_event(&e.payload).map_err(|err| bad(instance, e.seq, err.to_string()))?;
            Ok(Recorded {
                seq: e.seq,
                recorded_at: e.recorded_at,
                event,
            })
        })
        .collect()
}

/// Decodes the stored history of `instance` and folds it into its state;
/// the error names the event that does not decode or does not fold.
pub fn decode_and_replay(
    instance: &InstanceRef,
    stored: Vec<HistoryEvent>,
) -> ViewResult<(Vec<Recorded>, InstanceState)> {
    let events = decode(instance, stored)?;
    let mut state = InstanceState::default();
    for r in &events {
        apply(&mut state, &r.event).map_err(|err| bad(instance, r.seq, err.to_string()))?;
    }
    Ok((events, state))
}
