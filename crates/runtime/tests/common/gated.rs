//! A store wrapper for tests: counts commits and their sizes, can hold
//! every commit at a gate until the test opens it, and can make every
//! commit slow.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, Semaphore};
use windlass_store_api::*;
use windlass_store_memory::MemoryStore;

/// Commits seen: (creates, appends, outbox changes) per batch.
#[derive(Default)]
pub struct Seen {
    pub batches: Mutex<Vec<(usize, usize, usize)>>,
}

/// The wrapper.
pub struct Gated {
    pub inner: MemoryStore,
    pub seen: Arc<Seen>,
    /// When set, a commit announces itself and waits for a permit.
    pub gate: Option<(Arc<Notify>, Arc<Semaphore>)>,
    /// When set, every commit takes this long first (a slow database).
    pub delay: Option<std::time::Duration>,
}

impl Gated {
    pub fn new(inner: MemoryStore) -> Self {
        Gated {
            inner,
            seen: Arc::default(),
            gate: None,
            delay: None,
        }
    }
}

impl StoreWrite for Gated {
    async fn commit(&self, batch: Batch) -> StoreResult<()> {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        if let Some((entered, permits)) = &self.gate {
            entered.notify_one();
            permits.acquire().await.unwrap().forget();
        }
        self.seen.batches.lock().unwrap().push((
            batch.creates.len(),
            batch.appends.len(),
            batch.outbox.len(),
        ));
        self.inner.commit(batch).await
    }
}

impl HistoryRead for Gated {
    async fn history(&self, i: &InstanceRef) -> StoreResult<Vec<HistoryEvent>> {
        self.inner.history(i).await
    }
    async fn history_after(&self, i: &InstanceRef, after: u64) -> StoreResult<Vec<HistoryEvent>> {
        self.inner.history_after(i, after).await
    }
}

impl InstanceIndex for Gated {
    async fn instance(&self, i: &InstanceRef) -> StoreResult<Option<InstanceRow>> {
        self.inner.instance(i).await
    }
    async fn query_instances(&self, q: &InstanceQuery) -> StoreResult<Vec<InstanceRow>> {
        self.inner.query_instances(q).await
    }
    async fn latest_run(&self, id: &InstanceId) -> StoreResult<Option<InstanceRow>> {
        self.inner.latest_run(id).await
    }
}

impl DefinitionRead for Gated {
    async fn definition(&self, key: &str) -> StoreResult<Option<DefinitionRow>> {
        self.inner.definition(key).await
    }
    async fn definitions(&self) -> StoreResult<Vec<DefinitionRow>> {
        self.inner.definitions().await
    }
}

impl OutboxRead for Gated {
    async fn pending_outbox(&self) -> StoreResult<Vec<OutboxRow>> {
        self.inner.pending_outbox().await
    }
    async fn outbox_entry(&self, key: &str) -> StoreResult<Option<OutboxRow>> {
        self.inner.outbox_entry(key).await
    }
}

impl TimerRead for Gated {
    async fn due_timers(&self, until: Timestamp, limit: usize) -> StoreResult<Vec<TimerRow>> {
        self.inner.due_timers(until, limit).await
    }
    async fn timers_of(&self, i: &InstanceRef) -> StoreResult<Vec<TimerRow>> {
        self.inner.timers_of(i).await
    }
}

impl MessageRead for Gated {
    async fn messages_for(&self, n: &str, k: &str, now: Timestamp) -> StoreResult<Vec<MessageRow>> {
        self.inner.messages_for(n, k, now).await
    }

    async fn live_messages(&self, now: Timestamp) -> StoreResult<Vec<MessageRow>> {
        self.inner.live_messages(now).await
    }
}

impl DedupRead for Gated {
    async fn dedup_entry(&self, key: &str) -> StoreResult<Option<DedupRow>> {
        self.inner.dedup_entry(key).await
    }

    async fn dedup_entries(&self) -> StoreResult<Vec<DedupRow>> {
        self.inner.dedup_entries().await
    }
}

impl ScheduleRead for Gated {
    async fn schedule(&self, id: &str) -> StoreResult<Option<ScheduleRow>> {
        self.inner.schedule(id).await
    }
    async fn schedules(&self) -> StoreResult<Vec<ScheduleRow>> {
        self.inner.schedules().await
    }
}

impl Recovery for Gated {
    async fn load_unfinished(&self) -> StoreResult<Vec<RecoveredInstance>> {
        self.inner.load_unfinished().await
    }
}
