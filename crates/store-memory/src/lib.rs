//! In-memory store backend: every table in plain maps behind one mutex.
//!
//! Used for `--memory` runs, tests and the in-memory benchmark. Nothing
//! survives the process. A commit validates the whole batch first (see
//! the `validate` module) and only then applies it, so a failing batch changes
//! nothing and applying can never fail half-way.

mod apply;
mod instances;
mod reads;
mod schedules;
mod state;
mod validate;

use state::State;
use std::sync::{Arc, Mutex, MutexGuard};
use windlass_store_api::{Batch, StoreError, StoreResult, StoreWrite};

/// The in-memory store. Cheap to clone: clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// A new, empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| StoreError::Backend("in-memory store mutex poisoned by a panic".into()))
    }

    fn commit_now(&self, batch: Batch) -> StoreResult<()> {
        let mut state = self.lock()?;
        validate::validate(&state, &batch)?;
        apply::apply(&mut state, batch);
        Ok(())
    }
}

impl StoreWrite for MemoryStore {
    fn commit(&self, batch: Batch) -> impl Future<Output = StoreResult<()>> + Send {
        let result = self.commit_now(batch);
        async move { result }
    }
}
