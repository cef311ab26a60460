//! Reading a task's settings: names checked against what a kind knows,
//! required values, durations (ISO-8601, like the rest of the project) and
//! `prefix.NAME` families (`env.NAME`, `header.NAME`).

use crate::error::ConfigError;
use crate::input::TaskInput;
use std::collections::BTreeMap;
use std::time::Duration;

/// The settings of one task of one kind.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    task: &'a str,
    kind: &'a str,
    map: &'a BTreeMap<String, String>,
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
}

impl<'a> Settings<'a> {
    /// The rendered settings of `input`.
    pub fn of(input: &'a TaskInput) -> Self {
        Settings {
            task: &input.label,
            kind: &input.kind,
            map: &input.settings,
        }
    }

    /// Refuses every setting `known` does not accept, by name.
    pub fn check(&self, known: Known<'_>) -> Result<(), ConfigError> {
        for name in self.map.keys() {
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

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.map.get(name).map(String::as_str)
    }

    /// The value of `name`, or an error naming it.
    pub fn required(&self, name: &str) -> Result<&'a str, ConfigError> {
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
    pub fn family(&self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
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
