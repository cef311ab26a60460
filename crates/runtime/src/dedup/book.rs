//! The dedup owner's book: for every dedup key (per process), the slot
//! holding it and the one slot waiting for it — controller-runtime's
//! workqueue rule (one in process, one latest waiting). Pure: the service
//! (`service.rs`) commits the rows of the keys a round changed, then carries
//! out the orders the book returns.
//!
//! A slot is a live instance whose token claimed the key
//! (`DedupClaimed`), or a start not made yet (a coalesced start of a process
//! whose start event carries the key: no instance exists until it is
//! granted, so a million events over ten thousand keys cost at most one
//! row write per key and round, not an instance each).

use crate::shard::FastHash;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use windlass_store_api::{DedupChange, DedupHolder, DedupRow, InstanceRef};
use windlass_types::{Timestamp, Vars};

/// A start held back until its key is free: everything needed to make it,
/// stored in the dedup row's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PendingStart {
    /// The id and run the instance is created under (stored in the row's
    /// holder columns, not in the payload).
    #[serde(skip, default = "unset_instance")]
    pub instance: InstanceRef,
    /// The definition key (`process:hash`) it starts.
    pub definition: String,
    /// Its start variables.
    pub vars: Vars,
    /// Its business key.
    pub business_key: Option<String>,
    /// The start event it starts at.
    pub start_event: Option<String>,
    /// Whether the id was chosen (request or template) rather than
    /// generated.
    pub chosen: bool,
}

/// A placeholder replaced by the row's holder columns on load.
fn unset_instance() -> InstanceRef {
    InstanceRef::new("", "")
}

/// Who holds or waits for a key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Slot {
    /// A live instance whose claim is open (waiting) or granted (holding).
    Instance(InstanceRef),
    /// A start not made yet (waiting), or made when the key was granted
    /// (holding; the instance's own claim is then granted at once).
    Start(Box<PendingStart>),
}

impl Slot {
    /// The instance of the slot (a pending start's is assigned in advance).
    pub fn instance(&self) -> &InstanceRef {
        match self {
            Slot::Instance(i) => i,
            Slot::Start(s) => &s.instance,
        }
    }
}

/// What the service does once the round's rows are committed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Order {
    /// `Command::GrantDedup` to the instance.
    Grant {
        /// The instance.
        instance: InstanceRef,
        /// The entry key ([`scope`]).
        scope: String,
    },
    /// `Command::Supersede` to the instance, replaced by `by`.
    Supersede {
        /// The instance.
        instance: InstanceRef,
        /// The entry key.
        scope: String,
        /// The id of the instance that replaced it.
        by: String,
    },
    /// Make the start that now holds the key.
    Start {
        /// The entry key.
        scope: String,
        /// The start.
        start: Box<PendingStart>,
    },
}

/// What became of a coalesced start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admitted {
    /// The key was free: the start is made.
    Started,
    /// The key is held: the start waits (replacing the one waiting before).
    Queued,
}

#[derive(Debug, Default)]
struct Entry {
    holder: Option<Slot>,
    waiting: Option<Slot>,
    /// Listed in `Book::dirty` (changed since the last `changes`).
    dirty: bool,
}

/// The book of every dedup key of this runtime.
#[derive(Debug, Default)]
pub(crate) struct Book {
    entries: HashMap<String, Entry, FastHash>,
    /// Keys whose row exists in the store.
    stored: HashSet<String, FastHash>,
    /// Keys changed since the last [`Book::changes`] (each once per
    /// entry: an entry's `dirty` flag says it is listed; a removed entry's
    /// key may be listed twice).
    dirty: Vec<String>,
    /// Waiting slots replaced by a newer one (superseded instances and
    /// dropped pending starts).
    pub replaced: u64,
}

/// The entry key of dedup key `key` of process `process`. Process ids are
/// XML ids (no `/`), so the first `/` separates them.
pub(crate) fn scope(process: &str, key: &str) -> String {
    let mut s = String::with_capacity(process.len() + 1 + key.len());
    s.push_str(process);
    s.push('/');
    s.push_str(key);
    s
}

/// The dedup key of an entry key (as the engine knows it).
pub(crate) fn key_of(scope: &str) -> &str {
    scope.split_once('/').map_or(scope, |(_, k)| k)
}

impl Book {
    /// The entry of `scope`, made if missing (looked up first: most events
    /// find their key, and then nothing is allocated). Always `Some`.
    fn entry(&mut self, scope: &str) -> Option<&mut Entry> {
        if !self.entries.contains_key(scope) {
            self.entries.insert(scope.to_string(), Entry::default());
        }
        self.entries.get_mut(scope)
    }

    fn touch(&mut self, scope: &str) {
        match self.entries.get_mut(scope) {
            Some(e) if e.dirty => {}
            Some(e) => {
                e.dirty = true;
                self.dirty.push(scope.to_string());
            }
            // Removed: `changes` deletes its row if it is stored.
            None => self.dirty.push(scope.to_string()),
        }
    }

    /// Instance `instance` claims the key `scope` (a claim after a restart
    /// repeats: a holder's repeated claim is granted again).
    pub fn claim(&mut self, scope: &str, instance: &InstanceRef) -> Vec<Order> {
        let grant = vec![Order::Grant {
            instance: instance.clone(),
            scope: scope.to_string(),
        }];
        let Some(e) = self.entry(scope) else {
            return Vec::new();
        };
        match &e.holder {
            None => {
                e.holder = Some(Slot::Instance(instance.clone()));
                self.touch(scope);
                return grant;
            }
            Some(h) if h.instance() == instance => return grant,
            // The start made for a held-back start claims: its shard may
            // have given the run another id, never another instance id (one
            // id has one unfinished run).
            Some(Slot::Start(s)) if s.instance.id == instance.id => {
                e.holder = Some(Slot::Instance(instance.clone()));
                self.touch(scope);
                return grant;
            }
            Some(_) => {}
        }
        if e.waiting.as_ref().is_some_and(|w| w.instance() == instance) {
            return Vec::new();
        }
        let old = e.waiting.replace(Slot::Instance(instance.clone()));
        self.touch(scope);
        self.replace(old, scope, &instance.id.0)
    }

    /// A start of a process whose start event carries the key `scope`:
    /// made at once when the key is free, else kept waiting.
    pub fn admit(&mut self, scope: &str, start: PendingStart) -> (Admitted, Vec<Order>) {
        // The hot path of coalescing: two lookups, no allocation for a
        // known key that is already listed as changed.
        if !self.entries.contains_key(scope) {
            self.entries.insert(scope.to_string(), Entry::default());
        }
        let Some(e) = self.entries.get_mut(scope) else {
            return (Admitted::Queued, Vec::new());
        };
        if !e.dirty {
            e.dirty = true;
            self.dirty.push(scope.to_string());
        }
        if e.holder.is_none() {
            e.holder = Some(Slot::Start(Box::new(start.clone())));
            let order = Order::Start {
                scope: scope.to_string(),
                start: Box::new(start),
            };
            return (Admitted::Started, vec![order]);
        }
        let old = e.waiting.replace(Slot::Start(Box::new(start)));
        let by = match (&old, &e.waiting) {
            (Some(Slot::Instance(_)), Some(new)) => new.instance().id.0.clone(),
            _ => String::new(),
        };
        (Admitted::Queued, self.replace(old, scope, &by))
    }

    /// The waiting slot `old` was replaced by `by`: an instance is
    /// superseded, a pending start dropped.
    fn replace(&mut self, old: Option<Slot>, scope: &str, by: &str) -> Vec<Order> {
        match old {
            None => Vec::new(),
            Some(Slot::Instance(instance)) => {
                self.replaced += 1;
                vec![Order::Supersede {
                    instance,
                    scope: scope.to_string(),
                    by: by.to_string(),
                }]
            }
            Some(Slot::Start(_)) => {
                self.replaced += 1;
                Vec::new()
            }
        }
    }

    /// Instance `instance` ended (or refused its grant): it neither holds
    /// nor waits for `scope` any more; the waiting slot, if any, gets it.
    pub fn release(&mut self, scope: &str, instance: &InstanceRef) -> Vec<Order> {
        let Some(e) = self.entries.get_mut(scope) else {
            return Vec::new();
        };
        let mut changed = false;
        if e.waiting.as_ref().is_some_and(|w| w.instance() == instance) {
            e.waiting = None;
            changed = true;
        }
        let mut out = Vec::new();
        if e.holder.as_ref().is_some_and(|h| h.instance() == instance) {
            e.holder = e.waiting.take();
            changed = true;
            match &e.holder {
                Some(Slot::Instance(next)) => out.push(Order::Grant {
                    instance: next.clone(),
                    scope: scope.to_string(),
                }),
                Some(Slot::Start(s)) => out.push(Order::Start {
                    scope: scope.to_string(),
                    start: s.clone(),
                }),
                None => {}
            }
        }
        if changed {
            self.touch(scope);
        }
        if let Some(e) = self.entries.get(scope)
            && e.holder.is_none()
            && e.waiting.is_none()
        {
            self.entries.remove(scope);
        }
        out
    }

    /// The slots of every key: (entry key, holder, waiting).
    pub fn slots(&self) -> impl Iterator<Item = (&str, Option<&Slot>, Option<&Slot>)> {
        self.entries
            .iter()
            .map(|(k, e)| (k.as_str(), e.holder.as_ref(), e.waiting.as_ref()))
    }

    /// Loads one stored row.
    pub fn load(&mut self, row: DedupRow) {
        let slot = |h: DedupHolder| match serde_json::from_slice::<PendingStart>(&h.payload) {
            Ok(mut s) if h.token == START_TOKEN => {
                s.instance = h.instance;
                Slot::Start(Box::new(s))
            }
            _ => Slot::Instance(h.instance),
        };
        self.stored.insert(row.key.clone());
        self.entries.insert(
            row.key,
            Entry {
                holder: row.running.map(slot),
                waiting: row.waiting.map(slot),
                dirty: false,
            },
        );
    }

    /// Keys held or waited for.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The row changes of the keys changed since the last call (at most
    /// one per key), and forgets them. `committed` must follow with the
    /// outcome.
    pub fn changes(&mut self, now: Timestamp) -> Vec<DedupChange> {
        let mut dirty = std::mem::take(&mut self.dirty);
        // Rows in key order: the same batch for the same changes.
        dirty.sort_unstable();
        dirty.dedup();
        let mut out = Vec::with_capacity(dirty.len());
        for scope in dirty {
            match self.entries.get_mut(&scope) {
                Some(e) => {
                    e.dirty = false;
                    out.push(DedupChange::Put(DedupRow {
                        key: scope.clone(),
                        running: e.holder.as_ref().map(holder_row),
                        waiting: e.waiting.as_ref().map(holder_row),
                        updated_at: now,
                    }));
                    self.stored.insert(scope);
                }
                None => {
                    if self.stored.remove(&scope) {
                        out.push(DedupChange::Delete(scope));
                    }
                }
            }
        }
        out
    }

    /// Empties the book (before loading it again from the store, after a
    /// failed commit).
    pub fn clear(&mut self) {
        *self = Book {
            replaced: self.replaced,
            ..Book::default()
        };
    }
}

/// The token of a stored pending start (an instance's slot has
/// [`CLAIM_TOKEN`]).
const START_TOKEN: &str = "start";
/// The token of a stored instance slot.
const CLAIM_TOKEN: &str = "claim";

fn holder_row(s: &Slot) -> DedupHolder {
    match s {
        Slot::Instance(i) => DedupHolder {
            instance: i.clone(),
            token: CLAIM_TOKEN.to_string(),
            payload: Vec::new(),
        },
        Slot::Start(p) => DedupHolder {
            instance: p.instance.clone(),
            token: START_TOKEN.to_string(),
            payload: serde_json::to_vec(p.as_ref()).unwrap_or_default(),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn i(id: &str) -> InstanceRef {
        InstanceRef::new(id, "r1")
    }

    fn start(id: &str) -> PendingStart {
        PendingStart {
            instance: i(id),
            definition: "p:1".into(),
            vars: Vars::new(),
            business_key: None,
            start_event: None,
            chosen: false,
        }
    }

    fn granted(o: &[Order]) -> Vec<String> {
        o.iter()
            .filter_map(|o| match o {
                Order::Grant { instance, .. } => Some(instance.id.0.clone()),
                Order::Start { start, .. } => Some(start.instance.id.0.clone()),
                Order::Supersede { .. } => None,
            })
            .collect()
    }

    #[test]
    fn one_holds_the_latest_waits_and_the_one_before_is_superseded() {
        let mut b = Book::default();
        let k = scope("p", "web/shop");
        assert_eq!(granted(&b.claim(&k, &i("a"))), vec!["a"]);
        assert!(b.claim(&k, &i("b")).is_empty());
        let o = b.claim(&k, &i("c"));
        assert_eq!(
            o,
            vec![Order::Supersede {
                instance: i("b"),
                scope: k.clone(),
                by: "c".into()
            }]
        );
        // The superseded instance's end changes nothing.
        assert!(b.release(&k, &i("b")).is_empty());
        assert_eq!(granted(&b.release(&k, &i("a"))), vec!["c"]);
        assert_eq!(b.replaced, 1);
        assert_eq!(granted(&b.release(&k, &i("c"))), Vec::<String>::new());
        assert_eq!(b.len(), 0);
    }

    /// The race of a new claim and the holder's end, in both orders: the
    /// new claim ends up holding the key either way.
    #[test]
    fn a_claim_and_the_holders_end_in_either_order() {
        let k = scope("p", "k");
        let mut b = Book::default();
        b.claim(&k, &i("a"));
        assert!(b.claim(&k, &i("b")).is_empty());
        assert_eq!(granted(&b.release(&k, &i("a"))), vec!["b"]);

        let mut b = Book::default();
        b.claim(&k, &i("a"));
        assert!(b.release(&k, &i("a")).is_empty());
        assert_eq!(granted(&b.claim(&k, &i("b"))), vec!["b"]);
    }

    #[test]
    fn pending_starts_coalesce_and_start_when_the_key_is_free() {
        let k = scope("p", "k");
        let mut b = Book::default();
        let (a, o) = b.admit(&k, start("s1"));
        assert_eq!(
            (a, granted(&o)),
            (Admitted::Started, vec!["s1".to_string()])
        );
        // The started instance's own claim is granted at once.
        assert_eq!(granted(&b.claim(&k, &i("s1"))), vec!["s1"]);
        for n in 2..=5 {
            let (a, o) = b.admit(&k, start(&format!("s{n}")));
            assert_eq!(a, Admitted::Queued);
            assert!(o.is_empty());
        }
        assert_eq!(b.replaced, 3);
        assert_eq!(granted(&b.release(&k, &i("s1"))), vec!["s5"]);
    }

    #[test]
    fn rows_are_written_once_per_key_and_deleted_only_when_stored() {
        let k = scope("p", "k");
        let mut b = Book::default();
        b.claim(&k, &i("a"));
        b.claim(&k, &i("b"));
        let ch = b.changes(Timestamp(5));
        assert_eq!(ch.len(), 1);
        let DedupChange::Put(row) = &ch[0] else {
            panic!("{ch:?}")
        };
        assert_eq!(row.running.as_ref().unwrap().instance, i("a"));
        assert_eq!(row.waiting.as_ref().unwrap().instance, i("b"));
        // A key claimed and released within one round writes nothing.
        let k2 = scope("p", "k2");
        b.claim(&k2, &i("c"));
        b.release(&k2, &i("c"));
        assert!(b.changes(Timestamp(6)).is_empty());
        b.release(&k, &i("b"));
        b.release(&k, &i("a"));
        assert_eq!(
            b.changes(Timestamp(7)),
            vec![DedupChange::Delete(k.clone())]
        );
    }

    #[test]
    fn stored_rows_load_back_with_their_pending_starts() {
        let k = scope("p", "k");
        let mut b = Book::default();
        b.claim(&k, &i("a"));
        b.admit(&k, start("s2"));
        let DedupChange::Put(row) = b.changes(Timestamp(1)).remove(0) else {
            panic!()
        };
        let mut again = Book::default();
        again.load(row);
        let o = again.release(&k, &i("a"));
        assert_eq!(
            o,
            vec![Order::Start {
                scope: k,
                start: Box::new(start("s2"))
            }]
        );
    }
}
