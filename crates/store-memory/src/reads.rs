//! The read traits over the in-memory tables. Each read takes the lock,
//! copies what it needs and returns a ready future.

use crate::MemoryStore;
use crate::state::Instance;
use windlass_store_api::{
    DedupRead, DedupRow, DefinitionRead, DefinitionRow, HistoryEvent, HistoryRead, InstanceId,
    InstanceIndex, InstanceQuery, InstanceRef, InstanceRow, MessageRead, MessageRow, OutboxRead,
    OutboxRow, RecoveredInstance, Recovery, StoreError, StoreResult, TimerRead, TimerRow,
    Timestamp,
};

fn ready<T: Send>(v: StoreResult<T>) -> impl Future<Output = StoreResult<T>> + Send {
    std::future::ready(v)
}

fn row_order(r: &InstanceRow) -> (windlass_store_api::Timestamp, &str, &str) {
    (
        r.created_at,
        r.instance.id.as_str(),
        r.instance.run.as_str(),
    )
}

impl MemoryStore {
    fn events_after(&self, instance: &InstanceRef, after: u64) -> StoreResult<Vec<HistoryEvent>> {
        let state = self.lock()?;
        let inst: &Instance =
            state
                .instances
                .get(instance)
                .ok_or_else(|| StoreError::NotFound {
                    what: "instance",
                    key: instance.to_string(),
                })?;
        // Sequence numbers are 1..=n, so event `seq` sits at index seq - 1.
        let start = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(inst.events.len());
        Ok(inst.events[start..].to_vec())
    }
}

impl HistoryRead for MemoryStore {
    fn history(
        &self,
        instance: &InstanceRef,
    ) -> impl Future<Output = StoreResult<Vec<HistoryEvent>>> + Send {
        ready(self.events_after(instance, 0))
    }

    fn history_after(
        &self,
        instance: &InstanceRef,
        after_seq: u64,
    ) -> impl Future<Output = StoreResult<Vec<HistoryEvent>>> + Send {
        ready(self.events_after(instance, after_seq))
    }
}

impl InstanceIndex for MemoryStore {
    fn instance(
        &self,
        instance: &InstanceRef,
    ) -> impl Future<Output = StoreResult<Option<InstanceRow>>> + Send {
        ready(
            self.lock()
                .map(|s| s.instances.get(instance).map(|i| i.row.clone())),
        )
    }

    fn query_instances(
        &self,
        query: &InstanceQuery,
    ) -> impl Future<Output = StoreResult<Vec<InstanceRow>>> + Send {
        let result = self.lock().map(|s| {
            let mut rows: Vec<&InstanceRow> = s
                .instances
                .values()
                .map(|i| &i.row)
                .filter(|r| query.matches(r))
                .collect();
            rows.sort_by(|a, b| row_order(a).cmp(&row_order(b)));
            let limit = query.limit.unwrap_or(usize::MAX);
            rows.into_iter().take(limit).cloned().collect()
        });
        ready(result)
    }

    fn latest_run(
        &self,
        id: &InstanceId,
    ) -> impl Future<Output = StoreResult<Option<InstanceRow>>> + Send {
        // A scan of every run: the memory store keeps no index by id (it
        // serves tests and benchmarks; the runtime asks only for explicit
        // ids it does not hold in memory).
        ready(self.lock().map(|s| {
            s.instances
                .values()
                .map(|i| &i.row)
                .filter(|r| r.instance.id == *id)
                .max_by(|a, b| a.instance.run.run_order().cmp(&b.instance.run.run_order()))
                .cloned()
        }))
    }
}

impl DefinitionRead for MemoryStore {
    fn definition(
        &self,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<DefinitionRow>>> + Send {
        ready(self.lock().map(|s| s.definitions.get(key).cloned()))
    }

    fn definitions(&self) -> impl Future<Output = StoreResult<Vec<DefinitionRow>>> + Send {
        let result = self.lock().map(|s| {
            let mut v: Vec<DefinitionRow> = s.definitions.values().cloned().collect();
            v.sort_by(|a, b| {
                (&a.process_id, a.version, &a.key).cmp(&(&b.process_id, b.version, &b.key))
            });
            v
        });
        ready(result)
    }
}

impl OutboxRead for MemoryStore {
    fn pending_outbox(&self) -> impl Future<Output = StoreResult<Vec<OutboxRow>>> + Send {
        let result = self.lock().map(|s| {
            let mut v: Vec<OutboxRow> = s.outbox.values().cloned().collect();
            v.sort_by(|a, b| (a.due_at, &a.key).cmp(&(b.due_at, &b.key)));
            v
        });
        ready(result)
    }

    fn outbox_entry(
        &self,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<OutboxRow>>> + Send {
        ready(self.lock().map(|s| s.outbox.get(key).cloned()))
    }
}

fn sorted_timers<'a>(it: impl Iterator<Item = &'a TimerRow>) -> Vec<TimerRow> {
    let mut v: Vec<TimerRow> = it.cloned().collect();
    v.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
    v
}

impl TimerRead for MemoryStore {
    fn due_timers(
        &self,
        until: Timestamp,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<TimerRow>>> + Send {
        let result = self.lock().map(|s| {
            let mut v = sorted_timers(s.timers.values().filter(|t| t.due_at <= until));
            v.truncate(limit);
            v
        });
        ready(result)
    }

    fn timers_of(
        &self,
        instance: &InstanceRef,
    ) -> impl Future<Output = StoreResult<Vec<TimerRow>>> + Send {
        ready(
            self.lock()
                .map(|s| sorted_timers(s.timers.values().filter(|t| &t.instance == instance))),
        )
    }
}

impl MessageRead for MemoryStore {
    fn messages_for(
        &self,
        name: &str,
        correlation_key: &str,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Vec<MessageRow>>> + Send {
        let result = self.lock().map(|s| {
            let mut v: Vec<MessageRow> = s
                .messages
                .values()
                .filter(|m| {
                    m.name == name
                        && m.correlation_key == correlation_key
                        && m.consumed_at.is_none()
                        && m.expires_at.is_none_or(|e| e > now)
                })
                .cloned()
                .collect();
            v.sort_by(|a, b| (a.published_at, &a.id).cmp(&(b.published_at, &b.id)));
            v
        });
        ready(result)
    }

    fn live_messages(
        &self,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Vec<MessageRow>>> + Send {
        let result = self.lock().map(|s| {
            let mut v: Vec<MessageRow> = s
                .messages
                .values()
                .filter(|m| m.expires_at.is_none_or(|e| e > now))
                .cloned()
                .collect();
            v.sort_by(|a, b| (a.published_at, &a.id).cmp(&(b.published_at, &b.id)));
            v
        });
        ready(result)
    }
}

impl DedupRead for MemoryStore {
    fn dedup_entry(&self, key: &str) -> impl Future<Output = StoreResult<Option<DedupRow>>> + Send {
        ready(self.lock().map(|s| s.dedup.get(key).cloned()))
    }

    fn dedup_entries(&self) -> impl Future<Output = StoreResult<Vec<DedupRow>>> + Send {
        ready(self.lock().map(|s| {
            let mut rows: Vec<DedupRow> = s.dedup.values().cloned().collect();
            rows.sort_by(|a, b| a.key.cmp(&b.key));
            rows
        }))
    }
}

impl Recovery for MemoryStore {
    fn load_unfinished(&self) -> impl Future<Output = StoreResult<Vec<RecoveredInstance>>> + Send {
        let result = self.lock().map(|s| {
            let mut v: Vec<&Instance> = s
                .instances
                .values()
                .filter(|i| !i.row.status.is_finished())
                .collect();
            v.sort_by(|a, b| row_order(&a.row).cmp(&row_order(&b.row)));
            v.into_iter()
                .map(|i| RecoveredInstance {
                    row: i.row.clone(),
                    events: i.events.clone(),
                })
                .collect()
        });
        ready(result)
    }
}
