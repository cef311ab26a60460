//! When a timer is due: the absolute times of a [`TimerSpec`] computed from
//! the time it opens. Pure (the caller passes `now`); calendar durations
//! (`P1M`, `P1Y`) are added on the UTC calendar, cron expressions are
//! evaluated in UTC.

use crate::timer_spec::{IsoDuration, TimerCycle, TimerSpec};
use chrono::{DateTime, Days, Months, Utc};

/// The error of due times asked of an expression not yet evaluated.
const UNEVALUATED: &str = "the timer's expression must be evaluated first";

/// The next occurrence of a cycle: its due time (ms since the epoch) and its
/// 0-based occurrence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// Due time, ms since the Unix epoch.
    pub due_millis: i64,
    /// 0 for the first occurrence.
    pub occurrence: u32,
}

fn instant(ms: i64) -> Result<DateTime<Utc>, String> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .ok_or_else(|| format!("time {ms} ms is out of range"))
}

/// `ms` since the epoch as an RFC 3339 UTC instant
/// (`2026-01-01T00:10:00Z`, with milliseconds only when there are some),
/// or the bare number when it is out of range.
pub fn format_instant(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) if ms.rem_euclid(1000) == 0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => format!("{ms} ms"),
    }
}

/// `from` plus `d` on the UTC calendar (years and months first, then
/// weeks and days, then the time of day), in ms since the epoch.
pub fn add_duration(from_millis: i64, d: &IsoDuration) -> Result<i64, String> {
    let overflow = || "the due time is out of range".to_string();
    let mut t = instant(from_millis)?;
    let months = d
        .years
        .checked_mul(12)
        .and_then(|m| m.checked_add(d.months))
        .ok_or_else(overflow)?;
    t = t
        .checked_add_months(Months::new(months))
        .ok_or_else(overflow)?;
    let days = u64::from(d.weeks) * 7 + u64::from(d.days);
    t = t.checked_add_days(Days::new(days)).ok_or_else(overflow)?;
    let clock_ms = (i64::from(d.hours) * 60 + i64::from(d.minutes)) * 60_000;
    let secs_ms = i64::try_from(d.millis).map_err(|_| overflow())?;
    t.timestamp_millis()
        .checked_add(clock_ms)
        .and_then(|v| v.checked_add(secs_ms))
        .ok_or_else(overflow)
}

/// Checks an IANA time zone name (`Europe/Berlin`, `UTC`).
pub fn check_time_zone(name: &str) -> Result<(), String> {
    time_zone(name).map(|_| ())
}

fn time_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("'{name}' is not a known IANA time zone (such as Europe/Berlin)"))
}

/// The first time of cron `expression` strictly after `after_millis`,
/// with the expression read in time zone `zone` (an IANA name; UTC when
/// `None`): `0 3 * * *` in `Europe/Berlin` is 03:00 Berlin time, whatever
/// the offset that day.
pub fn cron_after_in(
    expression: &str,
    zone: Option<&str>,
    after_millis: i64,
) -> Result<i64, String> {
    let Some(zone) = zone else {
        return cron_after(expression, after_millis);
    };
    let tz = time_zone(zone)?;
    let cron = croner::parser::CronParser::new()
        .parse(expression)
        .map_err(|e| format!("'{expression}' is not a valid cron expression: {e}"))?;
    let start = instant(after_millis - after_millis.rem_euclid(1000))?.with_timezone(&tz);
    let next = cron
        .find_next_occurrence(&start, false)
        .map_err(|e| format!("cron '{expression}' has no next time in {zone}: {e}"))?;
    Ok(next.timestamp_millis())
}

/// The first cron time strictly after `after_millis`.
fn cron_after(expression: &str, after_millis: i64) -> Result<i64, String> {
    let cron = croner::parser::CronParser::new()
        .parse(expression)
        .map_err(|e| format!("'{expression}' is not a valid cron expression: {e}"))?;
    let next = cron
        // Cron works in whole seconds: start from the second `after` is in.
        .find_next_occurrence(
            &instant(after_millis - after_millis.rem_euclid(1000))?,
            false,
        )
        .map_err(|e| format!("cron '{expression}' has no next time: {e}"))?;
    Ok(next.timestamp_millis())
}

impl TimerSpec {
    /// When a timer opened at `now_millis` is first due (ms since the epoch),
    /// or `None` when it never is (a cycle of zero repetitions). A date in the
    /// past is due at once.
    pub fn first_due(&self, now_millis: i64) -> Result<Option<Occurrence>, String> {
        let at = |due_millis| {
            Some(Occurrence {
                due_millis,
                occurrence: 0,
            })
        };
        match self {
            TimerSpec::Date { at_millis, .. } => Ok(at(*at_millis)),
            TimerSpec::Duration { duration, .. } => Ok(at(add_duration(now_millis, duration)?)),
            TimerSpec::Expression { .. } => Err(UNEVALUATED.to_string()),
            TimerSpec::Cycle { cycle, .. } => match cycle {
                TimerCycle::Repeat {
                    repetitions: Some(0),
                    ..
                } => Ok(None),
                TimerCycle::Repeat {
                    start_millis: Some(start),
                    ..
                } => Ok(at(*start)),
                TimerCycle::Repeat { interval, .. } => Ok(at(add_duration(now_millis, interval)?)),
                TimerCycle::Cron { expression } => Ok(at(cron_after(expression, now_millis)?)),
            },
        }
    }

    /// After occurrence `prev` of a cycle fired at `now_millis`: the next one
    /// that is due after `now_millis`, or `None` when the repetitions are used
    /// up (and always for dates and durations). Occurrences that fell due
    /// while the timer was late (the runtime was down) are skipped and count
    /// towards the repetitions: a late cycle fires once, not once per missed
    /// interval.
    pub fn next_due(
        &self,
        prev: Occurrence,
        now_millis: i64,
    ) -> Result<Option<Occurrence>, String> {
        let cycle = match self {
            TimerSpec::Cycle { cycle, .. } => cycle,
            TimerSpec::Expression { .. } => return Err(UNEVALUATED.to_string()),
            TimerSpec::Date { .. } | TimerSpec::Duration { .. } => return Ok(None),
        };
        let (repetitions, interval) = match cycle {
            TimerCycle::Cron { expression } => {
                return Ok(Some(Occurrence {
                    due_millis: cron_after(expression, now_millis.max(prev.due_millis))?,
                    occurrence: prev.occurrence.saturating_add(1),
                }));
            }
            TimerCycle::Repeat {
                repetitions,
                interval,
                ..
            } => (*repetitions, interval),
        };
        let mut next = prev;
        loop {
            next.occurrence = match next.occurrence.checked_add(1) {
                Some(n) => n,
                None => return Ok(None),
            };
            if repetitions.is_some_and(|r| next.occurrence >= r) {
                return Ok(None);
            }
            next.due_millis = match crate::parse::timer::fixed_millis(interval)
                .and_then(|ms| i64::try_from(ms).ok())
            {
                // A fixed interval jumps over the missed ones in one step.
                Some(ms) if next.due_millis.saturating_add(ms) <= now_millis && ms > 0 => {
                    let missed = (now_millis - next.due_millis) / ms;
                    let skip = u32::try_from(missed.saturating_sub(1)).unwrap_or(u32::MAX);
                    next.occurrence = next.occurrence.saturating_add(skip);
                    if repetitions.is_some_and(|r| next.occurrence >= r) {
                        return Ok(None);
                    }
                    next.due_millis
                        .saturating_add(ms.saturating_mul(i64::from(skip).saturating_add(1)))
                }
                _ => add_duration(next.due_millis, interval)?,
            };
            if next.due_millis > now_millis {
                return Ok(Some(next));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::parse::timer::{parse_cycle, parse_duration};

    fn cycle(text: &str) -> TimerSpec {
        TimerSpec::Cycle {
            source: text.into(),
            cycle: parse_cycle(text).unwrap().0,
        }
    }

    const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    #[test]
    fn instants_format_as_rfc3339() {
        assert_eq!(format_instant(T0), "2026-01-01T00:00:00Z");
        assert_eq!(format_instant(T0 + 5), "2026-01-01T00:00:00.005Z");
        assert_eq!(format_instant(i64::MAX), format!("{} ms", i64::MAX));
    }

    #[test]
    fn durations_add_on_the_calendar() {
        let d = TimerSpec::Duration {
            source: "PT10M".into(),
            duration: parse_duration("PT10M").unwrap(),
        };
        assert_eq!(d.first_due(T0).unwrap().unwrap().due_millis, T0 + 600_000);
        // 2026-01-31 plus one month is 2026-02-28 (chrono clamps).
        let jan31 = T0 + 30 * 86_400_000;
        let m = add_duration(jan31, &parse_duration("P1M").unwrap()).unwrap();
        assert_eq!(m, T0 + (31 + 27) * 86_400_000);
        assert!(add_duration(i64::MAX - 5, &parse_duration("PT1H").unwrap()).is_err());
    }

    #[test]
    fn a_bounded_cycle_fires_its_repetitions_then_stops() {
        let c = cycle("R3/PT10M");
        let first = c.first_due(T0).unwrap().unwrap();
        assert_eq!(first.due_millis, T0 + 600_000);
        let second = c.next_due(first, first.due_millis).unwrap().unwrap();
        assert_eq!((second.due_millis, second.occurrence), (T0 + 1_200_000, 1));
        let third = c.next_due(second, second.due_millis).unwrap().unwrap();
        assert_eq!(third.occurrence, 2);
        assert_eq!(c.next_due(third, third.due_millis).unwrap(), None);
        assert_eq!(cycle("R0/PT1M").first_due(T0).unwrap(), None);
    }

    #[test]
    fn a_late_cycle_skips_the_missed_occurrences() {
        let c = cycle("R/PT10M");
        let first = c.first_due(T0).unwrap().unwrap();
        // Fired 55 minutes late: the occurrences at +20..+60 are skipped.
        let late = first.due_millis + 55 * 60_000;
        let next = c.next_due(first, late).unwrap().unwrap();
        assert_eq!(next.due_millis, T0 + 70 * 60_000);
        assert_eq!(next.occurrence, 6);
        let bounded = cycle("R3/PT10M");
        assert_eq!(bounded.next_due(first, late).unwrap(), None);
    }

    #[test]
    fn cron_in_a_time_zone() {
        // 03:00 in Berlin is 02:00 UTC in January (CET, +1).
        let next = cron_after_in("0 3 * * *", Some("Europe/Berlin"), T0).unwrap();
        assert_eq!(next, T0 + 2 * 3_600_000);
        assert_eq!(
            cron_after_in("0 3 * * *", None, T0).unwrap(),
            T0 + 3 * 3_600_000
        );
        let err = check_time_zone("Mars/Olympus").unwrap_err();
        assert!(err.contains("'Mars/Olympus'"), "{err}");
    }

    #[test]
    fn cron_and_dated_cycles() {
        let c = cycle("0 */5 * * * *");
        let first = c.first_due(T0 + 1).unwrap().unwrap();
        assert_eq!(first.due_millis, T0 + 300_000);
        let next = c.next_due(first, first.due_millis).unwrap().unwrap();
        assert_eq!(next.due_millis, T0 + 600_000);
        let dated = cycle("R2/2026-01-01T00:00:00Z/PT1H");
        assert_eq!(dated.first_due(0).unwrap().unwrap().due_millis, T0);
    }
}
