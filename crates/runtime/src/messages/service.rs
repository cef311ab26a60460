//! The correlator task: the one writer of the message table. Publications
//! from the handle and subscription notices from the shards arrive on one
//! channel and are applied in order, so a message and a subscription for
//! the same (name, key) can never miss each other.
//!
//! A delivery is a [`ShardMsg::Deliver`] to the instance's shard, which
//! decides `Command::CorrelateMessage` and writes the message row's change
//! (consume a buffered row, or record a fresh message's id) in the same
//! batch as `MessageCorrelated`: a message is consumed exactly when its
//! correlation commits. The shard answers with
//! [`ServiceMsg::Delivered`]; a refusal (the subscription closed meanwhile:
//! an event-based gateway or boundary event fired first, the instance
//! ended) offers the message to the next subscription or buffers it again,
//! so a refused message is never lost. A publication is answered once its
//! outcome is durable: correlated (committed) or buffered (its row
//! committed).

use super::book::{Book, Held, SubRef, Topic};
use super::starts::{StartIndex, Trigger};
use super::{PublishOutcome, Routed, ServiceMsg};
use crate::error::{RuntimeError, RuntimeResult};
use crate::shard::msg::{Delivery, ShardMsg};
use crate::shared::Shared;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use windlass_engine::driver::Message;
use windlass_store_api::{Batch, MessageChange, MessageRow, Store};
use windlass_types::{Timestamp, Vars};

/// How often (clock time) expired messages are dropped from memory and
/// purged from the store.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// At most this many notices are applied before buffered publications are
/// committed.
const ROUND_CAP: usize = 4096;

/// Who waits for a publication's outcome.
type Reply = oneshot::Sender<RuntimeResult<Routed>>;

/// Answers a publication with its outcome.
fn answer(reply: Reply, outcome: RuntimeResult<PublishOutcome>) {
    let _ = reply.send(outcome.map(Routed::Done));
}

/// A delivery sent to a shard, not answered yet.
struct InFlight {
    held: Held,
    sub: SubRef,
    reply: Option<Reply>,
}

/// The correlator's state and context.
pub(crate) struct Service<S> {
    shared: Arc<Shared<S>>,
    book: Book,
    starts: StartIndex,
    /// The stored definitions' start events are indexed (at the first
    /// publication or broadcast).
    starts_loaded: bool,
    inflight: HashMap<u64, InFlight>,
    next_delivery: u64,
    /// Fresh publications to buffer in the next commit.
    to_buffer: Vec<(Held, Reply)>,
    /// Purge expired rows in the next commit.
    purge: Option<Timestamp>,
    next_sweep: Timestamp,
    retention: Duration,
}

impl<S: Store> Service<S> {
    /// A correlator over `shared`, remembering consumed message ids for
    /// `retention` after consumption (or until their expiry, if later).
    pub fn new(shared: Arc<Shared<S>>, retention: Duration) -> Self {
        Service {
            shared,
            book: Book::default(),
            starts: StartIndex::default(),
            starts_loaded: false,
            inflight: HashMap::new(),
            next_delivery: 0,
            to_buffer: Vec::new(),
            purge: None,
            next_sweep: Timestamp(i64::MIN),
            retention,
        }
    }

    /// Loads the message table, then applies what arrives until `cancel`
    /// fires. Publications still waiting then are answered `Closed`.
    pub async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<ServiceMsg>,
        cancel: CancellationToken,
    ) {
        if let Err(e) = self.load().await {
            tracing::error!("message correlator: cannot load buffered messages: {e}");
        }
        loop {
            let first = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                m = rx.recv() => match m {
                    Some(m) => m,
                    None => break,
                },
            };
            self.take(first).await;
            let mut n = 1;
            while n < ROUND_CAP {
                match rx.try_recv() {
                    Ok(m) => self.take(m).await,
                    Err(_) => break,
                }
                n += 1;
            }
            self.sweep();
            self.commit_buffered().await;
            let n = u64::try_from(self.book.buffered_count()).unwrap_or(u64::MAX);
            self.shared
                .messages_buffered
                .store(n, std::sync::atomic::Ordering::Relaxed);
        }
        for (_, reply) in self.to_buffer.drain(..) {
            answer(reply, Err(RuntimeError::ShuttingDown));
        }
        for (_, f) in self.inflight.drain() {
            if let Some(reply) = f.reply {
                answer(reply, Err(RuntimeError::ShuttingDown));
            }
        }
    }

    fn now(&self) -> Timestamp {
        self.shared.clock.now()
    }

    /// Reads every live message row: consumed ones only remember their id.
    async fn load(&mut self) -> Result<(), windlass_store_api::StoreError> {
        let now = self.now();
        for row in self.shared.store.live_messages(now).await? {
            let message_id = (!is_generated(&row.id)).then(|| row.id.clone());
            if row.consumed_at.is_some() {
                if let Some(id) = &message_id {
                    self.book.remember(id, row.expires_at);
                }
                continue;
            }
            let vars = match serde_json::from_slice::<Vars>(&row.payload) {
                Ok(v) => v,
                Err(e) => {
                    tracing::error!(id = %row.id, "buffered message unreadable, left as is: {e}");
                    continue;
                }
            };
            let topic = Topic::new(&row.name, Some(&row.correlation_key));
            self.book.buffer(Held {
                row_id: row.id,
                message_id,
                topic,
                vars,
                published_at: row.published_at,
                expires_at: row.expires_at,
                stored: true,
            });
        }
        Ok(())
    }

    /// Applies `m`; the first publication or broadcast first indexes the
    /// start events of the stored definitions (so a runtime that never
    /// publishes, like `windlass run`, never compiles them). On a node
    /// serving some partitions every broadcast indexes them again: other
    /// nodes deploy too, and tell this one nothing.
    async fn take(&mut self, m: ServiceMsg) {
        let needs_starts = matches!(
            m,
            ServiceMsg::Publish { .. } | ServiceMsg::SignalStarts { .. }
        );
        let on_node = !self.shared.served.is_single();
        let again = on_node && matches!(m, ServiceMsg::SignalStarts { .. });
        if needs_starts && (!self.starts_loaded || again) {
            self.starts_loaded = true;
            self.load_start_events().await;
        }
        self.apply(m);
    }

    /// Indexes the message and signal start events of the latest version of
    /// every deployed process (a version deployed meanwhile, already
    /// indexed, is kept: older ones never replace it).
    async fn load_start_events(&mut self) {
        let latest = match self.shared.store.latest_definitions().await {
            Ok(latest) => latest,
            Err(e) => {
                tracing::error!("message correlator: cannot list definitions: {e}");
                return;
            }
        };
        for l in latest {
            let store = self.shared.store.as_ref();
            match self.shared.cache.get_or_load(&l.key, store).await {
                Ok(def) => self.starts.deployed(def, l.version),
                Err(e) => tracing::error!(key = l.key, "start events not indexed: {e}"),
            }
        }
    }

    fn apply(&mut self, m: ServiceMsg) {
        match m {
            ServiceMsg::Deployed(defs) => {
                for (def, version) in defs {
                    self.starts.deployed(def, version);
                }
            }
            ServiceMsg::Forget(id) => self.book.forget(&id),
            ServiceMsg::SignalStarts { name, reply } => {
                let _ = reply.send(self.starts.targets(Trigger::Signal, &name));
            }
            ServiceMsg::Publish { message, reply } => self.publish(message, reply),
            ServiceMsg::Subscribed {
                instance,
                sub,
                topic,
            } => {
                self.book.subscribe(topic.clone(), (instance, sub));
                self.offer_buffered(&topic);
            }
            ServiceMsg::Closed { instance, sub } => self.book.unsubscribe(&(instance, sub)),
            ServiceMsg::Delivered { delivery, result } => self.delivered(delivery, result),
        }
    }

    fn publish(&mut self, m: Message, reply: Reply) {
        let now = self.now();
        if let Some(id) = &m.message_id {
            if self.book.is_known(id, now) {
                return answer(reply, Ok(PublishOutcome::Duplicate));
            }
            // Known from now on: a second publication while this one is
            // in flight is a duplicate too.
            self.book.remember(id, None);
        }
        let expires_at = m
            .ttl_millis
            .map(|ttl| now.plus_millis(i64::try_from(ttl).unwrap_or(i64::MAX)));
        let held = Held {
            row_id: m
                .message_id
                .clone()
                .unwrap_or_else(|| format!("{GENERATED}{}", uuid::Uuid::now_v7())),
            message_id: m.message_id,
            topic: Topic::new(&m.name, m.correlation_key.as_deref()),
            vars: m.vars,
            published_at: now,
            expires_at,
            stored: false,
        };
        self.place(held, Some(reply));
    }

    /// Offers `held` to the first free subscription of its topic; else a
    /// fresh one goes to the message start events of its name, if any, or
    /// is buffered (in the next commit) or, with a zero time-to-live,
    /// dropped.
    fn place(&mut self, held: Held, reply: Option<Reply>) {
        if let Some(sub) = self.book.claim_subscription(&held.topic) {
            return self.deliver(held, sub, reply);
        }
        if held.stored {
            self.book.buffer(held);
            return;
        }
        let Some(reply) = reply else {
            return;
        };
        let targets = self.starts.targets(Trigger::Message, &held.topic.name);
        if !targets.is_empty() {
            let now = self.now();
            let row = held.message_id.as_ref().map(|id| {
                let until = self.keep_until(&held, now);
                self.book.remember(id, Some(until));
                self.consumed_row(id, &held, now)
            });
            let _ = reply.send(Ok(Routed::Start { targets, row }));
            return;
        }
        if held.expires_at.is_some_and(|at| at <= held.published_at) {
            if let Some(id) = &held.message_id {
                self.book.forget(id);
            }
            return answer(reply, Ok(PublishOutcome::Dropped));
        }
        self.to_buffer.push((held, reply));
    }

    /// The row that remembers the id of a message consumed at `now`
    /// without having been buffered.
    fn consumed_row(&self, id: &str, held: &Held, now: Timestamp) -> MessageRow {
        MessageRow {
            id: id.to_string(),
            name: held.topic.name.clone(),
            correlation_key: held.topic.store_key().to_string(),
            payload: Vec::new(),
            published_at: held.published_at,
            expires_at: Some(self.keep_until(held, now)),
            consumed_at: Some(now),
        }
    }

    /// Offers the oldest buffered message of `topic` to a free subscription.
    fn offer_buffered(&mut self, topic: &Topic) {
        let now = self.now();
        let Some(held) = self.book.take_buffered(topic, now) else {
            return;
        };
        match self.book.claim_subscription(topic) {
            Some(sub) => self.deliver(held, sub, None),
            None => self.book.buffer(held),
        }
    }

    /// Until when a consumed message's id is remembered.
    fn keep_until(&self, held: &Held, now: Timestamp) -> Timestamp {
        let retention = i64::try_from(self.retention.as_millis()).unwrap_or(i64::MAX);
        let kept = now.plus_millis(retention);
        held.expires_at.map_or(kept, |at| at.max(kept))
    }

    fn deliver(&mut self, held: Held, sub: SubRef, reply: Option<Reply>) {
        let now = self.now();
        let changes = match (&held.message_id, held.stored) {
            (Some(_), true) => vec![MessageChange::Consume {
                id: held.row_id.clone(),
                at: now,
                keep_until: self.keep_until(&held, now),
            }],
            (None, true) => vec![MessageChange::Delete(held.row_id.clone())],
            // The id may have been used by a message forgotten since (its
            // expiry passed), whose row the sweep has not purged yet.
            (Some(id), false) => vec![
                MessageChange::DeleteExpired(now),
                MessageChange::Insert(self.consumed_row(id, &held, now)),
            ],
            (None, false) => Vec::new(),
        };
        self.next_delivery += 1;
        let delivery = self.next_delivery;
        let msg = ShardMsg::Deliver(Box::new(Delivery {
            instance: sub.0.clone(),
            sub: sub.1,
            message_id: held.message_id.clone(),
            vars: held.vars.clone(),
            changes,
            delivery,
        }));
        if !self.shared.route(&sub.0.id, msg) {
            // The shard stopped: the runtime is shutting down.
            if let Some(reply) = reply {
                answer(reply, Err(RuntimeError::ShuttingDown));
            }
            return;
        }
        self.inflight
            .insert(delivery, InFlight { held, sub, reply });
    }

    fn delivered(&mut self, delivery: u64, result: DeliveryResult) {
        let Some(f) = self.inflight.remove(&delivery) else {
            return;
        };
        let now = self.now();
        match result {
            DeliveryResult::Correlated => {
                self.book.unsubscribe(&f.sub);
                if let Some(id) = &f.held.message_id {
                    let until = self.keep_until(&f.held, now);
                    self.book.remember(id, Some(until));
                }
                if let Some(reply) = f.reply {
                    let instance = f.sub.0.clone();
                    answer(reply, Ok(PublishOutcome::Correlated { instance }));
                }
                // The next buffered message of the topic may go to the
                // next subscription.
                self.offer_buffered(&f.held.topic);
            }
            DeliveryResult::Refused(why) => {
                // The correlator holds no definition: the span names the
                // instance and run only.
                crate::shard::spans::instance_span(&f.sub.0, || None).in_scope(|| {
                    tracing::debug!(sub = f.sub.1.0, "delivery refused: {why}");
                });
                self.book.unsubscribe(&f.sub);
                self.place(f.held, f.reply);
            }
            DeliveryResult::Failed(e) => {
                // The commit failed: the row is as it was. The instance is
                // reloaded by its shard and announces its subscriptions
                // again.
                self.book.unsubscribe(&f.sub);
                if f.held.stored {
                    self.book.buffer(f.held);
                } else {
                    if let Some(id) = &f.held.message_id {
                        self.book.forget(id);
                    }
                    if let Some(reply) = f.reply {
                        answer(reply, Err(RuntimeError::Store(e)));
                    }
                }
            }
        }
    }

    /// Drops expired messages and forgotten ids once per [`SWEEP_EVERY`],
    /// and purges expired rows in the next commit.
    fn sweep(&mut self) {
        let now = self.now();
        if now < self.next_sweep {
            return;
        }
        self.book.expire(now);
        if self.next_sweep != Timestamp(i64::MIN) {
            self.purge = Some(now);
        }
        let every = i64::try_from(SWEEP_EVERY.as_millis()).unwrap_or(i64::MAX);
        self.next_sweep = now.plus_millis(every);
    }

    /// Commits the rows of the fresh publications nothing waited for, then
    /// buffers them in memory and answers their publishers.
    async fn commit_buffered(&mut self) {
        if self.to_buffer.is_empty() && self.purge.is_none() {
            return;
        }
        let mut batch = Batch::new();
        // Expired rows go first: an id forgotten at its expiry may be used
        // again by a row below.
        let now = self.now();
        if self.purge.take().is_some() || !self.to_buffer.is_empty() {
            batch.message(MessageChange::DeleteExpired(now));
        }
        for (held, _) in &self.to_buffer {
            let payload = match serde_json::to_vec(&held.vars) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!("message variables unencodable: {e}");
                    Vec::new()
                }
            };
            batch.message(MessageChange::Insert(MessageRow {
                id: held.row_id.clone(),
                name: held.topic.name.clone(),
                correlation_key: held.topic.store_key().to_string(),
                payload,
                published_at: held.published_at,
                expires_at: held.expires_at,
                consumed_at: None,
            }));
        }
        let result = self.shared.commit(batch).await;
        let pending = std::mem::take(&mut self.to_buffer);
        match result {
            Ok(()) => {
                let mut topics = Vec::new();
                for (mut held, reply) in pending {
                    held.stored = true;
                    topics.push(held.topic.clone());
                    self.book.buffer(held);
                    answer(reply, Ok(PublishOutcome::Buffered));
                }
                // A subscription that opened while the rows were being
                // written takes its message now.
                topics.dedup();
                for t in topics {
                    self.offer_buffered(&t);
                }
            }
            Err(e) => {
                self.shared.commit_failed(&e);
                for (held, reply) in pending {
                    if let Some(id) = &held.message_id {
                        self.book.forget(id);
                    }
                    answer(reply, Err(RuntimeError::Store(e.clone())));
                }
            }
        }
    }
}

/// How a shard answered a delivery.
#[derive(Debug)]
pub(crate) enum DeliveryResult {
    /// `MessageCorrelated` committed.
    Correlated,
    /// The engine refused it (the subscription is not open any more, or
    /// the instance is not live); nothing was written.
    Refused(String),
    /// The group commit carrying it failed.
    Failed(Arc<windlass_store_api::StoreError>),
}

/// The prefix of row ids the correlator generates for messages published
/// without an id (a publisher's id never gets it: see [`check_message_id`]).
pub(crate) const GENERATED: &str = "~";

/// True for a row id the correlator generated.
fn is_generated(row_id: &str) -> bool {
    row_id.starts_with(GENERATED)
}

/// Refuses a publisher's message id the correlator could mistake for one
/// of its own, or an empty one.
pub(crate) fn check_message_id(id: &str) -> RuntimeResult<()> {
    if id.is_empty() || is_generated(id) {
        return Err(RuntimeError::InvalidMessage(format!(
            "message id {id:?} is empty or starts with {GENERATED:?} (reserved for generated ids)"
        )));
    }
    Ok(())
}
