//! Waiting for instances and reading their outcomes: a waiter is queued on
//! the instance's shard (answered after its next group), and outcomes are
//! read from the stored history, children included when asked.

use crate::error::{RuntimeError, RuntimeResult};
use crate::outcome::{InstanceOutcome, outcome_from_history};
use crate::runtime::RuntimeHandle;
use crate::shard::msg::{ShardMsg, WaitAnswer};
use std::future::Future;
use std::pin::Pin;
use tokio::sync::oneshot;
use windlass_store_api::{InstanceRef, Store};
use windlass_types::Timestamp;

impl<S: Store> RuntimeHandle<S> {
    /// Sends a waiter for `instance` and returns the shard's answer (a
    /// failed commit is an error).
    async fn wait_answer(
        &self,
        instance: &InstanceRef,
        settled: bool,
    ) -> RuntimeResult<WaitAnswer> {
        let (tx, rx) = oneshot::channel();
        let msg = ShardMsg::Wait {
            instance: instance.clone(),
            settled,
            reply: tx,
        };
        self.send(instance, msg).await?;
        let answer: WaitAnswer = rx.await.map_err(|_| RuntimeError::ShuttingDown)?;
        match answer {
            WaitAnswer::StoreFailed(e) => Err(RuntimeError::Store(e)),
            // Wait at its next owner.
            WaitAnswer::Moved => Err(self
                .open()?
                .served
                .check(&instance.id.0)
                .err()
                .unwrap_or(RuntimeError::ShuttingDown)),
            answer => Ok(answer),
        }
    }

    /// Waits until `instance` has finished, then reports its outcome.
    pub async fn wait_finished(&self, instance: &InstanceRef) -> RuntimeResult<InstanceOutcome> {
        self.wait_answer(instance, false).await?;
        self.outcome(instance).await
    }

    /// Waits until `instance` has finished or nothing in its instance tree
    /// can move without the outside world (it and every running child of
    /// its call activities, recursively, wait for an external completion, a
    /// person or an incident resolution), then reports its outcome: the
    /// "run to its first wait state" of `windlass run`.
    pub async fn wait_settled(&self, instance: &InstanceRef) -> RuntimeResult<InstanceOutcome> {
        self.settle_tree(instance).await?;
        self.outcome(instance).await
    }

    /// Like [`RuntimeHandle::wait_settled`], but an instance tree that
    /// waits for timers is not settled yet: waits on the runtime's clock
    /// for the earliest timer of the instance (and of its called children,
    /// recursively) and settles again, until it finishes or nothing but the
    /// outside world can move it. `windlass run` uses it, so a process
    /// waiting for a timer keeps running until the timer fires. An unbounded
    /// cycle keeps it waiting for as long as its activity runs.
    pub async fn wait_settled_through_timers(
        &self,
        instance: &InstanceRef,
    ) -> RuntimeResult<InstanceOutcome> {
        loop {
            let out = self.wait_settled(instance).await?;
            if out.status.is_finished() {
                return Ok(out);
            }
            let mut next: Option<Timestamp> = None;
            let mut tree = vec![out.instance.clone()];
            while let Some(i) = tree.pop() {
                let store = self.inner.shared.store.as_ref();
                // A child whose start failed (its callee not deployed:
                // an incident on the call) was never stored.
                if i != out.instance && store.instance(&i).await?.is_none() {
                    continue;
                }
                for row in store.timers_of(&i).await? {
                    next = Some(next.map_or(row.due_at, |n| n.min(row.due_at)));
                }
                if i != out.instance {
                    tree.extend(self.outcome(&i).await?.called);
                } else {
                    tree.extend(out.called.iter().cloned());
                }
            }
            let Some(next) = next else {
                return Ok(out);
            };
            crate::timer::sleep_until(self.inner.shared.clock.clone(), next).await;
        }
    }

    /// Waits until `instance` and its running children are settled. A
    /// parent's shard answers when the parent has nothing of its own in
    /// flight, naming its running children; each child is waited for in
    /// turn; then the parent is asked again: unchanged (same sequence
    /// number, same children) means nothing in the tree can move. A child
    /// that finished meanwhile has already sent its notice to the parent
    /// (before its own waiters are answered), so the parent's second answer
    /// shows it.
    fn settle_tree<'a>(
        &'a self,
        instance: &'a InstanceRef,
    ) -> Pin<Box<dyn Future<Output = RuntimeResult<()>> + Send + 'a>> {
        Box::pin(async move {
            let mut last = self.wait_answer(instance, true).await?;
            loop {
                let WaitAnswer::Settled { children, .. } = &last else {
                    return Ok(());
                };
                if children.is_empty() {
                    return Ok(());
                }
                for child in children {
                    if self.inner.shared.served.serves(child.id.as_str()) {
                        self.settle_tree(child).await?;
                    } else {
                        self.settle_elsewhere(child).await?;
                    }
                }
                let again = self.wait_answer(instance, true).await?;
                if again == last {
                    return Ok(());
                }
                last = again;
            }
        })
    }

    /// The outcome of `instance` as stored now.
    pub async fn outcome(&self, instance: &InstanceRef) -> RuntimeResult<InstanceOutcome> {
        let shared = &self.inner.shared;
        let store = shared.store.as_ref();
        let row = store
            .instance(instance)
            .await?
            .ok_or_else(|| RuntimeError::UnknownInstance(instance.clone()))?;
        let history = store.history(instance).await?;
        let def = shared.cache.get_or_load(&row.definition_key, store).await?;
        outcome_from_history(instance, row.status, &history, &def.plan)
    }

    /// The outcome of `instance` with its called processes folded in:
    /// executed counts summed over every child of its call activities
    /// (recursively, as `windlass test` counts them), their open incidents
    /// listed (prefixed with the child's instance id), and a running
    /// instance reported as in an incident when one of its children is.
    pub async fn outcome_with_children(
        &self,
        instance: &InstanceRef,
    ) -> RuntimeResult<InstanceOutcome> {
        let mut outcome = self.outcome(instance).await?;
        let mut pending = outcome.called.clone();
        while let Some(child) = pending.pop() {
            let store = self.inner.shared.store.as_ref();
            // A child whose start failed was never stored.
            if store.instance(&child).await?.is_none() {
                continue;
            }
            let c = self.outcome(&child).await?;
            for (name, n) in c.executed {
                *outcome.executed.entry(name).or_insert(0) += n;
            }
            if !c.incidents.is_empty()
                && outcome.status == windlass_store_api::InstanceStatus::Running
            {
                outcome.status = windlass_store_api::InstanceStatus::Incident;
            }
            outcome.incidents.extend(
                c.incidents
                    .into_iter()
                    .map(|m| format!("{}: {m}", child.id.as_str())),
            );
            pending.extend(c.called);
        }
        Ok(outcome)
    }

    /// Waits, through the store, for a child another node runs (a node
    /// serving some partitions cannot wait on another node's shard):
    /// until its start and its notice to the parent are no longer pending
    /// deliveries, and it has finished or its stored state did not move
    /// over one `RuntimeOptions::delivery_poll`. Weaker than waiting on its
    /// shard: a child busy with a long job counts as settled too.
    async fn settle_elsewhere(&self, child: &InstanceRef) -> RuntimeResult<()> {
        let shared = &self.inner.shared;
        let store = shared.store.as_ref();
        let pending = |key: String| async move { store.outbox_entry(&key).await };
        let mut last = None;
        loop {
            let row = store.instance(child).await?;
            let moving = pending(crate::outbox::start_child_key(child))
                .await?
                .is_some()
                || pending(crate::outbox::child_done_key(child))
                    .await?
                    .is_some();
            let now = row.map(|r| (r.status, r.last_seq));
            if !moving {
                match now {
                    None => return Ok(()),
                    Some((status, _)) if status.is_finished() => return Ok(()),
                    Some(_) if last == Some(now) => return Ok(()),
                    Some(_) => {}
                }
            }
            last = Some(now);
            tokio::time::sleep(shared.delivery_poll).await;
        }
    }
}
