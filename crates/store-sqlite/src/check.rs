//! Verifies a database file: SQLite's own `PRAGMA integrity_check`, then
//! the consistency rules every backend keeps
//! ([`windlass_store_api::check`]: gap-free histories, index against
//! history, no orphan rows, no stranded jobs).
//!
//! Reads only (the file is opened read-only, no writer lock is needed), so
//! it can run beside a writer. The meaning of events is the engine's, so
//! the caller passes [`EventRules`]: which event starts or finishes an
//! instance (and whether the bytes decode at all), and how many jobs a
//! history leaves open. A plain classifying function is rules too (it knows
//! no jobs).

use crate::errors::map_sqlite;
use crate::open::open_primary;
use crate::options::SqliteOptions;
use rusqlite::Connection;
use std::path::Path;
use windlass_store_api::StoreError;
use windlass_store_api::StoreResult;
use windlass_store_api::check::Consistency;
pub use windlass_store_api::check::{
    CheckReport, Classify, EventClass, EventRules, MAX_LISTED, Problem,
};

/// Integrity-check lines asked of SQLite at most.
const INTEGRITY_LINES: u32 = 100;

/// Checks the database at `path`. A file SQLite cannot read at all (not a
/// database, damaged header) is reported as a problem; a missing, foreign
/// or too-new file is an error.
pub fn check(path: &Path, classify: Classify<'_>) -> StoreResult<CheckReport> {
    check_with(SqliteOptions::new(path), classify)
}

/// [`check`] with explicit options (they are made read-only).
pub fn check_with(mut opts: SqliteOptions, classify: Classify<'_>) -> StoreResult<CheckReport> {
    opts.read_only = true;
    let shown = opts.path.display().to_string();
    let mut report = CheckReport {
        path: shown.clone(),
        ..CheckReport::default()
    };
    let conn = match open_primary(&opts, &shown) {
        Ok((conn, _)) => conn,
        Err(StoreError::Corrupt { detail, .. }) => {
            report.add(
                "unreadable",
                format!("SQLite cannot read the file: {detail}"),
            );
            return Ok(report);
        }
        Err(e) => return Err(e),
    };
    // One read transaction: every check sees the same snapshot, even while
    // a writer commits (WAL readers keep the snapshot of their first read).
    if let Err(e) = conn.execute_batch("BEGIN DEFERRED") {
        report.add("unreadable", map_sqlite(e, &shown).to_string());
        return Ok(report);
    }
    integrity(&conn, &shown, &mut report);
    // A damaged file can fail any query; what failed is reported, and the
    // remaining checks still run.
    if let Err(e) = consistency(&conn, &shown, classify, &mut report) {
        report.add("unreadable", format!("the consistency checks stopped: {e}"));
    }
    Ok(report)
}

/// SQLite's integrity check. When the check itself fails on a damaged page
/// (SQLite stops with "malformed" once it walks into one), the quick check
/// with fewer lines usually still names the damaged pages it met first.
fn integrity(conn: &Connection, path: &str, report: &mut CheckReport) {
    let run = |pragma: &str, n: u32| {
        conn.prepare(&format!("PRAGMA {pragma}({n})"))
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
    };
    let lines = match run("integrity_check", INTEGRITY_LINES) {
        Ok(lines) => lines,
        Err(e) => {
            report.add("integrity", map_sqlite(e, path).to_string());
            let Some(lines) = [20, 5, 1]
                .into_iter()
                .find_map(|n| run("quick_check", n).ok())
            else {
                return;
            };
            lines
        }
    };
    if lines.len() == 1 && lines[0] == "ok" {
        return;
    }
    for l in lines.iter().flat_map(|l| l.lines()) {
        if !l.starts_with("*** in database") {
            report.add("integrity", l.to_string());
        }
    }
}

/// Feeds every row, in the order [`Consistency`] wants them, to the shared
/// rules.
fn consistency(
    conn: &Connection,
    path: &str,
    classify: Classify<'_>,
    report: &mut CheckReport,
) -> StoreResult<()> {
    let sq = |e| map_sqlite(e, path);
    let mut rules = Consistency::new(classify);
    let mut stmt = conn
        .prepare("SELECT pk, instance_id, run_id, status, last_seq FROM instances")
        .map_err(sq)?;
    let mut rows = stmt.query([]).map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        rules.instance(
            report,
            r.get(0).map_err(sq)?,
            r.get(1).map_err(sq)?,
            r.get(2).map_err(sq)?,
            r.get(3).map_err(sq)?,
            r.get(4).map_err(sq)?,
        );
    }
    let mut stmt = conn
        .prepare(
            "SELECT DISTINCT instance_id, run_id FROM outbox
             WHERE instance_id IS NOT NULL AND run_id IS NOT NULL",
        )
        .map_err(sq)?;
    let mut rows = stmt.query([]).map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        rules.outbox_owner(r.get(0).map_err(sq)?, r.get(1).map_err(sq)?);
    }
    let mut stmt = conn
        .prepare(
            "SELECT instance_pk, first_seq, last_seq, events FROM history
             ORDER BY instance_pk, first_seq",
        )
        .map_err(sq)?;
    let mut rows = stmt.query([]).map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        let blob: Vec<u8> = r.get(3).map_err(sq)?;
        rules.history_row(
            report,
            r.get(0).map_err(sq)?,
            r.get(1).map_err(sq)?,
            r.get(2).map_err(sq)?,
            &blob,
        );
    }
    let mut stmt = conn
        .prepare("SELECT key, kind, instance_id, run_id FROM outbox")
        .map_err(sq)?;
    let mut rows = stmt.query([]).map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        let (key, kind): (String, String) = (r.get(0).map_err(sq)?, r.get(1).map_err(sq)?);
        let (id, run) = (r.get(2).map_err(sq)?, r.get(3).map_err(sq)?);
        rules.outbox_row(report, &key, &kind, id, run);
    }
    let mut stmt = conn
        .prepare("SELECT id, instance_id, run_id FROM timers")
        .map_err(sq)?;
    let mut rows = stmt.query([]).map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        let key: String = r.get(0).map_err(sq)?;
        rules.timer_row(report, &key, r.get(1).map_err(sq)?, r.get(2).map_err(sq)?);
    }
    rules.finish(report);
    Ok(())
}
