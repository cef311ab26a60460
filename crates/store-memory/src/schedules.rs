//! The schedules table of the in-memory store: validation, application and
//! reads (kept apart from the other tables; one concept per file).

use crate::MemoryStore;
use crate::state::State;
use windlass_store_api::{
    Batch, ScheduleChange, ScheduleRead, ScheduleRow, StoreError, StoreResult,
};

/// Checks the batch's schedule changes against `state` and the changes
/// before them in the batch: a deletion needs the row.
pub(crate) fn validate(state: &State, batch: &Batch) -> StoreResult<()> {
    let mut overlay: foldhash::HashMap<&str, bool> = Default::default();
    for ch in &batch.schedules {
        match ch {
            ScheduleChange::Put(r) => {
                overlay.insert(r.id.as_str(), true);
            }
            ScheduleChange::Delete(id) => {
                let exists = overlay
                    .get(id.as_str())
                    .copied()
                    .unwrap_or_else(|| state.schedules.contains_key(id));
                if !exists {
                    return Err(StoreError::NotFound {
                        what: "schedule",
                        key: id.clone(),
                    });
                }
                overlay.insert(id.as_str(), false);
            }
        }
    }
    Ok(())
}

/// Applies validated schedule changes.
pub(crate) fn apply(state: &mut State, changes: Vec<ScheduleChange>) {
    for ch in changes {
        match ch {
            ScheduleChange::Put(r) => {
                state.schedules.insert(r.id.clone(), r);
            }
            ScheduleChange::Delete(id) => {
                state.schedules.remove(&id);
            }
        }
    }
}

impl ScheduleRead for MemoryStore {
    fn schedule(&self, id: &str) -> impl Future<Output = StoreResult<Option<ScheduleRow>>> + Send {
        std::future::ready(self.lock().map(|s| s.schedules.get(id).cloned()))
    }

    fn schedules(&self) -> impl Future<Output = StoreResult<Vec<ScheduleRow>>> + Send {
        std::future::ready(self.lock().map(|s| s.schedules.values().cloned().collect()))
    }
}
