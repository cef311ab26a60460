//! The binary's log subscriber: the libraries' `tracing` events (the
//! runtime's warnings, incidents, failed commits) go to stderr, so stdout
//! stays the verb's machine-readable result. The level comes from
//! `WINDLASS_LOG` (else `RUST_LOG`, else `warn`) as an `EnvFilter` spec; the
//! format from `--log-format` (else `WINDLASS_LOG_FORMAT`, else `text`).
//! The runtime's instance spans (`instance`, `run`, `process`, `node`) are
//! printed with every line logged inside them (`docs/runtime.md`, Logs).

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// The level used when no variable sets one (or the one set is invalid).
const DEFAULT_LEVEL: &str = "warn";
/// The variable naming the level; takes precedence over `RUST_LOG`.
const LEVEL_ENV: &str = "WINDLASS_LOG";
/// The variable naming the format when `--log-format` is not given.
const FORMAT_ENV: &str = "WINDLASS_LOG_FORMAT";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event, span fields in front.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields`,
    /// the innermost span as `span` and every open span as `spans`.
    Json,
}

/// The format: the flag if given, else `WINDLASS_LOG_FORMAT` (an invalid
/// value is reported and `text` used), else `text`.
pub fn format_from(flag: Option<LogFormat>) -> LogFormat {
    if let Some(f) = flag {
        return f;
    }
    let value = std::env::var(FORMAT_ENV).unwrap_or_default();
    parse_format(&value).unwrap_or_else(|e| {
        eprintln!("warning: {e}; logging as text");
        LogFormat::Text
    })
}

/// Reads a `WINDLASS_LOG_FORMAT` value (empty means the default).
fn parse_format(value: &str) -> Result<LogFormat, String> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(LogFormat::default());
    }
    LogFormat::from_str(v, true)
        .map_err(|_| format!("{FORMAT_ENV}={value:?} ignored (expected text or json)"))
}

/// The filter spec and the variable it came from: `WINDLASS_LOG` if set and
/// not empty, else `RUST_LOG` if set and not empty, else none.
fn level_spec(
    windlass_log: Option<String>,
    rust_log: Option<String>,
) -> Option<(&'static str, String)> {
    let set = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    set(windlass_log)
        .map(|s| (LEVEL_ENV, s))
        .or_else(|| set(rust_log).map(|s| (EnvFilter::DEFAULT_ENV, s)))
}

/// The filter of `spec` (from variable `var`), or the default with the
/// reason when the spec is invalid.
fn filter_of(spec: Option<(&str, String)>) -> (EnvFilter, Option<String>) {
    match spec {
        None => (EnvFilter::new(DEFAULT_LEVEL), None),
        Some((var, spec)) => match EnvFilter::try_new(&spec) {
            Ok(f) => (f, None),
            Err(e) => (
                EnvFilter::new(DEFAULT_LEVEL),
                Some(format!(
                    "{var}={spec:?} ignored ({e}); logging at {DEFAULT_LEVEL}"
                )),
            ),
        },
    }
}

/// Installs the subscriber for this process (once, before the verb runs).
pub fn install(format: LogFormat) {
    let spec = level_spec(
        std::env::var(LEVEL_ENV).ok(),
        std::env::var(EnvFilter::DEFAULT_ENV).ok(),
    );
    let (filter, warning) = filter_of(spec);
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    if let Err(e) = installed {
        eprintln!("warning: no log subscriber: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn windlass_log_wins_over_rust_log_and_empty_values_do_not_count() {
        assert_eq!(
            level_spec(s("info"), s("debug")),
            Some((LEVEL_ENV, "info".to_owned()))
        );
        assert_eq!(
            level_spec(s("  "), s("debug")),
            Some(("RUST_LOG", "debug".to_owned()))
        );
        assert_eq!(level_spec(None, s("")), None);
        assert_eq!(level_spec(None, None), None);
    }

    #[test]
    fn an_invalid_spec_names_its_variable_and_falls_back_to_warn() {
        let (_, warning) = filter_of(Some((LEVEL_ENV, "windlass_runtime=loud".to_owned())));
        let w = warning.unwrap_or_default();
        assert!(
            w.starts_with("WINDLASS_LOG=\"windlass_runtime=loud\" ignored"),
            "{w}"
        );
        assert!(w.ends_with("logging at warn"), "{w}");
        assert!(filter_of(Some((LEVEL_ENV, "info".to_owned()))).1.is_none());
    }

    #[test]
    fn the_format_variable_is_read_case_insensitively_and_checked() {
        assert_eq!(parse_format(""), Ok(LogFormat::Text));
        assert_eq!(parse_format("JSON"), Ok(LogFormat::Json));
        assert_eq!(parse_format("text"), Ok(LogFormat::Text));
        let e = parse_format("yaml").err().unwrap_or_default();
        assert!(e.contains("WINDLASS_LOG_FORMAT=\"yaml\" ignored"), "{e}");
    }
}
