//! Timer values: ISO-8601 durations, dates, repeating intervals and cron.
//!
//! Pure functions returning a readable error string; the caller reports it
//! with the element. A date without a zone (`2019-11-04T04:33:32`) is read as
//! UTC and flagged so the caller can warn.

use crate::graph::{IsoDuration, TimerCycle};
use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Parses an ISO-8601 duration such as `P1Y2M3DT4H5M6.5S`, `PT10M`, `P2W`.
pub fn parse_duration(text: &str) -> Result<IsoDuration, String> {
    let s = text.trim();
    let bad = |why: &str| format!("'{s}' is not an ISO-8601 duration ({why})");
    let rest = s
        .strip_prefix('P')
        .ok_or_else(|| bad("it must start with P"))?;
    let (date_part, time_part) = match rest.split_once('T') {
        Some((d, t)) => {
            if t.is_empty() {
                return Err(bad("nothing follows T"));
            }
            (d, Some(t))
        }
        None => (rest, None),
    };
    let mut d = IsoDuration::default();
    let mut any = false;
    let mut order = 0;
    for (num, unit) in components(date_part).map_err(|e| bad(&e))? {
        let (rank, slot) = match unit {
            'Y' => (1, &mut d.years),
            'M' => (2, &mut d.months),
            'W' => (3, &mut d.weeks),
            'D' => (4, &mut d.days),
            other => return Err(bad(&format!("unknown date unit '{other}'"))),
        };
        if rank <= order {
            return Err(bad("units out of order or repeated"));
        }
        order = rank;
        *slot = whole(num).map_err(|e| bad(&e))?;
        any = true;
    }
    if let Some(t) = time_part {
        order = 0;
        for (num, unit) in components(t).map_err(|e| bad(&e))? {
            let rank = match unit {
                'H' => 1,
                'M' => 2,
                'S' => 3,
                other => return Err(bad(&format!("unknown time unit '{other}'"))),
            };
            if rank <= order {
                return Err(bad("units out of order or repeated"));
            }
            order = rank;
            match unit {
                'H' => d.hours = whole(num).map_err(|e| bad(&e))?,
                'M' => d.minutes = whole(num).map_err(|e| bad(&e))?,
                _ => d.millis = seconds_millis(num).map_err(|e| bad(&e))?,
            }
            any = true;
        }
    }
    if !any {
        return Err(bad("it has no component"));
    }
    Ok(d)
}

/// Splits `12D3H` into `[("12",'D'), ("3",'H')]`.
fn components(s: &str) -> Result<Vec<(&str, char)>, String> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c.is_ascii_alphabetic() {
            let num = &s[start..i];
            if num.is_empty() {
                return Err(format!("unit '{c}' has no number"));
            }
            out.push((num, c));
            start = i + c.len_utf8();
        } else if !(c.is_ascii_digit() || c == '.' || c == ',') {
            return Err(format!("unexpected character '{c}'"));
        }
    }
    if start < s.len() {
        return Err(format!("number '{}' has no unit", &s[start..]));
    }
    Ok(out)
}

fn whole(num: &str) -> Result<u32, String> {
    num.parse::<u32>()
        .map_err(|_| format!("'{num}' is not a whole number in range"))
}

fn seconds_millis(num: &str) -> Result<u64, String> {
    let num = num.replace(',', ".");
    let (int, frac) = num.split_once('.').unwrap_or((&num, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{num}' is not a number of seconds"));
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{num}' is not a number of seconds"));
    }
    let secs: u64 = int
        .parse()
        .map_err(|_| format!("'{num}' seconds is out of range"))?;
    let mut frac3 = frac.chars().take(3).collect::<String>();
    while frac3.len() < 3 {
        frac3.push('0');
    }
    let ms: u64 = frac3.parse().unwrap_or(0);
    secs.checked_mul(1000)
        .and_then(|v| v.checked_add(ms))
        .ok_or_else(|| format!("'{num}' seconds is out of range"))
}

/// The fixed length of a duration in ms, when it has no years or months.
pub fn fixed_millis(d: &IsoDuration) -> Option<u64> {
    if d.years != 0 || d.months != 0 {
        return None;
    }
    let days = u64::from(d.weeks) * 7 + u64::from(d.days);
    let mins = days * 24 * 60 + u64::from(d.hours) * 60 + u64::from(d.minutes);
    mins.checked_mul(60_000)?.checked_add(d.millis)
}

/// A parsed date: ms since the epoch, and whether it had no zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedDate {
    /// ms since the Unix epoch, UTC.
    pub at_millis: i64,
    /// True when the text had no zone and was read as UTC.
    pub local: bool,
}

/// Parses an RFC 3339 instant, or a zone-less `YYYY-MM-DDTHH:MM:SS[.fff]`
/// or `YYYY-MM-DD` read as UTC.
pub fn parse_date(text: &str) -> Result<ParsedDate, String> {
    let s = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(ParsedDate {
            at_millis: dt.timestamp_millis(),
            local: false,
        });
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(ParsedDate {
                at_millis: dt.and_utc().timestamp_millis(),
                local: true,
            });
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(dt) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(ParsedDate {
            at_millis: dt.and_utc().timestamp_millis(),
            local: true,
        });
    }
    Err(format!(
        "'{s}' is not an ISO-8601 date-time (e.g. 2024-01-31T12:00:00Z)"
    ))
}

/// Parses a cycle: `R3/PT10M`, `R/PT1S`, `R/2024-01-01T00:00:00Z/P1D`, or a
/// 5/6-field cron expression. The flag is true when a start date had no zone.
pub fn parse_cycle(text: &str) -> Result<(TimerCycle, bool), String> {
    let s = text.trim();
    if let Some(rest) = s.strip_prefix('R') {
        let parts: Vec<&str> = rest.split('/').collect();
        let repetitions = match parts[0] {
            "" => None,
            n => Some(
                n.parse::<u32>()
                    .map_err(|_| format!("'{s}': repetition count '{n}' is not a whole number"))?,
            ),
        };
        return match parts.as_slice() {
            [_, dur] => Ok((
                TimerCycle::Repeat {
                    repetitions,
                    start_millis: None,
                    interval: nonzero(parse_duration(dur)?, s)?,
                },
                false,
            )),
            [_, start, dur] => {
                let date = parse_date(start)?;
                Ok((
                    TimerCycle::Repeat {
                        repetitions,
                        start_millis: Some(date.at_millis),
                        interval: nonzero(parse_duration(dur)?, s)?,
                    },
                    date.local,
                ))
            }
            _ => Err(format!(
                "'{s}' is not a repeating interval (R[n]/duration or R[n]/start/duration)"
            )),
        };
    }
    let fields = s.split_whitespace().count();
    if fields == 5 || fields == 6 {
        return match croner::parser::CronParser::new().parse(s) {
            Ok(_) => Ok((
                TimerCycle::Cron {
                    expression: s.to_string(),
                },
                false,
            )),
            Err(e) => Err(format!("'{s}' is not a valid cron expression: {e}")),
        };
    }
    Err(format!(
        "'{s}' is neither a repeating interval (R3/PT10M) nor a cron expression (5 or 6 fields)"
    ))
}

/// Checks a cron schedule (5 or 6 fields).
pub fn check_cron(text: &str) -> Result<(), String> {
    match parse_cycle(text)? {
        (TimerCycle::Cron { .. }, _) => Ok(()),
        _ => Err(format!("'{text}' is not a cron expression")),
    }
}

fn nonzero(d: IsoDuration, s: &str) -> Result<IsoDuration, String> {
    if d == IsoDuration::default() {
        Err(format!("'{s}': the interval must not be zero"))
    } else {
        Ok(d)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let d = parse_duration("P1Y2M3DT4H5M6.5S").unwrap();
        assert_eq!(
            d,
            IsoDuration {
                years: 1,
                months: 2,
                weeks: 0,
                days: 3,
                hours: 4,
                minutes: 5,
                millis: 6500
            }
        );
        assert_eq!(parse_duration("P1M").unwrap().months, 1);
        assert_eq!(parse_duration("PT1M").unwrap().minutes, 1);
        assert_eq!(parse_duration("P2W").unwrap().weeks, 2);
        assert_eq!(
            fixed_millis(&parse_duration("PT10M").unwrap()),
            Some(600_000)
        );
        assert_eq!(fixed_millis(&parse_duration("P1M").unwrap()), None);
        for bad in [
            "", "P", "PT", "10M", "P1H", "PT1D", "P1.5D", "PT5M1H", "P1Y1Y", "PTxS", "P-1D",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn dates() {
        let d = parse_date("2019-11-04T04:33:32Z").unwrap();
        assert_eq!(
            d,
            ParsedDate {
                at_millis: 1_572_842_012_000,
                local: false
            }
        );
        let l = parse_date("2019-11-04T04:33:32").unwrap();
        assert_eq!(
            l,
            ParsedDate {
                at_millis: 1_572_842_012_000,
                local: true
            }
        );
        assert_eq!(
            parse_date("2019-11-04T05:33:32+01:00").unwrap().at_millis,
            1_572_842_012_000
        );
        assert!(parse_date("yesterday").is_err());
        assert!(parse_date("2019-13-04T04:33:32Z").is_err());
    }

    #[test]
    fn cycles() {
        let (c, _) = parse_cycle("R3/PT10M").unwrap();
        assert_eq!(
            c,
            TimerCycle::Repeat {
                repetitions: Some(3),
                start_millis: None,
                interval: IsoDuration {
                    minutes: 10,
                    ..Default::default()
                }
            }
        );
        assert!(matches!(
            parse_cycle("R/PT1S").unwrap().0,
            TimerCycle::Repeat {
                repetitions: None,
                ..
            }
        ));
        let (c, local) = parse_cycle("R/2024-01-01T00:00:00Z/P1D").unwrap();
        assert!(!local);
        assert!(matches!(
            c,
            TimerCycle::Repeat {
                start_millis: Some(1_704_067_200_000),
                ..
            }
        ));
        assert!(matches!(
            parse_cycle("0 */5 * * *").unwrap().0,
            TimerCycle::Cron { .. }
        ));
        assert!(matches!(
            parse_cycle("0 0 */5 * * *").unwrap().0,
            TimerCycle::Cron { .. }
        ));
        for bad in [
            "R3",
            "Rx/PT1M",
            "R/PT0S",
            "R/a/b/c",
            "61 * * * *",
            "hello",
            "* * *",
        ] {
            assert!(parse_cycle(bad).is_err(), "{bad} should fail");
        }
    }
}
