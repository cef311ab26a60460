//! Which deployed definition a call activity's child runs: by the call's
//! binding, the latest deployed version of the called process id (the
//! default), the version deployed in the caller's document, or a version
//! by number. A callee that cannot be found is not a failure of the call:
//! the parent gets `Command::ChildNotStarted`, an incident naming it, which
//! a retry resolves once the process is deployed.

use crate::definitions::ProcessDef;
use crate::error::RuntimeResult;
use crate::outbox::StartChild;
use crate::shared::Shared;
use std::sync::Arc;
use windlass_engine::Command;
use windlass_model::CallBinding;
use windlass_store_api::Store;

/// The definition the child of `sc` runs.
pub(crate) async fn callee<S: Store>(
    shared: &Shared<S>,
    sc: &StartChild,
) -> RuntimeResult<Arc<ProcessDef>> {
    let store = shared.store.as_ref();
    match sc.binding {
        CallBinding::Latest => shared.cache.latest(&sc.process_id, store).await,
        CallBinding::Version(v) => {
            shared
                .cache
                .version_of(&sc.process_id, Some(v), store)
                .await
        }
        CallBinding::Deployment => {
            let parent = shared
                .cache
                .get_or_load(&sc.parent_definition, store)
                .await?;
            shared
                .cache
                .get_or_load(&parent.sibling_key(&sc.process_id), store)
                .await
        }
    }
}

/// The parent's command when the child of `sc` cannot start.
pub(crate) fn not_started(sc: &StartChild, why: &dyn std::fmt::Display) -> Command {
    let which = match sc.binding {
        CallBinding::Latest => String::new(),
        CallBinding::Deployment => " (of the caller's deployment)".to_string(),
        CallBinding::Version(v) => format!(" (version {v})"),
    };
    Command::ChildNotStarted {
        token: sc.token,
        message: format!(
            "called process '{}'{which} cannot start: {why}; deploy it and retry the incident",
            sc.process_id
        ),
    }
}
