//! Timer definitions as the graph holds them: `timeDate`, `timeDuration`
//! and `timeCycle`, validated and parsed at load time.

use crate::expr_spec::ExprSpec;
use serde::Serialize;

/// A timer definition, validated at load time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TimerSpec {
    /// `timeDate`: an absolute instant (RFC 3339 / ISO-8601), ms since epoch.
    Date {
        /// As written.
        source: String,
        /// Parsed instant in ms since the Unix epoch (UTC).
        at_millis: i64,
    },
    /// `timeDuration`: an ISO-8601 duration such as `PT10M` or `P1M`.
    Duration {
        /// As written.
        source: String,
        /// The parsed duration.
        duration: IsoDuration,
    },
    /// `timeCycle`: `R3/PT10M`, `R/PT1S`, `R/2024-01-01T00:00:00Z/P1D` or a
    /// cron expression.
    Cycle {
        /// As written.
        source: String,
        /// The parsed cycle.
        cycle: TimerCycle,
    },
    /// A definition given as an expression (`=expr`, or `${expr}` as the
    /// whole text), evaluated when the timer opens; its value (a string) is
    /// read as the `part` it stands for ([`TimerSpec::from_text`]).
    Expression {
        /// What the value is read as.
        part: TimerPart,
        /// The expression.
        expr: ExprSpec,
    },
}

/// The three timer definitions of BPMN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TimerPart {
    /// `timeDate`.
    Date,
    /// `timeDuration`.
    Duration,
    /// `timeCycle`.
    Cycle,
}

impl TimerPart {
    /// The element name (`timeDate`, `timeDuration`, `timeCycle`).
    pub fn element(self) -> &'static str {
        match self {
            TimerPart::Date => "timeDate",
            TimerPart::Duration => "timeDuration",
            TimerPart::Cycle => "timeCycle",
        }
    }
}

impl TimerSpec {
    /// Parses `text` as a `part` definition; the flag is true when a date
    /// in it has no time zone (read as UTC).
    pub fn from_text(part: TimerPart, text: &str) -> Result<(TimerSpec, bool), String> {
        use crate::parse::timer;
        let source = text.to_string();
        match part {
            TimerPart::Date => timer::parse_date(text).map(|d| {
                (
                    TimerSpec::Date {
                        source,
                        at_millis: d.at_millis,
                    },
                    d.local,
                )
            }),
            TimerPart::Duration => timer::parse_duration(text)
                .map(|duration| (TimerSpec::Duration { source, duration }, false)),
            TimerPart::Cycle => timer::parse_cycle(text)
                .map(|(cycle, local)| (TimerSpec::Cycle { source, cycle }, local)),
        }
    }

    /// True for a cycle (a literal one, or an expression read as one).
    pub fn is_cycle(&self) -> bool {
        matches!(
            self,
            TimerSpec::Cycle { .. }
                | TimerSpec::Expression {
                    part: TimerPart::Cycle,
                    ..
                }
        )
    }
}

/// An ISO-8601 duration kept in calendar parts (months are not a fixed
/// number of days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct IsoDuration {
    /// Years.
    pub years: u32,
    /// Months.
    pub months: u32,
    /// Weeks.
    pub weeks: u32,
    /// Days.
    pub days: u32,
    /// Hours.
    pub hours: u32,
    /// Minutes.
    pub minutes: u32,
    /// Seconds, in milliseconds (fractions allowed).
    pub millis: u64,
}

/// A repeating timer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TimerCycle {
    /// ISO-8601 repeating interval `R[n]/[start/]duration`.
    Repeat {
        /// Number of repetitions; `None` for unbounded.
        repetitions: Option<u32>,
        /// Optional start instant, ms since epoch.
        start_millis: Option<i64>,
        /// The interval.
        interval: IsoDuration,
    },
    /// A cron expression (5 or 6 fields).
    Cron {
        /// The expression as written.
        expression: String,
    },
}
