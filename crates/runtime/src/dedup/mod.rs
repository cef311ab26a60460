//! Deduplication: the owner of every dedup key of this runtime, with
//! controller-runtime's workqueue rule per process and key — at most one
//! instance in the dedup region (from the node carrying the key to the end
//! of its instance), at most one waiting; a newer arrival replaces the
//! waiting one, whose instance ends superseded (naming the newer one).
//!
//! One owner task ([`service`]) holds the [`book`] and is the only writer of
//! the `dedup` table. It hears:
//! - **claims** from shards, after the commit that recorded a
//!   `DedupClaimed` (and again at start and after a reload, for every open
//!   claim: a repeated claim of the holder is granted again);
//! - **releases** from shards, after the commit that finished an instance
//!   (every key it ever claimed: every terminal path releases — completed,
//!   failed, cancelled, terminated, superseded), and when a grant is refused
//!   (the claim closed meanwhile);
//! - **coalesced starts** from [`RuntimeHandle::start_coalesced`]: a start
//!   of a process whose start event carries the key renders the key from
//!   the start variables and creates no instance while the key is held —
//!   it waits in the book (replacing the start waiting before it), so a
//!   burst of events over few keys costs a row write per key and round.
//!
//! Claims and releases are applied serially, so a new claim arriving in the
//! same group commit in which the holder finishes is right in both orders.
//! The rows of the keys a round changed are committed before any grant,
//! supersede or start goes out. At start the owner loads every row and
//! checks its slots against the instance index: a holder that finished
//! while the runtime was down is released, a pending start that was granted
//! but never made is made.
//!
//! [`RuntimeHandle::start_coalesced`]: crate::RuntimeHandle::start_coalesced

pub(crate) mod book;
mod handle;
pub(crate) mod service;

pub(crate) use book::scope;
pub(crate) use handle::start_key;

use crate::error::RuntimeResult;
use tokio::sync::oneshot;
use windlass_store_api::InstanceRef;

/// What became of a coalesced start ([`crate::RuntimeHandle::start_coalesced`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DedupOutcome {
    /// The key was free: the instance is being started under this ref.
    Started(InstanceRef),
    /// The key is held: the start waits (durably) under this ref, replacing
    /// the start or instance that waited before it. It is made when the
    /// holder ends, unless a newer one replaces it first.
    Queued(InstanceRef),
}

/// What the owner receives.
pub(crate) enum DedupMsg {
    /// An instance claimed the key (its `DedupClaimed` committed).
    Claim {
        scope: String,
        instance: InstanceRef,
    },
    /// An instance holds and waits for the key no more.
    Release {
        scope: String,
        instance: InstanceRef,
    },
    /// Coalesced starts, answered together in their order.
    Admit {
        items: Vec<AdmitItem>,
        reply: oneshot::Sender<RuntimeResult<Vec<DedupOutcome>>>,
    },
}

/// One coalesced start.
pub(crate) struct AdmitItem {
    /// The entry key ([`scope`]).
    pub scope: String,
    /// The start.
    pub start: book::PendingStart,
    /// Message rows written with the decision (a message start's consumed
    /// message id).
    pub messages: Vec<windlass_store_api::MessageChange>,
}
