//! Creating a run: the shard decides `Command::Start` for a new instance
//! (its id's clash policy already applied, `start.rs`) and puts the
//! instance row, its first events, the outbox rows of its effects and what
//! the start consumes (an outbox row, messages, schedule fires) into the
//! group's batch.

use super::Shard;
use super::group::{Done, Group, Reply, outbox_for_effects};
use super::isolation::Replay;
use super::msg::StartMsg;
use super::slot::Slot;
use crate::error::{RuntimeError, RuntimeResult};
use tokio::sync::oneshot;
use windlass_engine::Command;
use windlass_engine::decide::{Ctx, step};
use windlass_engine::tally::NodeTally;
use windlass_store_api::{InstanceRef, InstanceRow, OutboxChange, Store};

impl<S: Store> Shard<S> {
    /// Creates the run `s.instance` (its id's clash policy already
    /// applied, see `shard/start.rs`); a run this shard already holds is
    /// refused.
    pub(super) fn take_start(&mut self, s: StartMsg, g: &mut Group) {
        let StartMsg {
            instance,
            chosen,
            on_conflict,
            def,
            vars,
            business_key,
            parent,
            reply,
            outbox_done,
            start_event,
            messages,
            schedules,
            outbox,
        } = s;
        let answer = |reply: Option<oneshot::Sender<_>>, r: RuntimeResult<InstanceRef>| {
            if let Some(reply) = reply {
                let _ = reply.send(r);
            }
        };
        if self.slots.contains_key(&instance) {
            if let Some(key) = outbox_done {
                g.batch.outbox(OutboxChange::Complete(key));
            }
            return answer(reply, Err(RuntimeError::InstanceExists(instance)));
        }
        // What a replay needs besides the command (`isolation.rs`): a start
        // consuming an outbox row, a message or a schedule fire is re-driven
        // by its owner instead.
        let replayable = outbox_done.is_none()
            && messages.is_empty()
            && schedules.is_empty()
            && outbox.is_empty();
        let again = replayable.then(|| (def.clone(), parent.clone()));
        let mut slot = Slot {
            state: Default::default(),
            def,
            seq: 0,
            inflight: 0,
            parent,
            uncommitted: true,
            store_error: None,
        };
        let cmd = Command::Start {
            vars,
            business_key: business_key.clone(),
            start_event,
            has_parent: slot.parent.is_some(),
        };
        self.decision.clear();
        let ctx = Ctx {
            plan: &slot.def.plan,
            now: g.now,
            definition_key: &slot.def.key,
        };
        if let Err(e) = step(&mut slot.state, &cmd, &ctx, &mut self.decision) {
            return answer(
                reply,
                Err(RuntimeError::Rejected {
                    instance,
                    reason: e,
                }),
            );
        }
        let events = match self.encode_events(&instance) {
            Ok(ev) => ev,
            Err(e) => return answer(reply, Err(e)),
        };
        slot.seq = events.len() as u64;
        self.timers.decided(&instance, &self.decision.events);
        self.message_notes.decided(&instance, &self.decision.events);
        self.dedup_notes
            .decided(&instance, &slot.def.process_id, &self.decision.events);
        g.batch.create(
            InstanceRow {
                instance: instance.clone(),
                definition_key: slot.def.key.clone(),
                status: slot.status(),
                business_key,
                parent: slot.parent.clone(),
                created_at: g.now,
                updated_at: g.now,
                last_seq: 0,
                tally: NodeTally::of(&slot.state).encode(),
            },
            events,
        );
        if let Some(key) = outbox_done {
            g.batch.outbox(OutboxChange::Complete(key));
        }
        for m in messages {
            g.batch.message(m);
        }
        for c in schedules {
            g.batch.schedule(c);
        }
        for row in outbox {
            g.batch.outbox(OutboxChange::Insert(row));
        }
        let effects = std::mem::take(&mut self.decision.effects);
        outbox_for_effects(&instance, &slot, &effects, g);
        self.runs.insert(instance.id.clone(), instance.run.clone());
        self.slots.insert(instance.clone(), slot);
        let replay = again.map(|(def, parent)| Replay::Start {
            chosen,
            on_conflict,
            def,
            parent,
            cmd,
        });
        g.done.push(Done {
            instance,
            effects,
            reply: reply.map_or(Reply::None, Reply::Start),
            recovered: false,
            replay,
        });
    }
}
