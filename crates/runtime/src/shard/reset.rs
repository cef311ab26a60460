//! Resets ([`RuntimeHandle::reset`](crate::RuntimeHandle::reset)), decided
//! by the shard that owns the instance id, serially with its starts: the
//! run's history up to the asked event is carried into a new run (with its
//! original times), the engine's `Command::Reset` asks again for the jobs
//! and children open there, the id's live run (if any) is terminated, and
//! the signals the reset run received after the point are sent to the new
//! run; all in one commit.

use super::Shard;
use super::group::{Done, Group, Reply, outbox_for_effects};
use super::msg::ResetMsg;
use super::slot::Slot;
use crate::error::{RuntimeError, RuntimeResult};
use windlass_engine::reset::{ResetPoint, reset_point};
use windlass_engine::tally::NodeTally;
use windlass_engine::{Command, Ctx, Effect, step};
use windlass_store_api::{CarriedEvents, HistoryEvent, InstanceRef, InstanceRow, Store};

impl<S: Store> Shard<S> {
    /// Takes a reset: answered with the new run after the commit, or at
    /// once with why it was refused (nothing written then).
    pub(super) async fn take_reset(&mut self, m: ResetMsg, g: &mut Group) {
        let ResetMsg {
            instance,
            to_event,
            reason,
            reapply_signals,
            reply,
        } = m;
        let r = self
            .reset(&instance, to_event, &reason, reapply_signals, g)
            .await;
        match r {
            Ok((new, effects)) => g.done.push(Done {
                instance: new,
                effects,
                reply: Reply::Start(reply),
                recovered: false,
                replay: None,
            }),
            Err(e) => drop(reply.send(Err(e))),
        }
    }

    async fn reset(
        &mut self,
        from: &InstanceRef,
        at: u64,
        reason: &str,
        reapply_signals: bool,
        g: &mut Group,
    ) -> RuntimeResult<(InstanceRef, Vec<Effect>)> {
        let refused = |why: String| RuntimeError::ResetRefused {
            instance: from.clone(),
            reason: why,
        };
        let store = self.shared.store.as_ref();
        let Some(row) = store.instance(from).await? else {
            return Err(RuntimeError::UnknownInstance(from.clone()));
        };
        if let Some(parent) = &row.parent {
            return Err(refused(format!(
                "it is the child of a call activity of {parent}; reset that instance instead"
            )));
        }
        // The stored history: what this shard committed (every group is
        // committed before the next is decided).
        let history = store.history(from).await?;
        let ResetPoint {
            state,
            signals_after,
        } = reset_point(history.iter().map(|h| (h.seq, h.payload.as_slice())), at)
            .map_err(|e| refused(e.to_string()))?;
        if let Some((_, key)) = state.dedup_claims().next() {
            return Err(refused(format!(
                "a token waits there for dedup key '{key}'; resetting to a point with an open \
                 dedup claim is not supported"
            )));
        }
        let def = self
            .shared
            .cache
            .get_or_load(&row.definition_key, store)
            .await?;
        let known = self.known_runs(from).await?;
        let new = InstanceRef {
            id: from.id.clone(),
            run: super::start::run_after(&from.id.0, known.latest.as_ref())?,
        };

        // Decide the reset before touching the live run, so a refusal
        // changes nothing.
        let mut slot = Slot {
            state,
            def,
            seq: at,
            inflight: 0,
            parent: None,
            uncommitted: true,
            store_error: None,
        };
        self.decision.clear();
        let cmd = Command::Reset {
            from_run: from.run.0.clone(),
            at_seq: at,
            reason: reason.to_string(),
        };
        let ctx = Ctx {
            plan: &slot.def.plan,
            now: g.now,
            definition_key: &slot.def.key,
        };
        step(&mut slot.state, &cmd, &ctx, &mut self.decision).map_err(|e| {
            RuntimeError::Rejected {
                instance: from.clone(),
                reason: e,
            }
        })?;
        let events = self.encode_events(&new)?;
        let mut effects = std::mem::take(&mut self.decision.effects);

        // At most one unfinished run per id: the live one ends here.
        if let Some(live) = known.live {
            let r = self.hold(live).await?;
            let end = Command::Terminate {
                reason: format!(
                    "reset: continued as run {} from event {at} of run {}",
                    new.run, from.run
                ),
            };
            let ended = self.take_command(&r, &end, None, g)?;
            tracing::info!(instance = %r, "terminated: reset to run {}", new.run);
            g.done.push(Done {
                instance: r,
                effects: ended,
                reply: Reply::None,
                recovered: false,
                replay: None,
            });
        }

        slot.seq = at + events.len() as u64;
        let carried = carried_events(&history[..at as usize]);
        g.batch.create_carried(
            InstanceRow {
                instance: new.clone(),
                definition_key: slot.def.key.clone(),
                status: slot.status(),
                business_key: row.business_key.clone(),
                parent: None,
                created_at: g.now,
                updated_at: g.now,
                last_seq: 0,
                tally: NodeTally::of(&slot.state).encode(),
            },
            carried,
            events,
        );
        self.timers.carried(&new, &slot.state);
        self.message_notes.carried(&new, &slot.state);
        outbox_for_effects(&new, &slot, &effects, g);
        self.runs.insert(new.id.clone(), new.run.clone());
        self.slots.insert(new.clone(), slot);
        tracing::info!(instance = %new, from = %from, at, "reset: {reason}");

        if reapply_signals {
            for s in signals_after {
                let cmd = Command::Signal {
                    name: s.name,
                    vars: s.vars,
                };
                match self.take_command(&new, &cmd, None, g) {
                    Ok(more) => effects.extend(more),
                    // The new run may have ended meanwhile (a reapplied
                    // signal interrupted it): the rest has nowhere to go.
                    Err(e) => {
                        tracing::warn!(instance = %new, "signal of event {} not reapplied: {e}", s.seq)
                    }
                }
            }
        }
        Ok((new, effects))
    }
}

/// The events carried over, grouped by the time they were recorded.
fn carried_events(history: &[HistoryEvent]) -> Vec<CarriedEvents> {
    let mut out: Vec<CarriedEvents> = Vec::new();
    for h in history {
        match out.last_mut() {
            Some(c) if c.recorded_at == h.recorded_at => c.events.push(h.payload.clone()),
            _ => out.push(CarriedEvents {
                recorded_at: h.recorded_at,
                events: vec![h.payload.clone()],
            }),
        }
    }
    out
}
