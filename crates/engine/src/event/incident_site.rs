//! [`IncidentSite`]: where the failed evaluation behind an incident sat
//! (`Event::IncidentRaisedAt`), a nested enum of the event format: its tags
//! are append-only like the events' (`event.rs`, rules at the top).

use crate::ids::TokenId;
use crate::json_text;
use serde::{Deserialize, Serialize};
use windlass_types::Vars;

/// Where the failed evaluation behind an incident sat, so that resolving
/// it takes up the token's work exactly there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum IncidentSite {
    /// The activity's own work (a job, a script, an input mapping, a
    /// gateway's conditions, a catch event's key or timer): what
    /// [`super::Event::IncidentRaised`] stands for.
    Work,
    /// The output mappings of an activity whose work completed with
    /// `results`: retry maps them again, skip uses the given variables
    /// instead; then the activity completes.
    Outputs {
        /// The work's results (a job's outputs, a child's variables or an
        /// embedded sub-process's local variables).
        #[serde(with = "json_text::vars")]
        results: Vars,
    },
    /// The conditions of the outgoing sequence flows of a node the token
    /// leaves: retry (or skip, after setting its variables) evaluates them
    /// again.
    Leave,
    /// Opening the token's event subscriptions: a timer or correlation key
    /// of a boundary event of the activity it starts, of a catch event
    /// after the event-based gateway it waits at, or of the start event it
    /// listens at for an event sub-process. What opened before the failure
    /// was closed with the incident; retry (or skip, after setting its
    /// variables) opens them all again, then the activity starts.
    Subscriptions,
    /// A complex gateway's activation condition, evaluated when the token
    /// arrived at the join: retry (or skip, after setting its variables)
    /// makes the token arrive again, which evaluates it again.
    Activation,
    /// A loop expression evaluated when an element completed (a standard
    /// loop's condition, also the `testBefore` condition of its next pass;
    /// a multi-instance output element or completion condition): the
    /// incident's token was created at the activity inside the element's
    /// scope, holding it open. Retry (or skip, after setting its variables
    /// from the element's scope) ends that token, which completes the
    /// element again and evaluates again.
    Element,
    /// A repeating timer whose cycle is an expression could not compute its
    /// next occurrence when it re-armed, after occurrence `occurrence` (due
    /// at `due_at`) of the subscription of `token` fired. That token is a
    /// non-interrupting timer boundary event's activity (the incident is on
    /// the boundary's new token, which has not moved yet) or an event
    /// sub-process's listener (the incident is on the listener). Retry (or
    /// skip, after setting its variables) computes it again and re-arms the
    /// timer (unless the activity has ended meanwhile); then the boundary's
    /// token moves on. An occurrence that was skipped (`TimerSkipped`, past
    /// the catch-up window) spawns no path: the boundary's token was
    /// created only to hold the incident and ends instead.
    Rearm {
        /// The token whose timer subscription re-arms.
        token: TokenId,
        /// When the occurrence that fired (or was skipped) was due.
        due_at: windlass_types::Timestamp,
        /// That occurrence's number.
        occurrence: u32,
        /// The occurrence was skipped rather than fired.
        skipped: bool,
    },
}

impl IncidentSite {
    /// The fixed tag of this variant inside an event's bytes.
    pub fn tag(&self) -> u8 {
        match self {
            IncidentSite::Work => 0,
            IncidentSite::Outputs { .. } => 1,
            IncidentSite::Leave => 2,
            IncidentSite::Subscriptions => 3,
            IncidentSite::Activation => 4,
            IncidentSite::Element => 5,
            IncidentSite::Rearm { .. } => 6,
        }
    }
}
