//! What a node's supervisor claims and gives up in one round
//! (`server_node.rs`): the partitions of dead nodes at once, partitions
//! nobody owned for a whole lease, and an even share between the live
//! nodes.
//!
//! The share is `fair` = 256 / live nodes, rounded up, and a node is
//! *short* when it owns at least two fewer (one fewer is what rounding
//! leaves, and no reason to move instances). A short node claims
//! partitions nobody owns at once, up to its share (those of its
//! `--partitions` first), instead of waiting a lease. While the short
//! nodes lack more than the free partitions make up, a node above its
//! share gives the excess up; while they lack more than the free
//! partitions and that excess make up, nodes at their share give one up
//! each, in name order, only as many as needed. Those a node did not claim
//! at start go first, highest first. Everyone computes from the owners
//! table as it sees it, so a node that comes back, or a new one, gets its
//! share within a few rounds of the others' supervisors, and the shares
//! stay put once no node is short (with 3 nodes: 86, 85, 85). Partitions
//! unowned for a whole lease, which any node claims, are left to the short
//! nodes while there are any, for [`STALE_LEASES`] leases.

use std::collections::HashMap;
use windlass_store_api::{Partition, PartitionSet};
use windlass_store_postgres::PartitionOwner;

/// How many partitions there are.
const PARTITIONS: usize = 256;

/// After this many leases unowned, any node claims a partition, even
/// while a short node should (its supervisor may be failing).
pub const STALE_LEASES: u32 = 3;

/// What one round sees.
pub struct Round<'a> {
    /// This node's name.
    pub me: &'a str,
    /// The owners table.
    pub owners: &'a [PartitionOwner],
    /// The live nodes' names (this one included while its lease holds).
    pub live: &'a [String],
    /// Partitions nobody owns that stayed so for a whole lease.
    pub unowned_long: PartitionSet,
    /// Those of them unowned for [`STALE_LEASES`] leases.
    pub unowned_stale: PartitionSet,
    /// The partitions this node claimed at start (given up last).
    pub own_start: PartitionSet,
}

/// What to do in one round.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Partitions to claim (then adopt what was got).
    pub claim: PartitionSet,
    /// Partitions to give up (the runtime first, then the store).
    pub release: PartitionSet,
}

/// The round's plan.
pub fn plan(r: &Round<'_>) -> Plan {
    let mut owned = PartitionSet::none();
    let mut dead = PartitionSet::none();
    let mut held: HashMap<&str, usize> = HashMap::new();
    let mut mine = PartitionSet::none();
    for o in r.owners {
        owned.insert(o.partition);
        if o.live {
            *held.entry(o.node.as_str()).or_default() += 1;
            if o.node == r.me {
                mine.insert(o.partition);
            }
        } else if o.node != r.me {
            dead.insert(o.partition);
        }
    }
    let nodes = r.live.len().max(1);
    let fair = PARTITIONS.div_ceil(nodes);
    let have = mine.len();
    let short = |held: usize| held + 1 < fair;
    let others_short: Vec<usize> = r
        .live
        .iter()
        .filter(|n| n.as_str() != r.me)
        .map(|n| held.get(n.as_str()).copied().unwrap_or(0))
        .filter(|held| short(*held))
        .collect();
    // Partitions unowned for a lease are left to short nodes while there
    // are any (a node just started waits a lease before its first round).
    let mut claim = if others_short.is_empty() || short(have) {
        dead.union(&r.unowned_long)
    } else {
        dead.union(&r.unowned_stale)
    };
    if short(have) {
        let unowned = PartitionSet::all().difference(&owned);
        let (ours, others) = (
            unowned.intersection(&r.own_start),
            unowned.difference(&r.own_start),
        );
        let ours_first = ours.iter().chain(others.iter());
        let room = fair - have;
        for p in ours_first.take(room) {
            claim.insert(p);
        }
    }
    // What the short nodes lack beyond the partitions free for them to
    // claim (which they do at once).
    let lacking: usize = others_short.iter().map(|held| fair - held).sum();
    let free = PartitionSet::all().difference(&owned).len();
    let excess: usize = r
        .live
        .iter()
        .map(|n| held.get(n.as_str()).copied().unwrap_or(0))
        .filter(|held| *held > fair)
        .map(|held| held - fair)
        .sum();
    // Nodes at their share give one each, in name order, only as many as
    // the free partitions and the others' excess leave lacking.
    let need = lacking.saturating_sub(free + excess);
    let at_share_before_me = r
        .live
        .iter()
        .filter(|n| n.as_str() < r.me)
        .filter(|n| held.get(n.as_str()).copied().unwrap_or(0) == fair)
        .count();
    let give = match have.checked_sub(fair) {
        Some(0) if at_share_before_me < need => 1,
        Some(over) if over > 0 && lacking > free => over,
        _ => 0,
    };
    let mut release = PartitionSet::none();
    let taken: Vec<Partition> = mine.difference(&r.own_start).iter().collect();
    let started: Vec<Partition> = mine.intersection(&r.own_start).iter().collect();
    let order = taken.into_iter().rev().chain(started.into_iter().rev());
    for p in order.take(give) {
        release.insert(p);
    }
    Plan { claim, release }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(p: Partition, node: &str, live: bool) -> PartitionOwner {
        PartitionOwner {
            partition: p,
            node: node.into(),
            address: None,
            epoch: 1,
            live,
        }
    }

    /// The owners table for `shares` (node, its partitions, live).
    fn table(shares: &[(&str, PartitionSet, bool)]) -> Vec<PartitionOwner> {
        let mut out = Vec::new();
        for (node, set, live) in shares {
            out.extend(set.iter().map(|p| owner(p, node, *live)));
        }
        out.sort_by_key(|o| o.partition.0);
        out
    }

    fn live(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn round<'a>(
        me: &'a str,
        owners: &'a [PartitionOwner],
        live: &'a [String],
        own_start: PartitionSet,
    ) -> Plan {
        plan(&Round {
            me,
            owners,
            live,
            unowned_long: PartitionSet::none(),
            unowned_stale: PartitionSet::none(),
            own_start,
        })
    }

    #[test]
    fn a_node_joining_a_full_one_gets_half_in_two_rounds() {
        let owners = table(&[("a", PartitionSet::all(), true)]);
        let nodes = live(&["a", "b"]);
        let a = round("a", &owners, &nodes, PartitionSet::all());
        assert!(a.claim.is_empty());
        assert_eq!(a.release, PartitionSet::range(128, 255));
        // b owns nothing and nothing is free yet.
        assert_eq!(
            round("b", &owners, &nodes, PartitionSet::none()),
            Plan::default()
        );
        // Once a gave them up, b claims them at once.
        let owners = table(&[("a", PartitionSet::range(0, 127), true)]);
        let b = round("b", &owners, &nodes, PartitionSet::none());
        assert_eq!(b.claim, PartitionSet::range(128, 255));
        assert!(b.release.is_empty());
        let a = round("a", &owners, &nodes, PartitionSet::all());
        assert_eq!(a, Plan::default());
    }

    #[test]
    fn taken_over_partitions_go_back_first_and_even_shares_stay_put() {
        // a took b's half over while b was down; b is back with none.
        let owners = table(&[("a", PartitionSet::all(), true)]);
        let nodes = live(&["a", "b"]);
        let a = round("a", &owners, &nodes, PartitionSet::range(100, 227));
        // What a did not claim at start goes first, highest first.
        let expected = PartitionSet::range(0, 99).union(&PartitionSet::range(228, 255));
        assert_eq!(a.release, expected);
        // Three nodes at 86, 85, 85: nothing moves, and nobody short of
        // one claims free partitions at once.
        let owners = table(&[
            ("a", PartitionSet::range(0, 85), true),
            ("b", PartitionSet::range(86, 170), true),
            ("c", PartitionSet::range(171, 255), true),
        ]);
        let nodes = live(&["a", "b", "c"]);
        for me in ["a", "b", "c"] {
            assert_eq!(
                round(me, &owners, &nodes, PartitionSet::none()),
                Plan::default()
            );
        }
    }

    #[test]
    fn a_third_node_gets_its_share_from_both() {
        let owners = table(&[
            ("a", PartitionSet::range(0, 127), true),
            ("b", PartitionSet::range(128, 255), true),
        ]);
        let nodes = live(&["a", "b", "c"]);
        let a = round("a", &owners, &nodes, PartitionSet::range(0, 127));
        assert_eq!(a.release, PartitionSet::range(86, 127));
        let b = round("b", &owners, &nodes, PartitionSet::range(128, 255));
        assert_eq!(b.release, PartitionSet::range(214, 255));
        // c claims what is free, up to its share.
        let owners = table(&[
            ("a", PartitionSet::range(0, 85), true),
            ("b", PartitionSet::range(128, 213), true),
        ]);
        let c = round("c", &owners, &nodes, PartitionSet::none());
        let free = PartitionSet::range(86, 127).union(&PartitionSet::range(214, 255));
        assert_eq!(c.claim, free);
        // At 86, 86, 84 the two full ones give one each; c takes both.
        let owners = table(&[
            ("a", PartitionSet::range(0, 85), true),
            ("b", PartitionSet::range(86, 171), true),
            ("c", PartitionSet::range(172, 255), true),
        ]);
        let a = round("a", &owners, &nodes, PartitionSet::range(0, 127));
        assert_eq!(a.release, PartitionSet::range(85, 85));
        let b = round("b", &owners, &nodes, PartitionSet::range(128, 255));
        assert_eq!(b.release, PartitionSet::range(127, 127));
        let owners = table(&[
            ("a", PartitionSet::range(0, 84), true),
            ("b", PartitionSet::range(86, 126), true),
            ("b", PartitionSet::range(128, 171), true),
            ("c", PartitionSet::range(172, 255), true),
        ]);
        // Lacking one beyond what is free: only a node at its share gives.
        let lacking_one = table(&[
            ("a", PartitionSet::range(0, 85), true),
            ("b", PartitionSet::range(86, 170), true),
            ("c", PartitionSet::range(171, 254), true),
        ]);
        let a = round("a", &lacking_one, &nodes, PartitionSet::none());
        assert_eq!(a.release, PartitionSet::range(85, 85));
        let b = round("b", &lacking_one, &nodes, PartitionSet::none());
        assert!(b.release.is_empty());
        // a and b, one short, wait; c, two short, claims both at once.
        assert!(
            round("a", &owners, &nodes, PartitionSet::none())
                .claim
                .is_empty()
        );
        assert!(
            round("b", &owners, &nodes, PartitionSet::none())
                .claim
                .is_empty()
        );
        let c = round("c", &owners, &nodes, PartitionSet::none());
        assert_eq!(
            c.claim,
            PartitionSet::range(85, 85).union(&PartitionSet::range(127, 127))
        );
    }

    #[test]
    fn dead_nodes_partitions_are_claimed_at_once_whatever_the_share() {
        let owners = table(&[
            ("a", PartitionSet::range(0, 127), true),
            ("b", PartitionSet::range(128, 255), false),
        ]);
        let nodes = live(&["a"]);
        let a = round("a", &owners, &nodes, PartitionSet::range(0, 127));
        assert_eq!(a.claim, PartitionSet::range(128, 255));
        assert!(a.release.is_empty());
        // Partitions unowned for a whole lease are claimed by anyone, but
        // left to a short node while there is one, until they are stale.
        let owners = table(&[
            ("a", PartitionSet::range(0, 127), true),
            ("b", PartitionSet::range(128, 199), true),
            ("b", PartitionSet::range(201, 255), true),
        ]);
        let long = PartitionSet::range(200, 200);
        let a_plan = |nodes: &[String], stale: PartitionSet| {
            plan(&Round {
                me: "a",
                owners: &owners,
                live: nodes,
                unowned_long: long,
                unowned_stale: stale,
                own_start: PartitionSet::none(),
            })
        };
        assert_eq!(a_plan(&live(&["a", "b"]), PartitionSet::none()).claim, long);
        let with_c = live(&["a", "b", "c"]);
        assert!(a_plan(&with_c, PartitionSet::none()).claim.is_empty());
        assert_eq!(a_plan(&with_c, long).claim, long);
    }
}
