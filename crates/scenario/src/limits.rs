//! Limits checked before a scenario file is parsed, so that a hostile or
//! broken file fails fast with a clear error instead of costing minutes of
//! CPU in the YAML scanner (whose cost grows quadratically with nesting):
//! a size cap ([`MAX_SCENARIO_BYTES`]) and a cheap nesting pre-scan
//! ([`MAX_NESTING`] levels of flow collections `[`/`{`, and of block
//! indentation).

/// The largest scenario file read, in bytes (16 MiB).
pub const MAX_SCENARIO_BYTES: u64 = 16 * 1024 * 1024;

/// The deepest nesting of flow collections (`[`, `{`) accepted.
pub const MAX_NESTING: usize = 128;

/// The deepest block nesting accepted, counted as indentation columns plus
/// compact `- ` entries at the start of a line (an over-estimate of the
/// block depth, so real files stay far below it).
pub const MAX_INDENT: usize = 1024;

/// Checks a YAML (or JSON) text against [`MAX_NESTING`] and [`MAX_INDENT`];
/// the error names the limit and the line.
///
/// Flow brackets inside quoted scalars do not count. A quote opens a quoted
/// scalar only where YAML starts one: at the start of a line (after
/// indentation), after `[`, `{`, `,`, after an indicator followed by a
/// space (`: `, `- `, `? `), and after `:` that follows a quoted key
/// (JSON style, `"a":"b"`); elsewhere (`a: it's`) it is plain text.
/// Comments (`#` after a space or at a line start) are skipped.
pub fn check_nesting(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut line = 1usize;
    let mut indent = 0usize;
    let mut at_line_start = true;
    // The last byte outside a quoted scalar that was not a space or tab,
    // and whether spaces came after it.
    let mut last = b'\n';
    let mut spaced = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        if b == b'\n' {
            line += 1;
            at_line_start = true;
            indent = 0;
            last = b'\n';
            spaced = true;
            i += 1;
            continue;
        }
        if at_line_start {
            match b {
                b' ' | b'\t' => indent += 1,
                b'-' | b'?' | b':' if next == Some(b' ') => indent += 2,
                _ => at_line_start = false,
            }
            if indent > MAX_INDENT {
                return Err(format!(
                    "line {line}: nested deeper than {MAX_INDENT} columns of indentation (the limit)"
                ));
            }
        }
        match b {
            b' ' | b'\t' => {
                spaced = true;
                i += 1;
                continue;
            }
            b'"' | b'\'' if starts_scalar(last, spaced) => {
                i = skip_quoted(bytes, i, &mut line);
                last = b'"';
                spaced = false;
                continue;
            }
            b'#' if spaced => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(format!(
                        "line {line}: collections nested deeper than {MAX_NESTING} levels (the limit)"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        last = b;
        spaced = false;
        i += 1;
    }
    Ok(())
}

/// Whether a quote after `last` (with or without spaces between) starts a
/// quoted scalar.
fn starts_scalar(last: u8, spaced: bool) -> bool {
    match last {
        b'\n' | b'[' | b'{' | b',' => true,
        b':' | b'-' | b'?' => spaced,
        // `"key":"value"`: `last` is the closing quote of the key; handled
        // by treating a closing quote followed by `:` below.
        _ => false,
    }
}

/// Skips the quoted scalar opening at `start`; returns the index after its
/// closing quote (or the end of the text), counting newlines into `line`.
/// A JSON-style `"key":"value"` continues as one unit: a `:` right after
/// the closing quote, then a quote, is skipped too.
fn skip_quoted(bytes: &[u8], start: usize, line: &mut usize) -> usize {
    let mut i = start;
    loop {
        let quote = bytes[i];
        i += 1;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'\n' {
                *line += 1;
            }
            if quote == b'"' && b == b'\\' {
                i += 2;
                continue;
            }
            if b == quote {
                if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                i += 1;
                break;
            }
            i += 1;
        }
        if i + 1 < bytes.len() && bytes[i] == b':' && matches!(bytes[i + 1], b'"' | b'\'') {
            i += 1;
            continue;
        }
        return i.min(bytes.len());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_documents_pass() {
        let yaml = "name: \"a [ b\" # not [[[ nesting\nmocks:\n  T:\n    output: {x: [1, [2, {y: 3}]]}\n- - a\n";
        assert_eq!(check_nesting(yaml), Ok(()));
        let brackets = "[".repeat(200);
        let json = format!(r#"{{"a":"{brackets}", "b": [[1]], "c": '{brackets}''s'}}"#);
        assert_eq!(check_nesting(&json), Ok(()));
        // Brackets in plain (unquoted) text count: the scan errs on the safe side.
        assert!(check_nesting(&format!("a: it's {brackets}")).is_err());
    }

    #[test]
    fn deep_flow_nesting_is_refused_with_its_line() {
        let deep = format!("a: 1\nb: {}", "[".repeat(MAX_NESTING + 1));
        let e = check_nesting(&deep).unwrap_err();
        assert!(e.contains("line 2") && e.contains("128"), "{e}");
        let ok = format!("{}{}", "[".repeat(MAX_NESTING), "]".repeat(MAX_NESTING));
        assert_eq!(check_nesting(&ok), Ok(()));
        // Closing brackets inside quoted scalars do not hide real nesting,
        // and a quote in the middle of a plain scalar opens nothing.
        let hidden = "[ \"]\", ".repeat(MAX_NESTING + 1);
        assert!(check_nesting(&hidden).is_err());
        let plain = format!("a: x \"\nb: {}", "[".repeat(MAX_NESTING + 1));
        assert!(check_nesting(&plain).is_err());
    }

    #[test]
    fn deep_block_nesting_is_refused() {
        let dashes = "- ".repeat(MAX_INDENT);
        assert!(check_nesting(&dashes).unwrap_err().contains("indentation"));
        let spaces = format!("a:\n{}b: 1\n", " ".repeat(MAX_INDENT + 1));
        assert!(check_nesting(&spaces).is_err());
    }
}
