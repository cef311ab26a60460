//! The message sources of deployed processes that services outside the
//! runtime honour: `windlass:kubernetesWatch` (watched by `windlass-k8s`,
//! which must not live in the runtime: the runtime imports no kube). The
//! runtime keeps the list for the latest version of every process, filled
//! from the store's definitions at start and updated by every deployment,
//! and publishes it through a watch channel
//! ([`RuntimeHandle::message_sources`](crate::RuntimeHandle::message_sources));
//! the service delivers what it sees as messages through
//! [`RuntimeHandle::publish`](crate::RuntimeHandle::publish). `windlass:cron`
//! sources are the runtime's own (its schedule service).

use crate::definitions::{DefinitionCache, ProcessDef};
use crate::error::RuntimeResult;
use std::collections::BTreeSet;
use tokio::sync::watch;
use windlass_model::MessageSource;
use windlass_store_api::Store;

/// One source of one deployed process (its latest version).
#[derive(Debug, Clone, PartialEq)]
pub struct DeployedSource {
    /// The process id.
    pub process_id: String,
    /// The definition key of the version that declares it.
    pub definition_key: String,
    /// The source, as the model read it.
    pub source: MessageSource,
}

/// The list and its watchers.
#[derive(Debug)]
pub(crate) struct SourceBook {
    tx: watch::Sender<Vec<DeployedSource>>,
}

/// Whether a service outside the runtime honours `source`.
fn external(source: &MessageSource) -> bool {
    matches!(source, MessageSource::KubernetesWatch { .. })
}

impl SourceBook {
    /// The sources of the latest version of every process in `store`.
    pub(crate) async fn load<S: Store>(store: &S, cache: &DefinitionCache) -> RuntimeResult<Self> {
        let ids: BTreeSet<String> = store
            .definitions()
            .await?
            .into_iter()
            .map(|r| r.process_id)
            .collect();
        let mut list = Vec::new();
        for id in ids {
            let def = cache.latest(&id, store).await?;
            list.extend(sources_of(&def));
        }
        Ok(SourceBook {
            tx: watch::Sender::new(list),
        })
    }

    /// `defs` are now the latest versions of their processes: their
    /// sources replace those the processes had.
    pub(crate) fn deployed(&self, defs: &[std::sync::Arc<ProcessDef>]) {
        self.tx.send_if_modified(|list| {
            let before = list.clone();
            list.retain(|s| !defs.iter().any(|d| d.process_id == s.process_id));
            for def in defs {
                list.extend(sources_of(def));
            }
            list.sort_by(|a, b| a.process_id.cmp(&b.process_id));
            *list != before
        });
    }

    /// A receiver of the list.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Vec<DeployedSource>> {
        self.tx.subscribe()
    }
}

fn sources_of(def: &ProcessDef) -> impl Iterator<Item = DeployedSource> + '_ {
    def.plan
        .graph()
        .extensions
        .sources
        .iter()
        .filter(|s| external(s))
        .map(|s| DeployedSource {
            process_id: def.process_id.clone(),
            definition_key: def.key.clone(),
            source: s.clone(),
        })
}
