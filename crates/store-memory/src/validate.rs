//! Checks a whole batch against the current state without changing it, so
//! that [`apply`](crate::apply) can never fail half-way. Operations are
//! checked in the order they will be applied, with small overlays recording
//! what earlier operations of the same batch did.

use crate::state::State;
use foldhash::{HashMap, HashMapExt};
use windlass_store_api::{
    Batch, DedupChange, DefinitionRow, InstanceRef, MessageChange, OutboxChange, StoreError,
    StoreResult, TimerChange, Timestamp,
};

/// Keys created (`true`) or removed (`false`) earlier in the batch.
type Overlay<'a> = HashMap<&'a str, bool>;

fn exists(overlay: &Overlay<'_>, key: &str, in_state: bool) -> bool {
    overlay.get(key).copied().unwrap_or(in_state)
}

/// Ok if applying `batch` to `state` would succeed; else the error of the
/// first operation that would fail.
pub(crate) fn validate(state: &State, batch: &Batch) -> StoreResult<()> {
    let mut defs = HashMap::with_capacity(batch.definitions.len());
    for d in &batch.definitions {
        let current = defs
            .get(d.key.as_str())
            .copied()
            .or_else(|| state.definitions.get(&d.key));
        let same = |c: &DefinitionRow| {
            (c.process_id.as_str(), c.version, c.source.as_str())
                == (d.process_id.as_str(), d.version, d.source.as_str())
        };
        if current.is_some_and(|c| !same(c)) {
            return Err(StoreError::AlreadyExists {
                what: "definition",
                key: d.key.clone(),
            });
        }
        defs.insert(d.key.as_str(), d);
    }

    let mut seqs: HashMap<&InstanceRef, u64> =
        HashMap::with_capacity(batch.creates.len() + batch.appends.len());
    for c in &batch.creates {
        let r = &c.row.instance;
        if seqs.contains_key(r) || state.instances.contains(r) {
            return Err(StoreError::AlreadyExists {
                what: "instance",
                key: r.to_string(),
            });
        }
        seqs.insert(r, c.event_count());
    }
    for a in &batch.appends {
        if a.events.is_empty() {
            return Err(StoreError::Invalid(format!(
                "append to instance {} has no events",
                a.instance
            )));
        }
        let actual = match seqs.get(&a.instance) {
            Some(s) => *s,
            None => match state.instances.get(&a.instance) {
                Some(i) => i.row.last_seq,
                None => {
                    return Err(StoreError::NotFound {
                        what: "instance",
                        key: a.instance.to_string(),
                    });
                }
            },
        };
        if actual != a.expected_seq {
            return Err(StoreError::Conflict {
                instance: a.instance.clone(),
                expected: a.expected_seq,
                actual,
            });
        }
        seqs.insert(&a.instance, actual + a.events.len() as u64);
    }

    let mut outbox = Overlay::with_capacity(batch.outbox.len());
    for ch in &batch.outbox {
        let (key, must_exist, now_exists) = match ch {
            OutboxChange::Insert(r) => (r.key.as_str(), false, true),
            OutboxChange::Update(r) => (r.key.as_str(), true, true),
            OutboxChange::Complete(k) => (k.as_str(), true, false),
        };
        check(
            &outbox,
            key,
            state.outbox.contains_key(key),
            must_exist,
            "outbox entry",
        )?;
        outbox.insert(key, now_exists);
    }

    let mut timers = Overlay::with_capacity(batch.timers.len());
    for ch in &batch.timers {
        let (key, must_exist, now_exists) = match ch {
            TimerChange::Insert(t) => (t.id.as_str(), false, true),
            TimerChange::Delete(id) => (id.as_str(), true, false),
        };
        check(
            &timers,
            key,
            state.timers.contains_key(key),
            must_exist,
            "timer",
        )?;
        timers.insert(key, now_exists);
    }

    validate_messages(state, batch)?;
    crate::schedules::validate(state, batch)?;

    let mut dedup = Overlay::with_capacity(batch.dedup.len());
    for ch in &batch.dedup {
        match ch {
            DedupChange::Put(r) => {
                dedup.insert(r.key.as_str(), true);
            }
            DedupChange::Delete(k) => {
                check(&dedup, k, state.dedup.contains_key(k), true, "dedup entry")?;
                dedup.insert(k.as_str(), false);
            }
        }
    }
    Ok(())
}

fn check(
    overlay: &Overlay<'_>,
    key: &str,
    in_state: bool,
    must_exist: bool,
    what: &'static str,
) -> StoreResult<()> {
    match (exists(overlay, key, in_state), must_exist) {
        (true, false) => Err(StoreError::AlreadyExists {
            what,
            key: key.to_string(),
        }),
        (false, true) => Err(StoreError::NotFound {
            what,
            key: key.to_string(),
        }),
        _ => Ok(()),
    }
}

/// Messages need more than an existence overlay: `DeleteExpired` removes
/// rows by expiry and `Consume` needs an unconsumed row, so the overlay
/// keeps each touched row's expiry and consumed flag, and the highest purge
/// time seen so far applies to rows from the state.
fn validate_messages(state: &State, batch: &Batch) -> StoreResult<()> {
    /// A row as the batch has left it so far: `None` = absent.
    type Seen = Option<(Option<Timestamp>, bool)>;
    let mut overlay: HashMap<&str, Seen> = HashMap::with_capacity(batch.messages.len());
    let mut purged_until: Option<Timestamp> = None;
    for ch in &batch.messages {
        let key = match ch {
            MessageChange::DeleteExpired(t) => {
                purged_until = Some(purged_until.map_or(*t, |p| p.max(*t)));
                for v in overlay.values_mut() {
                    if v.is_some_and(|(exp, _)| is_expired(exp, *t)) {
                        *v = None;
                    }
                }
                continue;
            }
            MessageChange::Insert(m) => m.id.as_str(),
            MessageChange::Delete(k) | MessageChange::Consume { id: k, .. } => k.as_str(),
        };
        let current: Seen = match overlay.get(key) {
            Some(v) => *v,
            None => state
                .messages
                .get(key)
                .filter(|m| purged_until.is_none_or(|cut| !is_expired(m.expires_at, cut)))
                .map(|m| (m.expires_at, m.consumed_at.is_some())),
        };
        let missing = || StoreError::NotFound {
            what: "message",
            key: key.to_string(),
        };
        let next = match (ch, current) {
            (MessageChange::Insert(_), Some(_)) => {
                return Err(StoreError::AlreadyExists {
                    what: "message",
                    key: key.to_string(),
                });
            }
            (MessageChange::Insert(m), None) => Some((m.expires_at, m.consumed_at.is_some())),
            (MessageChange::Delete(_), Some(_)) => None,
            (MessageChange::Consume { keep_until, .. }, Some((_, false))) => {
                Some((Some(*keep_until), true))
            }
            _ => return Err(missing()),
        };
        overlay.insert(key, next);
    }
    Ok(())
}

/// True if a message with expiry `expires_at` is removed by a purge at `cut`.
pub(crate) fn is_expired(expires_at: Option<Timestamp>, cut: Timestamp) -> bool {
    expires_at.is_some_and(|e| e <= cut)
}
