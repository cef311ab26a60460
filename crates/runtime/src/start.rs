//! Starting instances: the [`StartRequest`], the [`OnConflict`] policy for
//! an instance id that already has a live run, run ids, and the checks of
//! the instance id (user-chosen or rendered from the process's
//! `windlass:instanceId` template).
//!
//! The policy is applied by the shard that owns the id, serially (see
//! `shard/start.rs`), so two concurrent starts of one id cannot both create
//! a run.

use crate::RuntimeHandle;
use crate::definitions::ProcessDef;
use crate::error::{RuntimeError, RuntimeResult};
use crate::partitions::Served;
use crate::shard::msg::StartMsg;
use std::sync::Arc;
use windlass_store_api::RunId;
use windlass_store_api::{InstanceRef, Store};
use windlass_types::Vars;

/// The run id of first runs written before run ids were UUIDv7; still read
/// (it sorts before every other run, see
/// [`RunId::run_order`](windlass_store_api::RunId::run_order)).
pub const FIRST_RUN: &str = windlass_store_api::LEGACY_FIRST_RUN;

/// What a start does when its instance id already has a live (unfinished)
/// run. A finished run never clashes: a new run is created under the same
/// id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnConflict {
    /// Refuse with [`RuntimeError::InstanceExists`] naming the live run.
    #[default]
    Reject,
    /// Start nothing; answer with the live run's ref.
    UseExisting,
    /// Terminate the live run (`Command::Terminate` with the reason
    /// [`SUPERSEDED_REASON`]) and create the new run, in one commit.
    TerminateExisting,
}

/// The termination reason of a run ended by
/// [`OnConflict::TerminateExisting`].
pub const SUPERSEDED_REASON: &str = "superseded by a new start";

/// A request to start an instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StartRequest {
    /// A definition key (`process:hash`) or a process id (its latest
    /// deployed version).
    pub definition: String,
    /// Input variables.
    pub vars: Vars,
    /// The instance id. When `None`, the process's `windlass:instanceId`
    /// template is rendered strictly from `vars`; without a template a
    /// UUIDv7 is generated.
    pub instance_id: Option<String>,
    /// A business key for look-ups.
    pub business_key: Option<String>,
    /// What to do when the id already has a live run.
    pub on_conflict: OnConflict,
    /// The id of the top-level start event to start at; `None`: the none
    /// start events (or, with none, the first start event).
    pub start_event: Option<String>,
}

impl StartRequest {
    /// Starts `definition` (key or process id) with no variables.
    pub fn new(definition: impl Into<String>) -> Self {
        Self {
            definition: definition.into(),
            ..Self::default()
        }
    }
}

/// A new run id: a UUIDv7 in hyphenated lowercase text, whose byte order is
/// its creation order (monotonic within the process). Taken from the system
/// clock, not the injected one: the order of runs must hold across
/// processes and a mock clock stands still.
pub(crate) fn new_run_id() -> RunId {
    RunId::new(new_uuid_v7())
}

/// A new UUIDv7 as hyphenated lowercase text, encoded straight into the
/// string (no formatting machinery: every start makes two).
pub(crate) fn new_uuid_v7() -> String {
    let mut buf = uuid::Uuid::encode_buffer();
    uuid::Uuid::now_v7()
        .hyphenated()
        .encode_lower(&mut buf)
        .to_owned()
}

/// Checks an instance id chosen by a user or rendered from a template: the
/// length limit ([`windlass_types::limits`]) and the reserved form of
/// generated child ids.
pub(crate) fn check_instance_id(id: &str) -> RuntimeResult<()> {
    windlass_types::limits::check_instance_id(id)?;
    // Generated child ids are reserved, so a user id never collides with a
    // call activity's child (review R2); so are partition anchors, which
    // rows addressed to a partition name (`outbox/signal_to.rs`).
    if crate::outbox::parent_token(id).is_some()
        || windlass_types::partition_anchor::is_anchor_id(id)
    {
        return Err(RuntimeError::ReservedId(id.to_string()));
    }
    Ok(())
}

/// Checks the user-chosen instance id and business key of `req`.
pub(crate) fn check_start_request(req: &StartRequest) -> RuntimeResult<()> {
    if let Some(id) = &req.instance_id {
        check_instance_id(id)?;
    }
    if let Some(key) = &req.business_key {
        windlass_types::limits::check_business_key(key)?;
    }
    Ok(())
}

/// The instance id a start asks for: the request's, else the process's
/// `windlass:instanceId` template rendered strictly from the start variables
/// (a placeholder without a value is an error naming it), checked like a
/// user id; `None` when neither is given (a UUIDv7 is generated).
pub(crate) fn chosen_id(req: &StartRequest, def: &ProcessDef) -> RuntimeResult<Option<String>> {
    if let Some(id) = &req.instance_id {
        return Ok(Some(id.clone()));
    }
    let Some(template) = &def.plan.graph().extensions.instance_id else {
        return Ok(None);
    };
    let refuse = |reason: String| RuntimeError::InstanceIdTemplate {
        process: def.process_id.clone(),
        reason,
    };
    let id = template
        .render_strict(&req.vars)
        .map_err(|e| refuse(e.to_string()))?;
    check_instance_id(&id).map_err(|e| refuse(format!("rendered '{}': {e}", shorten(&id))))?;
    Ok(Some(id))
}

/// At most 64 characters of `s`, for messages about over-long ids.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

impl<S: Store> RuntimeHandle<S> {
    /// Signal-with-start (Temporal's SignalWithStart): sends signal `name`
    /// with `vars` to the live run of the request's instance id (its own,
    /// or the process's `windlass:instanceId` template rendered from
    /// `req.vars`), or — when it has none — starts a run from `req` and
    /// signals it in the same commit. The signal is kept until a
    /// subscription takes it (as [`RuntimeHandle::signal`]). Returns the
    /// signalled run once committed. Without an id to look up (no id, no
    /// template) a new instance is started and signalled.
    pub async fn signal_with_start(
        &self,
        req: StartRequest,
        name: &str,
        vars: Vars,
    ) -> RuntimeResult<InstanceRef> {
        windlass_types::limits::check_vars(&vars)?;
        let start = self.prepare_start(req).await?;
        let instance = start.instance.clone();
        let (reply, rx) = tokio::sync::oneshot::channel();
        let msg = crate::shard::msg::ShardMsg::SignalWithStart {
            start: Box::new(start),
            signal: windlass_engine::Command::Signal {
                name: name.to_string(),
                vars,
            },
            reply,
        };
        if !self.open()?.submit(&instance.id, msg).await {
            return Err(RuntimeError::ShuttingDown);
        }
        rx.await.map_err(|_| RuntimeError::ShuttingDown)?
    }

    pub(crate) async fn resolve_definition(
        &self,
        definition: &str,
    ) -> RuntimeResult<Arc<ProcessDef>> {
        let shared = self.open()?;
        if let Some(d) = shared.cache.cached(definition) {
            return Ok(d);
        }
        let store = shared.store.as_ref();
        if let Some(key) = shared.cache.latest_key(definition) {
            return shared.cache.get_or_load(&key, store).await;
        }
        if store.definition(definition).await?.is_some() {
            return shared.cache.get_or_load(definition, store).await;
        }
        shared.cache.version_of(definition, None, store).await
    }

    /// Checks `req` and makes its shard message. The id is the request's,
    /// the rendered `windlass:instanceId` template or a new UUIDv7; the run
    /// is a new UUIDv7 proposed here and confirmed by the owning shard,
    /// which applies `req.on_conflict` serially (no store read here: a check
    /// outside the shard would race with concurrent starts).
    pub(crate) async fn prepare_start(&self, req: StartRequest) -> RuntimeResult<StartMsg> {
        self.open()?;
        let def = self.resolve_definition(&req.definition).await?;
        prepare_start_of(req, def, &self.open()?.served)
    }

    /// [`prepare_start`](Self::prepare_start) for many requests: each
    /// distinct definition is resolved once.
    pub(crate) async fn prepare_starts(
        &self,
        reqs: Vec<StartRequest>,
    ) -> RuntimeResult<Vec<StartMsg>> {
        self.open()?;
        let mut last: Option<(String, Arc<ProcessDef>)> = None;
        let mut out = Vec::with_capacity(reqs.len());
        for req in reqs {
            let def = match &last {
                Some((name, def)) if *name == req.definition => def.clone(),
                _ => {
                    let def = self.resolve_definition(&req.definition).await?;
                    last = Some((req.definition.clone(), def.clone()));
                    def
                }
            };
            out.push(prepare_start_of(req, def, &self.open()?.served)?);
        }
        Ok(out)
    }
}

/// Checks `req` and makes its shard message for the resolved `def`; with
/// only some partitions `served`, the definition must not need them all,
/// a chosen id must be served and a generated one is drawn inside them.
fn prepare_start_of(
    req: StartRequest,
    def: Arc<ProcessDef>,
    served: &Served,
) -> RuntimeResult<StartMsg> {
    check_start_request(&req)?;
    windlass_types::limits::check_vars(&req.vars)?;
    served.check_definition(&def)?;
    let (id, chosen) = match chosen_id(&req, &def)? {
        Some(id) => {
            served.check(&id)?;
            (id, true)
        }
        None => (served.generate_id()?, false),
    };
    Ok(StartMsg {
        instance: InstanceRef::new(id, new_run_id().0),
        chosen,
        on_conflict: req.on_conflict,
        def,
        vars: req.vars,
        business_key: req.business_key,
        parent: None,
        reply: None,
        outbox_done: None,
        start_event: req.start_event,
        messages: Vec::new(),
        schedules: Vec::new(),
        outbox: Vec::new(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_uuid_v7_text_in_creation_order() {
        let a = new_run_id();
        let b = new_run_id();
        assert_eq!(a.as_str().len(), 36);
        let parsed = uuid::Uuid::parse_str(a.as_str()).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        assert!(a.run_order() < b.run_order());
        assert!(RunId::new(FIRST_RUN).run_order() < a.run_order());
    }

    #[test]
    fn reserved_and_long_ids_are_refused() {
        assert!(check_instance_id("order-7").is_ok());
        assert!(matches!(
            check_instance_id("p/1/call/3"),
            Err(RuntimeError::ReservedId(_))
        ));
        assert!(matches!(
            check_instance_id("~partition/12"),
            Err(RuntimeError::ReservedId(_))
        ));
        assert!(matches!(
            check_instance_id(&"x".repeat(1025)),
            Err(RuntimeError::Limit(_))
        ));
        assert_eq!(shorten(&"é".repeat(70)).chars().count(), 65);
    }
}
