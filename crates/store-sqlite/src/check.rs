//! Verifies a database file: SQLite's own `PRAGMA integrity_check`, then
//! the consistency rules the store keeps — every history is gap-free and
//! holds as many events as its rows say, the instance index agrees with the
//! history (`last_seq`, started once, finished status ⇔ one final event at
//! the end), no history row, outbox row or timer belongs to no instance.
//!
//! A running instance with open jobs but no outbox row to run them is
//! stranded: nothing will ever resume it (`stranded-job`).
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
use std::collections::{HashMap, HashSet};
use std::path::Path;
use windlass_store_api::{InstanceStatus, StoreError, StoreResult, unpack_events};
use windlass_types::Timestamp;

/// At most this many problems are listed; the rest are only counted.
pub const MAX_LISTED: usize = 200;

/// Integrity-check lines asked of SQLite at most.
const INTEGRITY_LINES: u32 = 100;

/// What one event is, for the consistency rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventClass {
    /// The instance's first event.
    Started,
    /// The event that finishes the instance (completed, failed).
    Finished,
    /// Anything else.
    Other,
}

/// The engine's meaning of encoded events, as the checks need it.
pub trait EventRules {
    /// What an encoded event is; `Err` says why it does not decode.
    fn classify(&self, event: &[u8]) -> Result<EventClass, String>;

    /// How many jobs the history `events` (of a running instance, in
    /// order) leaves open. The default knows no jobs: 0.
    fn open_jobs(&self, events: &[Vec<u8>]) -> Result<usize, String> {
        let _ = events;
        Ok(0)
    }
}

impl<F: Fn(&[u8]) -> Result<EventClass, String>> EventRules for F {
    fn classify(&self, event: &[u8]) -> Result<EventClass, String> {
        self(event)
    }
}

/// The rules as [`check`] takes them.
pub type Classify<'a> = &'a dyn EventRules;

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Which rule: `integrity`, `unreadable`, `history-gap`,
    /// `history-count`, `undecodable-event`, `last-seq`, `started`,
    /// `final`, `status`, `stranded-job`, `orphan-history`,
    /// `orphan-outbox`, `orphan-timer`.
    pub rule: &'static str,
    /// What exactly, naming the instance or row.
    pub detail: String,
}

/// What [`check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// The database file.
    pub path: String,
    /// Instances in the index.
    pub instances: u64,
    /// History rows (one per instance and commit).
    pub history_rows: u64,
    /// Events in those rows.
    pub events: u64,
    /// Outbox rows.
    pub outbox_rows: u64,
    /// The first [`MAX_LISTED`] problems.
    pub problems: Vec<Problem>,
    /// How many problems there are in all.
    pub problem_count: u64,
}

impl CheckReport {
    /// True when nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.problem_count == 0
    }

    fn add(&mut self, rule: &'static str, detail: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(Problem { rule, detail });
        }
    }
}

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

/// An instance as the index has it.
struct Indexed {
    name: String,
    key: (String, String),
    status: i64,
    last_seq: i64,
}

/// What the history of one instance showed.
#[derive(Default)]
struct Seen {
    next_seq: i64,
    started: u32,
    finished: u32,
    last_is_final: bool,
}

fn consistency(
    conn: &Connection,
    path: &str,
    classify: Classify<'_>,
    report: &mut CheckReport,
) -> StoreResult<()> {
    let sq = |e| map_sqlite(e, path);
    let mut index: HashMap<i64, Indexed> = HashMap::new();
    let mut refs: HashSet<(String, String)> = HashSet::new();
    {
        let mut stmt = conn
            .prepare("SELECT pk, instance_id, run_id, status, last_seq FROM instances")
            .map_err(sq)?;
        let mut rows = stmt.query([]).map_err(sq)?;
        while let Some(r) = rows.next().map_err(sq)? {
            let (id, run): (String, String) = (r.get(1).map_err(sq)?, r.get(2).map_err(sq)?);
            let name = format!("instance '{id}' run '{run}'");
            refs.insert((id.clone(), run.clone()));
            index.insert(
                r.get(0).map_err(sq)?,
                Indexed {
                    name,
                    key: (id, run),
                    status: r.get(3).map_err(sq)?,
                    last_seq: r.get(4).map_err(sq)?,
                },
            );
        }
    }
    report.instances = index.len() as u64;
    let with_outbox = outbox_owners(conn, path)?;
    let seen = histories(conn, path, classify, &index, &with_outbox, report)?;
    for (pk, inst) in &index {
        let s = seen.get(pk);
        let last = s.map_or(0, |s| s.next_seq - 1);
        if last != inst.last_seq {
            report.add(
                "last-seq",
                format!(
                    "{}: the index says last_seq {}, the history ends at {last}",
                    inst.name, inst.last_seq
                ),
            );
        }
        let (started, finished, last_is_final) =
            s.map_or((0, 0, false), |s| (s.started, s.finished, s.last_is_final));
        if started != 1 {
            report.add(
                "started",
                format!("{}: {started} start events (expected 1)", inst.name),
            );
        }
        let status = u8::try_from(inst.status)
            .ok()
            .and_then(InstanceStatus::from_code);
        let Some(status) = status else {
            report.add(
                "status",
                format!("{}: unknown status code {}", inst.name, inst.status),
            );
            continue;
        };
        let want = u32::from(status.is_finished());
        if finished != want || (want == 1 && !last_is_final) {
            report.add(
                "final",
                format!(
                    "{}: status {} but {finished} final event(s){}",
                    inst.name,
                    status.as_str(),
                    if want == 1 && finished == 1 && !last_is_final {
                        ", not at the end"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
    orphans(conn, path, &refs, report)
}

/// Walks every history row in order, checking sequence and content.
fn histories(
    conn: &Connection,
    path: &str,
    classify: Classify<'_>,
    index: &HashMap<i64, Indexed>,
    with_outbox: &HashSet<(String, String)>,
    report: &mut CheckReport,
) -> StoreResult<HashMap<i64, Seen>> {
    let sq = |e| map_sqlite(e, path);
    let mut seen: HashMap<i64, Seen> = HashMap::with_capacity(index.len());
    let mut orphan_pks: HashSet<i64> = HashSet::new();
    let mut stmt = conn
        .prepare(
            "SELECT instance_pk, first_seq, last_seq, events FROM history
             ORDER BY instance_pk, first_seq",
        )
        .map_err(sq)?;
    let mut rows = stmt.query([]).map_err(sq)?;
    let mut events = Vec::new();
    // The whole history of the running instance being read (rows come in
    // instance order), for the open-jobs rule.
    let mut running: Option<(i64, Vec<Vec<u8>>)> = None;
    while let Some(r) = rows.next().map_err(sq)? {
        report.history_rows += 1;
        let pk: i64 = r.get(0).map_err(sq)?;
        if running.as_ref().is_some_and(|(p, _)| *p != pk) {
            stranded(running.take(), classify, index, with_outbox, report);
        }
        let (first, last): (i64, i64) = (r.get(1).map_err(sq)?, r.get(2).map_err(sq)?);
        let blob: Vec<u8> = r.get(3).map_err(sq)?;
        let Some(inst) = index.get(&pk) else {
            if orphan_pks.insert(pk) {
                report.add(
                    "orphan-history",
                    format!("history rows of instance pk {pk}, which the index does not have"),
                );
            }
            continue;
        };
        let s = seen.entry(pk).or_insert_with(|| Seen {
            next_seq: 1,
            ..Seen::default()
        });
        if first != s.next_seq {
            report.add(
                "history-gap",
                format!(
                    "{}: a history row starts at {first}, expected {}",
                    inst.name, s.next_seq
                ),
            );
        }
        s.next_seq = last + 1;
        events.clear();
        let count = u64::try_from(last - first + 1).unwrap_or(0);
        let first_u = u64::try_from(first).unwrap_or(0);
        if let Err(e) = unpack_events(&blob, first_u, count, Timestamp(0), &inst.name, &mut events)
        {
            report.add("history-count", e.to_string());
            continue;
        }
        for ev in &events {
            report.events += 1;
            match classify.classify(&ev.payload) {
                Ok(EventClass::Started) => s.started += 1,
                Ok(EventClass::Finished) => s.finished += 1,
                Ok(EventClass::Other) => {}
                Err(why) => report.add(
                    "undecodable-event",
                    format!("{} event {}: {why}", inst.name, ev.seq),
                ),
            }
        }
        s.last_is_final = events
            .last()
            .is_some_and(|ev| classify.classify(&ev.payload) == Ok(EventClass::Finished));
        if inst.status == i64::from(InstanceStatus::Running.code()) {
            let (_, all) = running.get_or_insert_with(|| (pk, Vec::new()));
            all.extend(events.drain(..).map(|ev| ev.payload));
        }
    }
    stranded(running, classify, index, with_outbox, report);
    Ok(seen)
}

/// Reports a running instance whose history leaves jobs open while the
/// outbox holds nothing of it: no process will ever run those jobs.
fn stranded(
    running: Option<(i64, Vec<Vec<u8>>)>,
    rules: Classify<'_>,
    index: &HashMap<i64, Indexed>,
    with_outbox: &HashSet<(String, String)>,
    report: &mut CheckReport,
) {
    let Some((pk, events)) = running else {
        return;
    };
    let Some(inst) = index.get(&pk) else {
        return;
    };
    if with_outbox.contains(&inst.key) {
        return;
    }
    match rules.open_jobs(&events) {
        Ok(0) => {}
        Ok(n) => report.add(
            "stranded-job",
            format!(
                "{}: running with {n} open job(s) but no outbox row to run them; \
                 no recovery will resume it",
                inst.name
            ),
        ),
        Err(why) => report.add(
            "undecodable-event",
            format!("{}: its history does not replay: {why}", inst.name),
        ),
    }
}

/// The instances that have at least one outbox row.
fn outbox_owners(conn: &Connection, path: &str) -> StoreResult<HashSet<(String, String)>> {
    let sq = |e| map_sqlite(e, path);
    let mut stmt = conn
        .prepare(
            "SELECT DISTINCT instance_id, run_id FROM outbox
             WHERE instance_id IS NOT NULL AND run_id IS NOT NULL",
        )
        .map_err(sq)?;
    let owners = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sq)?
        .collect::<Result<_, _>>()
        .map_err(sq)?;
    Ok(owners)
}

/// Outbox rows and timers that name an instance the index does not have.
fn orphans(
    conn: &Connection,
    path: &str,
    refs: &HashSet<(String, String)>,
    report: &mut CheckReport,
) -> StoreResult<()> {
    let sq = |e| map_sqlite(e, path);
    let mut stmt = conn
        .prepare("SELECT key, instance_id, run_id FROM outbox")
        .map_err(sq)?;
    let mut rows = stmt.query([]).map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        report.outbox_rows += 1;
        let key: String = r.get(0).map_err(sq)?;
        let id: Option<String> = r.get(1).map_err(sq)?;
        let run: Option<String> = r.get(2).map_err(sq)?;
        if let (Some(id), Some(run)) = (id, run)
            && !refs.contains(&(id.clone(), run.clone()))
        {
            report.add(
                "orphan-outbox",
                format!("outbox row '{key}' belongs to instance '{id}' run '{run}', which does not exist"),
            );
        }
    }
    let mut stmt = conn
        .prepare("SELECT id, instance_id, run_id FROM timers")
        .map_err(sq)?;
    let mut rows = stmt.query([]).map_err(sq)?;
    while let Some(r) = rows.next().map_err(sq)? {
        let key: String = r.get(0).map_err(sq)?;
        let (id, run): (String, String) = (r.get(1).map_err(sq)?, r.get(2).map_err(sq)?);
        if !refs.contains(&(id.clone(), run.clone())) {
            report.add(
                "orphan-timer",
                format!(
                    "timer '{key}' belongs to instance '{id}' run '{run}', which does not exist"
                ),
            );
        }
    }
    Ok(())
}
