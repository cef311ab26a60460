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
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    /// Literal text (escapes already resolved).
    Text(String),
    /// A placeholder to resolve.
    Placeholder(Placeholder),
}

/// One `{path}` placeholder.
#[derive(Debug, Clone, PartialEq)]
struct Placeholder {
    /// The placeholder as written, braces included.
    raw: String,
    /// The top-level variable.
    variable: String,
    /// The steps into the variable's value.
    path: Vec<Step>,
}

/// One step into a value.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// `.name` or `["name"]`: a map key; on a list, a number indexes it.
    Key(String),
    /// `[n]`: a list index (negative counts from the end).
    Index(i64),
}

impl Template {
    /// Parses a template; an unclosed `{`, a lone `}`, an empty `{}` or an
    /// invalid path is an error with the char offset of the problem.
    pub fn parse(source: &str) -> Result<Template, ExprError> {
        let chars: Vec<char> = source.chars().collect();
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '{' if chars.get(i + 1) == Some(&'{') => {
                    text.push('{');
                    i += 2;
                }
                '}' if chars.get(i + 1) == Some(&'}') => {
                    text.push('}');
                    i += 2;
                }
                '}' => {
                    return Err(ExprError::at(
                        i,
                        "single '}' in template (write '}}' for a literal brace)",
                    ));
                }
                '{' => {
                    let close = (i + 1..chars.len())
                        .find(|&j| chars[j] == '}' || chars[j] == '{')
                        .filter(|&j| chars[j] == '}')
                        .ok_or_else(|| {
                            ExprError::at(
                                i,
                                "unclosed '{' in template (write '{{' for a literal brace)",
                            )
                        })?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let (variable, path) = parse_path(&inner, i + 1)?;
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Placeholder(Placeholder {
                        raw: format!("{{{inner}}}"),
                        variable,
                        path,
                    }));
                    i = close + 1;
                }
                c => {
                    text.push(c);
                    i += 1;
                }
            }
        }
        if !text.is_empty() || parts.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template {
            source: source.to_string(),
            parts,
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
            Part::Placeholder(ph) => Some(ph.raw.as_str()),
            Part::Text(_) => None,
        })
    }

    /// The top-level variable each placeholder reads, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Placeholder(ph) => Some(ph.variable.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Resolves placeholders; a missing (or `null`) value leaves its
    /// placeholder as written.
    pub fn render(&self, vars: &dyn Variables) -> String {
        if let [Part::Text(text)] = self.parts.as_slice() {
            return text.clone();
        }
        let mut out = String::with_capacity(self.source.len() + 16);
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Placeholder(ph) => match ph.resolve(vars) {
                    None | Some(Value::Null) => out.push_str(&ph.raw),
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
    fn resolve<'a>(&self, vars: &'a dyn Variables) -> Option<&'a Value> {
        let mut value = vars.lookup(&self.variable)?;
        for step in &self.path {
            value = match (step, value) {
                (Step::Key(k), Value::Object(map)) => map.get(k)?,
                (Step::Key(k), Value::Array(items)) => items.get(k.parse::<usize>().ok()?)?,
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

/// Parses a placeholder's inner text (which starts at char `base`) into the
/// variable name and steps.
fn parse_path(inner: &str, base: usize) -> Result<(String, Vec<Step>), ExprError> {
    let chars: Vec<char> = inner.chars().collect();
    if chars.is_empty() {
        return Err(ExprError::at(
            base - 1,
            "empty placeholder '{}' in template (write '{{}}' for literal braces)",
        ));
    }
    let invalid = |at: usize, what: &str| {
        ExprError::at(
            base + at,
            format!("invalid placeholder '{{{inner}}}': {what}"),
        )
    };
    if !is_ident_start(chars[0]) {
        return Err(invalid(0, "it must start with a variable name"));
    }
    let mut i = 0;
    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
        i += 1;
    }
    let mut variable: String = chars[..i].iter().collect();
    let mut path = Vec::new();
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && is_key_char(chars[i]) {
                    i += 1;
                }
                if i == start {
                    return Err(invalid(start, "expected a name after '.'"));
                }
                path.push(Step::Key(chars[start..i].iter().collect()));
            }
            '[' => {
                let close = (i + 1..chars.len())
                    .find(|&j| chars[j] == ']')
                    .ok_or_else(|| invalid(i, "unclosed '['"))?;
                let key: String = chars[i + 1..close].iter().collect();
                path.push(
                    bracket_step(&key)
                        .ok_or_else(|| invalid(i + 1, "expected [number] or [\"key\"]"))?,
                );
                i = close + 1;
            }
            ':' | '!' => return Err(invalid(i, "format specs and conversions are not supported")),
            _ => return Err(invalid(i, "expected '.', '[' or '}'")),
        }
    }
    if variable == "data" {
        match path.first() {
            Some(Step::Key(name)) if name.chars().next().is_some_and(is_ident_start) => {
                variable = name.clone();
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

/// The step a `[...]` content stands for.
fn bracket_step(key: &str) -> Option<Step> {
    let quoted = |q: char| key.len() >= 2 && key.starts_with(q) && key.ends_with(q);
    if quoted('"') || quoted('\'') {
        Some(Step::Key(key[1..key.len() - 1].to_string()))
    } else {
        key.parse::<i64>().ok().map(Step::Index)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
