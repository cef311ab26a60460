//! Which schedules the service holds on a node serving some partitions:
//! those whose id lies in a served partition. Loading them (at start and
//! when partitions are adopted) and listing every schedule, the ones held
//! elsewhere read from the store; letting go of them when partitions are
//! given up.
//!
//! A schedule belongs to the partition of its id because its fires start
//! instances under that id (overlap policies other than `allow-all`, no
//! instance id template: `partitions.rs` refuses the rest on a node). The
//! fire's row update and its instance's creation are then one batch of the
//! owning node, covered by its fence: after a takeover the old owner can
//! neither fire nor move the schedule on, and the new owner reads the row
//! as last committed, so every occurrence fires once across nodes.

use super::{Entry, Service, info};
use crate::error::RuntimeResult;
use crate::schedules::ScheduleInfo;
use crate::schedules::spec::Spec;
use windlass_store_api::{PartitionSet, Store};
use windlass_types::Partition;

impl<S: Store> Service<S> {
    /// Holds and arms the stored schedules in `partitions` not held yet,
    /// then starts their buffered fires whose run has finished. Returns
    /// how many were taken.
    pub(super) async fn load_in(&mut self, partitions: &PartitionSet) -> RuntimeResult<usize> {
        let mut taken = Vec::new();
        for row in self.shared.store.schedules().await? {
            if !partitions.contains(Partition::of_instance(&row.id))
                || self.entries.contains_key(&row.id)
            {
                continue;
            }
            let spec = match Spec::decode(&row.id, &row.spec) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!("{e}; the schedule is left alone");
                    continue;
                }
            };
            taken.push(row.id.clone());
            self.hold(row, spec);
        }
        if !self.shared.served.is_single() {
            self.refresh_latest(&taken).await;
        }
        if self.fire {
            for id in &taken {
                let buffered = self
                    .entries
                    .get(id)
                    .is_some_and(|e| !e.row.buffered.is_empty());
                if buffered {
                    self.drain(id).await;
                }
            }
        }
        Ok(taken.len())
    }

    /// Lets go of the schedules in `partitions` (given up: the next owner
    /// reads their rows as last committed); their armed fires are skipped
    /// when they come up. Returns how many were let go.
    pub(super) fn let_go(&mut self, partitions: &PartitionSet) -> usize {
        let gone: Vec<String> = self
            .entries
            .keys()
            .filter(|id| partitions.has_instance(id))
            .cloned()
            .collect();
        for id in &gone {
            self.entries.remove(id);
        }
        // Runs waited for, to start buffered fires: the runs' ids are the
        // schedules' (no id template on a node), so in the same partitions.
        let waited: Vec<String> = self
            .waiting
            .keys()
            .filter(|iid| partitions.has_instance(iid))
            .cloned()
            .collect();
        for iid in waited {
            self.waiting.remove(&iid);
            self.watched().remove(&iid);
        }
        gone.len()
    }

    /// Reads the latest versions of the processes of schedules `ids` from
    /// the store: another node may have deployed one this runtime has an
    /// older version of as latest (their fires start the latest).
    async fn refresh_latest(&self, ids: &[String]) {
        let mut processes: Vec<&str> = ids
            .iter()
            .filter_map(|id| self.entries.get(id))
            .map(|e| e.row.process_id.as_str())
            .collect();
        processes.sort_unstable();
        processes.dedup();
        let store = self.shared.store.as_ref();
        for process in processes {
            if let Err(e) = self.shared.cache.version_of(process, None, store).await {
                tracing::warn!(process, "latest version not read: {e}");
            }
        }
    }

    /// Every schedule, ordered by id: those held here from memory, and on
    /// a node those of other nodes' partitions as the store has them (their
    /// skipped counts are their owners' and read as 0 here).
    pub(super) async fn list(&self) -> Vec<ScheduleInfo> {
        let mut out: Vec<ScheduleInfo> = self.entries.values().map(info).collect();
        if self.shared.served.is_single() {
            return out;
        }
        let rows = match self.shared.store.schedules().await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!("other nodes' schedules not read: {e}");
                return out;
            }
        };
        for row in rows {
            if self.entries.contains_key(&row.id) {
                continue;
            }
            let Ok(spec) = Spec::decode(&row.id, &row.spec) else {
                continue;
            };
            let e = Entry {
                row,
                spec,
                armed: None,
                skipped: 0,
            };
            out.push(info(&e));
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }
}
