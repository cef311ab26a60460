//! The one conformance suite every store backend runs (cargo feature
//! `conformance`). Each case is a generic async function taking a
//! [`StoreFactory`]; [`store_conformance_tests!`](crate::store_conformance_tests)
//! expands to one `#[tokio::test]` per case, so a backend's test file is:
//!
//! ```ignore
//! windlass_store_api::store_conformance_tests!(my_backend_factory());
//! ```
//!
//! (the calling crate needs `tokio` with the `macros` and `rt` features as a
//! dev-dependency). Cases panic on failure like any test; they are test code,
//! which is why this module allows `unwrap`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fixtures;
mod history_cases;
mod index_cases;
mod partition_cases;
mod recorded_at_cases;
mod same_batch_cases;
mod schedule_cases;
mod table_cases;
mod tally_cases;

pub use fixtures::*;
pub use history_cases::*;
pub use index_cases::*;
pub use partition_cases::*;
pub use recorded_at_cases::*;
pub use same_batch_cases::*;
pub use schedule_cases::*;
pub use table_cases::*;
pub use tally_cases::*;

use crate::store::Store;
use std::future::Future;

/// Makes stores for the conformance cases.
pub trait StoreFactory: Send + Sync {
    /// The backend under test.
    type Store: Store;

    /// A new, empty store.
    fn fresh(&self) -> impl Future<Output = Self::Store> + Send;

    /// Closes `store` and opens the same storage again, for durable
    /// backends; `None` for backends that keep nothing across a reopen (the
    /// persistence case is then skipped).
    fn reopen(&self, store: Self::Store) -> impl Future<Output = Option<Self::Store>> + Send;
}

/// Expands to one `#[tokio::test]` per conformance case, each calling the
/// case with the factory expression given (evaluated afresh per test).
///
/// A backend that needs a server the machine may lack passes a guard,
/// `store_conformance_tests!(factory(), if server_ready())`: each test
/// returns early when the guard is false (the guard says why, and fails
/// instead where the server is required).
#[macro_export]
macro_rules! store_conformance_tests {
    ($factory:expr) => {
        $crate::store_conformance_tests!($factory, if true);
    };
    ($factory:expr, if $ready:expr) => {
        $crate::store_conformance_tests!(@cases $factory, $ready;
            definitions_are_stored_listed_and_immutable,
            create_then_read_history_and_row,
            appends_continue_the_sequence_in_order,
            history_after_returns_only_newer_events,
            history_events_carry_their_commit_time,
            carried_events_keep_their_times,
            wrong_expected_seq_is_a_conflict_naming_versions,
            duplicate_create_and_missing_instance_are_errors,
            empty_append_is_invalid,
            batch_errors_are_classed,
            create_and_append_in_one_batch,
            same_batch_appends_keep_times_and_conflicts,
            outbox_insert_and_complete_of_an_existing_key_fails,
            failing_batch_changes_nothing,
            many_instances_in_one_batch,
            queries_filter_and_order,
            queries_page_after_a_cursor,
            latest_run_follows_the_run_order,
            end_a_run_and_create_the_next_in_one_batch,
            load_unfinished_returns_rows_with_full_histories,
            outbox_lifecycle,
            outbox_errors_leave_nothing_behind,
            timers_basics,
            messages_basics,
            messages_consumed,
            dedup_basics,
            schedules_basics,
            schedules_survive_a_reopen,
            reopen_keeps_everything,
            tallies_are_stored_and_replaced,
            partition_scoped_reads,
        );
    };
    (@cases $factory:expr, $ready:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                if !$ready {
                    return;
                }
                $crate::conformance::$case(&$factory).await;
            }
        )*
    };
}
