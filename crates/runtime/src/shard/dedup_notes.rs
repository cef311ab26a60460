//! What a shard tells the dedup owner (`dedup/service.rs`) and how it takes
//! the owner's orders: claims (`DedupClaimed`) after the commit that
//! recorded them, and again for every open claim at start and after a
//! reload; releases of every key an instance claimed after the commit that
//! finished it; grants and supersedes decided like any command, a refused
//! grant released back at once.

use super::group::Group;
use super::{Shard, SlotMap};
use crate::dedup::{DedupMsg, scope};
use crate::shared::Shared;
use windlass_engine::{Command, Event, InstanceState};
use windlass_store_api::{InstanceRef, Store};

/// The claims of the group being built: (instance, process, key).
#[derive(Default)]
pub(crate) struct DedupNotes {
    group: Vec<(InstanceRef, String, String)>,
}

impl DedupNotes {
    /// Records the claims of one decision of an instance of `process`.
    pub fn decided(&mut self, instance: &InstanceRef, process: &str, events: &[Event]) {
        for e in events {
            if let Event::DedupClaimed { key, .. } = e {
                self.group
                    .push((instance.clone(), process.to_string(), key.clone()));
            }
        }
    }

    /// The group committed: tells the owner of the claims still open (a
    /// claim closed within the group — its token was interrupted — is not
    /// announced; the instance's release covers it if it ended).
    pub fn committed<S: Store>(&mut self, slots: &SlotMap, shared: &Shared<S>) {
        let mut group = std::mem::take(&mut self.group);
        group.dedup();
        for (instance, process, key) in group {
            let open = slots
                .get(&instance)
                .is_some_and(|s| s.state.dedup_claims().any(|(_, k)| k == key));
            if open {
                shared.tell_dedup(DedupMsg::Claim {
                    scope: scope(&process, &key),
                    instance,
                });
            }
        }
    }

    /// The group's commit failed: its claims never happened.
    pub fn commit_failed(&mut self) {
        self.group.clear();
    }

    /// Announces every open claim of `state` (start, reload).
    pub fn announce<S: Store>(
        shared: &Shared<S>,
        instance: &InstanceRef,
        process: &str,
        state: &InstanceState,
    ) {
        for (_, key) in state.dedup_claims() {
            shared.tell_dedup(DedupMsg::Claim {
                scope: scope(process, key),
                instance: instance.clone(),
            });
        }
    }

    /// The instance finished (committed): every key it claimed is released.
    pub fn release<S: Store>(
        shared: &Shared<S>,
        instance: &InstanceRef,
        process: &str,
        state: &InstanceState,
    ) {
        for key in &state.dedup_claimed {
            shared.tell_dedup(DedupMsg::Release {
                scope: scope(process, key),
                instance: instance.clone(),
            });
        }
    }
}

impl<S: Store> Shard<S> {
    /// An order of the dedup owner: decided like any command; a grant the
    /// engine refuses (the claim closed meanwhile, the instance ended) goes
    /// back to the owner as a release, so the key moves on — unless the
    /// running instance holds the key: then the grant was a second answer
    /// to a second claim that an earlier grant had already closed, and the
    /// key stays with its holder.
    pub(super) fn take_dedup_order(
        &mut self,
        instance: InstanceRef,
        scope: String,
        cmd: Command,
        g: &mut Group,
    ) {
        if let Err(e) = self.take_unanswered(instance.clone(), &cmd, None, g) {
            tracing::debug!(%instance, "dedup order refused: {e}");
            let held = |key: &str| {
                self.slots.get(&instance).is_some_and(|s| {
                    !s.state.is_finished() && s.state.dedup_held.iter().any(|k| k == key)
                })
            };
            if matches!(&cmd, Command::GrantDedup { key } if !held(key)) {
                self.shared
                    .tell_dedup(DedupMsg::Release { scope, instance });
            }
        }
    }
}
