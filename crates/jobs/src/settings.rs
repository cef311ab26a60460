//! Reading a task's settings: names checked against what a kind knows,
//! each value rendered from the text as written against the task's inputs
//! (input mappings applied), a placeholder without a value refused by
//! setting and placeholder, required values, durations (ISO-8601, like the
//! rest of the project) and `prefix.NAME` families (`env.NAME`,
//! `header.NAME`). A value written as `secret:NAME` (the whole value, in a
//! setting the kind does not render itself) is the secret's value
//! (`secret_source.rs`), kept in [`Settings::secret_values`] so the kind
//! masks it.

use crate::error::ConfigError;
use crate::input::TaskInput;
use crate::secret_source::SecretSource;
use std::collections::BTreeMap;
use std::time::Duration;
use windlass_expr::Template;

/// The settings of one task of one kind, rendered.
/// Its `Debug` shows the names only: values may be secrets or credentials.
#[derive(Clone)]
pub struct Settings<'a> {
    task: &'a str,
    kind: &'a str,
    map: BTreeMap<String, String>,
    /// The values of the secrets referenced.
    secret_values: Vec<String>,
}

impl std::fmt::Debug for Settings<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("task", &self.task)
            .field("kind", &self.kind)
            .field("names", &self.map.keys().collect::<Vec<_>>())
            .field("secrets", &self.secret_values.len())
            .finish()
    }
}

/// What a kind accepts: exact names, `prefix.` families, and names it knows
/// but refuses (not supported yet).
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    /// Exact setting names.
    pub names: &'a [&'a str],
    /// Prefixes such as `env.` (the part after must not be empty).
    pub prefixes: &'a [&'a str],
    /// Names refused as not supported yet.
    pub unsupported: &'a [&'a str],
    /// Names the kind renders itself from the text as written (a `shell`
    /// command is split into words first, an `http` body is JSON, an
    /// `http` output is an expression): kept as written here. An entry
    /// ending in `.` is a family (`output.`).
    pub verbatim: &'a [&'a str],
}

impl Known<'_> {
    /// True when setting `name` is kept as written ([`Known::verbatim`]).
    pub fn is_verbatim(&self, name: &str) -> bool {
        self.verbatim.iter().any(|v| {
            if v.ends_with('.') {
                name.strip_prefix(v).is_some_and(|rest| !rest.is_empty())
            } else {
                name == *v
            }
        })
    }
}

impl<'a> Settings<'a> {
    /// The settings of `input`, names checked against `known`, values
    /// rendered strictly from the text as written against the task's
    /// inputs: a placeholder without a value is refused, naming the setting
    /// and the placeholder, never passed on as literal text. A value whose
    /// text as written is not at hand is taken as rendered (refused for a
    /// [`Known::verbatim`] one).
    pub fn read(input: &'a TaskInput, known: Known<'_>) -> Result<Self, ConfigError> {
        let mut s = Settings {
            task: &input.label,
            kind: &input.kind,
            map: BTreeMap::new(),
            secret_values: Vec::new(),
        };
        s.check(input.settings.keys(), known)?;
        for (name, rendered) in &input.settings {
            // Only the text as written in the model names a secret: a
            // variable holding `secret:…` renders as text, so input data
            // can never make a job read a secret.
            let secret = input
                .settings_source
                .get(name)
                .and_then(|written| SecretSource::reference(written));
            if let Some(secret) = secret.filter(|_| !known.is_verbatim(name)) {
                let value = input
                    .secrets
                    .resolve(secret)
                    .map_err(|why| s.invalid(name, why))?;
                s.secret_values.push(value.clone());
                s.map.insert(name.clone(), value);
                continue;
            }
            let value = match input.settings_source.get(name) {
                Some(source) if !known.is_verbatim(name) => Template::parse(source)
                    .map_err(|e| s.invalid(name, e.to_string()))?
                    .render_strict(&input.inputs)
                    .map_err(|e| s.invalid(name, e.to_string()))?,
                Some(source) => source.clone(),
                // Rendering first is what verbatim settings must not get.
                None if known.is_verbatim(name) => {
                    return Err(s.invalid(name, "the text as written is not available"));
                }
                None => rendered.clone(),
            };
            s.map.insert(name.clone(), value);
        }
        Ok(s)
    }

    /// Refuses every name `known` does not accept, by name.
    fn check<'n>(
        &self,
        names: impl Iterator<Item = &'n String>,
        known: Known<'_>,
    ) -> Result<(), ConfigError> {
        for name in names {
            if known.unsupported.contains(&name.as_str()) {
                return Err(self.unsupported(name, ""));
            }
            let family = known
                .prefixes
                .iter()
                .any(|p| name.strip_prefix(p).is_some_and(|rest| !rest.is_empty()));
            if !family && !known.names.contains(&name.as_str()) {
                return Err(ConfigError::Unknown {
                    task: self.task.into(),
                    kind: self.kind.into(),
                    name: name.clone(),
                });
            }
        }
        Ok(())
    }

    /// The values of the secrets the settings referenced (to mask).
    pub fn secret_values(&self) -> &[String] {
        &self.secret_values
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// The text of the expression in setting `name` (kept as written, a
    /// [`Known::verbatim`] one): `{{` / `}}` are literal braces, as in
    /// every setting, and a placeholder is refused (an expression takes
    /// variables by name).
    pub fn expression(&self, name: &str) -> Result<Option<String>, ConfigError> {
        let Some(source) = self.get(name) else {
            return Ok(None);
        };
        let t = Template::parse(source).map_err(|e| self.invalid(name, e.to_string()))?;
        if let Some(p) = t.placeholders().next() {
            return Err(self.invalid(
                name,
                format!(
                    "an expression takes variables by name, not placeholders: write the name \
                     instead of {p} (a literal brace is written {{{{ or }}}})"
                ),
            ));
        }
        Ok(Some(t.render(&windlass_types::Vars::new())))
    }

    /// The value of `name`, or an error naming it.
    pub fn required(&self, name: &str) -> Result<&str, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError::Missing {
            task: self.task.into(),
            kind: self.kind.into(),
            name: name.into(),
        })
    }

    /// `name` read as an ISO-8601 duration of fixed length (`PT30S`).
    pub fn duration(&self, name: &str) -> Result<Option<Duration>, ConfigError> {
        let Some(raw) = self.get(name) else {
            return Ok(None);
        };
        let parsed = windlass_model::parse_duration(raw).and_then(|d| {
            windlass_model::fixed_millis(&d)
                .ok_or_else(|| format!("'{raw}' has years or months, which have no fixed length"))
        });
        match parsed {
            Ok(ms) => Ok(Some(Duration::from_millis(ms))),
            Err(why) => Err(self.invalid(name, why)),
        }
    }

    /// Every `prefix.NAME` setting as `(NAME, value)`.
    pub fn family<'s>(&'s self, prefix: &'s str) -> impl Iterator<Item = (&'s str, &'s str)> + 's {
        self.map
            .iter()
            .filter_map(move |(k, v)| Some((k.strip_prefix(prefix)?, v.as_str())))
    }

    /// An [`ConfigError::Invalid`] for setting `name`.
    pub fn invalid(&self, name: &str, why: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            task: self.task.into(),
            kind: self.kind.into(),
            name: name.into(),
            why: why.into(),
        }
    }

    /// An [`ConfigError::Unsupported`] for setting `name`.
    pub fn unsupported(&self, name: &str, detail: &str) -> ConfigError {
        ConfigError::Unsupported {
            task: self.task.into(),
            kind: self.kind.into(),
            name: name.into(),
            detail: if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            },
        }
    }
}

/// True when `name` can name a variable (an output variable, an
/// environment variable made from one): `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
