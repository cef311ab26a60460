//! Signal broadcasts on a node serving some partitions (`partitions.rs`).
//!
//! A node's shards hold only its own partitions' instances, and the other
//! nodes' are out of reach, so a broadcast there commits one row per
//! partition, every one of the [`PARTITIONS`] (`outbox/signal_to.rs`), in
//! one batch. The node serving each partition — this one included — takes
//! its row from the store and delivers the signal to that partition's
//! waiting instances in the commit that consumes the row
//! (`deliveries.rs`). The signal start events start their instances on
//! the broadcasting node, as on the single node.
//!
//! A thrown signal's parts are committed with a marker
//! (`outbox/broadcast_seen.rs`, [`Seen::Parts`]), so a retry — after a
//! failed attempt, or by the partition's next owner after a crash — does
//! not write them again; its starts keep their own markers. A broadcast
//! from the API has no row and no marker: the parts are committed before
//! the call returns, and the count it returns is the instances started.
//!
//! The variables are written once per partition, so a broadcast on a node
//! carries at most [`MAX_NODE_BROADCAST_VARS_BYTES`] of them
//! ([`RuntimeError::BroadcastTooLarge`]).

use crate::RuntimeHandle;
use crate::broadcast_once::BroadcastDone;
use crate::error::{RuntimeError, RuntimeResult};
use crate::outbox::broadcast_seen::Seen;
use crate::outbox::signal_to::anchor;
use crate::outbox::{OutboxEntry, SignalTo};
use windlass_store_api::{Batch, OutboxChange, OutboxRow, Store};
use windlass_types::Vars;
use windlass_types::partition::{PARTITIONS, Partition};

/// The most variables (JSON bytes) a broadcast on a node carries: written
/// once per partition, 64 KiB make a 16 MiB batch.
pub const MAX_NODE_BROADCAST_VARS_BYTES: usize = 64 * 1024;

impl<S: Store> RuntimeHandle<S> {
    /// [`RuntimeHandle::broadcast_once`] on a node: the parts for every
    /// partition (unless `recovered` or the store holds their marker), then
    /// the starts.
    pub(crate) async fn broadcast_parts_once(
        &self,
        id: &str,
        name: &str,
        vars: Vars,
        recovered: &[Seen],
    ) -> RuntimeResult<BroadcastDone> {
        let shared = self.open()?;
        let mut markers: Vec<String> = recovered.iter().map(Seen::key).collect();
        let marker = Seen::Parts {
            broadcast: id.to_string(),
        };
        let key = marker.key();
        if !self.marker_known(&markers, &key).await? {
            let row = marker.row(shared.clock.now());
            self.commit_parts(id, name, &vars, Some(row)).await?;
        }
        markers.push(key);
        let taken = self.start_once(id, name, &vars, &mut markers).await?;
        markers.sort_unstable();
        markers.dedup();
        Ok(BroadcastDone { taken, markers })
    }

    /// [`RuntimeHandle::broadcast`] on a node: commits the parts for every
    /// partition under a new broadcast id, then starts an instance at each
    /// signal start event. Returns how many were started (the waiting
    /// instances take it as their partitions' nodes take the parts).
    pub(crate) async fn broadcast_parts(&self, name: &str, vars: Vars) -> RuntimeResult<usize> {
        let id = format!("broadcast:api/{}", crate::start::new_uuid_v7());
        self.commit_parts(&id, name, &vars, None).await?;
        self.start_for_signal(name, vars).await
    }

    /// Commits broadcast `id`'s part for every partition (with `marker`,
    /// if any) in one batch, then has this node's delivery task look for
    /// its own partitions' parts.
    async fn commit_parts(
        &self,
        id: &str,
        name: &str,
        vars: &Vars,
        marker: Option<OutboxRow>,
    ) -> RuntimeResult<()> {
        let shared = self.open()?;
        let rows = part_rows(id, name, vars, shared.clock.now())?;
        let mut batch = Batch::default();
        for row in rows.into_iter().chain(marker) {
            batch.outbox(OutboxChange::Insert(row));
        }
        if let Err(e) = shared.commit(batch).await {
            shared.commit_failed(&e);
            return Err(RuntimeError::Store(e));
        }
        if let Some(tx) = &shared.deliveries {
            let _ = tx.send(crate::deliveries::DeliveryMsg::Look);
        }
        tracing::debug!(broadcast = id, signal = name, "broadcast parts committed");
        Ok(())
    }
}

/// The rows of broadcast `id` of signal `name` for every partition, due at
/// `now`; refused when `vars` are over [`MAX_NODE_BROADCAST_VARS_BYTES`].
pub(crate) fn part_rows(
    id: &str,
    name: &str,
    vars: &Vars,
    now: windlass_types::Timestamp,
) -> RuntimeResult<Vec<OutboxRow>> {
    let bytes = serde_json::to_vec(vars).map_or(usize::MAX, |v| v.len());
    if bytes > MAX_NODE_BROADCAST_VARS_BYTES {
        return Err(RuntimeError::BroadcastTooLarge {
            name: name.to_string(),
            bytes,
            limit: MAX_NODE_BROADCAST_VARS_BYTES,
        });
    }
    Ok((0..PARTITIONS)
        .map(|p| {
            let partition = Partition(p);
            OutboxEntry::SignalTo {
                anchor: anchor(partition),
                signal: Box::new(SignalTo {
                    broadcast: id.to_string(),
                    partition: p,
                    name: name.to_string(),
                    vars: vars.clone(),
                }),
            }
            .to_row(now)
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::Value;
    use windlass_types::Timestamp;

    #[test]
    fn one_part_per_partition_each_in_its_partition() {
        let mut vars = Vars::new();
        vars.insert("x".into(), Value::from(1));
        let rows = part_rows("broadcast:a/r/0", "go", &vars, Timestamp(9)).unwrap();
        assert_eq!(rows.len(), usize::from(PARTITIONS));
        for (p, row) in rows.iter().enumerate() {
            assert_eq!(row.partition(), Some(Partition(p as u16)), "{}", row.key);
            assert_eq!(row.key, format!("broadcast:a/r/0#to-{p}"));
            let OutboxEntry::SignalTo { signal, .. } = OutboxEntry::decode(row).unwrap() else {
                panic!("{} is not a signal part", row.key);
            };
            assert_eq!((signal.name.as_str(), &signal.vars), ("go", &vars));
            assert_eq!(signal.partition(), Partition(p as u16));
        }
    }

    #[test]
    fn variables_over_the_node_limit_are_refused_naming_the_signal() {
        let mut vars = Vars::new();
        let big = "x".repeat(MAX_NODE_BROADCAST_VARS_BYTES);
        vars.insert("blob".into(), Value::from(big.as_str()));
        let err = part_rows("b", "go", &vars, Timestamp(0)).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, RuntimeError::BroadcastTooLarge { .. }) && text.contains("'go'"),
            "{text}"
        );
    }
}
