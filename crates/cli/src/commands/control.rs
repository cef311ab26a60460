//! The control verbs against a running server: `message`, `signal`,
//! `cancel`, `terminate`, `suspend`, `resume`, `reset`, `retry`, `skip`,
//! `complete-job`, `fail-job`. Each prints what it did (or the server's
//! JSON answer with `--format json`) once the server has committed it.

use crate::client::{ServerArgs, block_on, segment};
use crate::output::{Format, outln, print_json};
use crate::runtime_glue::parse_input;
use serde_json::{Value, json};
use std::process::ExitCode;

/// Options every control verb has.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// The server.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `windlass message NAME`.
#[derive(Debug, clap::Args)]
pub struct MessageArgs {
    /// The message name.
    pub name: String,
    /// The correlation key.
    #[arg(long)]
    pub key: Option<String>,
    /// A message id (publishing it again is a no-op).
    #[arg(long)]
    pub message_id: Option<String>,
    /// Variables: a JSON object, or @file.json.
    #[arg(long)]
    pub input: Option<String>,
    /// How long it stays buffered when nothing waits, in ms.
    #[arg(long)]
    pub ttl_ms: Option<u64>,
    #[command(flatten)]
    common: Common,
}

/// `windlass signal NAME`.
#[derive(Debug, clap::Args)]
pub struct SignalArgs {
    /// The signal name.
    pub name: String,
    /// Send it to this instance only (else: broadcast to every waiting
    /// instance and signal start event).
    #[arg(long)]
    pub instance: Option<String>,
    /// Variables: a JSON object, or @file.json.
    #[arg(long)]
    pub input: Option<String>,
    #[command(flatten)]
    common: Common,
}

/// `windlass cancel|terminate|suspend|resume ID`.
#[derive(Debug, clap::Args)]
pub struct InstanceArgs {
    /// The instance id.
    pub id: String,
    /// The run (default: the latest).
    #[arg(long)]
    pub run: Option<String>,
    /// Why (recorded in the history).
    #[arg(long, default_value = "")]
    pub reason: String,
    #[command(flatten)]
    common: Common,
}

/// `windlass reset ID --to-event N`.
#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    /// The instance id.
    pub id: String,
    /// The last event of the run's history the new run carries over (the
    /// `seq` column of `windlass instances history`): a point where every
    /// token waits, before the run ended.
    #[arg(long)]
    pub to_event: u64,
    /// The run to reset (default: the latest, finished or not).
    #[arg(long)]
    pub run: Option<String>,
    /// Why (recorded in the new run's history).
    #[arg(long, default_value = "")]
    pub reason: String,
    /// Do not send the signals the run received after the point to the
    /// new run.
    #[arg(long)]
    pub no_reapply_signals: bool,
    #[command(flatten)]
    common: Common,
}

/// `windlass retry|skip ID INCIDENT`.
#[derive(Debug, clap::Args)]
pub struct IncidentArgs {
    /// The instance id.
    pub id: String,
    /// The incident id (`windlass instances show` lists them).
    pub incident: u32,
    /// The run (default: the latest).
    #[arg(long)]
    pub run: Option<String>,
    /// For `skip`: the job's output variables (JSON object or @file.json).
    #[arg(long)]
    pub output: Option<String>,
    #[command(flatten)]
    common: Common,
}

/// `windlass complete-job|fail-job KEY`.
#[derive(Debug, clap::Args)]
pub struct JobArgs {
    /// The job key (`windlass instances show` lists open jobs' keys).
    pub key: String,
    /// For `complete-job`: the output variables (JSON object or @file.json).
    #[arg(long)]
    pub output: Option<String>,
    /// For `fail-job`: what happened.
    #[arg(long, default_value = "failed by windlass fail-job")]
    pub message: String,
    /// For `fail-job`: a BPMN error code (caught by error boundary events).
    #[arg(long)]
    pub error_code: Option<String>,
    /// For `fail-job`: do not retry (an incident at once).
    #[arg(long)]
    pub no_retry: bool,
    #[command(flatten)]
    common: Common,
}

fn with_run(path: String, run: Option<&str>) -> String {
    match run {
        Some(r) => format!("{path}?run={}", segment(r)),
        None => path,
    }
}

fn finish(common: &Common, answer: &Value, text: String) -> anyhow::Result<ExitCode> {
    if common.format == Format::Json {
        print_json(answer)?;
    } else {
        outln!("{text}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn run_of(answer: &Value) -> String {
    match (answer["id"].as_str(), answer["run"].as_str()) {
        (Some(id), Some(run)) => format!("instance {id} (run {run})"),
        _ => "done".into(),
    }
}

/// `windlass message`.
pub fn message(args: MessageArgs) -> anyhow::Result<ExitCode> {
    let client = args.common.server.require("message")?;
    let body = json!({
        "name": args.name,
        "correlationKey": args.key,
        "messageId": args.message_id,
        "variables": parse_input(args.input.as_deref())?,
        "ttlMillis": args.ttl_ms,
    });
    let answer: Value = block_on(async move { client.post("/messages", &body).await })?;
    let mut text = format!(
        "message {}: {}",
        args.name,
        answer["outcome"].as_str().unwrap_or("?")
    );
    for i in answer["instances"].as_array().into_iter().flatten() {
        text.push_str(&format!("\n  instance {}", i.as_str().unwrap_or("?")));
    }
    finish(&args.common, &answer, text)
}

/// `windlass signal`.
pub fn signal(args: SignalArgs) -> anyhow::Result<ExitCode> {
    let client = args.common.server.require("signal")?;
    let vars = parse_input(args.input.as_deref())?;
    let (path, body) = match &args.instance {
        Some(id) => (
            format!("/instances/{}/signal", segment(id)),
            json!({"name": args.name, "variables": vars}),
        ),
        None => (
            "/signals".to_string(),
            json!({"name": args.name, "variables": vars}),
        ),
    };
    let answer: Value = block_on(async move { client.post(&path, &body).await })?;
    let text = match &args.instance {
        Some(_) => format!("signal {} sent to {}", args.name, run_of(&answer)),
        None => format!(
            "signal {} broadcast: {} instance(s) took it or started",
            args.name, answer["delivered"]
        ),
    };
    finish(&args.common, &answer, text)
}

/// `windlass cancel|terminate|suspend|resume`: `op` is the route's last
/// segment.
pub fn instance_op(op: &'static str, args: InstanceArgs) -> anyhow::Result<ExitCode> {
    let client = args.common.server.require(op)?;
    let path = with_run(
        format!("/instances/{}/{op}", segment(&args.id)),
        args.run.as_deref(),
    );
    // `resume` takes no body; the others a reason.
    let body = if op == "resume" {
        json!({})
    } else {
        json!({"reason": args.reason})
    };
    let answer: Value = block_on(async move { client.post(&path, &body).await })?;
    let done = match op {
        "cancel" => "cancel requested for",
        "terminate" => "terminated",
        "suspend" => "suspended",
        _ => "resumed",
    };
    finish(&args.common, &answer, format!("{done} {}", run_of(&answer)))
}

/// `windlass retry|skip`.
pub fn incident_op(op: &'static str, args: IncidentArgs) -> anyhow::Result<ExitCode> {
    let client = args.common.server.require(op)?;
    let path = with_run(
        format!(
            "/instances/{}/incidents/{}/{op}",
            segment(&args.id),
            args.incident
        ),
        args.run.as_deref(),
    );
    // `retry` takes no body; `skip` the job's outputs.
    let body = match op {
        "skip" => json!({"variables": parse_input(args.output.as_deref())?}),
        _ => json!({}),
    };
    let answer: Value = block_on(async move { client.post(&path, &body).await })?;
    let done = if op == "retry" { "retrying" } else { "skipped" };
    finish(
        &args.common,
        &answer,
        format!("{done} incident {} of {}", args.incident, run_of(&answer)),
    )
}

/// `windlass complete-job`.
pub fn complete_job(args: JobArgs) -> anyhow::Result<ExitCode> {
    let client = args.common.server.require("complete-job")?;
    let body = json!({"jobKey": args.key, "variables": parse_input(args.output.as_deref())?});
    let answer: Value = block_on(async move { client.post("/jobs/complete", &body).await })?;
    finish(&args.common, &answer, format!("completed job {}", args.key))
}

/// `windlass fail-job`.
pub fn fail_job(args: JobArgs) -> anyhow::Result<ExitCode> {
    let client = args.common.server.require("fail-job")?;
    let body = json!({
        "jobKey": args.key,
        "message": args.message,
        "errorCode": args.error_code,
        "retryable": !args.no_retry,
    });
    let answer: Value = block_on(async move { client.post("/jobs/fail", &body).await })?;
    finish(&args.common, &answer, format!("failed job {}", args.key))
}

/// `windlass reset`.
pub fn reset(args: ResetArgs) -> anyhow::Result<ExitCode> {
    let client = args.common.server.require("reset")?;
    let path = with_run(
        format!("/instances/{}/reset", segment(&args.id)),
        args.run.as_deref(),
    );
    let body = json!({
        "toEvent": args.to_event,
        "reason": args.reason,
        "reapplySignals": !args.no_reapply_signals,
    });
    let answer: Value = block_on(async move { client.post(&path, &body).await })?;
    let text = format!(
        "reset run {} to event {}: new run {} of instance {}",
        answer["fromRun"].as_str().unwrap_or("?"),
        args.to_event,
        answer["run"].as_str().unwrap_or("?"),
        answer["id"].as_str().unwrap_or("?"),
    );
    finish(&args.common, &answer, text)
}
