//! Ownership: every key the runtime decides on (instance ids, message name
//! and correlation key, dedup keys, schedule ids) maps onto one of
//! [`PARTITIONS`] fixed virtual partitions, and each partition has exactly
//! one writer (a shard today, a node holding its lease later).
//!
//! The mapping is specified over bytes, so every process, every version and
//! every store backend (SQLite, PostgreSQL) computes the same partition:
//!
//! 1. the bytes hashed are one *kind byte* ([`KeyKind`]) followed by the
//!    key's parts; a single-part key is its UTF-8 bytes, a key of several
//!    parts writes each as a 4-byte little-endian byte length followed by its
//!    UTF-8 bytes (so `("ab", "c")` and `("a", "bc")` differ);
//! 2. the hash is 64-bit FNV-1a (offset basis `0xcbf29ce484222325`, prime
//!    `0x100000001b3`) over those bytes;
//! 3. the partition is the hash modulo [`PARTITIONS`].
//!
//! A partition is served by shard `partition % shards`
//! ([`Partition::shard`]). [`PARTITIONS`] never changes for the life of a
//! database: persisted or leased partitions (PostgreSQL scale-out) would
//! otherwise move under their owners. The fixed test vectors below make any
//! change to the mapping fail the build's tests.

/// The number of virtual partitions. Fixed for the life of a database:
/// never change it.
pub const PARTITIONS: u16 = 256;

/// One virtual partition, `0..PARTITIONS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition(pub u16);

/// What a key names: the first byte hashed, so equal strings of different
/// kinds (`instance:x`, `message:x`) land on unrelated partitions. The byte
/// values are part of the stored mapping and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum KeyKind {
    /// An instance id (every run of it).
    Instance = 1,
    /// A message name with its correlation key.
    Message = 2,
    /// A dedup key of one process.
    Dedup = 3,
    /// A schedule id.
    Schedule = 4,
}

impl Partition {
    /// The shard (of `shards`) that serves this partition: `partition %
    /// shards`; shard 0 when `shards` is 0 or 1.
    pub fn shard(self, shards: usize) -> usize {
        if shards <= 1 {
            return 0;
        }
        usize::from(self.0) % shards
    }

    /// The partition of an instance id (all its runs).
    pub fn of_instance(id: &str) -> Partition {
        Self::of_parts(KeyKind::Instance, &[id])
    }

    /// The partition of a message correlation: its name and correlation key.
    pub fn of_message(name: &str, correlation_key: &str) -> Partition {
        Self::of_parts(KeyKind::Message, &[name, correlation_key])
    }

    /// The partition of a dedup key of the process `process_id`.
    pub fn of_dedup(process_id: &str, key: &str) -> Partition {
        Self::of_parts(KeyKind::Dedup, &[process_id, key])
    }

    /// The partition of a schedule id.
    pub fn of_schedule(id: &str) -> Partition {
        Self::of_parts(KeyKind::Schedule, &[id])
    }

    /// The partition of a key of `kind` made of `parts` (the rule in the
    /// module documentation).
    pub fn of_parts(kind: KeyKind, parts: &[&str]) -> Partition {
        let mut h = Fnv1a64::new();
        h.write(&[kind as u8]);
        if let [single] = parts {
            h.write(single.as_bytes());
        } else {
            for part in parts {
                // Keys are bounded far below 4 GiB (ids 1 KiB, values
                // 4 MiB); a longer part saturates rather than wraps.
                let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
                h.write(&len.to_le_bytes());
                h.write(part.as_bytes());
            }
        }
        Partition((h.finish() % u64::from(PARTITIONS)) as u16)
    }
}

/// 64-bit FNV-1a, as specified by Fowler, Noll and Vo.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a64(u64);

impl Fnv1a64 {
    /// The FNV-1a 64 offset basis.
    pub const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    /// The FNV 64 prime.
    pub const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// A hasher at the offset basis.
    pub fn new() -> Self {
        Fnv1a64(Self::OFFSET_BASIS)
    }

    /// Feeds bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// The hash of everything fed so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a64 {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fnv(bytes: &[u8]) -> u64 {
        let mut h = Fnv1a64::new();
        h.write(bytes);
        h.finish()
    }

    #[test]
    fn fnv1a_matches_the_published_vectors() {
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv(b"foobar"), 0x8594_4171_f739_67e8);
    }

    /// The mapping is stored (leases, persisted partitions): these values
    /// must never change. A failure here means the mapping moved. The
    /// expected values were computed independently of this code (a
    /// reference script over the byte rule of the module documentation).
    #[test]
    fn partitions_are_fixed_test_vectors() {
        let cases: [(Partition, u16); 8] = [
            (Partition::of_instance(""), 0x2c),
            (Partition::of_instance("order-17"), 0x3b),
            (Partition::of_instance("renew-web/shop"), 0x83),
            (Partition::of_instance("p/1/call/3"), 0xab),
            (Partition::of_message("paid", "order-7"), 0xb4),
            (Partition::of_message("", ""), 0xe5),
            (Partition::of_dedup("certs", "web/shop"), 0x0d),
            (Partition::of_schedule("nightly"), 0x44),
        ];
        let got: Vec<u16> = cases.iter().map(|(p, _)| p.0).collect();
        let want: Vec<u16> = cases.iter().map(|(_, w)| *w).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn kinds_and_part_boundaries_separate_keys() {
        let h = |kind: KeyKind, parts: &[&str]| {
            let mut h = Fnv1a64::new();
            h.write(&[kind as u8]);
            if let [one] = parts {
                h.write(one.as_bytes());
            } else {
                for p in parts {
                    h.write(&(p.len() as u32).to_le_bytes());
                    h.write(p.as_bytes());
                }
            }
            h.finish()
        };
        assert_ne!(h(KeyKind::Instance, &["x"]), h(KeyKind::Schedule, &["x"]));
        assert_ne!(
            h(KeyKind::Message, &["ab", "c"]),
            h(KeyKind::Message, &["a", "bc"])
        );
    }

    #[test]
    fn shards_take_partitions_modulo_and_spread() {
        assert_eq!(Partition(255).shard(4), 3);
        assert_eq!(Partition(255).shard(1), 0);
        assert_eq!(Partition(255).shard(0), 0);
        let mut seen = [0usize; 4];
        for i in 0..400 {
            seen[Partition::of_instance(&format!("i{i}")).shard(4)] += 1;
        }
        assert!(seen.iter().all(|n| *n > 50), "{seen:?}");
    }

    #[test]
    fn every_partition_is_in_range() {
        for i in 0..2000 {
            assert!(Partition::of_instance(&format!("k{i}")).0 < PARTITIONS);
        }
    }
}
