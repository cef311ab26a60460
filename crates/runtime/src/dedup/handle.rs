//! [`RuntimeHandle::start_coalesced`]: a start that waits for its dedup
//! key without creating an instance (see the module doc of `dedup`).

use super::book::PendingStart;
use super::{AdmitItem, DedupMsg, DedupOutcome, scope};
use crate::RuntimeHandle;
use crate::error::{RuntimeError, RuntimeResult};
use crate::shard::msg::StartMsg;
use crate::start::StartRequest;
use tokio::sync::oneshot;
use windlass_store_api::{MessageChange, Store};

/// The dedup key template of the start event `msg` starts at, if it
/// carries one.
pub(crate) fn start_key(msg: &StartMsg) -> Option<&windlass_expr::Template> {
    let g = msg.def.plan.graph();
    // The first start node, as the engine starts: a start of several none
    // start events coalesces by the first one's key.
    let first = *windlass_engine::start_nodes(g, msg.start_event.as_deref())
        .ok()?
        .first()?;
    g.node(first).dedup_key.as_deref()
}

impl<S: Store> RuntimeHandle<S> {
    /// Starts an instance of a process whose start event carries a dedup
    /// key (`<windlass:dedup key="…"/>`), coalescing by that key: the key
    /// is rendered strictly from `req.vars`; when no instance of the
    /// process holds it, the instance is started
    /// ([`DedupOutcome::Started`]); otherwise the start waits, durably and
    /// without an instance, replacing the start that waited before it
    /// ([`DedupOutcome::Queued`]), and is made when the holder ends.
    /// Answered once the decision is committed. A message start event
    /// carrying a key is started this way by [`RuntimeHandle::publish`].
    /// Use [`RuntimeHandle::start_instance`] to start such a process
    /// without coalescing (its instance then claims the key and waits as an
    /// instance, superseded if a newer claim comes first).
    pub async fn start_coalesced(&self, req: StartRequest) -> RuntimeResult<DedupOutcome> {
        let msg = self.prepare_start(req).await?;
        self.admit(msg, Vec::new()).await
    }

    /// [`start_coalesced`](Self::start_coalesced) for many starts at once
    /// (a watch delivering a page of events): one round trip to the dedup
    /// owner, outcomes in the order of `reqs`. Every request is checked
    /// first; on the first that fails (no key on its start event, a key
    /// that cannot be rendered) nothing is started and its error returns.
    pub async fn start_coalesced_many(
        &self,
        reqs: Vec<StartRequest>,
    ) -> RuntimeResult<Vec<DedupOutcome>> {
        let items = self
            .prepare_starts(reqs)
            .await?
            .into_iter()
            .map(|msg| item(msg, Vec::new()))
            .collect::<RuntimeResult<Vec<_>>>()?;
        self.admit_items(items).await
    }

    /// Hands a prepared start to the dedup owner; `messages` (a message
    /// start's consumed id) are written with the owner's decision.
    pub(crate) async fn admit(
        &self,
        msg: StartMsg,
        messages: Vec<MessageChange>,
    ) -> RuntimeResult<DedupOutcome> {
        let mut out = self.admit_items(vec![item(msg, messages)?]).await?;
        out.pop().ok_or(RuntimeError::ShuttingDown)
    }

    async fn admit_items(&self, items: Vec<AdmitItem>) -> RuntimeResult<Vec<DedupOutcome>> {
        let (tx, rx) = oneshot::channel();
        self.open()?
            .tell_dedup(DedupMsg::Admit { items, reply: tx });
        rx.await.map_err(|_| RuntimeError::ShuttingDown)?
    }
}

/// The owner's item for a prepared start: its key rendered from the start
/// variables.
fn item(msg: StartMsg, messages: Vec<MessageChange>) -> RuntimeResult<AdmitItem> {
    let Some(template) = start_key(&msg) else {
        return Err(RuntimeError::Unsupported(format!(
            "start_coalesced: the start event of process '{}' carries no dedup key",
            msg.def.process_id
        )));
    };
    let key = template
        .render_strict(&msg.vars)
        .map_err(|e| RuntimeError::DedupKey {
            process: msg.def.process_id.clone(),
            reason: e.to_string(),
        })?;
    Ok(AdmitItem {
        scope: scope(&msg.def.process_id, &key),
        start: PendingStart {
            instance: msg.instance,
            definition: msg.def.key.clone(),
            vars: msg.vars,
            business_key: msg.business_key,
            start_event: msg.start_event,
            chosen: msg.chosen,
        },
        messages,
    })
}
