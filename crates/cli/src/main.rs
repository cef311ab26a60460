//! The `windlass` binary: offline verbs (validate, inspect, run, test,
//! instances) and `server`, the long-running service with its REST API.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench_report;
mod client;
mod cluster_args;
mod commands;
mod definition;
mod dump_view;
mod history_view;
mod instance_view;
mod logging;
mod mocks;
mod output;
mod runtime_glue;
mod store_open;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Durable BPMN workflow engine for Kubernetes and infrastructure automation.
#[derive(Debug, Parser)]
#[command(name = "windlass", version, about)]
struct Cli {
    /// Log line format on stderr: text or json [env: WINDLASS_LOG_FORMAT;
    /// default: text]. The level comes from WINDLASS_LOG or RUST_LOG
    /// (default: warn).
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    log_format: Option<logging::LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check BPMN files and report every problem.
    Validate(commands::validate::Args),
    /// Show the processes of a BPMN file in readable form.
    Inspect(commands::inspect::Args),
    /// Run one instance to completion or to its first wait state.
    Run(commands::run::Args),
    /// Run scenario files (process + input + mocks + expected outcome).
    Test(commands::test::Args),
    /// Read instances from a database: list, show, history.
    Instances(commands::instances::Args),
    /// Open incidents of a database: list, retry, skip.
    Incidents(commands::incidents::Args),
    /// Measure throughput and latency of N instances with mocked tasks.
    Bench(commands::bench::Args),
    /// Resume every unfinished instance of a database and run it on.
    Recover(commands::recover::Args),
    /// Database maintenance: `db check` verifies a database file.
    Db(commands::db::Args),
    /// Run the long-running service: the REST API over a database.
    Server(commands::server::Args),
    /// Run the server as a Kubernetes operator: ProcessDefinition
    /// resources, leader election on a Lease, `--print-manifests`.
    Operator(commands::operator::Args),
    /// Deploy BPMN files to a server.
    Deploy(commands::deploy::Args),
    /// Start an instance on a server.
    Start(commands::start::Args),
    /// Publish a message on a server.
    Message(commands::control::MessageArgs),
    /// Send a signal to one instance, or broadcast it, on a server.
    Signal(commands::control::SignalArgs),
    /// Cancel an instance on a server (cleanup handlers run).
    Cancel(commands::control::InstanceArgs),
    /// Terminate an instance on a server at once.
    Terminate(commands::control::InstanceArgs),
    /// Suspend an instance on a server.
    Suspend(commands::control::InstanceArgs),
    /// Resume a suspended instance on a server.
    Resume(commands::control::InstanceArgs),
    /// Reset an instance on a server to an event of a run's history (a
    /// new run goes on from there).
    Reset(commands::control::ResetArgs),
    /// Retry an incident on a server.
    Retry(commands::control::IncidentArgs),
    /// Skip an incident on a server (the work counts as done).
    Skip(commands::control::IncidentArgs),
    /// Complete an open job on a server by its key.
    CompleteJob(commands::control::JobArgs),
    /// Fail an attempt of an open job on a server by its key.
    FailJob(commands::control::JobArgs),
    /// A server's schedules: list, pause, resume, trigger.
    Schedules(commands::schedules::Args),
    /// A server's dedup keys: holder and waiting start.
    Dedup(commands::schedules::DedupArgs),
    /// The whole live state, from a server or a database file.
    Dump(commands::dump::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    logging::install(logging::format_from(cli.log_format));
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(args),
        Command::Inspect(args) => commands::inspect::run(args),
        Command::Run(args) => commands::run::run(args),
        Command::Test(args) => commands::test::run(args),
        Command::Instances(args) => commands::instances::run(args),
        Command::Incidents(args) => commands::incidents::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Recover(args) => commands::recover::run(args),
        Command::Db(args) => commands::db::run(args),
        Command::Server(args) => commands::server::run(args),
        Command::Operator(args) => commands::operator::run(args),
        Command::Deploy(args) => commands::deploy::run(args),
        Command::Start(args) => commands::start::run(args),
        Command::Message(args) => commands::control::message(args),
        Command::Signal(args) => commands::control::signal(args),
        Command::Cancel(args) => commands::control::instance_op("cancel", args),
        Command::Terminate(args) => commands::control::instance_op("terminate", args),
        Command::Suspend(args) => commands::control::instance_op("suspend", args),
        Command::Resume(args) => commands::control::instance_op("resume", args),
        Command::Reset(args) => commands::control::reset(args),
        Command::Retry(args) => commands::control::incident_op("retry", args),
        Command::Skip(args) => commands::control::incident_op("skip", args),
        Command::CompleteJob(args) => commands::control::complete_job(args),
        Command::FailJob(args) => commands::control::fail_job(args),
        Command::Schedules(args) => commands::schedules::run(args),
        Command::Dedup(args) => commands::schedules::dedup(args),
        Command::Dump(args) => commands::dump::run(args),
    };
    match result {
        Ok(code) => code,
        // A closed stdout (`| head`) ends the verb quietly.
        Err(e) if output::is_closed(&e) => ExitCode::SUCCESS,
        Err(e) => {
            output::error_line(&format!("error: {e:#}"));
            ExitCode::from(2)
        }
    }
}
