//! The publisher: publishes the messages thrown by message throw and end
//! events (`Effect::PublishMessage`) after the commit that recorded them,
//! through [`RuntimeHandle::publish`](crate::RuntimeHandle::publish) like
//! any publication (correlated, starting an instance, or buffered), and
//! broadcasts the signals thrown by signal throw and end events
//! (`Effect::BroadcastSignal`) through
//! [`RuntimeHandle::broadcast`](crate::RuntimeHandle::broadcast); then it
//! tells the throwing instance's shard, which completes the `publish` or
//! `broadcast` outbox row (`outbox/publish.rs`, `outbox/broadcast.rs`) in
//! its next commit.
//!
//! A publication runs in its own task, owned by the service and aborted
//! when the runtime shuts down, so a slow correlation never holds up a
//! shard (the correlator may deliver into the very shard that threw). A
//! failed publication is tried again after a short backoff, up to
//! [`MAX_ATTEMPTS`] times; then it is logged and its row stays pending for
//! the next start. Every retry, and the recovery of a pending row after a
//! crash, publishes with the same message id (made from the run and the
//! message's number), so the correlator takes it at most once. A broadcast
//! is made exactly once the same way: its row key is its id, and each
//! shard's delivery and each start writes a marker row
//! (`outbox/broadcast_seen.rs`, `broadcast_once.rs`) that a retry — or the
//! recovery of a pending row, with the markers recovery read — skips; the
//! markers are completed with the row.

use crate::error::RuntimeError;
use crate::outbox::broadcast_seen::Seen;
use crate::recovery::Markers;
use crate::runtime::WeakHandle;
use crate::shard::msg::ShardMsg;
use crate::shared::Shared;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use windlass_engine::driver::Message;
use windlass_store_api::{InstanceRef, Store};
use windlass_types::Vars;

/// Publications tried before a thrown message is left for the next start.
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// What an instance threw.
#[derive(Debug, Clone)]
pub(crate) enum Thrown {
    /// A message, with its message id.
    Message(Message),
    /// A broadcast signal.
    Signal {
        /// The signal name.
        name: String,
        /// Its variables.
        vars: Vars,
    },
}

/// A thrown message or signal to publish.
pub(crate) struct Publish {
    /// The instance that threw it.
    pub instance: InstanceRef,
    /// Its outbox row.
    pub key: String,
    /// What to publish.
    pub thrown: Thrown,
}

/// The service's state.
pub(crate) struct Publisher<S> {
    shared: Arc<Shared<S>>,
    handle: WeakHandle<S>,
    /// Markers of broadcasts a crash interrupted, by row key, taken by the
    /// broadcast they belong to.
    markers: Arc<Mutex<Markers>>,
}

impl<S: Store> Publisher<S> {
    /// A publisher publishing through `handle`, with the broadcast markers
    /// recovery found.
    pub fn new(shared: Arc<Shared<S>>, handle: WeakHandle<S>, markers: Markers) -> Self {
        Publisher {
            shared,
            handle,
            markers: Arc::new(Mutex::new(markers)),
        }
    }

    /// Runs until `cancel`: one task per publication.
    pub async fn run(self, mut rx: mpsc::UnboundedReceiver<Publish>, cancel: CancellationToken) {
        let mut tasks = JoinSet::new();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                next = rx.recv() => match next {
                    Some(p) => {
                        let (shared, handle) = (self.shared.clone(), self.handle.clone());
                        let recovered = match &p.thrown {
                            Thrown::Signal { .. } => self
                                .markers
                                .lock()
                                .map(|mut m| m.remove(&p.key).unwrap_or_default())
                                .unwrap_or_default(),
                            Thrown::Message(_) => Vec::new(),
                        };
                        tasks.spawn(publish(shared, handle, p, recovered));
                    }
                    None => break,
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        tasks.shutdown().await;
    }
}

/// Publishes `p` (a broadcast with the markers `recovered` found), retrying,
/// then tells its shard.
async fn publish<S: Store>(
    shared: Arc<Shared<S>>,
    handle: WeakHandle<S>,
    p: Publish,
    recovered: Vec<Seen>,
) {
    let Publish {
        instance,
        key,
        thrown,
    } = p;
    let mut attempt = 0;
    let mut markers = Vec::new();
    let published = loop {
        attempt += 1;
        // Not kept across the wait below, so a shutdown is not held up.
        let Some(h) = handle.upgrade() else {
            return;
        };
        let result = match &thrown {
            Thrown::Message(message) => h.publish(message.clone()).await.map(|outcome| {
                tracing::debug!(%instance, key, ?outcome, "thrown message published");
            }),
            Thrown::Signal { name, vars } => h
                .broadcast_once(&key, name, vars.clone(), &recovered)
                .await
                .map(|done| {
                    tracing::debug!(%instance, key, taken = done.taken, "thrown signal broadcast");
                    markers = done.markers;
                }),
        };
        match result {
            Ok(()) => break true,
            Err(RuntimeError::ShuttingDown) => return,
            Err(e) if attempt < MAX_ATTEMPTS => {
                tracing::warn!(%instance, key, attempt, "thrown message or signal not published yet: {e}");
                drop(h);
                tokio::time::sleep(crate::shard::redrive::backoff(attempt)).await;
            }
            Err(e) => {
                tracing::error!(
                    %instance,
                    key,
                    "thrown message or signal not published after {attempt} attempts: {e}; its \
                     outbox row stays pending for the next start"
                );
                break false;
            }
        }
    };
    let id = instance.id.clone();
    shared.route(
        &id,
        ShardMsg::Published {
            instance,
            key,
            published,
            markers,
        },
    );
}
