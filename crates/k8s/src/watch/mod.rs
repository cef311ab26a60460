//! Watch sources: the `windlass:kubernetesWatch` sources of deployed
//! processes, each a watch on the cluster whose events are delivered as
//! messages that start or correlate instances.
//!
//! [`WatchService::run`] → [`WatchHandle`]: one supervisor task follows the
//! runtime's list of deployed sources
//! ([`RuntimeHandle::message_sources`](windlass_runtime::RuntimeHandle::message_sources))
//! and keeps one watch task per source (`source.rs`), started, replaced or
//! stopped as deployments change it; every task is owned and cancelled on
//! shutdown.
//!
//! What a watch delivers (`event.rs`): message `message` with correlation
//! key `{namespace}/{name}` (`{name}` for cluster-scoped objects) and the
//! variable `event` = `{type, key, namespace, name, uid, resourceVersion,
//! apiVersion, kind, object, resync}`; `type` is `applied` or `deleted`.
//! With a dedup key of `{event.key}` on the message start event this gives
//! controller-runtime's reconcile semantics: at most one instance per
//! object runs, at most one waits, the latest event wins.

mod event;
mod publish;
mod source;

pub use publish::Publisher;

use crate::client::LazyClient;
use crate::resolve::Resolver;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use windlass_model::MessageSource;
use windlass_runtime::DeployedSource;

/// How the watches behave.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// A watch that has delivered nothing (no event, no bookmark) for this
    /// long is taken for stalled and started again (default 5 minutes; the
    /// API server sends a bookmark about every minute).
    pub stall_after: Duration,
    /// The longest wait between attempts when the API server cannot be
    /// reached or publishing fails (default 30 s).
    pub max_backoff: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            stall_after: Duration::from_secs(300),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// What the watches did since the service started (all sources together).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchStats {
    /// Full lists: the first of each watch, and every re-list (after a
    /// `410 Gone`, a restart of a stalled watch, a lost connection whose
    /// resource version the API server no longer has).
    pub lists: u64,
    /// Watches restarted because they delivered nothing for
    /// [`WatchOptions::stall_after`].
    pub stalls: u64,
    /// Errors the watch streams reported (each retried).
    pub errors: u64,
    /// Changes published.
    pub delivered: u64,
}

/// The counters behind [`WatchStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) lists: AtomicU64,
    pub(crate) stalls: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) delivered: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The watch service. See [`WatchService::run`].
#[derive(Debug)]
pub struct WatchService;

/// The running watch service.
#[derive(Debug)]
pub struct WatchHandle {
    cancel: CancellationToken,
    task: JoinHandle<()>,
    counters: Arc<Counters>,
}

/// What every watch shares.
pub(crate) struct Shared {
    pub(crate) client: Arc<LazyClient>,
    pub(crate) resolver: Resolver,
    pub(crate) publisher: Arc<dyn Publisher>,
    pub(crate) options: WatchOptions,
    pub(crate) counters: Arc<Counters>,
}

impl WatchService {
    /// Watches the sources `sources` lists (the runtime's
    /// `message_sources()`), publishing through `publisher`, until the
    /// handle is shut down.
    pub fn run(
        client: Arc<LazyClient>,
        publisher: Arc<dyn Publisher>,
        sources: watch::Receiver<Vec<DeployedSource>>,
        options: WatchOptions,
    ) -> WatchHandle {
        let counters = Arc::new(Counters::default());
        let shared = Arc::new(Shared {
            client,
            resolver: Resolver::default(),
            publisher,
            options,
            counters: counters.clone(),
        });
        let cancel = CancellationToken::new();
        let task = tokio::spawn(supervise(shared, sources, cancel.clone()));
        WatchHandle {
            cancel,
            task,
            counters,
        }
    }
}

impl WatchHandle {
    /// What the watches did so far.
    pub fn stats(&self) -> WatchStats {
        let c = &self.counters;
        WatchStats {
            lists: c.lists.load(Ordering::Relaxed),
            stalls: c.stalls.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
        }
    }

    /// Stops every watch and waits for them.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        let _ = (&mut self.task).await;
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// A source as the supervisor keys it: the process and the source.
type Key = (String, usize);

/// Keeps one task per deployed watch source.
async fn supervise(
    shared: Arc<Shared>,
    mut sources: watch::Receiver<Vec<DeployedSource>>,
    cancel: CancellationToken,
) {
    let mut running: BTreeMap<Key, (MessageSource, JoinHandle<()>)> = BTreeMap::new();
    loop {
        let wanted: Vec<DeployedSource> = sources.borrow_and_update().clone();
        let mut keep: BTreeMap<Key, MessageSource> = BTreeMap::new();
        let mut per_process: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &wanted {
            let n = per_process.entry(s.process_id.as_str()).or_insert(0);
            keep.insert((s.process_id.clone(), *n), s.source.clone());
            *n += 1;
        }
        running.retain(|key, (source, task)| {
            let same = keep.get(key) == Some(source);
            if !same {
                task.abort();
            }
            same
        });
        for (key, source) in keep {
            if running.contains_key(&key) {
                continue;
            }
            let task = tokio::spawn(source::run(
                shared.clone(),
                key.0.clone(),
                source.clone(),
                cancel.child_token(),
            ));
            running.insert(key, (source, task));
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            changed = sources.changed() => {
                if changed.is_err() {
                    // The runtime is gone.
                    break;
                }
            }
        }
    }
    for (_, (_, task)) in running {
        task.abort();
        let _ = task.await;
    }
}
