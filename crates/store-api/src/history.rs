//! History events as the store sees them: opaque, already-encoded payloads
//! with a per-instance sequence number, plus the packing format durable
//! backends use to store one commit's events of an instance as one row.

use crate::error::{StoreError, StoreResult};
use crate::instance::InstanceRow;
use windlass_types::Timestamp;

/// One history event: its sequence number (1-based, gap-free per instance
/// run), the time its commit recorded for the instance, and the engine's
/// encoded bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEvent {
    /// The sequence number.
    pub seq: u64,
    /// When the event was written, as the writer stated it (the store reads
    /// no clock): for events of a [`NewInstance`](crate::NewInstance) the
    /// row's `created_at`, for events of an [`Append`](crate::Append) its
    /// `update.updated_at`. All events one commit writes for one instance
    /// share it. Histories written before stores recorded it (SQLite schema
    /// version 1) read back as `Timestamp(0)`.
    pub recorded_at: Timestamp,
    /// The encoded event (the engine owns the encoding).
    pub payload: Vec<u8>,
}

/// An unfinished instance as recovery needs it: its index row and its whole
/// history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredInstance {
    /// The index row.
    pub row: InstanceRow,
    /// Every event, in sequence order.
    pub events: Vec<HistoryEvent>,
}

/// Packs several event payloads into one blob: each payload is preceded by
/// its length as an unsigned LEB128 varint. Durable backends store one blob
/// per (instance, commit) so a commit costs one row, not one per event.
pub fn pack_events(events: &[Vec<u8>]) -> Vec<u8> {
    let total: usize = events.iter().map(|e| e.len() + 3).sum();
    let mut out = Vec::with_capacity(total);
    for e in events {
        let mut n = e.len() as u64;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        out.extend_from_slice(e);
    }
    out
}

/// Unpacks a blob made by [`pack_events`] whose first event has sequence
/// number `first_seq` and whose commit recorded `recorded_at`, appending to
/// `out`. Checks that it holds exactly `count` events; a damaged blob gives
/// [`StoreError::Corrupt`] naming `what`.
pub fn unpack_events(
    blob: &[u8],
    first_seq: u64,
    count: u64,
    recorded_at: Timestamp,
    what: &str,
    out: &mut Vec<HistoryEvent>,
) -> StoreResult<()> {
    let corrupt = |detail: &str| StoreError::Corrupt {
        path: what.to_string(),
        detail: format!("history blob starting at seq {first_seq}: {detail}"),
    };
    let mut pos = 0usize;
    let mut seq = first_seq;
    while pos < blob.len() {
        let mut len: u64 = 0;
        let mut shift = 0u32;
        loop {
            let byte = *blob.get(pos).ok_or_else(|| corrupt("truncated length"))?;
            pos += 1;
            if shift > 56 {
                return Err(corrupt("length varint too long"));
            }
            len |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let len = usize::try_from(len).map_err(|_| corrupt("length too large"))?;
        let end = pos
            .checked_add(len)
            .ok_or_else(|| corrupt("length too large"))?;
        let payload = blob
            .get(pos..end)
            .ok_or_else(|| corrupt("truncated payload"))?;
        out.push(HistoryEvent {
            seq,
            recorded_at,
            payload: payload.to_vec(),
        });
        pos = end;
        seq += 1;
    }
    if seq - first_seq != count {
        return Err(corrupt(&format!(
            "holds {} events, the row says {count}",
            seq - first_seq
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pack_unpack_round_trip_including_empty_and_long_payloads() {
        let events = vec![vec![], vec![1, 2, 3], vec![7u8; 300], vec![9u8; 20_000]];
        let blob = pack_events(&events);
        let mut out = Vec::new();
        unpack_events(&blob, 5, 4, Timestamp(42), "t", &mut out).unwrap();
        assert_eq!(out.len(), 4);
        for (i, e) in out.iter().enumerate() {
            assert_eq!(e.seq, 5 + i as u64);
            assert_eq!(e.recorded_at, Timestamp(42));
            assert_eq!(e.payload, events[i]);
        }
    }

    #[test]
    fn damaged_blobs_are_reported_not_panicked() {
        let blob = pack_events(&[vec![1, 2, 3]]);
        let mut out = Vec::new();
        let err = unpack_events(&blob[..2], 1, 1, Timestamp(0), "db", &mut out).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        let err = unpack_events(&blob, 1, 2, Timestamp(0), "db", &mut out).unwrap_err();
        assert!(err.to_string().contains("holds 1 events"), "{err}");
        let err = unpack_events(&[0xff; 12], 1, 1, Timestamp(0), "db", &mut out).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }));
    }
}
