//! The dedup owner task: applies claims, releases and coalesced starts to
//! the [`Book`] in rounds; commits the rows the round changed; then sends
//! the grants, supersedes and starts the round decided and answers the
//! coalesced starts. A failed commit reloads the book from the store and
//! applies the round's claims and releases again in the next round.

use super::book::{Admitted, Book, Order, PendingStart, Slot, key_of};
use super::{DedupMsg, DedupOutcome};
use crate::error::{RuntimeError, RuntimeResult};
use crate::shard::msg::{ShardMsg, StartMsg};
use crate::shared::Shared;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use windlass_engine::Command;
use windlass_store_api::{Batch, InstanceRef, Store, StoreError};

/// At most this many messages make one round.
const ROUND_CAP: usize = 65_536;

type Reply = oneshot::Sender<RuntimeResult<Vec<DedupOutcome>>>;

/// A batch of coalesced starts and its outcomes, answered after the
/// round's commit.
type Answer = (Reply, Vec<DedupOutcome>);

/// A start the owner made, answered by its shard: (entry key, proposed
/// ref, result).
type StartAnswer = (String, InstanceRef, RuntimeResult<InstanceRef>);

/// The owner's state.
pub(crate) struct Service<S> {
    shared: Arc<Shared<S>>,
    book: Book,
    /// Starts sent to shards, waiting for their answers (owned: aborted
    /// with the task).
    starts: JoinSet<StartAnswer>,
    /// Claims and releases of a round whose commit failed.
    retry: Vec<DedupMsg>,
    /// Message rows to write with the round (message starts' ids).
    messages: Vec<windlass_store_api::MessageChange>,
    /// Orders decided outside a round (at load, after a failed start): they
    /// go out after the next successful commit.
    later: Vec<Order>,
}

impl<S: Store> Service<S> {
    pub fn new(shared: Arc<Shared<S>>) -> Self {
        Service {
            shared,
            book: Book::default(),
            starts: JoinSet::new(),
            retry: Vec::new(),
            later: Vec::new(),
            messages: Vec::new(),
        }
    }

    /// Loads the book, then applies what arrives until `cancel` fires.
    pub async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<DedupMsg>,
        cancel: CancellationToken,
    ) {
        let mut orders = Vec::new();
        if let Err(e) = self.load(&mut orders).await {
            tracing::error!("dedup owner: cannot load the dedup table: {e}");
        }
        self.later = orders;
        self.commit_round(Vec::new(), Vec::new()).await;
        loop {
            let first = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                Some(done) = self.starts.join_next(), if !self.starts.is_empty() => {
                    if let Ok(answer) = done {
                        self.started(answer).await;
                    }
                    continue;
                }
                m = rx.recv() => match m {
                    Some(m) => m,
                    None => break,
                },
            };
            let mut orders = Vec::new();
            let mut replies = Vec::new();
            for m in std::mem::take(&mut self.retry) {
                self.take(m, &mut orders, &mut replies);
            }
            self.take(first, &mut orders, &mut replies);
            for _ in 1..ROUND_CAP {
                match rx.try_recv() {
                    Ok(m) => self.take(m, &mut orders, &mut replies),
                    Err(_) => break,
                }
            }
            self.commit_round(orders, replies).await;
        }
        self.starts.abort_all();
    }

    /// Applies one message to the book.
    fn take(&mut self, m: DedupMsg, orders: &mut Vec<Order>, replies: &mut Vec<Answer>) {
        match &m {
            DedupMsg::Claim { scope, instance } => orders.extend(self.book.claim(scope, instance)),
            DedupMsg::Release { scope, instance } => {
                orders.extend(self.book.release(scope, instance));
            }
            DedupMsg::Admit { .. } => {}
        }
        match m {
            DedupMsg::Admit { items, reply } => {
                let mut outcomes = Vec::with_capacity(items.len());
                for item in items {
                    self.messages.extend(item.messages);
                    let instance = item.start.instance.clone();
                    let (admitted, o) = self.book.admit(&item.scope, item.start);
                    orders.extend(o);
                    outcomes.push(match admitted {
                        Admitted::Started => DedupOutcome::Started(instance),
                        Admitted::Queued => {
                            crate::metrics::coalesced();
                            DedupOutcome::Queued(instance)
                        }
                    });
                }
                replies.push((reply, outcomes));
            }
            other => self.retry.push(other),
        }
    }

    /// Commits the round's row changes, then carries out its orders (and
    /// those left from outside a round) and answers its starts. After a
    /// failed commit nothing goes out: the book is reloaded from the store
    /// and the round's claims and releases are applied again next round.
    async fn commit_round(&mut self, orders: Vec<Order>, replies: Vec<Answer>) {
        let changes = self.book.changes(self.shared.clock.now());
        let messages = std::mem::take(&mut self.messages);
        let result = if changes.is_empty() && messages.is_empty() {
            Ok(())
        } else {
            let mut batch = Batch::new();
            for ch in changes {
                batch.dedup(ch);
            }
            for m in messages {
                batch.message(m);
            }
            self.shared.commit(batch).await
        };
        match result {
            Ok(()) => {
                self.retry.clear();
                for (reply, outcomes) in replies {
                    let _ = reply.send(Ok(outcomes));
                }
                let mut all = std::mem::take(&mut self.later);
                all.extend(orders);
                for o in all {
                    self.carry_out(o).await;
                }
            }
            Err(e) => {
                tracing::error!("dedup owner: commit failed: {e}");
                self.shared.commit_failed(&e);
                for (reply, _) in replies {
                    let _ = reply.send(Err(RuntimeError::Store(e.clone())));
                }
                self.book.clear();
                self.later.clear();
                let mut again = Vec::new();
                if let Err(e) = self.load(&mut again).await {
                    tracing::error!("dedup owner: cannot reload the dedup table: {e}");
                }
                self.later = again;
            }
        }
    }

    /// Sends one order to the shard of its instance.
    async fn carry_out(&mut self, o: Order) {
        let (instance, scope, cmd) = match o {
            Order::Grant { instance, scope } => {
                let key = key_of(&scope).to_string();
                (instance, scope, Command::GrantDedup { key })
            }
            Order::Supersede {
                instance,
                scope,
                by,
            } => {
                let key = key_of(&scope).to_string();
                (instance, scope, Command::Supersede { key, by })
            }
            Order::Start { scope, start } => return self.start(scope, *start).await,
        };
        let msg = ShardMsg::Dedup {
            instance: instance.clone(),
            scope,
            cmd,
        };
        if !self.shared.route(&instance.id, msg) {
            tracing::debug!(%instance, "dedup order dropped: the shard has stopped");
        }
    }

    /// Makes a pending start that now holds its key; its shard's answer
    /// comes back through `starts`.
    async fn start(&mut self, scope: String, p: PendingStart) {
        let proposed = p.instance.clone();
        let mut msg = match self.start_msg(p).await {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(instance = %proposed, "dedup owner: a held-back start cannot be made: {e}");
                let orders = self.book.release(&scope, &proposed);
                self.later.extend(orders);
                return;
            }
        };
        let (tx, rx) = oneshot::channel();
        msg.reply = Some(tx);
        if !self
            .shared
            .route(&proposed.id, ShardMsg::Start(Box::new(msg)))
        {
            return;
        }
        self.starts.spawn(async move {
            let result = rx.await.unwrap_or(Err(RuntimeError::ShuttingDown));
            (scope, proposed, result)
        });
    }

    /// A start's answer: a failed start releases its key.
    async fn started(&mut self, (scope, proposed, result): StartAnswer) {
        if let Err(e) = result {
            tracing::warn!(instance = %proposed, "dedup owner: a held-back start failed: {e}");
            let orders = self.book.release(&scope, &proposed);
            // The claims and releases a failed round left to apply again
            // are not this commit's: keep them for the next round.
            let pending = std::mem::take(&mut self.retry);
            self.commit_round(orders, Vec::new()).await;
            self.retry.extend(pending);
        }
    }

    async fn start_msg(&self, p: PendingStart) -> RuntimeResult<StartMsg> {
        let def = self
            .shared
            .cache
            .get_or_load(&p.definition, self.shared.store.as_ref())
            .await?;
        Ok(StartMsg {
            instance: p.instance,
            chosen: p.chosen,
            on_conflict: crate::start::OnConflict::Reject,
            def,
            vars: p.vars,
            business_key: p.business_key,
            parent: None,
            reply: None,
            outbox_done: None,
            start_event: p.start_event,
            messages: Vec::new(),
            schedules: Vec::new(),
            outbox: Vec::new(),
        })
    }

    /// Loads every row and checks its slots against the instance index:
    /// finished (or never made) instances are released; a granted pending
    /// start whose instance does not exist is made again.
    async fn load(&mut self, orders: &mut Vec<Order>) -> Result<(), StoreError> {
        let store = self.shared.store.clone();
        for row in store.dedup_entries().await? {
            self.book.load(row);
        }
        let slots: Vec<(String, Option<Slot>, Option<Slot>)> = self
            .book
            .slots()
            .map(|(s, h, w)| (s.to_string(), h.cloned(), w.cloned()))
            .collect();
        for (scope, holder, waiting) in slots {
            if let Some(Slot::Instance(i)) = &waiting
                && !live(store.as_ref(), i).await?
            {
                orders.extend(self.book.release(&scope, i));
            }
            match holder {
                Some(Slot::Instance(i)) if !live(store.as_ref(), &i).await? => {
                    orders.extend(self.book.release(&scope, &i));
                }
                Some(Slot::Start(p)) => match store.instance(&p.instance).await? {
                    None => orders.push(Order::Start {
                        scope: scope.clone(),
                        start: p,
                    }),
                    Some(row) if row.status.is_finished() => {
                        orders.extend(self.book.release(&scope, &p.instance));
                    }
                    Some(_) => {}
                },
                Some(Slot::Instance(_)) | None => {}
            }
        }
        Ok(())
    }
}

/// Whether the instance exists and has not finished.
async fn live<S: Store>(store: &S, i: &InstanceRef) -> Result<bool, StoreError> {
    Ok(store
        .instance(i)
        .await?
        .is_some_and(|r| !r.status.is_finished()))
}
