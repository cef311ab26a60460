//! Pure event-sourced BPMN engine: decide and evolve.
//!
//! - [`event`]: the versioned history events; [`codec`] encodes them.
//! - [`command`] in, [`effect`] out; [`decide()`] decides, [`evolve()`] folds.
//! - [`state`]: the compact instance state; [`plan`]: a graph prepared for
//!   execution (validation, reachability), shared by all instances.
//! - [`driver`]: runs one instance to quiescence with a job responder.
//! - [`history_text`]: human-readable history lines.
//! - [`unbound`]: the one rule for a job nothing is bound to.
//! - [`value_limits`]: the value limit applied to every decided event.
//! - [`tally`]: per-node counts of a run (active, incidents, completed).
//! - [`replay`](mod@replay): state from a stored (encoded) history, errors naming the seq.
//! - [`secret_names`]: values under secret-looking names, masked for people.
//!
//! The engine has no clock, no I/O and no async: time comes in the [`Ctx`].

pub mod codec;
pub mod command;
pub mod decide;
pub mod driver;
pub mod effect;
pub mod event;
pub mod evolve;
pub mod history_text;
pub mod ids;
mod json_text;
pub mod plan;
pub mod replay;
pub mod reset;
pub mod secret_names;
pub mod state;
pub mod tally;
pub mod unbound;
pub mod value_limits;

pub use command::{Command, IncidentAction};
pub use decide::start::start_nodes;
pub use decide::{Ctx, DecideError, Decision, InternalError, decide, step};
pub use effect::{Effect, Finish, JobRequest, TimerEffect, timer_effects};
pub use event::{CANCEL_CODE, Event};
pub use evolve::{EvolveError, apply, evolve, replay};
pub use ids::{JobKey, SubId};
pub use plan::{Plan, PlanError};
pub use replay::{ReplayCause, ReplayError, replay_encoded};
pub use state::InstanceState;
pub use unbound::Unbound;
