//! A set of [`Partition`]s: what one node owns (the partitions whose
//! leases it holds), what a recovery read is limited to, what a broadcast
//! has already reached.
//!
//! It is a fixed bit set of [`PARTITIONS`] bits, so copying and testing
//! membership cost nothing. Its text form lists ranges and single
//! partitions, ascending and comma-separated (`0-63,128,200-255`); `all`
//! and `none` name the full and the empty set. [`PartitionSet::share`]
//! cuts the partitions into equal contiguous shares, one per node.

use crate::partition::{PARTITIONS, Partition};
use std::fmt;
use std::str::FromStr;

const WORDS: usize = PARTITIONS as usize / 64;

/// A set of partitions. See the module documentation.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PartitionSet([u64; WORDS]);

impl PartitionSet {
    /// No partition.
    pub const fn none() -> PartitionSet {
        PartitionSet([0; WORDS])
    }

    /// Every partition.
    pub const fn all() -> PartitionSet {
        PartitionSet([u64::MAX; WORDS])
    }

    /// The partitions `first..=last` (empty when `first > last`; `last`
    /// past the end stops at the last partition).
    pub fn range(first: u16, last: u16) -> PartitionSet {
        let mut set = PartitionSet::none();
        for p in first..=last.min(PARTITIONS - 1) {
            set.insert(Partition(p));
        }
        set
    }

    /// Share `index` of `shares` equal contiguous shares (`0..shares`): the
    /// partitions node `index` of `shares` nodes owns when they split the
    /// partitions evenly. Shares differ in size by at most one partition;
    /// `index >= shares` is empty, `shares == 0` is empty.
    pub fn share(index: u16, shares: u16) -> PartitionSet {
        if shares == 0 || index >= shares {
            return PartitionSet::none();
        }
        let bound = |i: u16| (u32::from(i) * u32::from(PARTITIONS) / u32::from(shares)) as u16;
        let (first, end) = (bound(index), bound(index + 1));
        if end == first {
            return PartitionSet::none();
        }
        PartitionSet::range(first, end - 1)
    }

    /// Adds `p`.
    pub fn insert(&mut self, p: Partition) {
        if let Some(word) = self.0.get_mut(usize::from(p.0 / 64)) {
            *word |= 1 << (p.0 % 64);
        }
    }

    /// Removes `p`.
    pub fn remove(&mut self, p: Partition) {
        if let Some(word) = self.0.get_mut(usize::from(p.0 / 64)) {
            *word &= !(1 << (p.0 % 64));
        }
    }

    /// Whether `p` is in the set.
    pub fn contains(&self, p: Partition) -> bool {
        self.0
            .get(usize::from(p.0 / 64))
            .is_some_and(|word| word & (1 << (p.0 % 64)) != 0)
    }

    /// Whether instance id `id`'s partition is in the set.
    pub fn has_instance(&self, id: &str) -> bool {
        self.contains(Partition::of_instance(id))
    }

    /// How many partitions it holds.
    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// Whether it holds every partition.
    pub fn is_all(&self) -> bool {
        self.0.iter().all(|w| *w == u64::MAX)
    }

    /// The partitions in both.
    pub fn intersection(&self, other: &PartitionSet) -> PartitionSet {
        let mut out = *self;
        for (w, o) in out.0.iter_mut().zip(other.0) {
            *w &= o;
        }
        out
    }

    /// The partitions in either.
    pub fn union(&self, other: &PartitionSet) -> PartitionSet {
        let mut out = *self;
        for (w, o) in out.0.iter_mut().zip(other.0) {
            *w |= o;
        }
        out
    }

    /// The partitions in this set and not in `other`.
    pub fn difference(&self, other: &PartitionSet) -> PartitionSet {
        let mut out = *self;
        for (w, o) in out.0.iter_mut().zip(other.0) {
            *w &= !o;
        }
        out
    }

    /// The partitions, ascending.
    pub fn iter(&self) -> impl Iterator<Item = Partition> + '_ {
        (0..PARTITIONS).map(Partition).filter(|p| self.contains(*p))
    }
}

impl FromIterator<Partition> for PartitionSet {
    fn from_iter<I: IntoIterator<Item = Partition>>(iter: I) -> PartitionSet {
        let mut set = PartitionSet::none();
        for p in iter {
            set.insert(p);
        }
        set
    }
}

impl fmt::Display for PartitionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        if self.is_all() {
            return f.write_str("all");
        }
        let mut first = true;
        let mut p = 0;
        while p < PARTITIONS {
            if !self.contains(Partition(p)) {
                p += 1;
                continue;
            }
            let start = p;
            while p + 1 < PARTITIONS && self.contains(Partition(p + 1)) {
                p += 1;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == p {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{p}")?;
            }
            p += 1;
        }
        Ok(())
    }
}

impl fmt::Debug for PartitionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PartitionSet({self})")
    }
}

/// Why a partition set's text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("partition set '{text}': {reason}")]
pub struct PartitionSetError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for PartitionSet {
    type Err = PartitionSetError;

    /// Reads `all`, `none`, or comma-separated partitions and inclusive
    /// ranges (`0-63,128`), each within `0..PARTITIONS`.
    fn from_str(text: &str) -> Result<PartitionSet, PartitionSetError> {
        let fail = |reason: String| PartitionSetError {
            text: text.to_string(),
            reason,
        };
        match text.trim() {
            "all" => return Ok(PartitionSet::all()),
            "none" => return Ok(PartitionSet::none()),
            "" => return Err(fail("empty (write 'none' for no partition)".into())),
            _ => {}
        }
        let number = |s: &str| -> Result<u16, PartitionSetError> {
            match s.trim().parse::<u16>() {
                Ok(n) if n < PARTITIONS => Ok(n),
                Ok(n) => Err(fail(format!(
                    "partition {n} is out of range (0-{})",
                    PARTITIONS - 1
                ))),
                Err(_) => Err(fail(format!("'{}' is not a partition number", s.trim()))),
            }
        };
        let mut set = PartitionSet::none();
        for part in text.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (number(a)?, number(b)?);
                    if a > b {
                        return Err(fail(format!("range '{}' runs backwards", part.trim())));
                    }
                    set = set.union(&PartitionSet::range(a, b));
                }
                None => set.insert(Partition(number(part)?)),
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_every_partition_exactly_once() {
        for shares in 1..=7u16 {
            let mut seen = PartitionSet::none();
            for i in 0..shares {
                let share = PartitionSet::share(i, shares);
                assert!(seen.intersection(&share).is_empty(), "{i} of {shares}");
                let expected = usize::from(PARTITIONS) / usize::from(shares);
                assert!(share.len() == expected || share.len() == expected + 1);
                seen = seen.union(&share);
            }
            assert!(seen.is_all(), "{shares} shares");
        }
        assert!(PartitionSet::share(3, 3).is_empty());
        assert!(PartitionSet::share(0, 0).is_empty());
        assert_eq!(PartitionSet::share(1, 2).to_string(), "128-255");
    }

    #[test]
    fn text_form_round_trips() {
        for text in ["all", "none", "0", "0-63,128,200-255", "5,7,9-10"] {
            let set: PartitionSet = text.parse().unwrap();
            assert_eq!(set.to_string(), text);
        }
        let set: PartitionSet = " 3 , 1-2 ".parse().unwrap();
        assert_eq!(set.to_string(), "1-3");
        assert_eq!(
            "0-255".parse::<PartitionSet>().unwrap(),
            PartitionSet::all()
        );
    }

    #[test]
    fn bad_text_names_what_is_wrong() {
        let err = |t: &str| t.parse::<PartitionSet>().unwrap_err().to_string();
        assert_eq!(
            err("0-300"),
            "partition set '0-300': partition 300 is out of range (0-255)"
        );
        assert_eq!(
            err("9-3"),
            "partition set '9-3': range '9-3' runs backwards"
        );
        assert_eq!(
            err("1,x"),
            "partition set '1,x': 'x' is not a partition number"
        );
        assert!(err("").contains("empty"));
    }

    #[test]
    fn membership_and_set_operations() {
        let mut a = PartitionSet::range(0, 9);
        a.remove(Partition(3));
        assert_eq!(a.len(), 9);
        assert!(!a.contains(Partition(3)) && a.contains(Partition(9)));
        let b = PartitionSet::range(8, 20);
        assert_eq!(a.intersection(&b).to_string(), "8-9");
        assert_eq!(a.difference(&b).to_string(), "0-2,4-7");
        assert_eq!(a.union(&b).to_string(), "0-2,4-20");
        let id = "order-42";
        let only: PartitionSet = [Partition::of_instance(id)].into_iter().collect();
        assert!(only.has_instance(id) && only.len() == 1);
        assert_eq!(only.iter().count(), 1);
    }
}
