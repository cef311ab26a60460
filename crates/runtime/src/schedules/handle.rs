//! The schedule API of [`RuntimeHandle`]: list, pause, unpause, trigger,
//! next fire times — requests to the schedule service (`service.rs`).

use crate::RuntimeHandle;
use crate::error::{RuntimeError, RuntimeResult};
use tokio::sync::oneshot;
use windlass_store_api::Store;
use windlass_types::Timestamp;

impl<S: Store> RuntimeHandle<S> {
    /// Asks the schedule service and waits for its answer.
    async fn ask_schedules<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> crate::schedules::ScheduleMsg,
    ) -> RuntimeResult<T> {
        let shared = self.open()?;
        let (reply, rx) = oneshot::channel();
        shared
            .schedules
            .send(make(reply))
            .map_err(|_| RuntimeError::ShuttingDown)?;
        rx.await.map_err(|_| RuntimeError::ShuttingDown)
    }

    /// Every schedule (timer start events and `windlass:cron` sources of
    /// the latest deployed versions), ordered by id.
    pub async fn schedules(&self) -> RuntimeResult<Vec<crate::ScheduleInfo>> {
        self.ask_schedules(crate::schedules::ScheduleMsg::List)
            .await
    }

    /// Pauses schedule `id`: it does not fire until unpaused (committed
    /// when this returns; kept across restarts and redeploys of an
    /// unchanged schedule).
    pub async fn pause_schedule(&self, id: &str) -> RuntimeResult<()> {
        let id = id.to_string();
        self.ask_schedules(|reply| crate::schedules::ScheduleMsg::Pause {
            id,
            paused: true,
            reply,
        })
        .await?
    }

    /// Unpauses schedule `id`. Occurrences missed while paused fire once
    /// (the latest, within the catch-up window), like after a restart.
    pub async fn unpause_schedule(&self, id: &str) -> RuntimeResult<()> {
        let id = id.to_string();
        self.ask_schedules(|reply| crate::schedules::ScheduleMsg::Pause {
            id,
            paused: false,
            reply,
        })
        .await?
    }

    /// Fires schedule `id` now (its overlap policy applies; its next
    /// scheduled fire does not change). Returns once the fire's outcome is
    /// committed.
    pub async fn trigger_schedule(&self, id: &str) -> RuntimeResult<()> {
        let id = id.to_string();
        self.ask_schedules(|reply| crate::schedules::ScheduleMsg::Trigger { id, reply })
            .await?
    }

    /// The next `n` fire times of schedule `id` (fewer when it ends).
    pub async fn next_fire_times(&self, id: &str, n: usize) -> RuntimeResult<Vec<Timestamp>> {
        let id = id.to_string();
        self.ask_schedules(|reply| crate::schedules::ScheduleMsg::NextTimes { id, n, reply })
            .await?
    }
}
