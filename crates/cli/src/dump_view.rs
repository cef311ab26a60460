//! The text form of a state dump (`windlass dump`, and what SIGUSR1 makes
//! `windlass server` write): per unfinished instance, where each token is
//! and what it waits for, with ages and due times relative to the moment
//! of the dump.

use chrono::DateTime;
use std::fmt::Write as _;
use windlass_server::api::dump::ServerDump;
use windlass_views::text::printable;

/// `at` relative to `now` (both RFC 3339): "12.3 s ago", "in 4.0 s".
fn relative(at: &str, now: &str) -> String {
    let (Ok(at), Ok(now)) = (
        DateTime::parse_from_rfc3339(at),
        DateTime::parse_from_rfc3339(now),
    ) else {
        return String::new();
    };
    let ms = (at - now).num_milliseconds();
    let s = ms.unsigned_abs() as f64 / 1000.0;
    if ms < 0 {
        format!(" ({s:.1} s ago)")
    } else {
        format!(" (in {s:.1} s)")
    }
}

/// The dump for people.
pub fn render_text(d: &ServerDump) -> String {
    let now = d.state.taken_at.as_str();
    let mut out = String::new();
    let _ = writeln!(out, "windlass state dump at {now}");
    if let Some(r) = &d.runtime {
        let _ = writeln!(
            out,
            "runtime: intake queues {:?}, timers armed {} (fired {}), messages buffered {}, {} commit(s) in {:.3} s",
            r.intake_queues,
            r.timers_armed,
            r.timers_fired,
            r.messages_buffered,
            r.commits,
            r.commit_seconds
        );
        if let Some(e) = &r.last_commit_failure {
            let _ = writeln!(out, "  LAST COMMIT FAILED: {}", printable(e));
        }
    }
    let more = if d.state.truncated {
        " (more not shown)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "{} unfinished instance(s){more}",
        d.state.instances.len()
    );
    for v in &d.state.instances {
        let _ = writeln!(
            out,
            "instance {} (run {}): {}, {}, updated {}{}",
            printable(&v.id),
            printable(&v.run),
            v.status,
            printable(&v.definition),
            v.updated_at,
            relative(&v.updated_at, now)
        );
        if let Some(r) = &v.suspended {
            let _ = writeln!(out, "  SUSPENDED: {}", printable(r));
        }
        if let Some(r) = &v.cancelling {
            let _ = writeln!(out, "  cancelling: {}", printable(r));
        }
        for t in &v.tokens {
            let _ = writeln!(
                out,
                "  token {} at {}: waits for {}",
                t.token,
                printable(&t.node),
                t.waiting_for
            );
        }
        for j in &v.open_jobs {
            let since = j
                .created_at
                .as_deref()
                .map(|c| format!(", open since {c}{}", relative(c, now)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  job {} (attempt {}){since}",
                printable(&j.job_key),
                j.attempt
            );
        }
        for s in &v.subscriptions {
            let due = s
                .due_at
                .as_deref()
                .map(|d| relative(d, now))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} at {}: {}{due}",
                s.kind,
                printable(&s.node),
                printable(&s.waits_for)
            );
        }
        for i in &v.incidents {
            let _ = writeln!(
                out,
                "  incident {} at {} (token {}, attempt {}): {}",
                i.incident,
                printable(&i.node),
                i.token,
                i.attempt,
                printable(&i.message)
            );
        }
        for s in &v.buffered_signals {
            let _ = writeln!(out, "  kept signal: {}", printable(&s.name));
        }
    }
    let _ = writeln!(out, "{} buffered message(s)", d.state.messages.len());
    for m in &d.state.messages {
        let _ = writeln!(
            out,
            "  {} key {} published {}{}, expires {}",
            printable(&m.name),
            printable(&m.correlation_key),
            m.published_at,
            relative(&m.published_at, now),
            m.expires_at.as_deref().unwrap_or("never")
        );
    }
    let _ = writeln!(out, "{} dedup key(s)", d.state.dedup.len());
    for k in &d.state.dedup {
        let _ = writeln!(
            out,
            "  {}: held by {}, waiting {}",
            printable(&k.key),
            k.holder.as_deref().map_or("nobody".into(), printable),
            k.waiting.as_deref().map_or("nobody".into(), printable)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_told_relative_to_the_dump() {
        let now = "2026-12-06T10:00:00.000Z";
        assert_eq!(relative("2026-12-06T09:59:48.000Z", now), " (12.0 s ago)");
        assert_eq!(relative("2026-12-06T10:00:04.500Z", now), " (in 4.5 s)");
        assert_eq!(relative("garbage", now), "");
    }
}
