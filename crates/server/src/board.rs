//! The job board: jobs waiting for remote workers, handed out by kind with
//! a lease (fetch-and-lock, as Camunda's external tasks and Zeebe's job
//! activation).
//!
//! A job whose kind has no executor in the server (not `shell`, `http`,
//! `script`, …) is posted here by [`BoardHandler`] and waits, as an
//! external job of the runtime, for a worker to activate it
//! (`POST /api/v1/jobs/activate`, long-polling up to `waitMillis`). The
//! activation locks the job for the worker for `lockMillis`; a heartbeat
//! extends the lease; completing or failing it through the API ends it. A
//! lease that runs out fails the attempt as a retryable technical failure
//! (so it counts towards the task's retries, is in the history, and the
//! worker's late answer is refused): the next attempt is posted again.
//!
//! The board is memory only: after a restart the runtime dispatches every
//! pending job again (its outbox row), which posts it here again under the
//! same key. A job the engine cancels (instance cancelled or terminated,
//! interrupting boundary event) is dropped from the board when it is next
//! looked at; its worker learns it from its next heartbeat.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use windlass_engine::Unbound;
use windlass_engine::event::{CompletedBy, JobFailure};
use windlass_runtime::{HandlerResult, Job, JobHandler, JobOutcome, RuntimeHandle};
use windlass_store_api::Store;
use windlass_types::Vars;

/// The longest lease an activation may ask for.
pub const MAX_LOCK: Duration = Duration::from_secs(3600);
/// The longest an activation waits for a job.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// The most jobs one activation hands out.
pub const MAX_JOBS: usize = 1000;

/// A job as a worker receives it (read back from another node's answer
/// too: `crate::peers`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivatedJob {
    /// The job key: answer with it (`/api/v1/jobs/complete|fail|heartbeat`).
    pub job_key: String,
    /// The task's kind (`windlass:task kind`).
    pub kind: String,
    /// The instance id.
    pub instance_id: String,
    /// The run.
    pub run: String,
    /// The task's element id.
    pub node_id: String,
    /// The task's name, its placeholders filled in.
    pub name: Option<String>,
    /// The attempt (1-based).
    pub attempt: u32,
    /// Attempts allowed in total before an incident.
    pub max_attempts: u32,
    /// The variables the task sees (input mappings applied).
    #[schema(value_type = Object)]
    pub variables: Vars,
    /// The task's settings (`windlass:setting`), rendered.
    pub settings: BTreeMap<String, String>,
    /// How long the lease lasts from the activation, ms.
    pub lock_millis: u64,
}

/// One job on the board.
struct Entry {
    job: ActivatedJob,
    /// Fired when the engine cancels the job.
    cancel: CancellationToken,
    lease: Option<Lease>,
}

struct Lease {
    worker: String,
    until: Instant,
    length: Duration,
}

#[derive(Default)]
struct Shelves {
    /// Job keys waiting, per kind, in arrival order (a key whose entry is
    /// gone or leased is skipped).
    queues: HashMap<String, VecDeque<String>>,
    jobs: HashMap<String, Entry>,
}

/// What a heartbeat found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Beat {
    /// The job is not on the board (not a worker's job): the runtime
    /// decides.
    NotHere,
    /// The lease was extended.
    Extended,
    /// The engine cancelled the job: stop working on it.
    Cancelled,
}

/// Counts for metrics and the dump.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BoardLevels {
    /// Jobs waiting for a worker.
    pub queued: usize,
    /// Jobs a worker holds a lease on.
    pub leased: usize,
}

/// The job board (shared by the handler, the API and the lease sweeper).
#[derive(Default)]
pub struct JobBoard {
    shelves: Mutex<Shelves>,
    /// Woken when a job is posted (long-polling activations wait on it).
    posted: Notify,
    /// Cancelled when the server shuts down: waiting activations answer.
    closed: CancellationToken,
}

impl std::fmt::Debug for JobBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobBoard")
            .field("levels", &self.levels())
            .finish()
    }
}

impl JobBoard {
    /// An empty board.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn shelves(&self) -> MutexGuard<'_, Shelves> {
        // A panic while holding the lock leaves plain data behind: go on.
        self.shelves.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Posts `job` of `kind` (a second post of one key — a re-dispatch —
    /// keeps its place and lease and takes the new cancellation token).
    pub fn post(&self, kind: &str, job: &Job) {
        let r = &job.request;
        let entry = Entry {
            job: ActivatedJob {
                job_key: job.key.clone(),
                kind: kind.to_string(),
                instance_id: job.instance.id.as_str().to_string(),
                run: job.instance.run.as_str().to_string(),
                node_id: r.node_id.clone(),
                name: r.name.clone(),
                attempt: r.key.attempt,
                max_attempts: r.max_attempts,
                variables: r.inputs.clone(),
                settings: r.settings.clone(),
                lock_millis: 0,
            },
            cancel: job.cancel.clone(),
            lease: None,
        };
        {
            let mut s = self.shelves();
            if let Some(old) = s.jobs.get_mut(&job.key) {
                old.cancel = entry.cancel;
                return;
            }
            s.queues
                .entry(kind.to_string())
                .or_default()
                .push_back(job.key.clone());
            s.jobs.insert(job.key.clone(), entry);
        }
        self.posted.notify_waiters();
    }

    /// Hands out up to `max` waiting jobs of `kinds` (in the order the
    /// kinds are given, oldest first) to `worker`, locked for `lock`;
    /// waits up to `wait` for the first when none is waiting.
    pub async fn activate(
        &self,
        kinds: &[String],
        worker: &str,
        max: usize,
        lock: Duration,
        wait: Duration,
    ) -> Vec<ActivatedJob> {
        let deadline = Instant::now() + wait;
        loop {
            let posted = self.posted.notified();
            tokio::pin!(posted);
            // Registered before looking, so a post in between wakes it.
            posted.as_mut().enable();
            let got = self.take(kinds, worker, max, lock);
            if !got.is_empty() || Instant::now() >= deadline || self.closed.is_cancelled() {
                return got;
            }
            tokio::select! {
                _ = posted => {}
                _ = tokio::time::sleep_until(deadline) => {}
                _ = self.closed.cancelled() => {}
            }
        }
    }

    fn take(
        &self,
        kinds: &[String],
        worker: &str,
        max: usize,
        lock: Duration,
    ) -> Vec<ActivatedJob> {
        let now = Instant::now();
        let mut out = Vec::new();
        let mut s = self.shelves();
        let Shelves { queues, jobs } = &mut *s;
        for kind in kinds {
            let Some(queue) = queues.get_mut(kind) else {
                continue;
            };
            while out.len() < max {
                let Some(key) = queue.pop_front() else {
                    break;
                };
                let Some(entry) = jobs.get_mut(&key) else {
                    continue;
                };
                if entry.cancel.is_cancelled() {
                    jobs.remove(&key);
                    continue;
                }
                if entry.lease.is_some() {
                    continue;
                }
                entry.lease = Some(Lease {
                    worker: worker.to_string(),
                    until: now + lock,
                    length: lock,
                });
                let mut job = entry.job.clone();
                job.lock_millis = u64::try_from(lock.as_millis()).unwrap_or(u64::MAX);
                out.push(job);
            }
            if queue.is_empty() {
                queues.remove(kind);
            }
        }
        out
    }

    /// A heartbeat for `key`: extends its lease by `lock` (default: the
    /// length it was activated with).
    pub fn heartbeat(&self, key: &str, lock: Option<Duration>) -> Beat {
        let mut s = self.shelves();
        let Some(entry) = s.jobs.get_mut(key) else {
            return Beat::NotHere;
        };
        if entry.cancel.is_cancelled() {
            s.jobs.remove(key);
            return Beat::Cancelled;
        }
        match &mut entry.lease {
            Some(lease) => {
                let length = lock.unwrap_or(lease.length);
                lease.until = Instant::now() + length;
                lease.length = length;
                Beat::Extended
            }
            // Not activated (a heartbeat by key of a queued job): nothing
            // to extend.
            None => Beat::Extended,
        }
    }

    /// Puts the leased job `key` back in its queue, first in line (a
    /// stream could not deliver it).
    pub fn release(&self, key: &str) {
        let mut s = self.shelves();
        let Some(entry) = s.jobs.get_mut(key) else {
            return;
        };
        entry.lease = None;
        let kind = entry.job.kind.clone();
        s.queues
            .entry(kind)
            .or_default()
            .push_front(key.to_string());
        drop(s);
        self.posted.notify_waiters();
    }

    /// True once the board is closed (the server is shutting down).
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Takes `key` off the board (answered through the API).
    pub fn remove(&self, key: &str) {
        self.shelves().jobs.remove(key);
    }

    /// How many jobs wait and how many are leased (cancelled ones not
    /// yet dropped included).
    pub fn levels(&self) -> BoardLevels {
        let s = self.shelves();
        let leased = s.jobs.values().filter(|e| e.lease.is_some()).count();
        BoardLevels {
            queued: s.jobs.len() - leased,
            leased,
        }
    }

    /// Removes the jobs whose lease ran out by `now`, and the cancelled
    /// ones; returns the expired ones with their worker.
    fn expire(&self, now: Instant) -> (Vec<(String, String)>, Option<Instant>) {
        let mut s = self.shelves();
        s.jobs.retain(|_, e| !e.cancel.is_cancelled());
        let expired: Vec<(String, String)> = s
            .jobs
            .iter()
            .filter_map(|(k, e)| match &e.lease {
                Some(l) if l.until <= now => Some((k.clone(), l.worker.clone())),
                _ => None,
            })
            .collect();
        for (k, _) in &expired {
            s.jobs.remove(k);
        }
        // Keys of jobs gone meanwhile leave the queues too (a kind no
        // worker asks for would otherwise keep them).
        let Shelves { queues, jobs } = &mut *s;
        for queue in queues.values_mut() {
            queue.retain(|k| jobs.get(k).is_some_and(|e| e.lease.is_none()));
        }
        queues.retain(|_, q| !q.is_empty());
        let next = s
            .jobs
            .values()
            .filter_map(|e| e.lease.as_ref().map(|l| l.until))
            .min();
        (expired, next)
    }

    /// Lets waiting activations answer at once and no new ones wait (the
    /// server is shutting down).
    pub fn close(&self) {
        self.closed.cancel();
    }

    /// Fails the attempt of every job whose lease runs out, until
    /// `cancel` fires. Runs in a task the server owns.
    pub async fn sweep<S: Store>(self: Arc<Self>, rt: RuntimeHandle<S>, cancel: CancellationToken) {
        /// How often cancelled jobs are dropped when no lease is due.
        const IDLE: Duration = Duration::from_secs(1);
        loop {
            let (expired, next) = self.expire(Instant::now());
            for (key, worker) in expired {
                let failure = JobFailure::Technical {
                    message: format!("the lease of worker '{worker}' ran out"),
                    retryable: true,
                };
                match rt.fail_job(&key, failure).await {
                    Ok(()) => {
                        tracing::warn!(job_key = %key, %worker, "lease ran out: attempt failed")
                    }
                    Err(e) => {
                        tracing::debug!(job_key = %key, "lease ran out, job already gone: {e}")
                    }
                }
            }
            let wake = next.map_or(Instant::now() + IDLE, |n| n.min(Instant::now() + IDLE));
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }
}

/// The job handler of the worker kinds: posts jobs with a kind to the
/// board; a job without a kind follows the engine's rule for unbound jobs
/// (an abstract task is a no-op, anything else an incident).
#[derive(Clone)]
pub struct BoardHandler(pub Arc<JobBoard>);

impl JobHandler for BoardHandler {
    fn handle(&self, job: &Job) -> HandlerResult {
        match &job.request.kind {
            Some(kind) => {
                self.0.post(kind, job);
                HandlerResult::External
            }
            None => match job.request.when_unbound() {
                Unbound::NoOp => HandlerResult::Ready(JobOutcome::Completed {
                    outputs: Vars::new(),
                    by: CompletedBy::NoOp,
                }),
                Unbound::Missing { message } => {
                    HandlerResult::Ready(JobOutcome::technical(message, false))
                }
            },
        }
    }
}

#[cfg(test)]
#[path = "board_tests.rs"]
mod tests;
