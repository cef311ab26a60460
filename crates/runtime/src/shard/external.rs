//! Jobs handed to external workers (`HandlerResult::External`): no task
//! runs for them, so the shard keeps their cancellation token (fired when
//! the engine cancels the job) and, when the task has a `timeout`, a
//! deadline on the injected clock. The timeout is the time a worker may go
//! without a sign of life: it runs from dispatch and starts again with
//! every [`RuntimeHandle::heartbeat`](crate::RuntimeHandle::heartbeat). A
//! deadline that passes fails the attempt as a retryable technical failure
//! (so it counts towards the task's retries, then an incident), and the
//! worker's late answer is refused. Deadlines live in memory: after a
//! restart a recovered job is dispatched again and its deadline starts
//! anew.

use super::group::Group;
use super::msg::Input;
use super::{JobOf, Shard};
use crate::error::{RuntimeError, RuntimeResult};
use crate::outbox::job_key;
use crate::timer::sleep_until;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use windlass_engine::event::JobFailure;
use windlass_engine::{Command, JobKey};
use windlass_store_api::{InstanceRef, Store};
use windlass_types::Timestamp;

/// One job waiting for its external worker.
pub(crate) struct ExternalJob {
    /// Fired when the engine cancels the job (and at shutdown).
    pub cancel: CancellationToken,
    /// The attempt's deadline, if the task has a timeout.
    deadline: Option<Deadline>,
}

/// A pending deadline: the sleeper task and which arming it is.
struct Deadline {
    timeout_ms: u64,
    abort: AbortHandle,
    generation: u64,
}

impl<S: Store> Shard<S> {
    /// Keeps `job` as an external worker's, with a deadline `timeout_ms`
    /// after `now` when it has one.
    pub(super) fn wait_external(
        &mut self,
        instance: InstanceRef,
        job: JobKey,
        cancel: CancellationToken,
        timeout_ms: Option<u64>,
        now: Timestamp,
    ) {
        let deadline = timeout_ms.map(|ms| self.arm_deadline(&instance, job, ms, 0, now));
        self.external
            .insert((instance, job), ExternalJob { cancel, deadline });
    }

    fn arm_deadline(
        &mut self,
        instance: &InstanceRef,
        job: JobKey,
        timeout_ms: u64,
        generation: u64,
        now: Timestamp,
    ) -> Deadline {
        let at = now.plus_millis(i64::try_from(timeout_ms).unwrap_or(i64::MAX));
        let wake = sleep_until(self.shared.clock.clone(), at);
        let instance = instance.clone();
        let abort = self.tasks.spawn(async move {
            wake.await;
            Some(Input::Expired {
                instance,
                job,
                generation,
            })
        });
        Deadline {
            timeout_ms,
            abort,
            generation,
        }
    }

    /// A sign of life from the worker of `job`: its deadline starts again.
    /// False when the job is not waiting for an external worker here.
    pub(super) fn heartbeat(
        &mut self,
        instance: &InstanceRef,
        job: JobKey,
        now: Timestamp,
    ) -> bool {
        let key: JobOf = (instance.clone(), job);
        let Some(old) = self.external.get_mut(&key).and_then(|e| e.deadline.take()) else {
            return self.external.contains_key(&key);
        };
        old.abort.abort();
        let next = self.arm_deadline(instance, job, old.timeout_ms, old.generation + 1, now);
        if let Some(e) = self.external.get_mut(&key) {
            e.deadline = Some(next);
        }
        true
    }

    /// Forgets the external job `key` (answered, cancelled, expired): its
    /// deadline stops; with `cancel` its token fires too.
    pub(super) fn drop_external(&mut self, key: &JobOf, cancel: bool) {
        if let Some(e) = self.external.remove(key) {
            if let Some(d) = e.deadline {
                d.abort.abort();
            }
            if cancel {
                e.cancel.cancel();
            }
        }
    }

    /// The deadline armed `generation`-th for `key` passed: the timeout (in
    /// ms) when it is still the current one, and the job is forgotten.
    pub(super) fn expired(&mut self, key: &JobOf, generation: u64) -> Option<u64> {
        let current = self.external.get(key)?.deadline.as_ref()?;
        if current.generation != generation {
            return None;
        }
        let ms = current.timeout_ms;
        self.drop_external(key, true);
        Some(ms)
    }

    /// The deadline armed `generation`-th for `job` passed: if it is still
    /// the current one, the attempt fails as a retryable technical failure.
    pub(super) fn take_expired(
        &mut self,
        instance: InstanceRef,
        job: JobKey,
        generation: u64,
        g: &mut Group,
    ) {
        let Some(ms) = self.expired(&(instance.clone(), job), generation) else {
            return;
        };
        let failure = JobFailure::Technical {
            message: format!("no answer or heartbeat from the worker within {ms} ms"),
            retryable: true,
        };
        let cmd = Command::FailJob { job, failure };
        if let Err(e) = self.take_unanswered(instance, &cmd, None, g) {
            tracing::debug!(%job, "deadline dropped: {e}");
        }
    }

    /// `RuntimeHandle::heartbeat` for `job`: accepted while the job is open
    /// (its deadline, if it has one, starts again at `now`).
    pub(super) fn take_heartbeat(
        &mut self,
        instance: &InstanceRef,
        job: JobKey,
        now: Timestamp,
    ) -> RuntimeResult<()> {
        let open = self
            .slots
            .get(instance)
            .is_some_and(|s| s.state.job_is_open(&job));
        if !open {
            return Err(RuntimeError::JobNotOpen(job_key(instance, &job)));
        }
        self.heartbeat(instance, job, now);
        Ok(())
    }
}
