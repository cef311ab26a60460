//! Rebuilding an instance's state from its stored, encoded history — the
//! one decode-and-fold loop the runtime and the CLI share. An error names the
//! sequence number of the event that failed and keeps its typed cause.

use crate::codec::{CodecError, decode_event};
use crate::event::Event;
use crate::evolve::{EvolveError, apply};
use crate::state::InstanceState;
use thiserror::Error;

/// Why a stored history could not be replayed.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("event {seq}: {cause}")]
pub struct ReplayError {
    /// The sequence number of the event that failed.
    pub seq: u64,
    /// What went wrong with it.
    #[source]
    pub cause: ReplayCause,
}

/// What went wrong with one stored event.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReplayCause {
    /// Its bytes do not decode.
    #[error(transparent)]
    Decode(#[from] CodecError),
    /// It does not fit the state folded so far.
    #[error(transparent)]
    Apply(#[from] EvolveError),
}

/// Decodes the stored event `seq`.
pub fn decode_stored(seq: u64, bytes: &[u8]) -> Result<Event, ReplayError> {
    decode_event(bytes).map_err(|e| ReplayError {
        seq,
        cause: e.into(),
    })
}

/// The state rebuilt from stored events `(seq, bytes)`, in order.
pub fn replay_encoded<'a>(
    events: impl IntoIterator<Item = (u64, &'a [u8])>,
) -> Result<InstanceState, ReplayError> {
    replay_encoded_with(events, |_| {})
}

/// Like [`replay_encoded`], showing each decoded event to `inspect` before
/// it is folded in (for views that need the events as well as the state).
pub fn replay_encoded_with<'a>(
    events: impl IntoIterator<Item = (u64, &'a [u8])>,
    mut inspect: impl FnMut(&Event),
) -> Result<InstanceState, ReplayError> {
    let mut state = InstanceState::default();
    for (seq, bytes) in events {
        let event = decode_stored(seq, bytes)?;
        inspect(&event);
        apply(&mut state, &event).map_err(|e| ReplayError {
            seq,
            cause: e.into(),
        })?;
    }
    Ok(state)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::codec::encode_event;
    use crate::ids::TokenId;

    fn started() -> Event {
        Event::InstanceStarted {
            process_id: "p".into(),
            definition_key: "p:1".into(),
            business_key: None,
            vars: windlass_types::Vars::new(),
            has_parent: false,
        }
    }

    #[test]
    fn replays_stored_events_in_order() {
        let a = encode_event(&started()).unwrap();
        let b = encode_event(&Event::InstanceCompleted).unwrap();
        let state = replay_encoded([(1, a.as_slice()), (2, b.as_slice())]).unwrap();
        assert_eq!(state.version, 2);
        assert!(state.is_finished());
    }

    #[test]
    fn errors_name_the_failing_seq_and_keep_the_typed_cause() {
        let a = encode_event(&started()).unwrap();
        let garbage = [9u8, 0];
        let err = replay_encoded([(7, a.as_slice()), (8, garbage.as_slice())]).unwrap_err();
        assert_eq!(err.seq, 8);
        assert_eq!(
            err.cause,
            ReplayCause::Decode(CodecError::UnknownVersion { found: 9 })
        );
        let ended = encode_event(&Event::TokenEnded { token: TokenId(3) }).unwrap();
        let err = replay_encoded([(1, a.as_slice()), (2, ended.as_slice())]).unwrap_err();
        assert_eq!(err.seq, 2);
        assert!(matches!(err.cause, ReplayCause::Apply(_)), "{err}");
    }
}
