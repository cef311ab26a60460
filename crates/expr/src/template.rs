//! Name templates: `Is certificate {event.id} in valid range?`.
//!
//! A placeholder is `{path}`: a variable name, then `.field`, `.0`, `[0]`,
//! `[-1]`, `["key"]` or `['key']` steps into maps and lists. `{data.x}` means
//! the same as `{x}`. `{{` and `}}` are literal braces. The text is split into
//! literal parts and placeholders once, at parse time.
//!
//! Rendering: a string renders bare; numbers, bools, lists and maps render as
//! compact JSON; a `null` or missing value leaves the placeholder exactly as
//! written (as Adhesive leaves unformatted text).

use std::fmt::Write as _;

use serde_json::Value;

use crate::{ExprError, Variables};

/// A string with `{path}` placeholders resolved from variables.
///
/// Compact: the source is kept once and every part (literal text, a
/// placeholder as written, its variable and its keys) is a byte range into it,
/// so a template is two allocations plus one per placeholder with a path.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: Box<str>,
    /// Empty when the source has no braces (it renders as itself).
    parts: Box<[Part]>,
}

/// A byte range `start..end` into a template's source.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn of(self, source: &str) -> &str {
        source
            .get(self.start as usize..self.end as usize)
            .unwrap_or("")
    }
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    /// Literal text: a slice of the source (a `{{` or `}}` escape ends one
    /// slice after its first brace and the next starts after the second).
    Text(Span),
    /// A placeholder to resolve.
    Placeholder(Placeholder),
}

/// One `{path}` placeholder.
#[derive(Debug, Clone, PartialEq)]
struct Placeholder {
    /// The placeholder as written, braces included.
    raw: Span,
    /// The top-level variable.
    variable: Span,
    /// The steps into the variable's value.
    path: Box<[Step]>,
}

/// One step into a value.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// `.name` or `["name"]`: a map key; on a list, a number indexes it.
    Key(Span),
    /// `[n]`: a list index (negative counts from the end).
    Index(i64),
}

/// The char offset of byte offset `byte` in `source` (errors report chars).
fn char_offset(source: &str, byte: usize) -> usize {
    source.get(..byte).map_or(byte, |s| s.chars().count())
}

fn span(start: usize, end: usize) -> Span {
    // `parse` rejects sources longer than u32::MAX bytes first.
    Span {
        start: u32::try_from(start).unwrap_or(u32::MAX),
        end: u32::try_from(end).unwrap_or(u32::MAX),
    }
}

impl Template {
    /// Parses a template; an unclosed `{`, a lone `}`, an empty `{}` or an
    /// invalid path is an error with the char offset of the problem.
    pub fn parse(source: &str) -> Result<Template, ExprError> {
        if u32::try_from(source.len()).is_err() {
            return Err(ExprError::at(0, "template longer than 4 GiB"));
        }
        let bytes = source.as_bytes();
        let Some(first) = bytes.iter().position(|&b| b == b'{' || b == b'}') else {
            return Ok(Template {
                source: source.into(),
                parts: Box::default(),
            });
        };
        let mut parts = Vec::new();
        let mut text_start = 0;
        let mut i = first;
        let push_text = |parts: &mut Vec<Part>, start: usize, end: usize| {
            if end > start {
                parts.push(Part::Text(span(start, end)));
            }
        };
        while i < bytes.len() {
            match bytes[i] {
                b'{' | b'}' if bytes.get(i + 1) == Some(&bytes[i]) => {
                    push_text(&mut parts, text_start, i + 1);
                    text_start = i + 2;
                    i += 2;
                }
                b'}' => {
                    return Err(ExprError::at(
                        char_offset(source, i),
                        "single '}' in template (write '}}' for a literal brace)",
                    ));
                }
                b'{' => {
                    let close = bytes[i + 1..]
                        .iter()
                        .position(|&b| b == b'}' || b == b'{')
                        .map(|k| i + 1 + k)
                        .filter(|&j| bytes[j] == b'}')
                        .ok_or_else(|| {
                            ExprError::at(
                                char_offset(source, i),
                                "unclosed '{' in template (write '{{' for a literal brace)",
                            )
                        })?;
                    let (variable, path) = parse_path(source, i + 1, close)?;
                    push_text(&mut parts, text_start, i);
                    parts.push(Part::Placeholder(Placeholder {
                        raw: span(i, close + 1),
                        variable,
                        path: path.into_boxed_slice(),
                    }));
                    i = close + 1;
                    text_start = i;
                }
                _ => i += 1,
            }
        }
        push_text(&mut parts, text_start, bytes.len());
        Ok(Template {
            source: source.into(),
            parts: parts.into_boxed_slice(),
        })
    }

    /// The original text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the text has no placeholders.
    pub fn is_literal(&self) -> bool {
        !self.parts.iter().any(|p| matches!(p, Part::Placeholder(_)))
    }

    /// Each placeholder as written, braces included, in order.
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Placeholder(ph) => Some(ph.raw.of(&self.source)),
            Part::Text(_) => None,
        })
    }

    /// The top-level variable each placeholder reads, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Placeholder(ph) => Some(ph.variable.of(&self.source)),
            Part::Text(_) => None,
        })
    }

    /// Resolves placeholders; a missing (or `null`) value leaves its
    /// placeholder as written.
    pub fn render(&self, vars: &dyn Variables) -> String {
        let src = &*self.source;
        match &*self.parts {
            [] => return src.to_string(),
            [Part::Text(text)] => return text.of(src).to_string(),
            _ => {}
        }
        let mut out = String::with_capacity(src.len() + 16);
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text.of(src)),
                Part::Placeholder(ph) => match ph.resolve(src, vars) {
                    None | Some(Value::Null) => out.push_str(ph.raw.of(src)),
                    Some(Value::String(s)) => out.push_str(s),
                    Some(other) => {
                        // Writing to a String cannot fail.
                        let _ = write!(out, "{other}");
                    }
                },
            }
        }
        out
    }
}

impl Placeholder {
    fn resolve<'a>(&self, src: &str, vars: &'a dyn Variables) -> Option<&'a Value> {
        let mut value = vars.lookup(self.variable.of(src))?;
        for step in &self.path {
            value = match (step, value) {
                (Step::Key(k), Value::Object(map)) => map.get(k.of(src))?,
                (Step::Key(k), Value::Array(items)) => {
                    items.get(k.of(src).parse::<usize>().ok()?)?
                }
                (Step::Index(i), Value::Array(items)) => {
                    let len = i64::try_from(items.len()).ok()?;
                    let at = if *i < 0 { i + len } else { *i };
                    items.get(usize::try_from(at).ok()?)?
                }
                (Step::Index(i), Value::Object(map)) => map.get(&i.to_string())?,
                _ => return None,
            };
        }
        Some(value)
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Parses the placeholder inner text `source[from..to]` (between the braces)
/// into the variable name and steps, all as spans of `source`.
fn parse_path(source: &str, from: usize, to: usize) -> Result<(Span, Vec<Step>), ExprError> {
    let inner = source.get(from..to).unwrap_or("");
    if inner.is_empty() {
        return Err(ExprError::at(
            char_offset(source, from - 1),
            "empty placeholder '{}' in template (write '{{}}' for literal braces)",
        ));
    }
    let invalid = |at: usize, what: &str| {
        ExprError::at(
            char_offset(source, from + at),
            format!("invalid placeholder '{{{inner}}}': {what}"),
        )
    };
    let char_at = |i: usize| inner.get(i..).and_then(|s| s.chars().next());
    if !char_at(0).is_some_and(is_ident_start) {
        return Err(invalid(0, "it must start with a variable name"));
    }
    let name_end = |start: usize, ok: fn(char) -> bool| {
        inner[start..]
            .char_indices()
            .find(|&(_, c)| !ok(c))
            .map_or(inner.len(), |(k, _)| start + k)
    };
    let mut i = name_end(0, |c| c.is_alphanumeric() || c == '_');
    let mut variable = span(from, from + i);
    let mut path = Vec::new();
    while let Some(c) = char_at(i) {
        match c {
            '.' => {
                let start = i + 1;
                i = name_end(start, is_key_char);
                if i == start {
                    return Err(invalid(start, "expected a name after '.'"));
                }
                path.push(Step::Key(span(from + start, from + i)));
            }
            '[' => {
                let close = inner[i + 1..]
                    .find(']')
                    .map(|k| i + 1 + k)
                    .ok_or_else(|| invalid(i, "unclosed '['"))?;
                path.push(
                    bracket_step(inner, i + 1, close)
                        .map(|step| match step {
                            Step::Key(k) => {
                                Step::Key(span(from + k.start as usize, from + k.end as usize))
                            }
                            index => index,
                        })
                        .ok_or_else(|| invalid(i + 1, "expected [number] or [\"key\"]"))?,
                );
                i = close + 1;
            }
            ':' | '!' => return Err(invalid(i, "format specs and conversions are not supported")),
            _ => return Err(invalid(i, "expected '.', '[' or '}'")),
        }
    }
    if variable.of(source) == "data" {
        match path.first() {
            Some(Step::Key(name)) if name.of(source).chars().next().is_some_and(is_ident_start) => {
                variable = *name;
                path.remove(0);
            }
            _ => {
                return Err(invalid(
                    0,
                    "'data' must be followed by a variable name, as in {data.name}",
                ));
            }
        }
    }
    Ok((variable, path))
}

/// The step the `[...]` content `inner[start..end]` stands for (a key as a
/// span of `inner`).
fn bracket_step(inner: &str, start: usize, end: usize) -> Option<Step> {
    let key = inner.get(start..end)?;
    let quoted = |q: char| key.len() >= 2 && key.starts_with(q) && key.ends_with(q);
    if quoted('"') || quoted('\'') {
        Some(Step::Key(span(start + 1, end - 1)))
    } else {
        key.parse::<i64>().ok().map(Step::Index)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
