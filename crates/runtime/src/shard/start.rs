//! Starts of chosen instance ids, decided by the shard that owns the id,
//! serially: at most one unfinished run per instance id, and the
//! [`OnConflict`] policy when a start finds one.
//!
//! The shard knows the runs it holds (`Shard::runs`: id → its latest run in
//! memory, creations of the current group included); an id it does not hold
//! is looked up in the store (`latest_run`), which is up to date for this
//! shard's ids because the shard commits each group before deciding the
//! next. A finished latest run does not clash: the new run is created
//! beside it. A new run id must sort after the id's latest run, so "latest"
//! stays "created last".

use super::Shard;
use super::group::{Done, Group, Reply};
use super::msg::StartMsg;
use crate::error::{RuntimeError, RuntimeResult};
use crate::start::{OnConflict, SUPERSEDED_REASON, new_run_id};
use tokio::sync::oneshot;
use windlass_engine::Command;
use windlass_store_api::{InstanceRef, InstanceRow, RunId, Store};

/// What the shard knows of an id's runs before a start.
pub(super) struct Known {
    /// The live (unfinished) run, if any.
    pub live: Option<Live>,
    /// The latest run, live or finished.
    pub latest: Option<RunId>,
}

/// Where a live run is.
pub(super) enum Live {
    /// Held by this shard.
    InMemory(InstanceRef),
    /// Only in the store (not resumed at start, or evicted after an error).
    Stored(Box<InstanceRow>),
}

impl<S: Store> Shard<S> {
    /// Takes a start from the handle: a generated id goes straight to the
    /// creation; a chosen id first has its clash policy applied.
    pub(super) async fn take_start_msg(&mut self, mut s: StartMsg, g: &mut Group) {
        if !s.chosen {
            return self.take_start(s, g);
        }
        let known = match self.known_runs(&s.instance).await {
            Ok(k) => k,
            Err(e) => return answer(s, Err(e)),
        };
        if let Some(live) = known.live {
            match s.on_conflict {
                OnConflict::Reject => {
                    let r = live_ref(&live);
                    return answer(s, Err(RuntimeError::InstanceExists(r)));
                }
                OnConflict::UseExisting => return self.use_existing(live, s, g),
                OnConflict::TerminateExisting => {
                    if let Err(e) = self.supersede(live, g).await {
                        return answer(s, Err(e));
                    }
                }
            }
        }
        if let Err(e) = after_latest(&mut s, known.latest.as_ref()) {
            return answer(s, Err(e));
        }
        self.take_start(s, g);
    }

    /// Signal-with-start (Temporal's SignalWithStart): `Command::Signal`
    /// to the live run of the start's id, or — when it has none — to a new
    /// run created in the same group, so the signal is never lost between
    /// a check and a start. Answered with the signalled run after the
    /// commit.
    pub(super) async fn take_signal_with_start(
        &mut self,
        mut s: StartMsg,
        signal: Command,
        reply: oneshot::Sender<RuntimeResult<InstanceRef>>,
        g: &mut Group,
    ) {
        let known = if s.chosen {
            match self.known_runs(&s.instance).await {
                Ok(k) => Some(k),
                Err(e) => return drop(reply.send(Err(e))),
            }
        } else {
            None
        };
        let (live, latest) = known.map_or((None, None), |k| (k.live, k.latest));
        let target = match live {
            Some(live) => match self.hold(live).await {
                Ok(r) => r,
                Err(e) => return drop(reply.send(Err(e))),
            },
            None => {
                if let Err(e) = after_latest(&mut s, latest.as_ref()) {
                    return drop(reply.send(Err(e)));
                }
                let r = s.instance.clone();
                // A start refused at once answers on this channel now; a
                // created run answers after the commit (unheard: the
                // signal's answer below says the same).
                let (tx, mut rx) = oneshot::channel();
                s.reply = Some(tx);
                self.take_start(s, g);
                if let Ok(Err(e)) = rx.try_recv() {
                    return drop(reply.send(Err(e)));
                }
                r
            }
        };
        match self.take_command(&target, &signal, None, g) {
            Ok(effects) => g.done.push(Done {
                instance: target,
                effects,
                reply: Reply::Start(reply),
                recovered: false,
                replay: None,
            }),
            Err(e) => drop(reply.send(Err(e))),
        }
    }

    /// The live and latest runs of the id of `instance`: from memory when
    /// this shard holds a run of it (memory is ahead of the store), else
    /// from the store.
    pub(super) async fn known_runs(&self, instance: &InstanceRef) -> RuntimeResult<Known> {
        if let Some(run) = self.runs.get(&instance.id) {
            let r = InstanceRef {
                id: instance.id.clone(),
                run: run.clone(),
            };
            if let Some(slot) = self.slots.get(&r) {
                let live = (!slot.status().is_finished()).then(|| Live::InMemory(r.clone()));
                return Ok(Known {
                    live,
                    latest: Some(r.run),
                });
            }
        }
        let row = self.shared.store.latest_run(&instance.id).await?;
        Ok(match row {
            None => Known {
                live: None,
                latest: None,
            },
            Some(row) => {
                let latest = Some(row.instance.run.clone());
                let live = if row.status.is_finished() {
                    None
                } else if self.slots.contains_key(&row.instance) {
                    // Held, but not indexed (its index entry went with a
                    // newer run whose creation failed to commit).
                    Some(Live::InMemory(row.instance))
                } else {
                    Some(Live::Stored(Box::new(row)))
                };
                Known { live, latest }
            }
        })
    }

    /// [`OnConflict::UseExisting`]: the live run's ref, answered after this
    /// group's commit when the run is in memory (it may have been created
    /// in this very group), at once when it is only in the store.
    fn use_existing(&mut self, live: Live, s: StartMsg, g: &mut Group) {
        match live {
            Live::InMemory(r) => {
                if let Some(key) = s.outbox_done {
                    g.batch
                        .outbox(windlass_store_api::OutboxChange::Complete(key));
                }
                g.done.push(Done {
                    instance: r,
                    effects: Vec::new(),
                    reply: s.reply.map_or(Reply::None, Reply::Start),
                    recovered: false,
                    replay: None,
                });
            }
            Live::Stored(row) => {
                if let Some(reply) = s.reply {
                    let _ = reply.send(Ok(row.instance));
                }
            }
        }
    }

    /// [`OnConflict::TerminateExisting`]: terminates the live run in this
    /// group (loading it first when only the store has it), so its end and
    /// the new run are committed together.
    async fn supersede(&mut self, live: Live, g: &mut Group) -> RuntimeResult<()> {
        let r = self.hold(live).await?;
        let cmd = Command::Terminate {
            reason: SUPERSEDED_REASON.to_string(),
        };
        let effects = self.take_command(&r, &cmd, None, g)?;
        tracing::info!(instance = %r, "terminated: {SUPERSEDED_REASON}");
        g.done.push(Done {
            instance: r,
            effects,
            reply: Reply::None,
            recovered: false,
            replay: None,
        });
        Ok(())
    }
}

impl<S: Store> Shard<S> {
    /// The live run in memory, loading it first when only the store has
    /// it.
    pub(super) async fn hold(&mut self, live: Live) -> RuntimeResult<InstanceRef> {
        Ok(match live {
            Live::InMemory(r) => r,
            Live::Stored(row) => {
                let r = row.instance.clone();
                let slot = crate::recovery::load_slot(
                    *row,
                    self.shared.store.as_ref(),
                    &self.shared.cache,
                )
                .await?;
                self.timers.arm_all(&r, &slot.state);
                self.runs.insert(r.id.clone(), r.run.clone());
                self.slots.insert(r.clone(), slot);
                r
            }
        })
    }
}

/// Makes the start's proposed run sort after the id's latest run: a
/// concurrent start proposed its run id later but got here first, so this
/// run gets a fresh one.
fn after_latest(s: &mut StartMsg, latest: Option<&RunId>) -> RuntimeResult<()> {
    if let Some(latest) = latest
        && s.instance.run.run_order() <= latest.run_order()
    {
        s.instance.run = run_after(&s.instance.id.0, Some(latest))?;
    }
    Ok(())
}

/// A fresh run id for instance id `id` that sorts after its latest run.
pub(super) fn run_after(id: &str, latest: Option<&RunId>) -> RuntimeResult<RunId> {
    let fresh = new_run_id();
    if let Some(latest) = latest
        && fresh.run_order() <= latest.run_order()
    {
        return Err(RuntimeError::RunOrder {
            id: id.to_string(),
            latest: latest.0.clone(),
        });
    }
    Ok(fresh)
}

fn live_ref(live: &Live) -> InstanceRef {
    match live {
        Live::InMemory(r) => r.clone(),
        Live::Stored(row) => row.instance.clone(),
    }
}

/// Answers a start that creates nothing.
fn answer(s: StartMsg, r: RuntimeResult<InstanceRef>) {
    if let Some(reply) = s.reply {
        let _ = reply.send(r);
    }
}
