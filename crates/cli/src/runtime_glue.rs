//! What the runtime-backed verbs (`run`, `recover`, `bench`) share: mocks
//! bound as runtime handlers, `--input` parsing, and how a status becomes
//! an exit code.

use crate::mocks::{MockBehaviour, MockTable};
use anyhow::{Context as _, bail};
use std::path::Path;
use std::process::ExitCode;
use windlass_k8s::{ClusterOptions, KubernetesJobs, LazyClient};
use windlass_runtime::{HandlerResult, Handlers, Job, JobOutcome, ShutdownSignal};
use windlass_scenario::bounded::{INPUT_FILE, ReadError, read_text_bounded};
use windlass_store_api::InstanceStatus;
use windlass_types::Vars;

/// Exit code of a completed instance.
pub const EXIT_COMPLETED: u8 = 0;
/// Exit code of a failed (or terminated / cancelled) instance.
pub const EXIT_FAILED: u8 = 1;
/// Exit code of an instance still waiting (a job, a person) or in an incident.
pub const EXIT_WAITING: u8 = 3;
/// Exit code when SIGINT / SIGTERM stopped the verb (work already committed
/// is kept and resumes on the next start).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Builds the verb's single-threaded tokio runtime and installs the SIGINT /
/// SIGTERM listeners at once, before the verb loads files or opens stores,
/// so a signal during start-up is answered with a graceful exit (130).
pub fn tokio_with_signals() -> anyhow::Result<(tokio::runtime::Runtime, ShutdownSignal)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let signal = {
        let _entered = rt.enter();
        ShutdownSignal::install()?
    };
    Ok((rt, signal))
}

/// The handlers of `run`, `recover` and incident resolution: the mocks of
/// `table` ([`handlers_for`]), the built-in job kinds (`shell`, `http`,
/// `script`: `windlass_jobs`) and the Kubernetes kinds on the cluster
/// `cluster` names (`windlass_k8s`, its client made at the first
/// Kubernetes task); a mock of the same task (by id or name) overrides a kind.
pub fn handlers_running(table: &MockTable, cluster: &ClusterOptions) -> Handlers {
    let k8s = KubernetesJobs::new(LazyClient::new(cluster.clone()));
    k8s.bind(windlass_jobs::builtin(handlers_for(table)))
}

/// Binds every mock of `table` as a handler, by element id and by task name
/// (the runtime tries the id first, then the resolved name, then the name
/// as written). Unmocked abstract tasks complete as no-ops; any other
/// unmocked task becomes an incident "no handler for ...".
pub fn handlers_for(table: &MockTable) -> Handlers {
    let mut handlers = Handlers::new();
    for (key, behaviour) in table.entries() {
        let outcome = match behaviour {
            MockBehaviour::Output(v) => Some(JobOutcome::mocked(v.clone())),
            MockBehaviour::Error(code) => Some(JobOutcome::bpmn_error(code.clone(), None)),
            // `{"wait": true}`: the job stays open (completed from outside,
            // or never).
            MockBehaviour::Wait => None,
        };
        let by_id = outcome.clone();
        let answer = |o: &Option<JobOutcome>| match o {
            Some(o) => HandlerResult::Ready(o.clone()),
            None => HandlerResult::External,
        };
        handlers = handlers
            .on_node(key.clone(), move |_: &Job| answer(&by_id))
            .on_name(&key, move |_: &Job| answer(&outcome));
    }
    handlers
}

/// Binds `table`, and completes every other job with no output (the
/// default of `windlass bench`).
pub fn handlers_completing_everything(table: &MockTable) -> Handlers {
    handlers_for(table).fallback(|_: &Job| HandlerResult::Ready(JobOutcome::mocked(Vars::new())))
}

/// `--input`: a JSON object, or `@file.json` of at most
/// [`INPUT_FILE`] bytes, within the value limit (`windlass_types::limits`).
pub fn parse_input(arg: Option<&str>) -> anyhow::Result<Vars> {
    let Some(arg) = arg else {
        return Ok(Vars::new());
    };
    let (text, from) = match arg.strip_prefix('@') {
        Some(path) => match read_text_bounded(Path::new(path), INPUT_FILE) {
            Ok(text) => (text, path.to_string()),
            Err(ReadError::Io { source, .. }) => {
                return Err(source).with_context(|| format!("--input: cannot read {path}"));
            }
            Err(e @ ReadError::TooLarge { .. }) => bail!("--input: {e}"),
        },
        None => (arg.to_string(), "--input".to_string()),
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(map)) => match windlass_types::limits::check_vars(&map) {
            Ok(()) => Ok(map),
            Err(e) => bail!("{from}: the input exceeds the value limit: {e}"),
        },
        Ok(other) => bail!("{from}: the input must be a JSON object, got {other}"),
        Err(e) => bail!("{from}: not valid JSON: {e}"),
    }
}

/// The word `run` prints for a settled instance's status.
pub fn status_word(status: InstanceStatus) -> &'static str {
    match status {
        InstanceStatus::Running => "waiting",
        other => other.as_str(),
    }
}

/// The exit code for a status (see the `EXIT_*` constants).
pub fn exit_code_for(status: InstanceStatus) -> u8 {
    match status {
        InstanceStatus::Completed => EXIT_COMPLETED,
        InstanceStatus::Running | InstanceStatus::Incident => EXIT_WAITING,
        InstanceStatus::Failed
        | InstanceStatus::Terminated
        | InstanceStatus::Cancelled
        | InstanceStatus::Superseded => EXIT_FAILED,
    }
}

/// The exit code for several instances: the worst of them.
pub fn worst_exit_code(statuses: impl IntoIterator<Item = InstanceStatus>) -> ExitCode {
    let worst = statuses
        .into_iter()
        .map(exit_code_for)
        .fold(EXIT_COMPLETED, |acc, c| {
            let rank = |c: u8| match c {
                EXIT_FAILED => 2,
                EXIT_WAITING => 1,
                _ => 0,
            };
            if rank(c) > rank(acc) { c } else { acc }
        });
    ExitCode::from(worst)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn input_is_an_object_inline_or_from_a_file() {
        assert_eq!(parse_input(None).unwrap(), Vars::new());
        assert_eq!(
            parse_input(Some(r#"{"a":1}"#)).unwrap().get("a"),
            Some(&serde_json::json!(1))
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.json");
        std::fs::write(&p, r#"{"b":true}"#).unwrap();
        let arg = format!("@{}", p.display());
        assert_eq!(
            parse_input(Some(&arg)).unwrap().get("b"),
            Some(&serde_json::json!(true))
        );
        assert!(
            parse_input(Some("[1]"))
                .unwrap_err()
                .to_string()
                .contains("JSON object")
        );
        assert!(
            parse_input(Some("{"))
                .unwrap_err()
                .to_string()
                .contains("not valid JSON")
        );
        assert!(parse_input(Some("@/nonexistent/x.json")).is_err());
    }

    #[test]
    fn input_over_the_value_limit_is_refused_naming_the_variable() {
        let deep = format!("{{\"ok\":1,\"a\":{}0{}}}", "[".repeat(65), "]".repeat(65));
        let err = parse_input(Some(&deep)).unwrap_err().to_string();
        assert_eq!(
            err,
            "--input: the input exceeds the value limit: variable 'a' is nested 65 levels deep, \
             1 over the limit of 64 levels"
        );
        let at_limit = format!("{{\"a\":{}0{}}}", "[".repeat(64), "]".repeat(64));
        assert!(parse_input(Some(&at_limit)).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.json");
        let big = format!("{{\"s\":\"{}\"}}", "x".repeat(5 << 20));
        std::fs::write(&p, big).unwrap();
        let err = parse_input(Some(&format!("@{}", p.display())))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("variable 's' takes 5242882 bytes as JSON") && err.contains("big.json"),
            "{err}"
        );
    }

    #[test]
    fn exit_codes_rank_failed_over_waiting_over_completed() {
        assert_eq!(exit_code_for(InstanceStatus::Completed), 0);
        assert_eq!(exit_code_for(InstanceStatus::Failed), 1);
        assert_eq!(exit_code_for(InstanceStatus::Incident), 3);
        assert_eq!(status_word(InstanceStatus::Running), "waiting");
        let all = [
            InstanceStatus::Completed,
            InstanceStatus::Incident,
            InstanceStatus::Failed,
        ];
        assert_eq!(worst_exit_code(all), ExitCode::from(1));
        assert_eq!(
            worst_exit_code([InstanceStatus::Completed]),
            ExitCode::from(0)
        );
    }
}
