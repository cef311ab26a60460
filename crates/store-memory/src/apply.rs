//! Applies a batch that [`validate`](crate::validate) accepted. Nothing here
//! can fail: every precondition was checked before.

use crate::state::{Instance, State};
use crate::validate::is_expired;
use windlass_store_api::{
    Batch, DedupChange, HistoryEvent, MessageChange, OutboxChange, TimerChange,
};

pub(crate) fn apply(state: &mut State, batch: Batch) {
    for d in batch.definitions {
        state.definitions.entry(d.key.clone()).or_insert(d);
    }
    for c in batch.creates {
        let mut row = c.row;
        let recorded_at = row.created_at;
        // Room for as many again: a run usually grows right after it is
        // created (a job completes, a timer fires), and growing this vector
        // then would copy it.
        let count = c.events.len() + c.carried.iter().map(|g| g.events.len()).sum::<usize>();
        let mut events: Vec<HistoryEvent> = Vec::with_capacity(2 * count);
        let carried = c
            .carried
            .into_iter()
            .flat_map(|g| g.events.into_iter().map(move |p| (g.recorded_at, p)));
        let own = c.events.into_iter().map(|p| (recorded_at, p));
        events.extend(
            carried
                .chain(own)
                .enumerate()
                .map(|(i, (recorded_at, payload))| HistoryEvent {
                    seq: i as u64 + 1,
                    recorded_at,
                    payload,
                }),
        );
        row.last_seq = events.len() as u64;
        state.instances.insert(Instance { row, events });
    }
    for a in batch.appends {
        if let Some(inst) = state.instances.get_mut(&a.instance) {
            let mut seq = inst.row.last_seq;
            inst.events.reserve(a.events.len());
            for payload in a.events {
                seq += 1;
                inst.events.push(HistoryEvent {
                    seq,
                    recorded_at: a.update.updated_at,
                    payload,
                });
            }
            inst.row.last_seq = seq;
            inst.row.status = a.update.status;
            inst.row.updated_at = a.update.updated_at;
            inst.row.tally.clone_from(&a.update.tally);
        }
    }
    for ch in batch.outbox {
        match ch {
            OutboxChange::Insert(r) | OutboxChange::Update(r) => {
                state.outbox.insert(r.key.clone(), r);
            }
            OutboxChange::Complete(k) => {
                state.outbox.remove(&k);
            }
        }
    }
    for ch in batch.timers {
        match ch {
            TimerChange::Insert(t) => {
                state.timers.insert(t.id.clone(), t);
            }
            TimerChange::Delete(id) => {
                state.timers.remove(&id);
            }
        }
    }
    for ch in batch.messages {
        match ch {
            MessageChange::Insert(m) => {
                state.messages.insert(m.id.clone(), m);
            }
            MessageChange::Delete(id) => {
                state.messages.remove(&id);
            }
            MessageChange::DeleteExpired(t) => {
                state.messages.retain(|_, m| !is_expired(m.expires_at, t));
            }
            MessageChange::Consume { id, at, keep_until } => {
                if let Some(m) = state.messages.get_mut(&id) {
                    m.consumed_at = Some(at);
                    m.expires_at = Some(keep_until);
                }
            }
        }
    }
    for ch in batch.dedup {
        match ch {
            DedupChange::Put(r) => {
                state.dedup.insert(r.key.clone(), r);
            }
            DedupChange::Delete(k) => {
                state.dedup.remove(&k);
            }
        }
    }
    crate::schedules::apply(state, batch.schedules);
}
