//! The text form of `windlass instances show`: an
//! [`InstanceView`] from the views crate,
//! for people.

use serde_json::Value;
use std::fmt::Write as _;
use windlass_views::text::printable;
use windlass_views::{InstanceView, TokenView};

/// The summary for people.
pub fn render_text(v: &InstanceView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "instance {} (run {})", v.id, v.run);
    let _ = writeln!(out, "  status:       {}", v.status);
    let _ = writeln!(out, "  definition:   {}", v.definition);
    if let Some(bk) = &v.business_key {
        let _ = writeln!(out, "  business key: {bk}");
    }
    let _ = writeln!(out, "  created:      {}", v.created_at);
    let _ = writeln!(out, "  updated:      {}", v.updated_at);
    let _ = writeln!(out, "  events:       {}", v.events);
    if let Some(reason) = &v.suspended {
        let _ = writeln!(out, "  suspended:    {}", printable(reason));
    }
    if let Some(reason) = &v.cancelling {
        let _ = writeln!(out, "  cancelling:   {}", printable(reason));
    }
    for s in &v.buffered_signals {
        let _ = writeln!(out, "  kept signal:  {}", printable(&s.name));
    }
    let label = |t: &TokenView| match &t.name {
        Some(n) => format!("{n} ({})", t.node),
        None => t.node.clone(),
    };
    let _ = writeln!(
        out,
        "tokens: {}",
        if v.tokens.is_empty() { "none" } else { "" }
    );
    for t in &v.tokens {
        let _ = writeln!(
            out,
            "  token {} at {}, waiting for {}",
            t.token,
            label(t),
            t.waiting_for
        );
    }
    let _ = writeln!(out, "open jobs: {}", v.open_jobs.len());
    for j in &v.open_jobs {
        let t = &j.token;
        let _ = writeln!(
            out,
            "  {} (token {}), job key {}",
            label(t),
            t.token,
            printable(&j.job_key)
        );
    }
    let _ = writeln!(out, "incidents: {}", v.incidents.len());
    for i in &v.incidents {
        let _ = writeln!(
            out,
            "  incident {} at {} (token {}, attempt {}): {}",
            i.incident, i.node, i.token, i.attempt, i.message
        );
    }
    let _ = writeln!(out, "variables:");
    let pretty =
        serde_json::to_string_pretty(&Value::Object(v.variables.clone())).unwrap_or_default();
    for line in pretty.lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}
