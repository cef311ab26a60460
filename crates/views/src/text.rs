//! Text that is safe to show on a terminal. Instance data (variables, ids,
//! business keys, names resolved from templates, incident messages) can
//! hold control characters; written raw they would let a BPMN file or an
//! input move the cursor, clear the screen or set the window title.
//!
//! One rule, used by every human-readable output: C0 controls, DEL, C1
//! controls, U+FFFE and U+FFFF are written as escapes — `\x1b`, `\x7f`,
//! `\u{9b}`, `\u{fffe}` — everything else is kept. [`printable`] escapes
//! all of them (for one value); [`printable_text`] keeps line feeds and
//! tabs (for whole rendered pages). JSON output goes through
//! [`printable_json`], which writes the same characters as `\uXXXX`
//! escapes, so the JSON value is unchanged.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for a character that must not reach a terminal raw: C0, DEL, C1,
/// and the noncharacters U+FFFE and U+FFFF.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || c == '\u{fffe}' || c == '\u{ffff}'
}

fn escape_where(s: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            let n = u32::from(c);
            let _ = if n <= 0xff {
                write!(out, "\\x{n:02x}")
            } else {
                write!(out, "\\u{{{n:x}}}")
            };
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` with every unsafe character escaped, line feeds and tabs included:
/// one value on one line.
pub fn printable(s: &str) -> Cow<'_, str> {
    escape_where(s, is_unsafe)
}

/// `s` with every unsafe character escaped except line feeds and tabs: a
/// rendered page whose line structure is kept.
pub fn printable_text(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c != '\n' && c != '\t' && is_unsafe(c))
}

/// JSON text with DEL, C1, U+FFFE and U+FFFF inside strings written as
/// `\uXXXX` escapes (serde_json escapes C0 itself). Outside strings JSON
/// text is ASCII, so this changes no value, only how it is spelled.
pub fn printable_json(json: &str) -> Cow<'_, str> {
    let unsafe_in_json = |c: char| c != '\n' && c != '\t' && c != '\r' && is_unsafe(c);
    if !json.chars().any(unsafe_in_json) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if unsafe_in_json(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_the_rest_kept() {
        assert!(matches!(printable("plain ünïcode ✓"), Cow::Borrowed(_)));
        assert_eq!(printable("a\x1b]0;title\x07b"), "a\\x1b]0;title\\x07b");
        assert_eq!(printable("del\x7f c1\u{9b}2J"), "del\\x7f c1\\x9b2J");
        assert_eq!(printable("\u{fffe}\u{ffff}"), "\\u{fffe}\\u{ffff}");
        assert_eq!(printable("a\nb\tc\r"), "a\\x0ab\\x09c\\x0d");
        assert_eq!(printable("\0"), "\\x00");
    }

    #[test]
    fn page_text_keeps_its_lines() {
        assert_eq!(
            printable_text("x: \x1b[2J\n\ty\r\n"),
            "x: \\x1b[2J\n\ty\\x0d\n"
        );
    }

    #[test]
    fn json_keeps_its_value() {
        let v = serde_json::json!({"k": "a\u{1b}b\u{7f}c\u{85}d\u{fffe}"});
        let text = serde_json::to_string(&v).unwrap();
        let safe = printable_json(&text);
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&safe).unwrap(), v);
        assert!(safe.contains("\\u007f") && safe.contains("\\u0085") && safe.contains("\\ufffe"));
    }
}
