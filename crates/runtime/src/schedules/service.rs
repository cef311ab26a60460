//! The schedule service: one task per runtime, the only writer of the
//! `schedules` table, one heap of next fire times on the injected clock
//! (no task per schedule).
//!
//! A fire of a schedule whose `next_fire_at` has come:
//!
//! 1. Catch-up: the occurrences missed since `next_fire_at` (the runtime
//!    was down, or the schedule paused) fire ONCE, as the latest of them,
//!    when that one is within the runtime's catch-up window
//!    (`RuntimeOptions::timer_catch_up`; no window: always); the others
//!    are skipped, counted and logged.
//! 2. A start (timer start event): `StartRequest` for the process's latest
//!    version at the start event, under the schedule's instance id, with
//!    the row's new state written in the SAME batch as the instance's
//!    creation, so a crash loses or doubles no fire. When the id has an
//!    unfinished run the overlap policy decides (skip, buffer one, buffer
//!    all, cancel the run and buffer, terminate it in the same batch,
//!    allow all under per-fire ids); a fire that creates nothing writes the
//!    row alone.
//! 3. A publication (`windlass:cron`): the source's message is published
//!    with the message id `{scheduleId}@{scheduledTime}`, then the row is
//!    committed: a crash between the two fires again at the next start and
//!    the publication is a duplicate (within the message id retention).
//!
//! Buffered fires start when a watched run finishes (see [`Watched`]),
//! re-checked in the store after each watch is set, and at start.

mod owned;

use super::spec::{Spec, Target, Timing, derive};
use super::{ScheduleInfo, ScheduleMsg, Watched};
use crate::error::{RuntimeError, RuntimeResult};
use crate::runtime::WeakHandle;
use crate::shared::Shared;
use crate::start::{OnConflict, StartRequest};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use windlass_model::{Occurrence, OverlapPolicy, format_instant};
use windlass_store_api::{Batch, InstanceId, InstanceRef, ScheduleChange, ScheduleRow, Store};
use windlass_types::{Timestamp, Vars};

/// How long a fire that failed (a store error) waits before it is tried
/// again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// At most this many missed occurrences are walked one by one when a
/// schedule fires late; beyond, the walk jumps to the next one after now.
const CATCH_UP_WALK: u32 = 10_000;

/// At most this many fire times are listed by `next_fire_times`.
pub(crate) const MAX_NEXT_TIMES: usize = 10_000;

/// One schedule in memory.
struct Entry {
    row: ScheduleRow,
    spec: Spec,
    /// The time its heap entry is armed for (`None`: not armed).
    armed: Option<Timestamp>,
    /// Occurrences skipped since the start.
    skipped: u64,
}

/// The service's state.
pub(crate) struct Service<S> {
    shared: Arc<Shared<S>>,
    handle: WeakHandle<S>,
    entries: BTreeMap<String, Entry>,
    heap: BinaryHeap<Reverse<(Timestamp, String)>>,
    /// Instance id → the schedules whose buffered fires wait for its run.
    waiting: HashMap<String, Vec<String>>,
    /// Fire at all (`RuntimeOptions::fire_schedules`).
    fire: bool,
    catch_up: Option<Duration>,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl<S: Store> Service<S> {
    /// A service over `shared`, starting instances through `handle`.
    pub fn new(
        shared: Arc<Shared<S>>,
        handle: WeakHandle<S>,
        fire: bool,
        catch_up: Option<Duration>,
    ) -> Self {
        Service {
            shared,
            handle,
            entries: BTreeMap::new(),
            heap: BinaryHeap::new(),
            waiting: HashMap::new(),
            fire,
            catch_up,
        }
    }

    fn watched(&self) -> &Watched {
        &self.shared.schedule_watch
    }

    /// Loads the rows, then serves messages and fires until cancelled.
    pub async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<ScheduleMsg>,
        cancel: CancellationToken,
    ) {
        if let Err(e) = self.load().await {
            tracing::error!("schedules not loaded: {e}");
        }
        loop {
            let next = if self.fire {
                self.heap.peek().map(|Reverse((t, _))| *t)
            } else {
                None
            };
            let clock = self.shared.clock.clone();
            let sleep = async move {
                match next {
                    Some(t) => crate::timer::sleep_until(clock, t).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                // Due fires before requests: a request sent after the clock
                // moved sees what fell due (tests synchronise on it).
                _ = sleep => self.fire_due().await,
                msg = rx.recv() => match msg {
                    Some(m) => self.on_msg(m).await,
                    None => break,
                },
            }
        }
    }

    /// Reads the rows of the served partitions, arms the heap, and starts
    /// buffered fires whose run finished while the runtime was down.
    async fn load(&mut self) -> RuntimeResult<()> {
        let served = self.shared.served.get();
        self.load_in(&served).await.map(|_| ())
    }

    /// Arms the heap for the schedule's next fire (unless paused or done).
    fn arm(&mut self, id: &str) {
        let Some(e) = self.entries.get_mut(id) else {
            return;
        };
        e.armed = if e.row.paused {
            None
        } else {
            e.row.next_fire_at
        };
        if let Some(t) = e.armed {
            self.heap.push(Reverse((t, id.to_string())));
        }
    }

    async fn on_msg(&mut self, msg: ScheduleMsg) {
        match msg {
            ScheduleMsg::Deployed { defs, now, reply } => {
                let _ = reply.send(self.deployed(defs, now).await);
            }
            ScheduleMsg::Finished(id) => self.finished(id).await,
            ScheduleMsg::List(reply) => {
                let _ = reply.send(self.list().await);
            }
            ScheduleMsg::Adopt { partitions, reply } => {
                let _ = reply.send(self.load_in(&partitions).await);
            }
            ScheduleMsg::Release { partitions, reply } => {
                let _ = reply.send(self.let_go(&partitions));
            }
            ScheduleMsg::Pause { id, paused, reply } => {
                let r = match self.shared.served.check_schedule(&id) {
                    Ok(()) => self.pause(&id, paused).await,
                    Err(e) => Err(e),
                };
                let _ = reply.send(r);
            }
            ScheduleMsg::Trigger { id, reply } => {
                let r = match self.entries.get(&id) {
                    None => self
                        .shared
                        .served
                        .check_schedule(&id)
                        .and(Err(RuntimeError::UnknownSchedule(id))),
                    Some(_) if !self.fire => Err(RuntimeError::Unsupported(
                        "this runtime does not fire schedules (fire_schedules is off)".into(),
                    )),
                    Some(_) => {
                        let now = self.shared.clock.now();
                        self.fire_one(&id, now, now, None).await
                    }
                };
                let _ = reply.send(r);
            }
            ScheduleMsg::NextTimes { id, n, reply } => {
                let r = match self.shared.served.check_schedule(&id) {
                    Ok(()) => self.next_times(&id, n),
                    Err(e) => Err(e),
                };
                let _ = reply.send(r);
            }
        }
    }

    /// The schedules of freshly deployed latest versions replace their
    /// processes' rows: unchanged specs keep their row (pause state, next
    /// fire, buffered fires), changed ones start afresh, dropped ones are
    /// deleted.
    async fn deployed(
        &mut self,
        defs: Vec<Arc<crate::definitions::ProcessDef>>,
        now: Timestamp,
    ) -> RuntimeResult<()> {
        let mut batch = Batch::new();
        let mut puts = Vec::new();
        let mut deletes = Vec::new();
        for def in defs {
            let specs = derive(&def);
            for (id, e) in &self.entries {
                if e.row.process_id == def.process_id && !specs.iter().any(|(i, _)| i == id) {
                    batch.schedule(ScheduleChange::Delete(id.clone()));
                    deletes.push(id.clone());
                }
            }
            for (id, spec) in specs {
                if self.entries.get(&id).is_some_and(|e| e.spec == spec) {
                    continue;
                }
                let first = spec.first(now.0).map_err(|reason| RuntimeError::Schedule {
                    id: id.clone(),
                    reason,
                })?;
                let row = ScheduleRow {
                    id: id.clone(),
                    process_id: def.process_id.clone(),
                    spec: spec.encode(),
                    paused: false,
                    next_fire_at: first.map(|o| Timestamp(o.due_millis)),
                    next_occurrence: first.map_or(0, |o| u64::from(o.occurrence)),
                    last_fire_at: None,
                    buffered: Vec::new(),
                    updated_at: now,
                };
                batch.schedule(ScheduleChange::Put(row.clone()));
                puts.push((row, spec));
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.shared.store.commit(batch).await?;
        for id in deletes {
            self.entries.remove(&id);
            tracing::info!(schedule = %id, "schedule deleted (its timer start event or source is gone)");
        }
        for (row, spec) in puts {
            tracing::info!(schedule = %row.id, next = ?row.next_fire_at, "schedule deployed");
            self.hold(row, spec);
        }
        Ok(())
    }

    /// Keeps schedule `row` in memory and arms its next fire.
    fn hold(&mut self, row: ScheduleRow, spec: Spec) {
        let id = row.id.clone();
        self.entries.insert(
            id.clone(),
            Entry {
                row,
                spec,
                armed: None,
                skipped: 0,
            },
        );
        self.arm(&id);
    }

    async fn pause(&mut self, id: &str, paused: bool) -> RuntimeResult<()> {
        let Some(e) = self.entries.get(id) else {
            return Err(RuntimeError::UnknownSchedule(id.to_string()));
        };
        if e.row.paused == paused {
            return Ok(());
        }
        let mut row = e.row.clone();
        row.paused = paused;
        row.updated_at = self.shared.clock.now();
        self.put(row).await?;
        self.arm(id);
        Ok(())
    }

    /// Commits `row` alone and keeps it in memory.
    async fn put(&mut self, row: ScheduleRow) -> RuntimeResult<()> {
        let mut batch = Batch::new();
        batch.schedule(ScheduleChange::Put(row.clone()));
        self.shared.store.commit(batch).await?;
        if let Some(e) = self.entries.get_mut(&row.id) {
            e.row = row;
        }
        Ok(())
    }

    fn next_times(&self, id: &str, n: usize) -> RuntimeResult<Vec<Timestamp>> {
        let e = self
            .entries
            .get(id)
            .ok_or_else(|| RuntimeError::UnknownSchedule(id.to_string()))?;
        let n = n.min(MAX_NEXT_TIMES);
        let mut out = Vec::with_capacity(n.min(1024));
        let Some(first) = e.row.next_fire_at else {
            return Ok(out);
        };
        let mut o = Occurrence {
            due_millis: first.0,
            occurrence: u32::try_from(e.row.next_occurrence).unwrap_or(u32::MAX),
        };
        while out.len() < n {
            out.push(Timestamp(o.due_millis));
            match e.spec.next(o, o.due_millis) {
                Ok(Some(next)) => o = next,
                Ok(None) => break,
                Err(reason) => {
                    return Err(RuntimeError::Schedule {
                        id: id.to_string(),
                        reason,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Fires every schedule whose armed time has come.
    async fn fire_due(&mut self) {
        let now = self.shared.clock.now();
        while let Some(Reverse((t, _))) = self.heap.peek() {
            if *t > now {
                break;
            }
            let Some(Reverse((t, id))) = self.heap.pop() else {
                break;
            };
            let live = self
                .entries
                .get(&id)
                .is_some_and(|e| e.armed == Some(t) && !e.row.paused);
            if live {
                self.fire_scheduled(&id, now).await;
            }
        }
    }

    /// The schedule's next fire has come at `now`: catch up, fire (or skip)
    /// the latest missed occurrence, and move to the next one.
    async fn fire_scheduled(&mut self, id: &str, now: Timestamp) {
        let Some(e) = self.entries.get(id) else {
            return;
        };
        let Some(due) = e.row.next_fire_at else {
            return;
        };
        let mut latest = Occurrence {
            due_millis: due.0,
            occurrence: u32::try_from(e.row.next_occurrence).unwrap_or(u32::MAX),
        };
        let mut skipped = 0u64;
        let mut steps = 0;
        let next = loop {
            match e.spec.next(latest, latest.due_millis) {
                Ok(Some(n)) if n.due_millis <= now.0 && steps < CATCH_UP_WALK => {
                    skipped += 1;
                    steps += 1;
                    latest = n;
                }
                Ok(Some(n)) if n.due_millis <= now.0 => break e.spec.next(latest, now.0),
                other => break other,
            }
        };
        let next = match next {
            Ok(n) => n,
            Err(reason) => {
                tracing::error!(schedule = %id, "the schedule's next time: {reason}; it stops");
                None
            }
        };
        let late = now.0.saturating_sub(latest.due_millis);
        let fires = self.catch_up.is_none_or(|w| late <= millis(w));
        if !fires {
            skipped += 1;
        }
        if skipped > 0 {
            tracing::warn!(
                schedule = %id,
                skipped,
                "missed occurrences skipped (later than the catch-up window, or caught up by one fire)"
            );
        }
        let mut row = e.row.clone();
        row.next_fire_at = next.map(|o| Timestamp(o.due_millis));
        row.next_occurrence = next.map_or(row.next_occurrence, |o| u64::from(o.occurrence));
        row.updated_at = now;
        if let Some(e) = self.entries.get_mut(id) {
            e.skipped += skipped;
        }
        let scheduled = Timestamp(latest.due_millis);
        if fires {
            row.last_fire_at = Some(scheduled);
            let _ = self.fire_one(id, scheduled, now, Some(row)).await;
        } else if let Err(err) = self.put(row).await {
            tracing::error!(schedule = %id, "schedule not advanced: {err}");
            self.retry(id, now);
        }
        if self
            .entries
            .get(id)
            .is_some_and(|e| e.armed.is_some_and(|a| a <= now))
        {
            self.arm(id);
        }
    }

    /// Arms a failed fire again after [`RETRY_AFTER`].
    fn retry(&mut self, id: &str, now: Timestamp) {
        let at = Timestamp(now.0.saturating_add(millis(RETRY_AFTER)));
        if let Some(e) = self.entries.get_mut(id) {
            e.armed = Some(at);
            self.heap.push(Reverse((at, id.to_string())));
        }
    }

    /// One fire of schedule `id` for `scheduled` at `now`. `advanced` is
    /// the row after a scheduled fire (next fire moved on); `None` for a
    /// trigger (the row records only the last fire).
    async fn fire_one(
        &mut self,
        id: &str,
        scheduled: Timestamp,
        now: Timestamp,
        advanced: Option<ScheduleRow>,
    ) -> RuntimeResult<()> {
        let Some(e) = self.entries.get(id) else {
            return Err(RuntimeError::UnknownSchedule(id.to_string()));
        };
        let scheduled_fire = advanced.is_some();
        let mut row = advanced.unwrap_or_else(|| e.row.clone());
        row.last_fire_at = Some(scheduled);
        row.updated_at = now;
        let spec = e.spec.clone();
        let row_after_failure = row.clone();
        let result = match &spec.target {
            Target::Publish { message } => self.publish(id, message, scheduled, now, row).await,
            Target::Start { start_event } => {
                self.start(id, &spec, start_event, scheduled, now, row)
                    .await
            }
        };
        if let Err(err) = &result {
            tracing::error!(schedule = %id, "fire failed: {err}");
            if scheduled_fire {
                if matches!(err, RuntimeError::Store(_) | RuntimeError::ShuttingDown) {
                    // The row is unchanged: the same fire is tried again.
                    self.retry(id, now);
                } else if let Err(e) = self.put(row_after_failure).await {
                    // Refused for good (the process cannot start, its id
                    // template does not render): this fire is lost, the
                    // schedule goes on.
                    tracing::error!(schedule = %id, "schedule not advanced: {e}");
                    self.retry(id, now);
                }
            }
        }
        result
    }

    async fn publish(
        &mut self,
        id: &str,
        message: &str,
        scheduled: Timestamp,
        now: Timestamp,
        row: ScheduleRow,
    ) -> RuntimeResult<()> {
        let handle = self.handle.upgrade().ok_or(RuntimeError::ShuttingDown)?;
        let msg = crate::Message {
            name: message.to_string(),
            correlation_key: None,
            message_id: Some(format!("{id}@{}", format_instant(scheduled.0))),
            vars: fire_vars(id, scheduled, now),
            // A tick is for now: nothing waiting and no start event for it
            // means it is dropped, not buffered.
            ttl_millis: Some(0),
        };
        let outcome = handle.publish(msg).await?;
        tracing::info!(schedule = %id, ?outcome, "cron source fired");
        self.put(row).await
    }

    /// Starts the schedule's process for one fire, with `row` written in
    /// the same batch; applies the overlap policy when the id is busy.
    async fn start(
        &mut self,
        id: &str,
        spec: &Spec,
        start_event: &str,
        scheduled: Timestamp,
        now: Timestamp,
        row: ScheduleRow,
    ) -> RuntimeResult<()> {
        let policy = spec.overlap();
        let r = self
            .start_once(id, policy, start_event, scheduled, now, row.clone())
            .await;
        match r {
            Ok(instance) => {
                tracing::info!(schedule = %id, %instance, "schedule fired");
                self.set_row(row);
                Ok(())
            }
            Err(RuntimeError::InstanceExists(live)) => {
                self.busy(id, policy, scheduled, row, live).await
            }
            Err(e) => Err(e),
        }
    }

    /// One start attempt (no policy beyond the shard's `on_conflict`).
    async fn start_once(
        &self,
        id: &str,
        policy: OverlapPolicy,
        start_event: &str,
        scheduled: Timestamp,
        now: Timestamp,
        row: ScheduleRow,
    ) -> RuntimeResult<InstanceRef> {
        let handle = self.handle.upgrade().ok_or(RuntimeError::ShuttingDown)?;
        let mut req = StartRequest::new(row.process_id.clone());
        req.vars = fire_vars(id, scheduled, now);
        req.start_event = Some(start_event.to_string());
        req.on_conflict = if policy == OverlapPolicy::TerminateOther {
            OnConflict::TerminateExisting
        } else {
            OnConflict::Reject
        };
        if policy == OverlapPolicy::AllowAll {
            req.instance_id = Some(format!("{id}@{}", format_instant(scheduled.0)));
        }
        handle
            .start_with_schedule(req, Some(id), vec![ScheduleChange::Put(row)])
            .await
    }

    /// The fire found `live` unfinished (a shard's serial answer).
    async fn busy(
        &mut self,
        id: &str,
        policy: OverlapPolicy,
        scheduled: Timestamp,
        mut row: ScheduleRow,
        live: InstanceRef,
    ) -> RuntimeResult<()> {
        match policy {
            OverlapPolicy::Skip | OverlapPolicy::TerminateOther => {
                tracing::info!(schedule = %id, %live, "fire skipped: the previous run is unfinished");
            }
            OverlapPolicy::AllowAll => {
                tracing::info!(schedule = %id, %live, "fire already started (same fire id)");
            }
            OverlapPolicy::BufferOne => {
                if row.buffered.is_empty() {
                    row.buffered.push(scheduled);
                } else {
                    tracing::info!(schedule = %id, "fire dropped: one fire is buffered already");
                }
            }
            OverlapPolicy::BufferAll => row.buffered.push(scheduled),
            OverlapPolicy::CancelOther => row.buffered = vec![scheduled],
        }
        let buffers = !row.buffered.is_empty();
        self.put(row).await?;
        if policy == OverlapPolicy::CancelOther {
            let handle = self.handle.upgrade().ok_or(RuntimeError::ShuttingDown)?;
            match handle.cancel(&live, &format!("schedule {id} fired")).await {
                Ok(()) | Err(RuntimeError::Rejected { .. }) => {}
                Err(e) => tracing::warn!(schedule = %id, %live, "cancel failed: {e}"),
            }
        }
        if buffers {
            self.watch(&live.id, id).await;
        }
        Ok(())
    }

    /// Keeps `row` as the schedule's state (committed by a start).
    fn set_row(&mut self, row: ScheduleRow) {
        if let Some(e) = self.entries.get_mut(&row.id) {
            e.row = row;
        }
    }

    /// Waits for the run of instance id `iid` to finish, then drains
    /// schedule `sid`'s buffer. The store is read after the watch is set:
    /// a run that finished before is seen there, one that finishes after
    /// sends its note.
    async fn watch(&mut self, iid: &InstanceId, sid: &str) {
        self.watched().insert(iid.as_str());
        let list = self.waiting.entry(iid.0.clone()).or_default();
        if !list.iter().any(|s| s == sid) {
            list.push(sid.to_string());
        }
        match self.shared.store.latest_run(iid).await {
            Ok(Some(r)) if !r.status.is_finished() => {}
            Ok(_) => Box::pin(self.finished(iid.clone())).await,
            Err(e) => tracing::warn!(instance = %iid, "latest run not read: {e}"),
        }
    }

    /// A run of `iid` finished: drain the buffers of the schedules waiting
    /// for it.
    async fn finished(&mut self, iid: InstanceId) {
        let Some(sids) = self.waiting.remove(iid.as_str()) else {
            return;
        };
        self.watched().remove(iid.as_str());
        for sid in sids {
            self.drain(&sid).await;
        }
    }

    /// Starts the oldest buffered fire of `sid` (its removal from the
    /// buffer committed with the start); busy again: watch again.
    async fn drain(&mut self, sid: &str) {
        if !self.fire {
            return;
        }
        let Some(e) = self.entries.get(sid) else {
            return;
        };
        let Some(&scheduled) = e.row.buffered.first() else {
            return;
        };
        let Target::Start { start_event } = e.spec.target.clone() else {
            return;
        };
        let policy = e.spec.overlap();
        let now = self.shared.clock.now();
        let mut row = e.row.clone();
        row.buffered.remove(0);
        row.updated_at = now;
        let r = self
            .start_once(sid, policy, &start_event, scheduled, now, row.clone())
            .await;
        match r {
            Ok(instance) => {
                tracing::info!(schedule = %sid, %instance, "buffered fire started");
                let more = !row.buffered.is_empty();
                self.set_row(row);
                if more {
                    Box::pin(self.watch(&instance.id, sid)).await;
                }
            }
            Err(RuntimeError::InstanceExists(live)) => {
                Box::pin(self.watch(&live.id, sid)).await;
            }
            Err(err) => tracing::error!(schedule = %sid, "buffered fire not started: {err}"),
        }
    }
}

/// The variables of a fire: `scheduleId`, `scheduledTime` (the occurrence,
/// RFC 3339) and `firedAt` (the clock when it fired, RFC 3339).
fn fire_vars(id: &str, scheduled: Timestamp, now: Timestamp) -> Vars {
    let mut vars = Vars::new();
    vars.insert("scheduleId".into(), id.into());
    vars.insert("scheduledTime".into(), format_instant(scheduled.0).into());
    vars.insert("firedAt".into(), format_instant(now.0).into());
    vars
}

/// What [`ScheduleInfo`] lists of `e`.
fn info(e: &Entry) -> ScheduleInfo {
    let (start_event, message) = match &e.spec.target {
        Target::Start { start_event } => (Some(start_event.clone()), None),
        Target::Publish { message } => (None, Some(message.clone())),
    };
    let timing = match &e.spec.timing {
        Timing::Cron {
            expression,
            zone: Some(z),
        } => format!("cron {expression} in {z}"),
        Timing::Cron { expression, .. } => format!("cron {expression}"),
        Timing::Cycle { source } => format!("cycle {source}"),
        Timing::Date { source } => format!("date {source}"),
        Timing::Duration { source } => format!("duration {source}"),
    };
    ScheduleInfo {
        id: e.row.id.clone(),
        process_id: e.row.process_id.clone(),
        start_event,
        message,
        timing,
        overlap: e.spec.overlap(),
        paused: e.row.paused,
        next_fire_at: e.row.next_fire_at,
        last_fire_at: e.row.last_fire_at,
        buffered: e.row.buffered.len(),
        skipped: e.skipped,
    }
}
