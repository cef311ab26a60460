//! A shard taking over the instances of partitions its runtime adopted
//! while running (`crate::adopt`): each recovered instance joins the shard
//! as it would at start (timers armed, latest run known), and the pending
//! outbox rows of those partitions are queued for re-dispatch.

use super::Shard;
use super::dedup_notes::DedupNotes;
use super::msg::Adopted;
use windlass_store_api::Store;

impl<S: Store> Shard<S> {
    /// Takes `adopted` in. An instance the shard already holds keeps its
    /// slot (it cannot be in a partition just adopted, but the check costs
    /// nothing).
    pub(super) fn adopt(&mut self, adopted: Adopted) {
        let Adopted {
            partitions,
            slots,
            queue,
            reply,
        } = adopted;
        // Served again, should they have been let go before.
        self.released = self.released.difference(&partitions);
        for (instance, slot) in slots {
            if self.slots.contains_key(&instance) {
                continue;
            }
            self.timers.arm_all(&instance, &slot.state);
            self.message_notes
                .announce(&self.shared, &instance, &slot.state);
            DedupNotes::announce(&self.shared, &instance, &slot.def.process_id, &slot.state);
            let newer = self
                .runs
                .get(&instance.id)
                .is_none_or(|known| known.run_order() < instance.run.run_order());
            if newer {
                self.runs.insert(instance.id.clone(), instance.run.clone());
            }
            self.slots.insert(instance, slot);
        }
        self.queue.extend(queue);
        let _ = reply.send(());
    }
}
