//! The `shell` kind: runs a program with arguments (no shell in between),
//! or, with the setting `shell` = `sh`, a script under `sh -c`.
//!
//! `command` is split into words (POSIX shell quoting, the `shell-words`
//! crate) from the text *as written*, and only then is each word rendered
//! as a template against the task's variables: a value becomes exactly one
//! argument, whatever it contains. In `sh` mode the script gets no
//! placeholders at all; the variables come in as environment variables
//! named `WINDLASS_VAR_<name>` ([`ENV_PREFIX`]).

mod capture;
mod process;

pub use capture::Limits;
pub use process::run;

use crate::error::ConfigError;
use crate::http::Secrets;
use crate::input::TaskInput;
use crate::settings::{Known, Settings, is_variable_name};
use std::path::PathBuf;
use std::time::Duration;
use windlass_expr::Template;

/// The kind name.
pub const KIND: &str = "shell";

/// Environment variables carrying the task's variables in `sh` mode are
/// named this prefix followed by the variable name.
pub const ENV_PREFIX: &str = "WINDLASS_VAR_";

/// The environment variable holding the job key (under a runtime).
pub const JOB_KEY_VAR: &str = "WINDLASS_JOB_KEY";

const KNOWN: Known<'static> = Known {
    names: &["command", "shell", "workingDirectory", "timeout", "output"],
    prefixes: &["env."],
    unsupported: &[],
    verbatim: &["command"],
};

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Program {
    /// A program and its arguments, run directly.
    Argv(Vec<String>),
    /// A script for `sh -c`.
    Sh(String),
}

/// What a shell task's standard output becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The variables `stdout`, `stderr` and `exitCode`.
    Text,
    /// Standard output parsed as a JSON object whose entries are the
    /// output variables.
    Json,
}

/// A `shell` task, settings read and checked. Its `Debug` masks the
/// secrets it holds.
#[derive(Clone)]
pub struct ShellSpec {
    /// The task (for messages).
    pub label: String,
    /// What to run.
    pub program: Program,
    /// Environment variables set on top of the runtime's own environment.
    pub env: Vec<(String, String)>,
    /// The working directory (else the runtime's).
    pub working_directory: Option<PathBuf>,
    /// Killed (the whole process group) after this long.
    pub timeout: Option<Duration>,
    /// What standard output becomes.
    pub output: Output,
    /// The values of the secrets its settings reference (`secret:NAME`),
    /// masked in everything the job gives out: its output variables
    /// (standard output and error included) and its failure messages.
    pub secrets: Secrets,
}

impl std::fmt::Debug for ShellSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: Vec<(&str, String)> = (self.env.iter())
            .map(|(k, v)| (k.as_str(), self.secrets.mask(v)))
            .collect();
        f.debug_struct("ShellSpec")
            .field("label", &self.label)
            .field("program", &self.program)
            .field("env", &env)
            .field("working_directory", &self.working_directory)
            .field("timeout", &self.timeout)
            .field("output", &self.output)
            .finish_non_exhaustive()
    }
}

impl ShellSpec {
    /// Reads the settings of `input`, refusing unknown or invalid ones.
    pub fn parse(input: &TaskInput) -> Result<ShellSpec, ConfigError> {
        let s = Settings::read(input, KNOWN)?;
        // The text as written: words are split before templates render.
        let source = s.required("command")?;
        let mut env = Vec::new();
        if let Some(key) = &input.job_key {
            // The same on every delivery of the attempt: a script can make
            // its effect idempotent with it.
            env.push((JOB_KEY_VAR.to_string(), key.clone()));
        }
        let program = match s.get("shell") {
            None => Program::Argv(words(&s, source, input)?),
            Some("sh") => {
                for (name, value) in variables_as_env(input) {
                    if value.contains('\0') {
                        return Err(s.invalid(
                            "shell",
                            format!("the variable {name} holds a NUL byte, which no environment variable can carry"),
                        ));
                    }
                    env.push((name, value));
                }
                Program::Sh(sh_script(&s, source)?)
            }
            Some(other) => {
                return Err(s.invalid("shell", format!("'{other}' is not supported (only 'sh')")));
            }
        };
        for (name, value) in s.family("env.") {
            if name.contains('=') || name.contains('\0') {
                return Err(s.invalid(&format!("env.{name}"), "not a valid variable name"));
            }
            no_nul(&s, &format!("env.{name}"), value)?;
            env.push((name.to_string(), value.to_string()));
        }
        if let Some(dir) = s.get("workingDirectory") {
            no_nul(&s, "workingDirectory", dir)?;
        }
        let output = match s.get("output") {
            None | Some("text") => Output::Text,
            Some("json") => Output::Json,
            Some(other) => {
                return Err(s.invalid("output", format!("'{other}' is neither 'text' nor 'json'")));
            }
        };
        let mut secrets = Secrets::default();
        for v in s.secret_values() {
            secrets.add(v);
        }
        Ok(ShellSpec {
            label: input.label.clone(),
            program,
            env,
            working_directory: s.get("workingDirectory").map(PathBuf::from),
            timeout: s.duration("timeout")?,
            output,
            secrets,
        })
    }
}

/// Splits `source` into words, then renders each word against the inputs;
/// a placeholder without a value is refused (a literal `{name}` never
/// reaches the program).
fn words(s: &Settings<'_>, source: &str, input: &TaskInput) -> Result<Vec<String>, ConfigError> {
    let split = shell_words::split(source).map_err(|e| s.invalid("command", e.to_string()))?;
    if split.is_empty() {
        return Err(s.invalid("command", "it names no program"));
    }
    split
        .iter()
        .map(|word| {
            let t = Template::parse(word)
                .map_err(|e| s.invalid("command", format!("word '{word}': {e}")))?;
            let arg = t
                .render_strict(&input.inputs)
                .map_err(|e| s.invalid("command", e.to_string()))?;
            no_nul(s, "command", &arg).map(|()| arg)
        })
        .collect()
}

/// Refuses a value holding a NUL byte, which no argument, environment
/// variable or path can carry (the program could not be started).
fn no_nul(s: &Settings<'_>, name: &str, value: &str) -> Result<(), ConfigError> {
    if value.contains('\0') {
        return Err(s.invalid(name, "the value holds a NUL byte once rendered"));
    }
    Ok(())
}

/// The script of `sh` mode: `{{` / `}}` escapes undone; a placeholder is
/// refused, since values go in only as environment variables.
fn sh_script(s: &Settings<'_>, source: &str) -> Result<String, ConfigError> {
    let t = Template::parse(source).map_err(|e| s.invalid("command", e.to_string()))?;
    if let Some(p) = t.placeholders().next() {
        return Err(s.invalid(
            "command",
            format!(
                "with shell = sh, variables are environment variables, never placeholders: \
                 write ${ENV_PREFIX}NAME instead of {p} (a literal brace is written {{{{ or }}}})"
            ),
        ));
    }
    Ok(t.render(&windlass_types::Vars::new()))
}

/// `WINDLASS_VAR_<name>` for every variable whose name is an identifier
/// (`[A-Za-z_][A-Za-z0-9_]*`; others are not passed): a string as it is,
/// any other value as compact JSON.
fn variables_as_env(input: &TaskInput) -> impl Iterator<Item = (String, String)> + '_ {
    input
        .inputs
        .iter()
        .filter(|(k, _)| is_variable_name(k))
        .map(|(k, v)| {
            let value = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (format!("{ENV_PREFIX}{k}"), value)
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn input(settings: &[(&str, &str)], vars: serde_json::Value) -> TaskInput {
        let map: BTreeMap<String, String> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TaskInput {
            label: "Build".into(),
            kind: KIND.into(),
            settings: map.clone(),
            settings_source: map,
            inputs: vars.as_object().cloned().unwrap_or_default(),
            cancel: Default::default(),
            secrets: crate::SecretSource::new(None, Some(Default::default())),
            job_key: None,
        }
    }

    #[test]
    fn words_are_split_before_rendering() {
        let i = input(
            &[("command", "printf %s {name}")],
            json!({"name": "a b; $(id)"}),
        );
        let spec = ShellSpec::parse(&i).unwrap();
        assert_eq!(
            spec.program,
            Program::Argv(vec!["printf".into(), "%s".into(), "a b; $(id)".into()])
        );
    }

    #[test]
    fn a_missing_value_is_refused_by_placeholder() {
        let i = input(&[("command", "echo {nope}")], json!({}));
        let e = ShellSpec::parse(&i).unwrap_err().to_string();
        assert!(
            e.contains("setting 'command'") && e.contains("{nope}"),
            "{e}"
        );
    }

    #[test]
    fn unknown_and_missing_settings_are_refused_by_name() {
        let i = input(&[("command", "true"), ("comand", "x")], json!({}));
        let e = ShellSpec::parse(&i).unwrap_err().to_string();
        assert_eq!(e, "task 'Build' (kind 'shell'): unknown setting 'comand'");
        let i = input(&[("timeout", "PT1S")], json!({}));
        let e = ShellSpec::parse(&i).unwrap_err().to_string();
        assert_eq!(
            e,
            "task 'Build' (kind 'shell'): the required setting 'command' is missing"
        );
        let i = input(&[("command", "true"), ("shell", "bash")], json!({}));
        assert!(
            ShellSpec::parse(&i)
                .unwrap_err()
                .to_string()
                .contains("'bash'")
        );
        let i = input(&[("command", "true"), ("timeout", "soon")], json!({}));
        assert!(
            ShellSpec::parse(&i)
                .unwrap_err()
                .to_string()
                .contains("'timeout'")
        );
    }

    #[test]
    fn a_nul_byte_is_refused_by_setting_before_anything_starts() {
        let nul = json!({"v": "a\u{0}b"});
        let e = ShellSpec::parse(&input(&[("command", "echo {v}")], nul.clone()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("setting 'command': the value holds a NUL byte"),
            "{e}"
        );
        let e = ShellSpec::parse(&input(
            &[("command", "true"), ("env.X", "{v}")],
            nul.clone(),
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("setting 'env.X': the value holds a NUL byte"),
            "{e}"
        );
        let e = ShellSpec::parse(&input(&[("command", "true"), ("shell", "sh")], nul))
            .unwrap_err()
            .to_string();
        assert!(e.contains("WINDLASS_VAR_v holds a NUL byte"), "{e}");
    }

    #[test]
    fn sh_mode_refuses_placeholders_and_passes_identifiers_as_env() {
        let i = input(&[("command", "echo {name}"), ("shell", "sh")], json!({}));
        let e = ShellSpec::parse(&i).unwrap_err().to_string();
        assert!(
            e.contains("WINDLASS_VAR_NAME") && e.contains("{name}"),
            "{e}"
        );
        let i = input(
            &[
                ("command", "echo \"$WINDLASS_VAR_n\" {{x}}"),
                ("shell", "sh"),
            ],
            json!({"n": 3, "s": "t", "bad-name": 1}),
        );
        let spec = ShellSpec::parse(&i).unwrap();
        assert_eq!(
            spec.program,
            Program::Sh("echo \"$WINDLASS_VAR_n\" {x}".into())
        );
        assert_eq!(
            spec.env,
            vec![
                ("WINDLASS_VAR_n".to_string(), "3".to_string()),
                ("WINDLASS_VAR_s".to_string(), "t".to_string())
            ]
        );
    }
}
