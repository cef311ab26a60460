//! A scenario played on the engine's stepping driver
//! ([`windlass_engine::driver::Driver`]): the instance starts at the
//! scenario's clock and settles, then each step runs in order — `advance`
//! moves the clock (due timers fire in due order), `message` publishes a
//! message (correlated to a waiting subscription, or buffered), `signal`
//! sends a signal to the instance (kept until a subscription takes it),
//! `broadcast` reaches every waiting subscription of the tree, `terminate`
//! terminates the instance, `cancel` cancels it (its cleanup handlers run),
//! `suspend` / `resume` hold and release its jobs and timers, `start` starts
//! another instance of the process in the same driver (a [`Root`] named by
//! the step, so its dedup claims can supersede a waiting instance), `expect`
//! compares the instance as it is now with a checkpoint. Steps naming an
//! `instance` act on that one instead of the scenario's. Playing stops at
//! the first checkpoint that does not match or the first step the engine
//! refuses, naming the step.
//!
//! Steps whose engine feature does not exist yet, and expected statuses no
//! scenario can bring about yet (none of either today), are never played:
//! [`unsupported`] names the first one, and the judge reports the scenario
//! unsupported.

use crate::file::Scenario;
use crate::load::Loaded;
use crate::mocks::MockTable;
use crate::run::{actual, job_outcome};
use crate::steps::Step;
use crate::verdict::{self, Actual};
use std::collections::BTreeMap;
use windlass_engine::Command;
use windlass_engine::JobRequest;
use windlass_engine::driver::{self, Driver, DriverError, Root, RunReport};
use windlass_model::Node;

/// Where playing stopped early.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// An `expect` step did not match.
    Checkpoint {
        /// The step's index in `steps`.
        index: usize,
        /// The diff (`-` expected, `+` actual).
        diff: String,
    },
    /// The driver or the engine refused a step.
    Refused {
        /// The step's index in `steps`.
        index: usize,
        /// The step's kind (`advance`, `terminate`).
        kind: &'static str,
        /// Why.
        error: String,
    },
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Checkpoint { index, diff } => {
                write!(
                    f,
                    "checkpoint steps[{index}] (expect) does not match; expected vs actual:\n{diff}"
                )
            }
            Stop::Refused { index, kind, error } => {
                write!(
                    f,
                    "steps[{index}] ({kind}) could not be carried out: {error}"
                )
            }
        }
    }
}

/// What playing a scenario gave.
#[derive(Debug, Clone)]
pub struct Played {
    /// The instance the final `expect` names (the scenario's own by
    /// default) as it was when playing ended (or stopped).
    pub actual: Actual,
    /// The driver's report of the root instance at that point.
    pub report: RunReport,
    /// Where playing stopped early; `None` when every step ran.
    pub stop: Option<Stop>,
}

/// The first part of the scenario the engine cannot carry out yet, as
/// (what, why): a step (`steps[2] (message)`), or an expected status no
/// engine feature brings about yet (`expect.status` or a checkpoint's).
pub fn unsupported(s: &Scenario) -> Option<(String, String)> {
    for (i, step) in s.steps.iter().enumerate() {
        if let Some(missing) = step.missing_feature() {
            return Some((
                format!("steps[{i}] ({})", step.kind()),
                format!("needs {missing}"),
            ));
        }
        if let Step::Expect(e) = step
            && let Some(missing) = e.status.missing_feature()
        {
            return Some((format!("steps[{i}] (expect) status"), missing.to_string()));
        }
    }
    s.expect
        .status
        .missing_feature()
        .map(|missing| ("expect.status".to_string(), missing.to_string()))
}

/// Starts the instance of `loaded` at the scenario's clock, settles it and
/// plays the scenario's steps. An error is a failure to start and settle the
/// instance; a failing step is a [`Stop`].
pub fn play(loaded: &Loaded, s: &Scenario, mocks: &MockTable) -> Result<Played, DriverError> {
    let documents = loaded.documents();
    let mut resolve = driver::resolver_over(&documents);
    let mut respond = |req: &JobRequest, node: &Node| job_outcome(mocks, req, node);
    let mut d = Driver::start(
        &loaded.plan,
        s.input.clone(),
        s.start_time(),
        &mut resolve,
        &mut respond,
    )?;
    d.set_starters(loaded.definitions.processes().to_vec());
    let mut stop = None;
    let mut roots: BTreeMap<&str, Root> = BTreeMap::new();
    for (index, step) in s.steps.iter().enumerate() {
        let refused = |e: DriverError| Stop::Refused {
            index,
            kind: step.kind(),
            error: e.to_string(),
        };
        if let Some(name) = step.names()
            && roots.contains_key(name)
        {
            stop = Some(Stop::Refused {
                index,
                kind: step.kind(),
                error: format!("an instance named `{name}` was started before"),
            });
            break;
        }
        let target = match step.target() {
            None => Root::FIRST,
            Some(name) => match roots.get(name) {
                Some(root) => *root,
                None => {
                    stop = Some(Stop::Refused {
                        index,
                        kind: step.kind(),
                        error: format!("no earlier step started an instance named `{name}`"),
                    });
                    break;
                }
            },
        };
        let result = match step {
            Step::Advance(a) => d.advance(a.millis).map_err(refused),
            Step::Message(m) => d
                .publish_starting(
                    driver::Message {
                        name: m.name.clone(),
                        correlation_key: m.correlation_key.clone(),
                        message_id: m.message_id.clone(),
                        vars: m.variables.clone(),
                        ttl_millis: m.ttl.map(|t| t.millis),
                    },
                    m.instance.as_deref(),
                )
                .map(|(_, started)| name_first(&mut roots, m.instance.as_deref(), &started))
                .map_err(refused),
            Step::Terminate(t) => d
                .send_to(
                    target,
                    Command::Terminate {
                        reason: t.reason().to_string(),
                    },
                )
                .map_err(refused),
            Step::Expect(e) => match verdict::diff(e, &now(&d, target)) {
                None => Ok(()),
                Some(diff) => Err(Stop::Checkpoint { index, diff }),
            },
            Step::Signal(sig) => d
                .send_to(
                    target,
                    Command::Signal {
                        name: sig.name.clone(),
                        vars: sig.variables.clone(),
                    },
                )
                .map_err(refused),
            Step::Broadcast(sig) => d
                .broadcast_starting(&sig.name, sig.variables.clone(), sig.instance.as_deref())
                .map(|started| name_first(&mut roots, sig.instance.as_deref(), &started))
                .map_err(refused),
            Step::Cancel(c) => d
                .send_to(
                    target,
                    Command::Cancel {
                        reason: c.reason().to_string(),
                    },
                )
                .map_err(refused),
            Step::Suspend(sp) => d
                .send_to(
                    target,
                    Command::Suspend {
                        reason: sp.reason().to_string(),
                    },
                )
                .map_err(refused),
            Step::Resume(_) => d.send_to(target, Command::Resume).map_err(refused),
            Step::Start(st) => d
                .start_root(&loaded.plan, st.input.clone(), &st.instance)
                .map(|root| {
                    roots.insert(&st.instance, root);
                })
                .map_err(refused),
        };
        if let Err(s) = result {
            stop = Some(s);
            break;
        }
    }
    // Checked when the file is read; a final `expect` naming an instance
    // that was never started (playing stopped before its `start` step) is
    // compared with the scenario's own.
    let last = s
        .expect
        .instance
        .as_deref()
        .and_then(|name| roots.get(name).copied())
        .unwrap_or(Root::FIRST);
    Ok(Played {
        actual: now(&d, last),
        report: d.report(),
        stop,
    })
}

/// Names the first of the instances a message or broadcast `started`
/// `name` (the others are named `name#2`, ... by the driver and not
/// addressed by later steps).
fn name_first<'s>(roots: &mut BTreeMap<&'s str, Root>, name: Option<&'s str>, started: &[Root]) {
    if let (Some(name), Some(first)) = (name, started.first()) {
        roots.insert(name, *first);
    }
}

/// Instance `root` as scenarios compare it, now.
fn now(d: &Driver<'_>, root: Root) -> Actual {
    actual(
        &d.status_of(root),
        d.executed_of(root),
        d.variables_of(root),
        d.state_of(root).is_suspended(),
    )
}
