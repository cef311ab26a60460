//! Wake-ups between nodes under partitioned ownership (`node_lease.rs`):
//! a node may write outbox rows addressed to instances in partitions other
//! nodes own (a cross-partition delivery: the outbox row is the receiver's
//! inbox row, durable with the sender's batch). The batch then also sends
//! `NOTIFY windlass_wake` naming those partitions, from inside its
//! transaction, so the notification goes out only if the batch commits.
//! The owners listen ([`WakeListener`]) and read their pending rows
//! (`pending_outbox_in`). Notifications are lost with a broken session, so
//! a listener's owner also polls: [`WakeListener::wait`] returns at the
//! latest after its timeout.

use crate::batch_ops::{Check, Op};
use crate::tls::Dial;
use tokio::sync::mpsc;
use tokio_postgres::Client;
use windlass_store_api::{Batch, OutboxChange, Partition, PartitionSet, StoreResult};

/// The channel wake-ups are sent on.
const CHANNEL: &str = "windlass_wake";

const NOTIFY: &str = "SELECT pg_notify('windlass_wake', $1)";

/// The statement that wakes the owners of the partitions `batch` inserts
/// outbox rows into and `owned` lacks; `None` when there are none. Its
/// payload is `{scope}:` (the store's schema: every schema of a database
/// shares the channel) followed by the partitions, comma-separated.
pub(crate) fn notify_op(batch: &Batch, owned: &PartitionSet, scope: &str) -> Option<Op> {
    let foreign: PartitionSet = batch
        .outbox
        .iter()
        .filter_map(|o| match o {
            OutboxChange::Insert(r) => r.partition(),
            _ => None,
        })
        .filter(|p| !owned.contains(*p))
        .collect();
    if foreign.is_empty() {
        return None;
    }
    let list = foreign
        .iter()
        .map(|p| p.0.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let payload = format!("{scope}:{list}");
    Some(Op::new(NOTIFY, vec![Box::new(payload)], Check::Any))
}

/// The partitions a wake-up's payload names for `scope` (`None`: it is
/// for another schema). A payload without a scope (written before scopes)
/// is taken as for every schema.
fn parse_for(payload: &str, scope: &str) -> Option<PartitionSet> {
    match payload.rsplit_once(':') {
        Some((s, list)) if s == scope => Some(parse(list)),
        Some(_) => None,
        None => Some(parse(payload)),
    }
}

/// The partitions a list names (unreadable parts skipped).
fn parse(payload: &str) -> PartitionSet {
    payload
        .split(',')
        .filter_map(|p| p.trim().parse::<u16>().ok())
        .filter(|p| *p < windlass_store_api::PARTITIONS)
        .map(Partition)
        .collect()
}

/// Receives the wake-ups for some partitions, on a session of its own.
pub struct WakeListener {
    wakes: mpsc::UnboundedReceiver<PartitionSet>,
    partitions: PartitionSet,
    /// Its session ended: no wake-up comes any more.
    closed: bool,
    /// The server process serving its session.
    backend_pid: i32,
    _client: Client,
}

impl WakeListener {
    /// Listens for wake-ups of `partitions` of the schema `scope` on
    /// `target`'s database.
    pub(crate) async fn listen(
        dial: &Dial,
        target: &str,
        partitions: PartitionSet,
        scope: String,
    ) -> StoreResult<WakeListener> {
        let (tx, wakes) = mpsc::unbounded_channel();
        let client = dial
            .listen(target, CHANNEL, move |payload| {
                match parse_for(payload, &scope) {
                    Some(set) => tx.send(set).is_ok(),
                    None => true,
                }
            })
            .await?;
        let backend_pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .map_err(|e| crate::errors::map_pg(e, target))?
            .get(0);
        Ok(WakeListener {
            wakes,
            partitions,
            closed: false,
            backend_pid,
            _client: client,
        })
    }

    /// Whether its session has ended (the server restarted, the connection
    /// broke, the backend was terminated): no wake-up comes any more, so
    /// its owner listens again on a new one ([`PgStore::wake_listener`]).
    /// Known once [`WakeListener::wait`] has seen it.
    ///
    /// [`PgStore::wake_listener`]: crate::PgStore::wake_listener
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The PostgreSQL server process serving its session
    /// (`pg_stat_activity.pid`): what an operator looks for, and what a
    /// test terminates.
    pub fn backend_pid(&self) -> i32 {
        self.backend_pid
    }

    /// Listens for other partitions from now on (after a claim or a
    /// release).
    pub fn set_partitions(&mut self, partitions: PartitionSet) {
        self.partitions = partitions;
    }

    /// Waits for a wake-up of the listened partitions, at most `timeout`:
    /// the partitions woken (with any others already queued), or an empty
    /// set when the time passed without one — poll then, as a wake-up is
    /// lost with a broken session. Once the session is gone this returns
    /// at once, with nothing, and [`WakeListener::is_closed`] says so.
    pub async fn wait(&mut self, timeout: std::time::Duration) -> PartitionSet {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.wakes.recv()).await {
                Ok(Some(woken)) => {
                    let mut mine = woken.intersection(&self.partitions);
                    while let Ok(more) = self.wakes.try_recv() {
                        mine = mine.union(&more.intersection(&self.partitions));
                    }
                    if !mine.is_empty() {
                        return mine;
                    }
                }
                Ok(None) => {
                    self.closed = true;
                    return PartitionSet::none();
                }
                Err(_) => return PartitionSet::none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_partitions_and_skip_what_is_not_one() {
        assert_eq!(parse("1,17,255").to_string(), "1,17,255");
        assert_eq!(parse("3, x,256,-1,4").to_string(), "3-4");
        assert!(parse("").is_empty());
    }

    #[test]
    fn payloads_are_scoped_to_their_schema() {
        let mine = parse_for("s1:1,2", "s1").map(|p| p.to_string());
        assert_eq!(mine.as_deref(), Some("1-2"));
        assert!(parse_for("s2:1,2", "s1").is_none());
        assert_eq!(
            parse_for(":7", "").map(|p| p.to_string()).as_deref(),
            Some("7")
        );
        assert!(parse_for(":7", "s1").is_none());
        // Written before scopes: for everyone.
        let old = parse_for("3,4", "s1").map(|p| p.to_string());
        assert_eq!(old.as_deref(), Some("3-4"));
    }
}
