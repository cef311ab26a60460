//! What a held lease keeps, whichever it is (the database's, `lease.rs`,
//! or a node's, `node_lease.rs`): its state, published on a watch so the
//! process learns it lost it, and the task renewing it, stopped when the
//! lease is lost, given up or dropped (which also ends its session).

use crate::lease::LeaseState;
use std::sync::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use windlass_store_api::StoreError;

/// A held lease's state and renewing task. See the module docs.
pub(crate) struct Holding {
    target: String,
    state: watch::Sender<LeaseState>,
    renewer: Mutex<Option<JoinHandle<()>>>,
}

impl Holding {
    /// Held at `epoch` on the database `target`, not renewed yet.
    pub(crate) fn new(target: &str, epoch: i64) -> Holding {
        Holding {
            target: target.to_string(),
            state: watch::Sender::new(LeaseState::Held { epoch }),
            renewer: Mutex::new(None),
        }
    }

    /// The database, for messages.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// Renewed by `task` from now on.
    pub(crate) fn renewed_by(&self, task: JoinHandle<()>) {
        if let Ok(mut slot) = self.renewer.lock() {
            *slot = Some(task);
        }
    }

    /// A receiver of the state.
    pub(crate) fn watch(&self) -> watch::Receiver<LeaseState> {
        self.state.subscribe()
    }

    /// The error for a batch refused now, if the lease is no longer held;
    /// `released` names the holder after a release.
    pub(crate) fn refused(&self, released: &str) -> Option<StoreError> {
        let holder = match &*self.state.borrow() {
            LeaseState::Held { .. } => return None,
            LeaseState::Lost { holder } => holder.clone(),
            LeaseState::Released => released.to_string(),
        };
        Some(StoreError::Fenced {
            path: self.target.clone(),
            holder,
        })
    }

    /// Records that the lease moved to `holder`: true when it was held
    /// until now.
    pub(crate) fn lose(&self, holder: String) -> bool {
        self.stop_renewing();
        self.state.send_if_modified(|s| {
            let held = matches!(s, LeaseState::Held { .. });
            if held {
                *s = LeaseState::Lost { holder };
            }
            held
        })
    }

    /// Gives the lease up (later batches are refused): true when it was
    /// held until now, so the caller expires its row.
    pub(crate) fn give_up(&self) -> bool {
        self.stop_renewing();
        self.state.send_if_modified(|s| {
            let held = matches!(s, LeaseState::Held { .. });
            if held {
                *s = LeaseState::Released;
            }
            held
        })
    }

    fn stop_renewing(&self) {
        if let Ok(mut slot) = self.renewer.lock()
            && let Some(task) = slot.take()
        {
            task.abort();
        }
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        self.stop_renewing();
    }
}
