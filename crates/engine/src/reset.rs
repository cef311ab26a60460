//! Reading a run's history for a reset ([`crate::Command::Reset`]): the
//! state at the reset point, and the signals the run received after it
//! (a reset reapplies them to the new run unless told not to).

use crate::event::Event;
use crate::evolve::apply;
use crate::replay::{ReplayError, decode_stored};
use crate::state::{InstanceState, SubKind};
use thiserror::Error;
use windlass_types::Vars;

/// A signal a run received, as a reset reapplies it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSignal {
    /// The event that recorded it.
    pub seq: u64,
    /// The signal name.
    pub name: String,
    /// Its variables.
    pub vars: Vars,
}

/// A run's history read for a reset to event `at_seq`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResetPoint {
    /// The state after event `at_seq`.
    pub state: InstanceState,
    /// The signals received after it, in order: the ones that reached a
    /// waiting subscription and the ones kept for later (a kept signal
    /// taken later is counted once, when it arrived).
    pub signals_after: Vec<ReceivedSignal>,
}

/// Why a run cannot be reset to the asked point.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ResetError {
    /// The point is not an event of the run.
    #[error("event {at_seq} is not in the run's history (it has events 1 to {last})")]
    OutOfRange {
        /// The asked point.
        at_seq: u64,
        /// The run's last event.
        last: u64,
    },
    /// The run had ended at the point: nothing would go on from it.
    #[error("the run had ended at event {at_seq}; reset to an event before its end")]
    Ended {
        /// The asked point.
        at_seq: u64,
    },
    /// The stored history does not replay.
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

/// Folds the stored events `(seq, bytes)` of a run (all of them, in order)
/// and returns the state after event `at_seq` and the signals received
/// after it.
pub fn reset_point<'a>(
    events: impl IntoIterator<Item = (u64, &'a [u8])>,
    at_seq: u64,
) -> Result<ResetPoint, ResetError> {
    let mut state = InstanceState::default();
    let mut at_point: Option<InstanceState> = None;
    let mut signals_after = Vec::new();
    let mut last = 0;
    for (seq, bytes) in events {
        let event = decode_stored(seq, bytes)?;
        if seq > at_seq {
            if at_point.is_none() {
                at_point = Some(state.clone());
            }
            if let Some(s) = received_signal(&state, seq, &event) {
                signals_after.push(s);
            }
        }
        apply(&mut state, &event).map_err(|e| ReplayError {
            seq,
            cause: e.into(),
        })?;
        last = seq;
    }
    if at_seq == 0 || at_seq > last {
        return Err(ResetError::OutOfRange { at_seq, last });
    }
    let state = at_point.unwrap_or(state);
    if state.is_finished() {
        return Err(ResetError::Ended { at_seq });
    }
    Ok(ResetPoint {
        state,
        signals_after,
    })
}

/// The signal `event` records arriving, read against the state before it.
fn received_signal(before: &InstanceState, seq: u64, event: &Event) -> Option<ReceivedSignal> {
    match event {
        Event::SignalBuffered { name, vars } => Some(ReceivedSignal {
            seq,
            name: name.clone(),
            vars: vars.clone(),
        }),
        Event::SignalDelivered {
            sub,
            buffered: None,
            vars,
        } => match &before.subscription(*sub)?.kind {
            SubKind::Signal { name } => Some(ReceivedSignal {
                seq,
                name: name.clone(),
                vars: vars.clone(),
            }),
            _ => None,
        },
        _ => None,
    }
}
