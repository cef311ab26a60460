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
/// payload lists the partitions, comma-separated.
pub(crate) fn notify_op(batch: &Batch, owned: &PartitionSet) -> Option<Op> {
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
    let payload = foreign
        .iter()
        .map(|p| p.0.to_string())
        .collect::<Vec<_>>()
        .join(",");
    Some(Op::new(NOTIFY, vec![Box::new(payload)], Check::Any))
}

/// The partitions a wake-up's payload names (unreadable parts skipped).
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
    _client: Client,
}

impl WakeListener {
    /// Listens for wake-ups of `partitions` on `target`'s database.
    pub(crate) async fn listen(
        dial: &Dial,
        target: &str,
        partitions: PartitionSet,
    ) -> StoreResult<WakeListener> {
        let (tx, wakes) = mpsc::unbounded_channel();
        let client = dial
            .listen(target, CHANNEL, move |payload| {
                tx.send(parse(payload)).is_ok()
            })
            .await?;
        Ok(WakeListener {
            wakes,
            partitions,
            _client: client,
        })
    }

    /// Listens for other partitions from now on (after a claim or a
    /// release).
    pub fn set_partitions(&mut self, partitions: PartitionSet) {
        self.partitions = partitions;
    }

    /// Waits for a wake-up of the listened partitions, at most `timeout`:
    /// the partitions woken (with any others already queued), or an empty
    /// set when the time passed without one — poll then, as a wake-up is
    /// lost with a broken session. Once the session is gone this only
    /// sleeps out `timeout`.
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
                    tokio::time::sleep_until(deadline).await;
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
}
