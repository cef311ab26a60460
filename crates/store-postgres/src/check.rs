//! `windlass db check` on PostgreSQL: the store's consistency rules
//! ([`windlass_store_api::check`]) over one snapshot of the database (a
//! repeatable-read, read-only transaction, so it can run beside a writer).
//! History rows are streamed, not loaded at once. It also checks that the
//! partition stored with every instance, timer and outbox row is the one
//! its instance id maps to (rule `partition`). PostgreSQL's own page
//! checks (`amcheck`, checksums) are the server's business and not run
//! here.

use crate::convert::{get, partition_column};
use crate::{PgStore, pg};
use futures_util::TryStreamExt;
use std::pin::pin;
use tokio_postgres::IsolationLevel;
use tokio_postgres::types::ToSql;
use windlass_store_api::check::{CheckReport, Classify, Consistency};
use windlass_store_api::{Partition, StoreResult};

impl PgStore {
    /// Checks the consistency rules with `rules`' meaning of events.
    pub async fn check(&self, rules: Classify<'_>) -> StoreResult<CheckReport> {
        let t = self.target();
        let mut conn = self.conn().await?;
        let tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg(t))?;
        let mut report = CheckReport {
            path: t.to_string(),
            ..CheckReport::default()
        };
        let mut c = Consistency::new(rules);
        let no_params: [&(dyn ToSql + Sync); 0] = [];
        for r in tx
            .query(
                "SELECT pk, instance_id, run_id, status, last_seq, partition FROM instances",
                &[],
            )
            .await
            .map_err(pg(t))?
        {
            let status: i16 = get(&r, 3, t)?;
            let (id, run): (String, String) = (get(&r, 1, t)?, get(&r, 2, t)?);
            let what = format!("instance '{id}' run '{run}'");
            partition(&mut report, &what, &id, get(&r, 5, t)?);
            c.instance(
                &mut report,
                get(&r, 0, t)?,
                id,
                run,
                i64::from(status),
                get(&r, 4, t)?,
            );
        }
        for r in tx
            .query(
                "SELECT DISTINCT instance_id, run_id FROM outbox
                 WHERE instance_id IS NOT NULL AND run_id IS NOT NULL",
                &[],
            )
            .await
            .map_err(pg(t))?
        {
            c.outbox_owner(get(&r, 0, t)?, get(&r, 1, t)?);
        }
        let history = tx
            .query_raw(
                "SELECT instance_pk, first_seq, last_seq, events FROM history
                 ORDER BY instance_pk, first_seq",
                no_params,
            )
            .await
            .map_err(pg(t))?;
        let mut history = pin!(history);
        while let Some(r) = history.try_next().await.map_err(pg(t))? {
            let blob: &[u8] = get(&r, 3, t)?;
            c.history_row(
                &mut report,
                get(&r, 0, t)?,
                get(&r, 1, t)?,
                get(&r, 2, t)?,
                blob,
            );
        }
        for r in tx
            .query(
                "SELECT key, instance_id, run_id, partition, kind FROM outbox",
                &[],
            )
            .await
            .map_err(pg(t))?
        {
            let key: String = get(&r, 0, t)?;
            let id: Option<String> = get(&r, 1, t)?;
            let stored: Option<i16> = get(&r, 3, t)?;
            match (&id, stored) {
                (Some(id), Some(p)) => {
                    let what = format!("outbox row '{key}' of instance '{id}'");
                    partition(&mut report, &what, id, p);
                }
                (None, None) => {}
                _ => report.add(
                    "partition",
                    format!("outbox row '{key}': partition {stored:?} for instance {id:?}"),
                ),
            }
            let kind: String = get(&r, 4, t)?;
            c.outbox_row(&mut report, &key, &kind, id, get(&r, 2, t)?);
        }
        for r in tx
            .query("SELECT id, instance_id, run_id, partition FROM timers", &[])
            .await
            .map_err(pg(t))?
        {
            let key: String = get(&r, 0, t)?;
            let id: String = get(&r, 1, t)?;
            let what = format!("timer '{key}' of instance '{id}'");
            partition(&mut report, &what, &id, get(&r, 3, t)?);
            c.timer_row(&mut report, &key, get(&r, 1, t)?, get(&r, 2, t)?);
        }
        c.finish(&mut report);
        tx.commit().await.map_err(pg(t))?;
        Ok(report)
    }
}

/// Reports the row `what` (of instance `id`) when its stored partition
/// (schema version 4) is not the one its instance id maps to: a node owning
/// that partition would neither recover nor fire it.
fn partition(report: &mut CheckReport, what: &str, id: &str, stored: i16) {
    let expected = partition_column(Partition::of_instance(id));
    if stored != expected {
        report.add(
            "partition",
            format!("{what}: stored partition {stored}, its id maps to {expected}"),
        );
    }
}
