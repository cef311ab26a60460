//! Name templates: `Is certificate {event.id} in valid range?`.
//!
//! A placeholder is `{path}`: a variable name, then `.field`, `.0`, `[0]`,
//! `[-1]`, `["key"]` or `['key']` steps into maps and lists. `{data.x}` means
//! the same as `{x}`. `{{` and `}}` are literal braces. The text is split into
//! literal parts and placeholders once, at parse time.
//!
//! Rendering: a string renders bare; numbers, bools, lists and maps render as
//! compact JSON. A `null` or missing value leaves the placeholder exactly as
//! written in [`Template::render`] (as Adhesive leaves unformatted text, for
//! names meant for people) and is an error naming the placeholder in
//! [`Template::render_strict`] (for keys: instance ids, dedup and
//! correlation keys, where a literal placeholder would merge unrelated keys).

use std::fmt::Write as _;

use serde_json::Value;

use crate::{ExprError, Variables};

mod parts;

use parts::Parts;

/// A string with `{path}` placeholders resolved from variables.
///
/// Compact: the source is kept once and every part (a placeholder as
/// written, its variable and its keys, a `{{` or `}}` escape) is a byte
/// range or offset into it, in one flat array, so a template is at most two
/// allocations. Literal text is what lies between the parts.
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

/// A piece of a template, in source order. A placeholder's steps are the
/// [`Part::Key`] and [`Part::Index`] parts right after it. The source text
/// before, between and after placeholders and escapes renders as it is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    /// A `{{` or `}}` at this byte offset: renders as its first brace.
    Escape(u32),
    /// A `{path}` placeholder to resolve.
    Placeholder {
        /// The placeholder as written, braces included.
        raw: Span,
        /// The top-level variable.
        variable: Span,
    },
    /// A step into the value: `.name` or `["name"]`, a map key; on a list,
    /// a number indexes it.
    Key(Span),
    /// A step into the value: `[n]`, a list index (negative counts from the
    /// end), as its low and high 32 bits (so a part stays 20 bytes).
    Index { low: u32, high: u32 },
}

/// One step into a value, as resolving reads it.
enum Step<'a> {
    Key(&'a str),
    Index(i64),
}

fn index_part(i: i64) -> Part {
    let bits = i as u64;
    Part::Index {
        low: bits as u32,
        high: (bits >> 32) as u32,
    }
}

fn index_of(low: u32, high: u32) -> i64 {
    ((u64::from(high) << 32) | u64::from(low)) as i64
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
        let mut parts = Parts::new();
        let mut i = first;
        while i < bytes.len() {
            match bytes[i] {
                b'{' | b'}' if bytes.get(i + 1) == Some(&bytes[i]) => {
                    parts.push(Part::Escape(span(i, i).start));
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
                    let at = parts.len();
                    let raw = span(i, close + 1);
                    parts.push(Part::Placeholder { raw, variable: raw });
                    let variable = parse_path(source, i + 1, close, &mut parts, at)?;
                    if let Some(Part::Placeholder { variable: v, .. }) =
                        parts.as_mut_slice().get_mut(at)
                    {
                        *v = variable;
                    }
                    i = close + 1;
                }
                _ => {
                    // Straight to the next brace.
                    i = bytes[i..]
                        .iter()
                        .position(|&b| b == b'{' || b == b'}')
                        .map_or(bytes.len(), |k| i + k);
                }
            }
        }
        Ok(Template {
            source: source.into(),
            parts: parts.finish(),
        })
    }

    /// The original text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the text has no placeholders.
    pub fn is_literal(&self) -> bool {
        !self
            .parts
            .iter()
            .any(|p| matches!(p, Part::Placeholder { .. }))
    }

    /// Each placeholder as written, braces included, in order.
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Placeholder { raw, .. } => Some(raw.of(&self.source)),
            _ => None,
        })
    }

    /// The top-level variable each placeholder reads, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Placeholder { variable, .. } => Some(variable.of(&self.source)),
            _ => None,
        })
    }

    /// Resolves placeholders; a missing (or `null`) value leaves its
    /// placeholder as written. For text meant for people (task names); keys
    /// use [`Template::render_strict`].
    pub fn render(&self, vars: &dyn Variables) -> String {
        let mut keep = |raw: &str, out: &mut String| {
            out.push_str(raw);
            Ok(())
        };
        // `keep` never fails, so neither does the rendering.
        self.write(vars, &mut keep).unwrap_or_default()
    }

    /// Resolves placeholders; a missing (or `null`) value is an error naming
    /// the placeholder. For keys (instance ids, dedup keys, correlation keys),
    /// where a literal `{placeholder}` would silently collapse unrelated
    /// events onto one key.
    pub fn render_strict(&self, vars: &dyn Variables) -> Result<String, MissingValue> {
        let mut refuse = |raw: &str, _: &mut String| {
            Err(MissingValue {
                placeholder: raw.to_string(),
                template: self.source.to_string(),
            })
        };
        self.write(vars, &mut refuse)
    }

    /// When the template is one placeholder and nothing else (`{replicas}`):
    /// its value as it is, with its type (a number stays a number, a map a
    /// map), or an error naming it when it has none (missing or `null`).
    /// `None` for any other template. For documents whose shape is known
    /// (a Kubernetes manifest), where a whole value is substituted.
    pub fn sole_value(&self, vars: &dyn Variables) -> Option<Result<Value, MissingValue>> {
        let (first, steps) = self.parts.split_first()?;
        let Part::Placeholder { raw, variable } = *first else {
            return None;
        };
        let whole = raw.start == 0 && raw.end as usize == self.source.len();
        let only_steps = steps
            .iter()
            .all(|p| matches!(p, Part::Key(_) | Part::Index { .. }));
        if !whole || !only_steps {
            return None;
        }
        Some(match resolve(&self.source, variable, steps, vars) {
            None | Some(Value::Null) => Err(MissingValue {
                placeholder: raw.of(&self.source).to_string(),
                template: self.source.to_string(),
            }),
            Some(v) => Ok(v.clone()),
        })
    }

    /// Renders, handing each placeholder without a value (missing or
    /// `null`) to `missing` with the placeholder as written.
    fn write(
        &self,
        vars: &dyn Variables,
        missing: &mut dyn FnMut(&str, &mut String) -> Result<(), MissingValue>,
    ) -> Result<String, MissingValue> {
        let src = &*self.source;
        if self.parts.is_empty() {
            return Ok(src.to_string());
        }
        let text = |from: usize, to: usize| src.get(from..to).unwrap_or("");
        let mut out = String::with_capacity(src.len() + 16);
        // The start of the source text not yet written.
        let mut cursor = 0;
        for (k, part) in self.parts.iter().enumerate() {
            match *part {
                Part::Escape(at) => {
                    let at = at as usize;
                    out.push_str(text(cursor, at + 1));
                    cursor = at + 2;
                }
                Part::Placeholder { raw, variable } => {
                    out.push_str(text(cursor, raw.start as usize));
                    cursor = raw.end as usize;
                    let steps = self.parts.get(k + 1..).unwrap_or_default();
                    match resolve(src, variable, steps, vars) {
                        None | Some(Value::Null) => missing(raw.of(src), &mut out)?,
                        Some(Value::String(s)) => out.push_str(s),
                        Some(other) => {
                            // Writing to a String cannot fail.
                            let _ = write!(out, "{other}");
                        }
                    }
                }
                Part::Key(_) | Part::Index { .. } => {}
            }
        }
        out.push_str(text(cursor, src.len()));
        Ok(out)
    }
}

/// A strict rendering found no value (missing or `null`) for a placeholder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template '{template}': no value for {placeholder} (missing or null)")]
pub struct MissingValue {
    /// The placeholder as written, braces included.
    pub placeholder: String,
    /// The template's source text.
    pub template: String,
}

/// The value of `variable` followed by the steps at the start of `parts`.
fn resolve<'a>(
    src: &str,
    variable: Span,
    parts: &[Part],
    vars: &'a dyn Variables,
) -> Option<&'a Value> {
    let mut value = vars.lookup(variable.of(src))?;
    for part in parts {
        let step = match *part {
            Part::Key(k) => Step::Key(k.of(src)),
            Part::Index { low, high } => Step::Index(index_of(low, high)),
            Part::Escape(_) | Part::Placeholder { .. } => break,
        };
        value = match (step, value) {
            (Step::Key(k), Value::Object(map)) => map.get(k)?,
            (Step::Key(k), Value::Array(items)) => items.get(k.parse::<usize>().ok()?)?,
            (Step::Index(i), Value::Array(items)) => {
                let len = i64::try_from(items.len()).ok()?;
                let at = if i < 0 { i + len } else { i };
                items.get(usize::try_from(at).ok()?)?
            }
            (Step::Index(i), Value::Object(map)) => map.get(&i.to_string())?,
            _ => return None,
        };
    }
    Some(value)
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Parses the placeholder inner text `source[from..to]` (between the braces):
/// pushes its steps on `parts` (after the placeholder at index `at`) and
/// returns the variable name, all as spans of `source`.
fn parse_path(
    source: &str,
    from: usize,
    to: usize,
    parts: &mut Parts,
    at: usize,
) -> Result<Span, ExprError> {
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
    while let Some(c) = char_at(i) {
        match c {
            '.' => {
                let start = i + 1;
                i = name_end(start, is_key_char);
                if i == start {
                    return Err(invalid(start, "expected a name after '.'"));
                }
                parts.push(Part::Key(span(from + start, from + i)));
            }
            '[' => {
                let close = inner[i + 1..]
                    .find(']')
                    .map(|k| i + 1 + k)
                    .ok_or_else(|| invalid(i, "unclosed '['"))?;
                parts.push(
                    bracket_step(inner, i + 1, close)
                        .map(|step| match step {
                            Part::Key(k) => {
                                Part::Key(span(from + k.start as usize, from + k.end as usize))
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
        let first = parts.as_mut_slice().get(at + 1).copied();
        match first {
            Some(Part::Key(name)) if name.of(source).chars().next().is_some_and(is_ident_start) => {
                variable = name;
                parts.remove(at + 1);
            }
            _ => {
                return Err(invalid(
                    0,
                    "'data' must be followed by a variable name, as in {data.name}",
                ));
            }
        }
    }
    Ok(variable)
}

/// The step the `[...]` content `inner[start..end]` stands for (a key as a
/// span of `inner`).
fn bracket_step(inner: &str, start: usize, end: usize) -> Option<Part> {
    let key = inner.get(start..end)?;
    let quoted = |q: char| key.len() >= 2 && key.starts_with(q) && key.ends_with(q);
    if quoted('"') || quoted('\'') {
        Some(Part::Key(span(start + 1, end - 1)))
    } else {
        key.parse::<i64>().ok().map(index_part)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
