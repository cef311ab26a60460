//! `windlass inspect`: show the processes of a BPMN file readably.

use super::validate::diagnostics_output::{Format, line};
use crate::output::outln;
use std::fmt::Write as _;
use std::process::ExitCode;
use windlass_model::{
    CallBinding, EventResult, EventTrigger, LoopSpec, MessageSource, NodeKind, ProcessGraph,
    TimerSpec,
};
use windlass_scenario::bounded::{BPMN_DOCUMENT, read_bounded};

/// Arguments of `windlass inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// BPMN files.
    pub files: Vec<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs the verb: prints each file's processes; diagnostics go to stderr.
/// As for `validate`, every readable file is shown, then one line per file
/// that could not be read (or is larger than the limit). Exit 1 when a file does not load, 2 when one
/// could not be read or on usage errors (the worst wins).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.files.is_empty() {
        anyhow::bail!("usage: windlass inspect FILE... (no file given)");
    }
    let mut failed = false;
    let mut unreadable = Vec::new();
    let mut json = Vec::new();
    for file in &args.files {
        let bytes = match read_bounded(file, BPMN_DOCUMENT) {
            Ok(b) => b,
            Err(e) => {
                unreadable.push(format!("error: {e}"));
                continue;
            }
        };
        let outcome = windlass_model::load_bytes(&bytes);
        for d in &outcome.diagnostics {
            crate::output::error_line(&line(file, d));
        }
        let Some(defs) = outcome.definitions else {
            failed = true;
            continue;
        };
        match args.format {
            Format::Json => json.push(serde_json::json!({
                "file": file.display().to_string(),
                "id": defs.id(),
                "name": defs.name(),
                "processes": defs.processes().iter().map(|p| &**p).collect::<Vec<_>>(),
            })),
            Format::Text => {
                outln!("{}", file.display())?;
                for p in defs.processes() {
                    crate::output::write_text(&render(p))?;
                }
            }
        }
    }
    if args.format == Format::Json {
        crate::output::print_json(&json)?;
    }
    for message in &unreadable {
        crate::output::error_line(message);
    }
    Ok(if !unreadable.is_empty() {
        ExitCode::from(2)
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn trigger(p: &ProcessGraph, t: &EventTrigger) -> String {
    match t {
        EventTrigger::None => "none".into(),
        EventTrigger::Message {
            name,
            correlation_key,
        } => match correlation_key {
            Some(k) => format!("message '{name}' (correlation `{}`)", k.source()),
            None => format!("message '{name}'"),
        },
        EventTrigger::Timer(t) => timer(t),
        EventTrigger::Signal { name } => format!("signal '{name}'"),
        EventTrigger::Error { code } => format!("error {}", code.as_deref().unwrap_or("(any)")),
        EventTrigger::Escalation { code } => {
            format!("escalation {}", code.as_deref().unwrap_or("(any)"))
        }
        EventTrigger::Link { name } => format!("link '{name}'"),
        EventTrigger::Conditional { condition } => format!("condition `{}`", condition.source()),
        EventTrigger::Compensation { handler: Some(h) } => {
            format!("compensation, handler '{}'", p.node(*h).id)
        }
        EventTrigger::Compensation { handler: None } => "compensation".into(),
        EventTrigger::Cancel => "cancel".into(),
    }
}

fn timer(t: &TimerSpec) -> String {
    match t {
        TimerSpec::Date { source, .. } => format!("timer date {source}"),
        TimerSpec::Duration { source, .. } => format!("timer duration {source}"),
        TimerSpec::Cycle { source, .. } => format!("timer cycle {source}"),
        TimerSpec::Expression { part, expr } => {
            format!("timer {} expression {}", part.element(), expr.source())
        }
    }
}

fn result(p: &ProcessGraph, r: &EventResult) -> String {
    match r {
        EventResult::None => "none".into(),
        EventResult::Terminate => "terminate".into(),
        EventResult::Error { code } => format!("error {}", code.as_deref().unwrap_or("(no code)")),
        EventResult::Escalation { code } => {
            format!("escalation {}", code.as_deref().unwrap_or("(no code)"))
        }
        EventResult::Message {
            name,
            correlation_key,
            ttl_millis,
        } => {
            let key = correlation_key
                .as_ref()
                .map(|k| format!(" (correlation `{}`)", k.source()))
                .unwrap_or_default();
            let ttl = ttl_millis
                .map(|ms| format!(" (time-to-live {ms} ms)"))
                .unwrap_or_default();
            format!("message '{name}'{key}{ttl}")
        }
        EventResult::Signal { name } => format!("signal '{name}'"),
        EventResult::Link { name, .. } => format!("link '{name}'"),
        EventResult::Compensation { activity: Some(a) } => {
            format!("compensation of '{}'", p.node(*a).id)
        }
        EventResult::Compensation { activity: None } => "compensation".into(),
        EventResult::Cancel => "cancel".into(),
    }
}

fn kind(p: &ProcessGraph, k: &NodeKind) -> String {
    match k {
        NodeKind::StartEvent {
            trigger: t,
            interrupting,
        } => format!(
            "start event, {}{}",
            trigger(p, t),
            if *interrupting {
                ""
            } else {
                ", non-interrupting"
            }
        ),
        NodeKind::EndEvent { result: r } => format!("end event, {}", result(p, r)),
        NodeKind::IntermediateCatch { trigger: t } => format!("catch event, {}", trigger(p, t)),
        NodeKind::IntermediateThrow { result: r } => format!("throw event, {}", result(p, r)),
        NodeKind::Boundary {
            attached_to,
            trigger: t,
            cancel_activity,
        } => format!(
            "boundary event on '{}', {}{}",
            p.node(*attached_to).id,
            trigger(p, t),
            if *cancel_activity {
                ""
            } else {
                ", non-interrupting"
            }
        ),
        NodeKind::Task {
            task_type,
            script,
            message,
        } => match (script, message) {
            (Some(s), _) => format!(
                "{task_type:?} task, script ({})",
                s.format.as_deref().unwrap_or("no format")
            ),
            (None, Some(m)) => match &m.correlation_key {
                Some(k) => format!(
                    "{task_type:?} task, message '{}' (correlation `{}`)",
                    m.name,
                    k.source()
                ),
                None => format!("{task_type:?} task, message '{}'", m.name),
            },
            (None, None) => format!("{task_type:?} task"),
        },
        NodeKind::Gateway { kind, default, .. } => match default {
            Some(f) => format!("{kind:?} gateway, default '{}'", p.flow(*f).id),
            None => format!("{kind:?} gateway"),
        },
        NodeKind::SubProcess {
            triggered_by_event,
            transaction,
            ..
        } => {
            if *triggered_by_event {
                "event sub-process".into()
            } else if *transaction {
                "transaction".into()
            } else {
                "sub-process".into()
            }
        }
        NodeKind::CallActivity {
            called_element,
            binding,
        } => match binding {
            CallBinding::Latest => format!("call activity → '{called_element}'"),
            CallBinding::Deployment => {
                format!("call activity → '{called_element}' (of this deployment)")
            }
            CallBinding::Version(v) => format!("call activity → '{called_element}' version {v}"),
        },
    }
}

/// The text form of one process.
pub fn render(p: &ProcessGraph) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "process '{}'{}{}",
        p.id,
        p.name
            .as_deref()
            .map(|n| format!(" \"{n}\""))
            .unwrap_or_default(),
        if p.is_executable {
            ""
        } else {
            " (not executable)"
        }
    );
    if let Some(t) = &p.extensions.instance_id {
        let _ = writeln!(s, "  instance id: {}", t.source());
    }
    for src in &p.extensions.sources {
        let _ = match src {
            MessageSource::KubernetesWatch {
                message,
                api_version,
                kind,
                namespace,
                ..
            } => writeln!(
                s,
                "  source: kubernetes watch {api_version} {kind} in {} → message '{message}'",
                namespace.as_deref().unwrap_or("all namespaces")
            ),
            MessageSource::Cron {
                message,
                schedule,
                timezone,
            } => writeln!(
                s,
                "  source: cron '{schedule}'{} → message '{message}'",
                timezone
                    .as_deref()
                    .map(|z| format!(" ({z})"))
                    .unwrap_or_default()
            ),
        };
    }
    for (i, scope) in p.scopes.iter().enumerate() {
        let owner = scope
            .owner
            .map_or("process".to_string(), |o| format!("'{}'", p.node(o).id));
        let starts: Vec<&str> = scope
            .start_nodes
            .iter()
            .map(|n| p.node(*n).id.as_str())
            .collect();
        let _ = writeln!(
            s,
            "  scope {i} ({owner}): starts at [{}]{}",
            starts.join(", "),
            if scope.implicit_start {
                " (implicit start)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(s, "  nodes:");
    for n in &p.nodes {
        let _ = writeln!(
            s,
            "    {} [{}] {}{}",
            n.id,
            kind(p, &n.kind),
            n.name
                .as_deref()
                .map(|x| format!("\"{}\"", x.replace('\n', " ")))
                .unwrap_or_default(),
            if n.name_template.is_some() {
                " (template)"
            } else {
                ""
            }
        );
        if let Some(lane) = &n.lane {
            let _ = writeln!(s, "      lane: {lane}");
        }
        match n.looping.as_deref() {
            Some(LoopSpec::Standard {
                condition,
                test_before,
                loop_maximum,
            }) => {
                let _ = writeln!(
                    s,
                    "      loop: while `{}`{}{}",
                    condition.as_ref().map_or("", |c| c.source()),
                    if *test_before { " (test before)" } else { "" },
                    loop_maximum
                        .map(|m| format!(", at most {m}"))
                        .unwrap_or_default()
                );
            }
            Some(LoopSpec::MultiInstance(mi)) => {
                let _ = writeln!(
                    s,
                    "      multi-instance ({}): cardinality `{}`, collection `{}`, element {}",
                    if mi.sequential {
                        "sequential"
                    } else {
                        "parallel"
                    },
                    mi.cardinality.as_ref().map_or("", |c| c.source()),
                    mi.input_collection.as_ref().map_or("", |c| c.source()),
                    mi.input_element.as_deref().unwrap_or("-")
                );
            }
            None => {}
        }
        let t = n.task();
        if let Some(k) = &t.kind {
            let _ = writeln!(s, "      kind: {k}");
        }
        for (k, v) in &t.settings {
            let _ = writeln!(s, "      setting {k} = {}", v.source());
        }
        if let Some(r) = t.retries {
            let _ = writeln!(s, "      retries: {r}");
        }
        if let Some(d) = &n.dedup_key {
            let _ = writeln!(s, "      dedup key: {}", d.source());
        }
        for m in &n.io().inputs {
            let _ = writeln!(s, "      input {} = `{}`", m.target, m.source.source());
        }
        for m in &n.io().outputs {
            let _ = writeln!(s, "      output {} = `{}`", m.target, m.source.source());
        }
    }
    let _ = writeln!(s, "  flows:");
    for f in &p.flows {
        let _ = writeln!(
            s,
            "    {}: {} → {}{}{}",
            f.id,
            p.node(f.source).id,
            p.node(f.target).id,
            f.condition
                .as_ref()
                .map(|c| format!(" if `{}`", c.source()))
                .unwrap_or_default(),
            if f.is_default { " (default)" } else { "" }
        );
    }
    s
}
