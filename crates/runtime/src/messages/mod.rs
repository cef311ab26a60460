//! The message service: publishing messages and correlating them with the
//! message subscriptions of live instances (intermediate catch events,
//! receive tasks, boundary events, event-based gateways).
//!
//! One correlator task ([`service`]) owns the message table and an index
//! of open subscriptions. Shards announce subscriptions after the commit
//! that opened them (and, at start or after a reload, every open one of
//! their instances) and announce their closing; publications come from
//! [`RuntimeHandle::publish`](crate::RuntimeHandle::publish). The matching
//! rules live in [`book`] and are the stepping driver's, so `windlass run`
//! and `windlass test` agree.
//!
//! Single node: the correlator owns every (name, key) of this runtime.
//! Subscription announcements are in memory (rebuilt from the recovered
//! instance states at start); buffered messages and consumed message ids
//! are rows, so both survive a restart.

mod book;
mod handle;
pub(crate) mod service;
pub(crate) mod starts;

pub(crate) use book::Topic;
pub(crate) use service::{DeliveryResult, check_message_id};

use crate::error::RuntimeResult;
use tokio::sync::oneshot;
use windlass_engine::driver::Message;
use windlass_engine::ids::SubId;
use windlass_store_api::InstanceRef;

/// What became of a published message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// A waiting subscription of this instance took it (committed).
    Correlated {
        /// The instance whose subscription took it.
        instance: InstanceRef,
    },
    /// Nothing waited: it is buffered (its row committed) until a matching
    /// subscription opens or its time-to-live passes.
    Buffered,
    /// No instance waited; it started an instance at a message start event
    /// of each process (latest version) that has one for its name.
    Started {
        /// The instances started (committed), ordered by process id.
        instances: Vec<InstanceRef>,
    },
    /// No instance waited; it went to message start events of which at
    /// least one carries a dedup key that an instance holds: those starts
    /// wait for the key, coalesced (see `RuntimeHandle::start_coalesced`).
    Coalesced {
        /// The instances started (committed).
        started: Vec<InstanceRef>,
        /// The starts held back under their dedup key (committed), under
        /// the refs they will be created with.
        queued: Vec<InstanceRef>,
    },
    /// Nothing waited and its time-to-live is zero.
    Dropped,
    /// A message with the same id is buffered, in flight, or was consumed
    /// within the retention (`RuntimeOptions::message_id_retention`):
    /// nothing changed.
    Duplicate,
}

/// The correlator's answer to a publication.
pub(crate) enum Routed {
    /// Its outcome, durable.
    Done(PublishOutcome),
    /// Nothing waited, but these start events take it: the publisher starts
    /// the instances, writing `row` (the consumed message's id, if it has
    /// one) with the first start. The id is already remembered; the
    /// publisher sends [`ServiceMsg::Forget`] if the starts fail.
    Start {
        targets: Vec<starts::StartTarget>,
        row: Option<windlass_store_api::MessageRow>,
    },
}

/// What the correlator receives.
pub(crate) enum ServiceMsg {
    /// A publication from the handle.
    Publish {
        message: Message,
        reply: oneshot::Sender<RuntimeResult<Routed>>,
    },
    /// Definitions deployed (with their versions): their message and signal
    /// start events replace those of older versions.
    Deployed(Vec<(std::sync::Arc<crate::definitions::ProcessDef>, u32)>),
    /// The starts of a publication failed: its id is not consumed.
    Forget(String),
    /// The signal start events for a broadcast of `name`.
    SignalStarts {
        name: String,
        reply: oneshot::Sender<Vec<starts::StartTarget>>,
    },
    /// A message subscription is open (committed).
    Subscribed {
        instance: InstanceRef,
        sub: SubId,
        topic: Topic,
    },
    /// A message subscription closed (committed).
    Closed { instance: InstanceRef, sub: SubId },
    /// A shard's answer to a delivery.
    Delivered {
        delivery: u64,
        result: DeliveryResult,
    },
}
