//! Timestamps (milliseconds since the Unix epoch) as text.

use chrono::{DateTime, SecondsFormat};

/// `ms` as RFC 3339 UTC with milliseconds, or the raw number when out of
/// range (stored data never makes this fail).
pub fn iso(ms: i64) -> String {
    match DateTime::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => format!("{ms} ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_millis_render_as_utc() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso(i64::MAX), format!("{} ms", i64::MAX));
    }
}
