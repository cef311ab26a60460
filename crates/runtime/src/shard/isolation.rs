//! Failure isolation inside one shard's group commit: one instance's
//! failure does not fail the other instances of the group.
//!
//! A group commits the decisions of many instances in one batch, and a
//! batch is all or nothing. When the store refuses it with a conflict that
//! names one instance of the group (its history does not end where the
//! shard expected — another writer appended to it — or its row exists or is
//! missing against the shard's belief), only that instance's requesters get
//! the error and only it is re-driven (`redrive.rs`). Every other instance
//! of the group is rebuilt from the store and its replayable inputs are put
//! back at the front of the queue, in their order, with their requesters
//! still waiting: commands from the handle (signals, cancels, completions
//! ...), handlers' answers to jobs, and starts. The next group decides them
//! again against the rebuilt state and commits them without the culprit.
//!
//! What is not replayed takes the failure path as before: inputs that
//! consumed an outbox row (their row is re-driven), deliveries and
//! broadcasts (their senders are told), and every input when the error names
//! no instance of the group or is not a conflict (a full disk, a lost
//! connection: nothing would go better without one instance). Replays in a
//! row are bounded ([`MAX_REDRIVES`] rounds), then the group fails as a
//! whole.
//!
//! Each round drops at least the culprit's inputs, so rounds end; within a
//! round per-instance order holds, because an instance's replayed inputs go
//! back in the order they were decided, ahead of anything newer.

use super::Shard;
use super::group::{Done, Reply};
use super::msg::{Input, ShardMsg, StartMsg};
use super::redrive::MAX_REDRIVES;
use crate::definitions::ProcessDef;
use crate::start::OnConflict;
use std::sync::Arc;
use windlass_engine::Command;
use windlass_store_api::{ErrorClass, InstanceRef, Store, StoreError};

/// An input that can be decided once more.
pub(crate) enum Replay {
    /// A command for the instance: from the handle (its reply travels in
    /// [`Done::reply`]) or a handler's answer to a job.
    Command(Command),
    /// A start (its reply travels in [`Done::reply`]): what `take_start`
    /// did not consume, and its `Command::Start`. A [`StartMsg`] is made
    /// of it only when it is replayed, so the good path allocates nothing.
    Start {
        /// As in [`StartMsg::chosen`].
        chosen: bool,
        /// As in [`StartMsg::on_conflict`].
        on_conflict: OnConflict,
        /// The definition.
        def: Arc<ProcessDef>,
        /// The calling instance, if any.
        parent: Option<InstanceRef>,
        /// The `Command::Start` it was decided with.
        cmd: Command,
    },
}

impl Replay {
    /// Whether `reply` can travel with this replay.
    fn fits(&self, reply: &Reply) -> bool {
        matches!(
            (self, reply),
            (Replay::Command(_), Reply::None | Reply::Cmd(_))
                | (Replay::Start { .. }, Reply::None | Reply::Start(_))
        )
    }

    /// The input to queue again for `instance`, with `reply` (one that
    /// [`Replay::fits`]); `None` for a start whose command is no start.
    fn into_input(self, instance: InstanceRef, reply: Reply) -> Option<Input> {
        Some(match self {
            Replay::Command(cmd) => Input::Msg(ShardMsg::Command {
                instance,
                cmd,
                reply: match reply {
                    Reply::Cmd(tx) => Some(tx),
                    _ => None,
                },
                outbox_done: None,
                // Not counted in flight: it is decided in the very next
                // group, ahead of anything queued after the failure.
                counted: false,
            }),
            Replay::Start {
                chosen,
                on_conflict,
                def,
                parent,
                cmd:
                    Command::Start {
                        vars,
                        business_key,
                        start_event,
                        ..
                    },
            } => Input::Msg(ShardMsg::Start(Box::new(StartMsg {
                instance,
                chosen,
                on_conflict,
                def,
                vars,
                business_key,
                parent,
                reply: match reply {
                    Reply::Start(tx) => Some(tx),
                    _ => None,
                },
                outbox_done: None,
                start_event,
                messages: Vec::new(),
                schedules: Vec::new(),
                outbox: Vec::new(),
            }))),
            Replay::Start { .. } => return None,
        })
    }
}

/// The instance of the group `err` blames: a conflict naming an instance
/// the group decided for. `None` for every other failure.
pub(super) fn culprit(err: &StoreError, done: &[Done]) -> Option<InstanceRef> {
    if err.class() != ErrorClass::Conflict {
        return None;
    }
    let named = |i: &InstanceRef| match err {
        StoreError::Conflict { instance, .. } => instance == i,
        StoreError::AlreadyExists {
            what: "instance",
            key,
        }
        | StoreError::NotFound {
            what: "instance",
            key,
        } => *key == i.to_string(),
        _ => false,
    };
    done.iter().map(|d| &d.instance).find(|i| named(i)).cloned()
}

impl<S: Store> Shard<S> {
    /// Takes out of `done` what can be decided again because `culprit`, not
    /// its own instance, failed the commit: returns the inputs to queue
    /// again (in order) and their instances (to rebuild from the store);
    /// the rest stays in `done` for the failure path.
    pub(super) fn take_replays(
        &mut self,
        done: &mut Vec<Done>,
        culprit: Option<&InstanceRef>,
    ) -> (Vec<Input>, Vec<InstanceRef>) {
        let Some(culprit) = culprit else {
            return (Vec::new(), Vec::new());
        };
        if self.replay_rounds >= MAX_REDRIVES {
            return (Vec::new(), Vec::new());
        }
        let mut inputs = Vec::new();
        let mut instances: Vec<InstanceRef> = Vec::new();
        let mut rest = Vec::with_capacity(done.len());
        for mut d in done.drain(..) {
            let replay = match d.replay.take() {
                Some(r) if d.instance != *culprit && r.fits(&d.reply) => r,
                other => {
                    d.replay = other;
                    rest.push(d);
                    continue;
                }
            };
            if !instances.contains(&d.instance) {
                instances.push(d.instance.clone());
            }
            inputs.extend(replay.into_input(d.instance, d.reply));
        }
        *done = rest;
        if !inputs.is_empty() {
            self.replay_rounds += 1;
        }
        (inputs, instances)
    }

    /// Puts `inputs` back at the front of the queue, in their order.
    pub(super) fn queue_again(&mut self, inputs: Vec<Input>) {
        for input in inputs.into_iter().rev() {
            self.queue.push_front(input);
        }
    }
}
