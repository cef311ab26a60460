//! Publishing from [`RuntimeHandle`]: [`RuntimeHandle::publish`] through
//! the correlator, and the starts at message and signal start events a
//! publication or broadcast makes (coalesced when the start event carries
//! a dedup key).

use crate::RuntimeHandle;
use crate::error::{RuntimeError, RuntimeResult};
use crate::shard::msg::ShardMsg;
use crate::start::StartRequest;
use tokio::sync::oneshot;
use windlass_store_api::{InstanceRef, Store};
use windlass_types::Vars;

impl<S: Store> RuntimeHandle<S> {
    /// Publishes a message: correlated with the first open subscription
    /// with its name and correlation key (intermediate catch event, receive
    /// task, boundary event, event-based gateway), else starting an
    /// instance at the message start events for its name, else buffered
    /// until a subscription opens or its time-to-live passes; a message id makes publishing
    /// idempotent. Returns once the outcome is durable (see
    /// [`PublishOutcome`](crate::PublishOutcome) and `docs/runtime.md`).
    pub async fn publish(&self, message: crate::Message) -> RuntimeResult<crate::PublishOutcome> {
        let shared = self.open()?;
        shared
            .served
            .require_all(|| format!("publishing message '{}'", message.name))?;
        if message.name.is_empty() {
            return Err(RuntimeError::InvalidMessage(
                "the message name is empty".into(),
            ));
        }
        if let Some(id) = &message.message_id {
            crate::messages::check_message_id(id)?;
        }
        windlass_types::limits::check_vars(&message.vars)?;
        let (vars, message_id) = (message.vars.clone(), message.message_id.clone());
        let (reply, rx) = oneshot::channel();
        shared
            .correlator
            .send(crate::messages::ServiceMsg::Publish { message, reply })
            .map_err(|_| RuntimeError::ShuttingDown)?;
        match rx.await.map_err(|_| RuntimeError::ShuttingDown)?? {
            crate::messages::Routed::Done(outcome) => Ok(outcome),
            crate::messages::Routed::Start { targets, row } => {
                let (started, queued, failed) = self.start_at(targets, vars, row).await;
                match failed {
                    None if queued.is_empty() => {
                        Ok(crate::PublishOutcome::Started { instances: started })
                    }
                    None => Ok(crate::PublishOutcome::Coalesced { started, queued }),
                    Some(e) => {
                        // The id's row went with the first start: forget the
                        // id only when no start committed (and no commit's
                        // outcome is in doubt), so a retry is not refused as
                        // a duplicate, and never inserts the row twice.
                        let unwritten = started.is_empty()
                            && queued.is_empty()
                            && !matches!(e, RuntimeError::Store(_));
                        if unwritten && let Some(id) = message_id {
                            shared.tell_correlator(crate::messages::ServiceMsg::Forget(id));
                        }
                        Err(e)
                    }
                }
            }
        }
    }

    /// Starts one instance at each start event of `targets` with `vars`
    /// (its id from the process's `windlass:instanceId` template, or
    /// generated), writing `row` with the first; a start event carrying a
    /// dedup key is started coalesced (`start_coalesced`). Stops at the
    /// first failure. Returns the instances started, the starts held back
    /// and that failure.
    pub(crate) async fn start_at(
        &self,
        targets: Vec<crate::messages::starts::StartTarget>,
        vars: Vars,
        mut row: Option<windlass_store_api::MessageRow>,
    ) -> (Vec<InstanceRef>, Vec<InstanceRef>, Option<RuntimeError>) {
        let mut started = Vec::with_capacity(targets.len());
        let mut queued = Vec::new();
        for t in targets {
            let rows = row.take().map(|r| {
                vec![
                    windlass_store_api::MessageChange::DeleteExpired(r.published_at),
                    windlass_store_api::MessageChange::Insert(r),
                ]
            });
            match self.start_target(t, vars.clone(), rows, Vec::new()).await {
                Ok((crate::DedupOutcome::Started(i), _)) => started.push(i),
                Ok((crate::DedupOutcome::Queued(i), _)) => queued.push(i),
                Err(e) => return (started, queued, Some(e)),
            }
        }
        (started, queued, None)
    }

    /// Starts one instance at start event `t` with `vars`, writing the
    /// message `rows` and the outbox rows `outbox` with its creation; a
    /// start event carrying a dedup key is started coalesced
    /// (`start_coalesced`; `outbox` is not written then). The flag says
    /// whether `outbox` was written.
    pub(crate) async fn start_target(
        &self,
        t: crate::messages::starts::StartTarget,
        vars: Vars,
        rows: Option<Vec<windlass_store_api::MessageChange>>,
        outbox: Vec<windlass_store_api::OutboxRow>,
    ) -> RuntimeResult<(crate::DedupOutcome, bool)> {
        let mut req = StartRequest::new(t.def.key.clone());
        req.vars = vars;
        req.start_event = Some(t.node_id);
        let mut msg = self.prepare_start(req).await?;
        if crate::dedup::start_key(&msg).is_some() {
            return Ok((self.admit(msg, rows.unwrap_or_default()).await?, false));
        }
        msg.messages = rows.unwrap_or_default();
        msg.outbox = outbox;
        let instance = msg.instance.clone();
        let (tx, rx) = oneshot::channel();
        msg.reply = Some(tx);
        self.send(&instance, ShardMsg::Start(Box::new(msg))).await?;
        let started = rx.await.map_err(|_| RuntimeError::ShuttingDown)??;
        Ok((crate::DedupOutcome::Started(started), true))
    }
}
