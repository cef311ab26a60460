//! Everything the verbs print goes through here, so two rules hold for
//! every verb:
//!
//! - **A closed stdout stops the verb quietly.** Writes return
//!   [`OutputError::Closed`] on a broken pipe (`windlass instances list |
//!   head -1`); `main` ends such a run with exit code 0 and no message.
//!   Nothing panics on a failed write (`println!` would).
//! - **No control character reaches the terminal raw.** Text goes through
//!   [`windlass_views::text::printable_text`] (C0, DEL, C1, U+FFFE/U+FFFF
//!   escaped; line feeds and tabs kept), JSON through
//!   [`windlass_views::text::printable_json`] (the same characters as
//!   `\uXXXX` escapes, so the value is unchanged). Messages on stderr are
//!   escaped the same way.

use std::io::{self, Write as _};
use windlass_views::text::{printable_json, printable_text};

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Readable text.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}

/// Why writing to stdout failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The reader went away (a broken pipe): stop, quietly.
    #[error("standard output was closed")]
    Closed,
    /// Any other write failure (a full disk behind a redirect, ...).
    #[error("cannot write to standard output: {0}")]
    Io(io::Error),
}

impl From<io::Error> for OutputError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            OutputError::Closed
        } else {
            OutputError::Io(e)
        }
    }
}

/// True when `e` (or anything it wraps) is a closed stdout.
pub fn is_closed(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| matches!(c.downcast_ref::<OutputError>(), Some(OutputError::Closed)))
}

fn write_raw(bytes: &[u8]) -> Result<(), OutputError> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

/// Writes `text` to stdout with control characters escaped.
pub fn write_text(text: &str) -> Result<(), OutputError> {
    write_raw(printable_text(text).as_bytes())
}

/// Prints a formatted line on stdout through [`write_text`]; evaluates to
/// `Result<(), OutputError>`.
macro_rules! outln {
    () => {
        $crate::output::write_text("\n")
    };
    ($($arg:tt)*) => {
        $crate::output::write_text(&format!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_raw(printable_json(&text).as_bytes())?;
    Ok(())
}

/// Prints `value` as JSON on one line of stdout (`bench`'s report).
pub fn print_json_line(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string(value)?;
    text.push('\n');
    write_raw(printable_json(&text).as_bytes())?;
    Ok(())
}

/// Writes one line to stderr with control characters escaped; a failed
/// write is ignored (there is nowhere left to report it).
pub fn error_line(text: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(printable_text(text).as_bytes());
    let _ = err.write_all(b"\n");
}

/// `s` cut to at most `width` characters, the last one `…` when cut: table
/// cells stay within their column whatever the stored value's length.
pub fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_with_an_ellipsis() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("abcdefghij", 10), "abcdefghij");
        assert_eq!(fit("abcdefghijk", 10), "abcdefghi…");
        assert_eq!(fit(&"é".repeat(70_000), 5), "éééé…");
    }

    #[test]
    fn a_broken_pipe_is_closed_and_found_through_context() {
        let e = OutputError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(matches!(e, OutputError::Closed));
        let wrapped = anyhow::Error::from(e).context("listing");
        assert!(is_closed(&wrapped));
        let other = OutputError::from(io::Error::from(io::ErrorKind::StorageFull));
        assert!(matches!(other, OutputError::Io(_)));
        assert!(!is_closed(&anyhow::Error::from(other)));
    }
}
