//! The driver's dedup owner: who holds and who waits for each dedup key of
//! the instance tree, with the runtime's rules (`docs/runtime.md`,
//! "Deduplication"): keys are per process id; the first claim is granted;
//! a claim while the key is held waits, replacing (superseding) the one
//! waiting before it; an instance that ends releases every key it claimed,
//! and the waiting claim, if any, is granted then.

use crate::command::Command;
use std::collections::BTreeMap;

/// Holder and waiter (instance indexes of the tree) of one key.
#[derive(Debug, Default)]
struct Entry {
    holder: Option<usize>,
    waiting: Option<usize>,
}

/// The dedup keys of one driven tree.
#[derive(Debug, Default)]
pub(super) struct DedupBook {
    keys: BTreeMap<(String, String), Entry>,
}

/// A command the book sends to an instance of the tree.
pub(super) type Order = (usize, Command);

impl DedupBook {
    /// Instance `i` of process `process`, named `by` in the history of an
    /// instance it supersedes, claims `key`.
    pub fn claim(&mut self, process: &str, key: &str, i: usize, by: &str) -> Vec<Order> {
        let e = self
            .keys
            .entry((process.to_string(), key.to_string()))
            .or_default();
        let grant = |i| {
            (
                i,
                Command::GrantDedup {
                    key: key.to_string(),
                },
            )
        };
        match (e.holder, e.waiting) {
            (None, _) => {
                e.holder = Some(i);
                vec![grant(i)]
            }
            (Some(h), _) if h == i => vec![grant(i)],
            (Some(_), Some(w)) if w == i => Vec::new(),
            (Some(_), old) => {
                e.waiting = Some(i);
                old.map(|w| {
                    (
                        w,
                        Command::Supersede {
                            key: key.to_string(),
                            by: by.to_string(),
                        },
                    )
                })
                .into_iter()
                .collect()
            }
        }
    }

    /// Instance `i` of process `process` ended (or its claim was refused):
    /// it holds and waits for `key` no more.
    pub fn release(&mut self, process: &str, key: &str, i: usize) -> Vec<Order> {
        let k = (process.to_string(), key.to_string());
        let Some(e) = self.keys.get_mut(&k) else {
            return Vec::new();
        };
        if e.waiting == Some(i) {
            e.waiting = None;
        }
        let mut out = Vec::new();
        if e.holder == Some(i) {
            e.holder = e.waiting.take();
            if let Some(next) = e.holder {
                out.push((
                    next,
                    Command::GrantDedup {
                        key: key.to_string(),
                    },
                ));
            }
        }
        if e.holder.is_none() && e.waiting.is_none() {
            self.keys.remove(&k);
        }
        out
    }
}

/// How the driver names instance `i` of its tree in `InstanceSuperseded`.
pub(super) fn instance_name(i: usize) -> String {
    format!("instance #{i} of the tree")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(orders: &[Order]) -> Vec<usize> {
        orders
            .iter()
            .filter(|(_, c)| matches!(c, Command::GrantDedup { .. }))
            .map(|(i, _)| *i)
            .collect()
    }

    #[test]
    fn first_holds_latest_waits_and_is_granted_on_release() {
        let mut b = DedupBook::default();
        assert_eq!(grants(&b.claim("p", "k", 0, &instance_name(0))), vec![0]);
        assert!(b.claim("p", "k", 1, &instance_name(1)).is_empty());
        let o = b.claim("p", "k", 2, &instance_name(2));
        assert!(matches!(&o[..], [(1, Command::Supersede { .. })]));
        assert!(b.release("p", "k", 1).is_empty());
        assert_eq!(grants(&b.release("p", "k", 0)), vec![2]);
        assert!(b.release("p", "k", 2).is_empty());
        assert!(b.keys.is_empty());
        // Keys are per process.
        assert_eq!(grants(&b.claim("p", "k", 3, &instance_name(3))), vec![3]);
        assert_eq!(grants(&b.claim("q", "k", 4, &instance_name(4))), vec![4]);
    }
}
