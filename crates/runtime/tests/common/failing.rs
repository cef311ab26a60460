//! [`FailingStore`]: a store wrapper that makes chosen commits fail the way
//! a full disk does (the batch is not written at all), for the runtime's
//! failed-commit paths.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use windlass_store_api::*;

/// Which commits fail.
#[derive(Debug, Clone, Default)]
pub struct FailRule {
    /// Fail the commit with this 1-based number (counted from the wrapper's
    /// creation).
    pub nth: Option<usize>,
    /// Fail every commit from this 1-based number on (a disk that stays full).
    pub from: Option<usize>,
    /// With `from`: fail only up to this commit number (a database that is
    /// down for a while).
    pub until: Option<usize>,
    /// Fail every commit whose batch touches this instance id.
    pub instance: Option<String>,
    /// The error returned (default: `StoreError::Full`, a permanent one).
    pub error: Option<StoreError>,
}

/// The wrapper: `inner` behind a commit filter.
pub struct FailingStore<S> {
    pub inner: S,
    pub rule: Mutex<FailRule>,
    pub commits: AtomicUsize,
    pub failed: AtomicUsize,
}

impl<S> FailingStore<S> {
    pub fn new(inner: S, rule: FailRule) -> Self {
        FailingStore {
            inner,
            rule: Mutex::new(rule),
            commits: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        }
    }

    /// No more failures from now on ("space was freed").
    pub fn heal(&self) {
        *self.rule.lock().unwrap() = FailRule::default();
    }

    fn should_fail(&self, n: usize, batch: &Batch) -> bool {
        let rule = self.rule.lock().unwrap();
        let in_range = rule.from.is_some_and(|f| n >= f) && rule.until.is_none_or(|u| n <= u);
        if rule.nth == Some(n) || in_range {
            return true;
        }
        let Some(id) = &rule.instance else {
            return false;
        };
        let hit = |i: &InstanceRef| i.id.as_str() == id;
        batch.creates.iter().any(|c| hit(&c.row.instance))
            || batch.appends.iter().any(|a| hit(&a.instance))
            || batch.outbox.iter().any(|o| match o {
                OutboxChange::Insert(row) => row.instance.as_ref().is_some_and(hit),
                OutboxChange::Complete(key) => key.starts_with(&format!("{id}/")),
                _ => false,
            })
    }
}

impl<S: Store> StoreWrite for FailingStore<S> {
    async fn commit(&self, batch: Batch) -> StoreResult<()> {
        let n = self.commits.fetch_add(1, Ordering::SeqCst) + 1;
        if self.should_fail(n, &batch) {
            self.failed.fetch_add(1, Ordering::SeqCst);
            let chosen = self.rule.lock().unwrap().error.clone();
            return Err(chosen
                .unwrap_or_else(|| StoreError::Full(format!("injected failure of commit {n}"))));
        }
        self.inner.commit(batch).await
    }
}

impl<S: Store> HistoryRead for FailingStore<S> {
    async fn history(&self, i: &InstanceRef) -> StoreResult<Vec<HistoryEvent>> {
        self.inner.history(i).await
    }
    async fn history_after(&self, i: &InstanceRef, after: u64) -> StoreResult<Vec<HistoryEvent>> {
        self.inner.history_after(i, after).await
    }
}

impl<S: Store> InstanceIndex for FailingStore<S> {
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

impl<S: Store> DefinitionRead for FailingStore<S> {
    async fn definition(&self, key: &str) -> StoreResult<Option<DefinitionRow>> {
        self.inner.definition(key).await
    }
    async fn definitions(&self) -> StoreResult<Vec<DefinitionRow>> {
        self.inner.definitions().await
    }
}

impl<S: Store> OutboxRead for FailingStore<S> {
    async fn pending_outbox(&self) -> StoreResult<Vec<OutboxRow>> {
        self.inner.pending_outbox().await
    }
    async fn outbox_entry(&self, key: &str) -> StoreResult<Option<OutboxRow>> {
        self.inner.outbox_entry(key).await
    }
}

impl<S: Store> TimerRead for FailingStore<S> {
    async fn due_timers(&self, until: Timestamp, limit: usize) -> StoreResult<Vec<TimerRow>> {
        self.inner.due_timers(until, limit).await
    }
    async fn timers_of(&self, i: &InstanceRef) -> StoreResult<Vec<TimerRow>> {
        self.inner.timers_of(i).await
    }
}

impl<S: Store> MessageRead for FailingStore<S> {
    async fn messages_for(&self, n: &str, k: &str, now: Timestamp) -> StoreResult<Vec<MessageRow>> {
        self.inner.messages_for(n, k, now).await
    }

    async fn live_messages(&self, now: Timestamp) -> StoreResult<Vec<MessageRow>> {
        self.inner.live_messages(now).await
    }
}

impl<S: Store> DedupRead for FailingStore<S> {
    async fn dedup_entry(&self, key: &str) -> StoreResult<Option<DedupRow>> {
        self.inner.dedup_entry(key).await
    }

    async fn dedup_entries(&self) -> StoreResult<Vec<DedupRow>> {
        self.inner.dedup_entries().await
    }
}

impl<S: Store> ScheduleRead for FailingStore<S> {
    async fn schedule(&self, id: &str) -> StoreResult<Option<ScheduleRow>> {
        self.inner.schedule(id).await
    }
    async fn schedules(&self) -> StoreResult<Vec<ScheduleRow>> {
        self.inner.schedules().await
    }
}

impl<S: Store> Recovery for FailingStore<S> {
    async fn load_unfinished(&self) -> StoreResult<Vec<RecoveredInstance>> {
        self.inner.load_unfinished().await
    }
}
