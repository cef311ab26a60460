//! Running a built-in job to its end from synchronous code: the scenario
//! driver of `windlass test`, which steps the engine without a runtime.
//! The job runs on a thread of its own with a one-thread tokio runtime, so
//! it works whether or not the caller is inside a tokio runtime.

use crate::input::TaskInput;
use std::time::Duration;
use windlass_runtime::JobOutcome;

/// Runs `input` to its outcome, failing it (retryably, as the runtime does)
/// after `timeout_millis` (the task's `timeout` attribute). `None` when its
/// kind is not a built-in one.
pub fn run_blocking(input: TaskInput, timeout_millis: Option<u64>) -> Option<JobOutcome> {
    if !crate::is_builtin(&input.kind) {
        return None;
    }
    let label = input.label.clone();
    let worker = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(rt.block_on(async move {
            let fut = crate::start(input)?;
            Some(match timeout_millis {
                Some(ms) => match tokio::time::timeout(Duration::from_millis(ms), fut).await {
                    Ok(outcome) => outcome,
                    Err(_) => JobOutcome::technical(format!("job timed out after {ms} ms"), true),
                },
                None => fut.await,
            })
        }))
    });
    let outcome = match worker.join() {
        Ok(Ok(outcome)) => outcome?,
        Ok(Err(e)) => JobOutcome::technical(format!("task '{label}': no tokio runtime: {e}"), true),
        Err(_) => JobOutcome::technical(format!("task '{label}': the executor panicked"), false),
    };
    Some(outcome)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn input(command: &str) -> TaskInput {
        let settings: std::collections::BTreeMap<String, String> =
            [("command".to_string(), command.to_string())].into();
        TaskInput {
            label: "T".into(),
            kind: "shell".into(),
            settings: settings.clone(),
            settings_source: settings,
            inputs: Default::default(),
            cancel: Default::default(),
            secrets: crate::SecretSource::new(None, Some(Default::default())),
            job_key: None,
        }
    }

    #[test]
    fn runs_to_the_end_from_plain_code() {
        match run_blocking(input("echo hi"), None).unwrap() {
            JobOutcome::Completed { outputs, .. } => assert_eq!(outputs["stdout"], "hi\n"),
            other => panic!("{other:?}"),
        }
        let mut other = input("x");
        other.kind = "mail".into();
        assert!(run_blocking(other, None).is_none());
    }

    #[test]
    fn the_task_timeout_applies() {
        match run_blocking(input("sleep 30"), Some(100)).unwrap() {
            JobOutcome::Failed(f) => assert!(format!("{f:?}").contains("timed out after 100 ms")),
            other => panic!("{other:?}"),
        }
    }
}
