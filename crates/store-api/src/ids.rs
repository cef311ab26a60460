//! Identifiers of instances as the store sees them: an instance id (a
//! business key chosen by the user, or generated) plus a run id (a reset or a
//! cron repeat starts a new run under the same instance id).

use std::fmt;

/// The id of an instance: a user-chosen business key or a generated one.
///
/// Several runs may share one instance id; see [`RunId`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceId(pub String);

/// The id of one run of an instance. A reset or a cron repeat starts a new
/// run under the same [`InstanceId`]. The store treats it as an opaque string
/// except for one rule, the *run order* ([`RunId::run_order`]): new runs are
/// UUIDv7 in their hyphenated lowercase text form, whose byte order is their
/// creation order; the legacy first run [`LEGACY_FIRST_RUN`] (`"1"`, written
/// by versions before run ids were UUIDs) comes before every other run.
///
/// The derived `Ord` is plain byte order (used for keyset paging); compare
/// runs of one instance id with [`RunId::run_order`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(pub String);

/// The run id every run had before run ids were UUIDv7: still read, oldest
/// in the run order.
pub const LEGACY_FIRST_RUN: &str = "1";

/// One run of one instance: the unit that owns a history.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceRef {
    /// The instance id.
    pub id: InstanceId,
    /// The run id.
    pub run: RunId,
}

impl InstanceId {
    /// Wraps a string as an instance id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl RunId {
    /// Wraps a string as a run id.
    pub fn new(run: impl Into<String>) -> Self {
        Self(run.into())
    }
    /// The run id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of the run order of runs of one instance id: the legacy
    /// first run `"1"` first, then every other run in byte order (UUIDv7
    /// text sorts by creation time). The latest run is the greatest.
    pub fn run_order(&self) -> (bool, &str) {
        (self.0 != LEGACY_FIRST_RUN, &self.0)
    }
}

impl InstanceRef {
    /// The run `run` of instance `id`.
    pub fn new(id: impl Into<String>, run: impl Into<String>) -> Self {
        Self {
            id: InstanceId::new(id),
            run: RunId::new(run),
        }
    }

    /// The partition of its instance id (every run of an id is in one).
    pub fn partition(&self) -> windlass_types::Partition {
        windlass_types::Partition::of_instance(&self.id.0)
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for InstanceRef {
    /// Renders as `id/run`, the form used in error messages and logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' run '{}'", self.id, self.run)
    }
}

/// The idempotency key of a job attempt: `{instance}/{run}/{node}/{token}/{attempt}`
/// (node index, token id, 1-based attempt). Stored in outbox rows and given
/// to workers: the format never changes.
pub fn job_key_text(instance: &InstanceRef, node: u32, token: u32, attempt: u32) -> String {
    let mut s = String::with_capacity(instance.id.0.len() + instance.run.0.len() + 24);
    s.push_str(&instance.id.0);
    s.push('/');
    s.push_str(&instance.run.0);
    for n in [node, token, attempt] {
        s.push('/');
        push_decimal(&mut s, n);
    }
    s
}

/// Appends `n` in decimal (without the formatting machinery: every job
/// makes a key).
fn push_decimal(s: &mut String, n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        s.push(char::from(d));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn job_keys_are_instance_run_node_token_attempt() {
        let r = InstanceRef::new("order-7", "r1");
        assert_eq!(job_key_text(&r, 0, 12, 3), "order-7/r1/0/12/3");
        assert_eq!(
            job_key_text(&r, u32::MAX, 1, 1),
            "order-7/r1/4294967295/1/1"
        );
        for n in [0u32, 7, 10, 99, 100, 4_294_967_295] {
            let mut s = String::new();
            push_decimal(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn display_names_id_and_run() {
        let r = InstanceRef::new("order-7", "r1");
        assert_eq!(r.to_string(), "'order-7' run 'r1'");
        assert_eq!(r.id.as_str(), "order-7");
        assert_eq!(r.run.as_str(), "r1");
    }

    #[test]
    fn the_legacy_run_is_oldest_and_uuid_v7_text_sorts_by_time() {
        let legacy = RunId::new(LEGACY_FIRST_RUN);
        // Two UUIDv7 of 2024 and 2025 (48-bit millisecond prefix).
        let older = RunId::new("018cc251-f400-7000-8000-000000000000");
        let newer = RunId::new("01941f29-7c00-7000-8000-000000000000");
        assert!(legacy.run_order() < older.run_order());
        assert!(older.run_order() < newer.run_order());
        // Byte order alone would put "1" last.
        assert!(legacy > newer);
    }
}
