//! A thrown signal's broadcast, exactly once per waiting instance and per
//! signal start event across retries and crashes (markers:
//! `outbox/broadcast_seen.rs`). [`RuntimeHandle::broadcast`] from the API
//! has no row to hang markers on and stays as it is (`docs/runtime.md`).
//! On a node serving some partitions the waiting instances are reached
//! through one row per partition instead (`broadcast_parts.rs`); the
//! starts are the same.

use crate::RuntimeHandle;
use crate::error::{RuntimeError, RuntimeResult};
use crate::outbox::broadcast_seen::{Seen, shard_partitions};
use crate::shard::msg::{BroadcastOnce, ShardMsg};
use std::sync::Arc;
use tokio::sync::oneshot;
use windlass_store_api::Store;
use windlass_types::PartitionSet;
use windlass_types::Vars;

/// What a finished broadcast leaves: how many instances took it or were
/// started by it now, and the marker rows to complete with its row.
#[derive(Debug)]
pub(crate) struct BroadcastDone {
    /// Instances that took it or were started (now, not before a crash).
    pub taken: usize,
    /// Keys of every marker row of the broadcast.
    pub markers: Vec<String>,
}

impl<S: Store> RuntimeHandle<S> {
    /// Broadcasts signal `name` thrown as the outbox row `id`: every shard
    /// delivers it to its waiting instances (skipping partitions that
    /// `recovered` markers cover, or delivering nothing when its own marker
    /// exists), then one instance starts at each signal start event whose
    /// start marker does not exist yet. Each delivery and start writes its
    /// marker in its own commit.
    pub(crate) async fn broadcast_once(
        &self,
        id: &str,
        name: &str,
        vars: Vars,
        recovered: &[Seen],
    ) -> RuntimeResult<BroadcastDone> {
        let shared = self.open()?;
        if !shared.served.is_single() {
            return self.broadcast_parts_once(id, name, vars, recovered).await;
        }
        let shards = shared.intake.len();
        let mut covered = PartitionSet::none();
        let mut markers: Vec<String> = Vec::with_capacity(shards + recovered.len());
        for seen in recovered {
            markers.push(seen.key());
            if let Seen::Shard { shard, of, .. } = seen {
                covered = covered.union(&shard_partitions(*shard, *of));
            }
        }
        let once = Arc::new(BroadcastOnce {
            id: id.to_string(),
            covered,
        });
        let mut answers = Vec::with_capacity(shards);
        for (shard, tx) in shared.intake.iter().enumerate() {
            let (reply, rx) = oneshot::channel();
            let msg = ShardMsg::Broadcast {
                name: name.to_string(),
                vars: vars.clone(),
                reply,
                once: Some(once.clone()),
            };
            tx.send(msg).await.map_err(|_| RuntimeError::ShuttingDown)?;
            answers.push(rx);
            markers.push(
                Seen::Shard {
                    broadcast: id.to_string(),
                    shard,
                    of: shards,
                }
                .key(),
            );
        }
        let mut taken = 0;
        for rx in answers {
            taken += rx.await.map_err(|_| RuntimeError::ShuttingDown)??;
        }
        taken += self.start_once(id, name, &vars, &mut markers).await?;
        markers.sort_unstable();
        markers.dedup();
        Ok(BroadcastDone { taken, markers })
    }

    /// Starts one instance at each signal start event for `name` whose
    /// start marker of broadcast `id` is not in `markers` nor stored, adding
    /// the markers written or found. Returns how many were started now.
    pub(crate) async fn start_once(
        &self,
        id: &str,
        name: &str,
        vars: &Vars,
        markers: &mut Vec<String>,
    ) -> RuntimeResult<usize> {
        let shared = self.open()?;
        let targets = self.signal_start_targets(name).await?;
        let mut taken = 0;
        for t in targets {
            let seen = Seen::Start {
                broadcast: id.to_string(),
                definition: t.def.key.clone(),
                node: t.node_id.clone(),
            };
            let key = seen.key();
            if self.marker_known(markers, &key).await? {
                markers.push(key);
                continue;
            }
            let row = seen.row(shared.clock.now());
            // Coalesced under a dedup key, the start writes no marker (at
            // least once there; the key's owner keeps one start waiting at
            // most).
            let (_, marked) = self.start_target(t, vars.clone(), None, vec![row]).await?;
            if marked {
                markers.push(key);
            }
            taken += 1;
        }
        Ok(taken)
    }

    /// Whether the marker row `key` is among `markers` (recovered, or
    /// found earlier in this attempt) or stored.
    pub(crate) async fn marker_known(&self, markers: &[String], key: &str) -> RuntimeResult<bool> {
        if markers.iter().any(|m| m == key) {
            return Ok(true);
        }
        let found = self.open()?.store.outbox_entry(key).await;
        Ok(found
            .map_err(|e| RuntimeError::Store(Arc::new(e)))?
            .is_some())
    }

    /// The signal start events for `name` (the correlator's index of the
    /// latest versions).
    async fn signal_start_targets(
        &self,
        name: &str,
    ) -> RuntimeResult<Vec<crate::messages::starts::StartTarget>> {
        let (reply, rx) = oneshot::channel();
        self.open()?
            .tell_correlator(crate::messages::ServiceMsg::SignalStarts {
                name: name.to_string(),
                reply,
            });
        rx.await.map_err(|_| RuntimeError::ShuttingDown)
    }

    /// Starts one instance at each signal start event for `name` (a
    /// broadcast without a row: no markers). A start event carrying a
    /// dedup key coalesces like a message start: a held-back start counts.
    /// Returns how many were started or held back.
    pub(crate) async fn start_for_signal(&self, name: &str, vars: Vars) -> RuntimeResult<usize> {
        let targets = self.signal_start_targets(name).await?;
        let (started, queued, failed) = self.start_at(targets, vars, None).await;
        match failed {
            Some(e) => Err(e),
            None => Ok(started.len() + queued.len()),
        }
    }
}
