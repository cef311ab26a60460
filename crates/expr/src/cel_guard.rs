//! A cheap pre-scan that keeps over-deep CEL source away from the `cel`
//! crate's recursive parser and evaluator.
//!
//! The `cel` parser (ANTLR-generated) recurses deeply per nesting level; its
//! own limit (96 levels) is more than a 2 MiB thread stack holds in some
//! builds, and long operator chains build trees deep enough to overflow when
//! evaluated or dropped. So before parsing, this scan bounds both: bracket
//! nesting to [`MAX_NESTING`] and an upper estimate of the tree height
//! (operators per comma-separated segment, summed along the nesting path) to
//! [`MAX_HEIGHT`]. Real conditions stay far below both.

use crate::ExprError;

/// The deepest bracket nesting (`(`, `[`, `{`) a CEL expression may have.
pub(crate) const MAX_NESTING: usize = 32;
/// The largest estimated tree height a CEL expression may have.
pub(crate) const MAX_HEIGHT: usize = 256;

/// Operators counted for the height estimate.
const OPERATOR_CHARS: &str = "+-*/%!<>=&|?:.";

/// One open bracket level.
#[derive(Default)]
struct Level {
    /// Operators in the current comma-separated segment.
    ops: usize,
    /// The highest child group in the current segment.
    child: usize,
    /// The highest finished segment.
    best: usize,
}

impl Level {
    fn height(&self) -> usize {
        self.best.max(self.ops + self.child)
    }
}

/// Rejects `source` when it nests or chains deeper than the limits.
pub(crate) fn check(source: &str) -> Result<(), ExprError> {
    let chars: Vec<char> = source.chars().collect();
    let mut levels = vec![Level::default()];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' => {
                i = skip_string(&chars, i);
                continue;
            }
            '(' | '[' | '{' => {
                if levels.len() > MAX_NESTING {
                    return Err(ExprError::at(
                        i,
                        format!("CEL expression is nested more than {MAX_NESTING} levels deep"),
                    ));
                }
                levels.push(Level::default());
            }
            ')' | ']' | '}' if levels.len() > 1 => {
                if let Some(done) = levels.pop() {
                    let height = done.height() + 1;
                    if let Some(parent) = levels.last_mut() {
                        parent.child = parent.child.max(height);
                    }
                }
            }
            ',' => {
                if let Some(level) = levels.last_mut() {
                    level.best = level.height();
                    level.ops = 0;
                    level.child = 0;
                }
            }
            c if OPERATOR_CHARS.contains(c) => {
                if let Some(level) = levels.last_mut() {
                    level.ops += 1;
                }
            }
            _ => {}
        }
        let estimate: usize =
            levels.iter().map(|l| l.ops + 1).sum::<usize>() + levels.last().map_or(0, |l| l.child);
        if estimate > MAX_HEIGHT {
            return Err(ExprError::at(
                i,
                format!("CEL expression has more than {MAX_HEIGHT} nested operations"),
            ));
        }
        i += 1;
    }
    Ok(())
}

/// The index just past the string literal starting at `start` (or the end).
fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let raw = start > 0 && matches!(chars[start - 1], 'r' | 'R');
    let triple = chars.get(start + 1) == Some(&quote) && chars.get(start + 2) == Some(&quote);
    let mut i = if triple { start + 3 } else { start + 1 };
    while i < chars.len() {
        if chars[i] == '\\' && !raw {
            i += 2;
            continue;
        }
        if chars[i] == quote {
            if !triple {
                return i + 1;
            }
            if chars.get(i + 1) == Some(&quote) && chars.get(i + 2) == Some(&quote) {
                return i + 3;
            }
        }
        i += 1;
    }
    chars.len()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_expressions_pass() {
        for src in [
            "a && (b || c) && size(items) > 0",
            "[1, 2, 3].map(x, x * 2).filter(y, (y > 2 && (y < 10)))",
            "has(a.b.c) ? a.b.c : 'none'",
            &vec!["x"; 100].join(", "),
        ] {
            assert!(check(src).is_ok(), "{src}");
        }
    }

    #[test]
    fn deep_nesting_is_rejected_with_offset() {
        let deep = format!("{}1{}", "(".repeat(40), ")".repeat(40));
        let err = check(&deep).unwrap_err();
        assert_eq!(
            err.offset,
            Some(MAX_NESTING),
            "the first bracket past the limit"
        );
        let limit = format!("{}1{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert!(check(&limit).is_ok());
        assert!(check(&"[".repeat(100_000)).is_err());
    }

    #[test]
    fn long_chains_are_rejected() {
        assert!(check(&vec!["1"; MAX_HEIGHT + 5].join(" + ")).is_err());
        assert!(check(&format!("a{}", ".b".repeat(MAX_HEIGHT + 5))).is_err());
        assert!(check(&"!".repeat(MAX_HEIGHT + 5)).is_err());
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let src = format!(
            "x == '{}' && y == \"{}\" && z == r'\\' && w == '''{}'''",
            "(".repeat(100),
            "[".repeat(100),
            "{".repeat(100)
        );
        assert!(check(&src).is_ok());
        let hidden = format!("r'\\' == {}1", "(".repeat(100));
        assert!(check(&hidden).is_err(), "a raw string ends at its quote");
    }
}
