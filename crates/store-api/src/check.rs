//! The consistency rules of a stored database, shared by the backends'
//! checks (`windlass db check`): every history is gap-free and holds as
//! many events as its rows say, the instance index agrees with the history
//! (`last_seq`, started once, finished status ⇔ one final event at the
//! end), no history row, outbox row or timer belongs to no instance, and no
//! running instance is stranded (open jobs, but no outbox row to run them).
//!
//! A backend reads its rows in one snapshot and feeds them to a
//! [`Consistency`]: first the instance index and the outbox's owners, then
//! the history rows in `(instance, first_seq)` order, then the outbox rows
//! and timers; [`Consistency::finish`] applies the per-instance rules. The
//! meaning of events is the engine's, so the caller passes [`EventRules`].

use crate::history::unpack_events;
use crate::instance::InstanceStatus;
use std::collections::{BTreeMap, HashSet};
use windlass_types::Timestamp;

/// At most this many problems are listed; the rest are only counted.
pub const MAX_LISTED: usize = 200;

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

    /// True when an outbox row of `kind` creates the instance it belongs
    /// to (a call activity's pending child start): that instance need not
    /// exist yet. The default knows no such kind.
    fn creates_its_instance(&self, kind: &str) -> bool {
        let _ = kind;
        false
    }
}

impl<F: Fn(&[u8]) -> Result<EventClass, String>> EventRules for F {
    fn classify(&self, event: &[u8]) -> Result<EventClass, String> {
        self(event)
    }
}

/// The rules as the checks take them.
pub type Classify<'a> = &'a dyn EventRules;

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Which rule: `integrity`, `unreadable`, `history-gap`,
    /// `history-count`, `undecodable-event`, `last-seq`, `started`,
    /// `final`, `status`, `stranded-job`, `orphan-history`,
    /// `orphan-outbox`, `orphan-timer`, `partition` (PostgreSQL: a row's
    /// stored partition is not its instance's).
    pub rule: &'static str,
    /// What exactly, naming the instance or row.
    pub detail: String,
}

/// What a check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// The database (a file's path, or `host:port/database`).
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

    /// Records a problem (listed while fewer than [`MAX_LISTED`] are).
    pub fn add(&mut self, rule: &'static str, detail: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(Problem { rule, detail });
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

/// The rules applied to rows fed in order (see the module's text).
pub struct Consistency<'r> {
    rules: Classify<'r>,
    index: BTreeMap<i64, Indexed>,
    refs: HashSet<(String, String)>,
    with_outbox: HashSet<(String, String)>,
    seen: BTreeMap<i64, Seen>,
    orphan_pks: HashSet<i64>,
    /// The whole history of the running instance being read (rows come in
    /// instance order), for the open-jobs rule.
    running: Option<(i64, Vec<Vec<u8>>)>,
    events: Vec<crate::history::HistoryEvent>,
}

impl<'r> Consistency<'r> {
    /// Rules with `rules`' meaning of events.
    pub fn new(rules: Classify<'r>) -> Self {
        Consistency {
            rules,
            index: BTreeMap::new(),
            refs: HashSet::new(),
            with_outbox: HashSet::new(),
            seen: BTreeMap::new(),
            orphan_pks: HashSet::new(),
            running: None,
            events: Vec::new(),
        }
    }

    /// One row of the instance index (`pk` is the backend's key that
    /// history rows refer to).
    pub fn instance(
        &mut self,
        report: &mut CheckReport,
        pk: i64,
        id: String,
        run: String,
        status: i64,
        last_seq: i64,
    ) {
        report.instances += 1;
        let name = format!("instance '{id}' run '{run}'");
        self.refs.insert((id.clone(), run.clone()));
        self.index.insert(
            pk,
            Indexed {
                name,
                key: (id, run),
                status,
                last_seq,
            },
        );
    }

    /// An instance that has at least one outbox row.
    pub fn outbox_owner(&mut self, id: String, run: String) {
        self.with_outbox.insert((id, run));
    }

    /// One history row: events `first..=last` of instance `pk`, packed.
    /// Rows come in `(pk, first)` order, after every instance.
    pub fn history_row(
        &mut self,
        report: &mut CheckReport,
        pk: i64,
        first: i64,
        last: i64,
        blob: &[u8],
    ) {
        report.history_rows += 1;
        if self.running.as_ref().is_some_and(|(p, _)| *p != pk) {
            self.stranded(report);
        }
        let Some(inst) = self.index.get(&pk) else {
            if self.orphan_pks.insert(pk) {
                report.add(
                    "orphan-history",
                    format!("history rows of instance pk {pk}, which the index does not have"),
                );
            }
            return;
        };
        let s = self.seen.entry(pk).or_insert_with(|| Seen {
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
        // Saturating: the numbers come from a database being checked.
        s.next_seq = last.saturating_add(1);
        self.events.clear();
        let count = u64::try_from(last.saturating_sub(first).saturating_add(1)).unwrap_or(0);
        let first_u = u64::try_from(first).unwrap_or(0);
        if let Err(e) = unpack_events(
            blob,
            first_u,
            count,
            Timestamp(0),
            &inst.name,
            &mut self.events,
        ) {
            report.add("history-count", e.to_string());
            return;
        }
        for ev in &self.events {
            report.events += 1;
            match self.rules.classify(&ev.payload) {
                Ok(EventClass::Started) => s.started += 1,
                Ok(EventClass::Finished) => s.finished += 1,
                Ok(EventClass::Other) => {}
                Err(why) => report.add(
                    "undecodable-event",
                    format!("{} event {}: {why}", inst.name, ev.seq),
                ),
            }
        }
        s.last_is_final = self
            .events
            .last()
            .is_some_and(|ev| self.rules.classify(&ev.payload) == Ok(EventClass::Finished));
        if inst.status == i64::from(InstanceStatus::Running.code()) {
            let (_, all) = self.running.get_or_insert_with(|| (pk, Vec::new()));
            all.extend(self.events.drain(..).map(|ev| ev.payload));
        }
    }

    /// One outbox row of `kind` (`id`/`run`: the instance it belongs to,
    /// if any; a partition anchor, `windlass_types::partition_anchor`,
    /// addresses a partition and is no instance; a row that creates its
    /// instance, [`EventRules::creates_its_instance`], may name one that
    /// does not exist yet).
    pub fn outbox_row(
        &mut self,
        report: &mut CheckReport,
        key: &str,
        kind: &str,
        id: Option<String>,
        run: Option<String>,
    ) {
        report.outbox_rows += 1;
        if let (Some(id), Some(run)) = (id, run)
            && !windlass_types::partition_anchor::is_anchor_id(&id)
            && !self.rules.creates_its_instance(kind)
            && !self.refs.contains(&(id.clone(), run.clone()))
        {
            report.add(
                "orphan-outbox",
                format!("outbox row '{key}' belongs to instance '{id}' run '{run}', which does not exist"),
            );
        }
    }

    /// One timer of instance `id` run `run`.
    pub fn timer_row(&mut self, report: &mut CheckReport, key: &str, id: String, run: String) {
        if !self.refs.contains(&(id.clone(), run.clone())) {
            report.add(
                "orphan-timer",
                format!(
                    "timer '{key}' belongs to instance '{id}' run '{run}', which does not exist"
                ),
            );
        }
    }

    /// Applies the per-instance rules once every row is in.
    pub fn finish(mut self, report: &mut CheckReport) {
        self.stranded(report);
        for (pk, inst) in &self.index {
            let s = self.seen.get(pk);
            let last = s.map_or(0, |s| s.next_seq.saturating_sub(1));
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
    }

    /// Reports the running instance just read if its history leaves jobs
    /// open while the outbox holds nothing of it: no process will ever run
    /// those jobs.
    fn stranded(&mut self, report: &mut CheckReport) {
        let Some((pk, events)) = self.running.take() else {
            return;
        };
        let Some(inst) = self.index.get(&pk) else {
            return;
        };
        if self.with_outbox.contains(&inst.key) {
            return;
        }
        match self.rules.open_jobs(&events) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::pack_events;

    /// Event 0x01 starts an instance, 0x02 finishes it.
    fn rules(e: &[u8]) -> Result<EventClass, String> {
        match e {
            [1] => Ok(EventClass::Started),
            [2] => Ok(EventClass::Finished),
            [3] => Ok(EventClass::Other),
            _ => Err("unknown event".into()),
        }
    }

    fn rules_of(report: &CheckReport) -> Vec<&'static str> {
        report.problems.iter().map(|p| p.rule).collect()
    }

    /// [`rules`], where rows of kind `start-child` create their instance.
    struct ChildStarts;

    impl EventRules for ChildStarts {
        fn classify(&self, event: &[u8]) -> Result<EventClass, String> {
            rules(event)
        }

        fn creates_its_instance(&self, kind: &str) -> bool {
            kind == "start-child"
        }
    }

    #[test]
    fn a_row_that_creates_its_instance_is_no_orphan() {
        let mut report = CheckReport::default();
        let mut c = Consistency::new(&ChildStarts);
        let child = || (Some("parent/child".to_string()), Some("r".to_string()));
        let (id, run) = child();
        c.outbox_row(
            &mut report,
            "start-child:parent/child/r",
            "start-child",
            id,
            run,
        );
        c.finish(&mut report);
        assert!(report.is_clean(), "{:?}", report.problems);
        // Any other kind for a missing instance is one.
        let mut report = CheckReport::default();
        let mut c = Consistency::new(&ChildStarts);
        let (id, run) = child();
        c.outbox_row(&mut report, "child-done:x", "child-done", id, run);
        c.finish(&mut report);
        assert_eq!(rules_of(&report), ["orphan-outbox"]);
    }

    #[test]
    fn a_consistent_history_is_clean_and_damage_is_named() {
        let r = rules;
        let mut report = CheckReport::default();
        let mut c = Consistency::new(&r);
        c.instance(&mut report, 1, "a".into(), "r".into(), 2, 3);
        c.history_row(&mut report, 1, 1, 2, &pack_events(&[vec![1], vec![3]]));
        c.history_row(&mut report, 1, 3, 3, &pack_events(&[vec![2]]));
        c.finish(&mut report);
        assert!(report.is_clean(), "{:?}", report.problems);
        assert_eq!((report.history_rows, report.events), (2, 3));

        let mut report = CheckReport::default();
        let mut c = Consistency::new(&r);
        c.instance(&mut report, 1, "a".into(), "r".into(), 2, 9);
        c.history_row(&mut report, 1, 1, 1, &pack_events(&[vec![1]]));
        c.history_row(&mut report, 1, 3, 3, &pack_events(&[vec![9]]));
        c.history_row(&mut report, 7, 1, 1, &pack_events(&[vec![1]]));
        c.outbox_row(
            &mut report,
            "k",
            "job:x",
            Some("ghost".into()),
            Some("r".into()),
        );
        // A row addressed to a partition is no orphan.
        c.outbox_row(
            &mut report,
            "b#to-0",
            "signal-to",
            Some("~partition/47".into()),
            Some("-".into()),
        );
        c.timer_row(&mut report, "t", "ghost".into(), "r".into());
        c.finish(&mut report);
        assert_eq!(
            rules_of(&report),
            [
                "history-gap",
                "undecodable-event",
                "orphan-history",
                "orphan-outbox",
                "orphan-timer",
                "last-seq",
                "final"
            ]
        );
    }

    #[test]
    fn extreme_sequence_numbers_from_a_damaged_database_do_not_panic() {
        let r = rules;
        let mut report = CheckReport::default();
        let mut c = Consistency::new(&r);
        c.instance(&mut report, 1, "a".into(), "r".into(), 0, i64::MIN);
        c.history_row(&mut report, 1, i64::MIN, i64::MAX, &pack_events(&[vec![1]]));
        c.history_row(&mut report, 1, i64::MAX, i64::MIN, &[]);
        c.finish(&mut report);
        assert!(!report.is_clean());
    }
}
