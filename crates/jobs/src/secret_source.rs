//! Where `secret:NAME` settings are read from, when a job runs: the
//! [`WatchedSecrets`] given (values a server keeps current, such as the
//! Kubernetes Secrets of `--secrets-from`), else a file
//! named `NAME` in the secrets directory (`WINDLASS_SECRETS_DIR`, e.g. a
//! Kubernetes Secret mounted as a volume: one file per key), else the
//! environment variable `WINDLASS_SECRET_<NAME>`, else the file that
//! `WINDLASS_SECRET_<NAME>_FILE` names. One trailing newline of a file is
//! dropped. The value is never written anywhere: the kinds add it to the
//! values they mask (`crate::http::Secrets`).
//!
//! Read by hand: a few `std::fs` and `std::env` calls; no crate of this
//! field resolves such references.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The prefix of a setting value that names a secret.
pub const SECRET_PREFIX: &str = "secret:";
/// The environment variable naming the secrets directory.
pub const DIR_VAR: &str = "WINDLASS_SECRETS_DIR";
/// The prefix of the environment variables holding secrets.
pub const ENV_PREFIX: &str = "WINDLASS_SECRET_";
/// The longest secret value read (64 KiB).
pub const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Where secrets come from. Cheap to clone; its `Debug` shows no value.
#[derive(Clone)]
pub struct SecretSource {
    inner: Arc<Inner>,
}

struct Inner {
    watched: Option<WatchedSecrets>,
    dir: Option<PathBuf>,
    /// `None`: the process environment, read at each lookup.
    env: Option<BTreeMap<String, String>>,
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSource")
            .field("dir", &self.inner.dir)
            .field("env", &self.inner.env.as_ref().map(|e| e.len()))
            .finish()
    }
}

impl Default for SecretSource {
    /// [`SecretSource::from_env`].
    fn default() -> Self {
        Self::from_env()
    }
}

impl SecretSource {
    /// The directory named by `WINDLASS_SECRETS_DIR` (if set) and the
    /// process environment.
    pub fn from_env() -> Self {
        let dir = std::env::var_os(DIR_VAR)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        Self::new(dir, None)
    }

    /// Secrets from `dir` (if any) and `env` (`None`: the process
    /// environment).
    pub fn new(dir: Option<PathBuf>, env: Option<BTreeMap<String, String>>) -> Self {
        SecretSource {
            inner: Arc::new(Inner {
                watched: None,
                dir,
                env,
            }),
        }
    }

    /// This source with `watched` looked at first.
    pub fn with_watched(self, watched: WatchedSecrets) -> Self {
        SecretSource {
            inner: Arc::new(Inner {
                watched: Some(watched),
                dir: self.inner.dir.clone(),
                env: self.inner.env.clone(),
            }),
        }
    }

    /// The reference in a setting value, if the whole value is one:
    /// `secret:NAME` gives `NAME`.
    pub fn reference(value: &str) -> Option<&str> {
        value.trim().strip_prefix(SECRET_PREFIX)
    }

    /// The value of secret `name`, or why there is none (naming the places
    /// looked at, never a value).
    pub fn resolve(&self, name: &str) -> Result<String, String> {
        check_name(name)?;
        if let Some(value) = self.inner.watched.as_ref().and_then(|w| w.get(name)) {
            return Ok(value);
        }
        if let Some(dir) = &self.inner.dir {
            let path = dir.join(name);
            if path.is_file() {
                return read_file(&path, name);
            }
        }
        let var = format!("{ENV_PREFIX}{name}");
        if let Some(v) = self.var(&var) {
            return Ok(v);
        }
        let file_var = format!("{var}_FILE");
        if let Some(path) = self.var(&file_var) {
            return read_file(Path::new(&path), name);
        }
        let watched = match &self.inner.watched {
            Some(w) => format!("no key '{name}' in {}, ", w.describe()),
            None => String::new(),
        };
        let dir = match &self.inner.dir {
            Some(d) => format!("no file '{name}' in {}, ", d.display()),
            None => format!("no secrets directory ({DIR_VAR} is not set), "),
        };
        Err(format!(
            "secret '{name}' is not set: {watched}{dir}no environment variable {var} or {file_var}"
        ))
    }

    fn var(&self, name: &str) -> Option<String> {
        match &self.inner.env {
            Some(env) => env.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }
}

/// Secrets kept current by someone else (a watch on Kubernetes Secrets),
/// in the order their sources were given: a key of an earlier source wins.
/// Cheap to clone (shared); its `Debug` shows no value.
#[derive(Clone, Default)]
pub struct WatchedSecrets {
    sources: Arc<std::sync::RwLock<Vec<WatchedSource>>>,
}

/// One source's name and its values.
type WatchedSource = (String, BTreeMap<String, String>);

impl fmt::Debug for WatchedSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl WatchedSecrets {
    /// Watched secrets from `sources` (names such as `Secret shop/db`),
    /// empty until [`WatchedSecrets::set`] fills them.
    pub fn new(sources: impl IntoIterator<Item = String>) -> Self {
        let list = sources.into_iter().map(|s| (s, BTreeMap::new())).collect();
        WatchedSecrets {
            sources: Arc::new(std::sync::RwLock::new(list)),
        }
    }

    /// Replaces the values of `source` (every key it has now; empty once
    /// it is gone).
    pub fn set(&self, source: &str, values: BTreeMap<String, String>) {
        let mut sources = self
            .sources
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match sources.iter_mut().find(|(s, _)| s == source) {
            Some((_, v)) => *v = values,
            None => sources.push((source.to_string(), values)),
        }
    }

    /// The value of `key`, from the first source that has it.
    pub fn get(&self, key: &str) -> Option<String> {
        let sources = self
            .sources
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sources.iter().find_map(|(_, v)| v.get(key).cloned())
    }

    /// The sources' names, for messages.
    pub fn describe(&self) -> String {
        let sources = self
            .sources
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let names: Vec<&str> = sources.iter().map(|(s, _)| s.as_str()).collect();
        names.join(", ")
    }
}

/// A secret name: letters, digits, `_`, `-` and `.` (the keys of a
/// Kubernetes Secret), not `.` or `..`.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a secret name (letters, digits, '_', '-' and '.')"
        ))
    }
}

/// The text of secret file `path`, one trailing newline dropped.
fn read_file(path: &Path, name: &str) -> Result<String, String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("secret '{name}': cannot read {}: {e}", path.display()))?;
    if meta.len() > MAX_SECRET_BYTES {
        return Err(format!(
            "secret '{name}': {} holds more than {MAX_SECRET_BYTES} bytes",
            path.display()
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| format!("secret '{name}': cannot read {}: {e}", path.display()))?;
    let mut text = String::from_utf8(bytes)
        .map_err(|_| format!("secret '{name}': {} is not UTF-8 text", path.display()))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn watched_secrets_come_first_in_their_order_and_follow_changes() {
        let watched = WatchedSecrets::new(["Secret a/one".to_string(), "Secret a/two".into()]);
        let src = SecretSource::new(None, env(&[("WINDLASS_SECRET_pass", "from-env")]))
            .with_watched(watched.clone());
        assert_eq!(src.resolve("pass").unwrap(), "from-env");
        watched.set(
            "Secret a/two",
            [("pass".to_string(), "two".to_string())].into(),
        );
        assert_eq!(src.resolve("pass").unwrap(), "two");
        watched.set(
            "Secret a/one",
            [("pass".to_string(), "one".to_string())].into(),
        );
        assert_eq!(src.resolve("pass").unwrap(), "one");
        watched.set("Secret a/one", BTreeMap::new());
        assert_eq!(src.resolve("pass").unwrap(), "two");
        let why = src.resolve("other").unwrap_err();
        assert!(
            why.contains("no key 'other' in Secret a/one, Secret a/two"),
            "{why}"
        );
        assert_eq!(format!("{watched:?}"), "Secret a/one, Secret a/two");
    }

    #[test]
    fn a_reference_is_the_whole_value() {
        assert_eq!(SecretSource::reference("secret:db-pass"), Some("db-pass"));
        assert_eq!(SecretSource::reference(" secret:x "), Some("x"));
        assert_eq!(SecretSource::reference("Bearer secret:x"), None);
    }

    #[test]
    fn the_directory_comes_first_then_the_variable_then_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db-pass"), "from-dir\n").unwrap();
        let other = dir.path().join("elsewhere.txt");
        std::fs::write(&other, "from-file\r\n").unwrap();
        let src = SecretSource::new(
            Some(dir.path().to_path_buf()),
            env(&[
                ("WINDLASS_SECRET_db-pass", "from-env"),
                ("WINDLASS_SECRET_TOKEN", "tok"),
                ("WINDLASS_SECRET_CERT_FILE", other.to_str().unwrap()),
            ]),
        );
        assert_eq!(src.resolve("db-pass").unwrap(), "from-dir");
        assert_eq!(src.resolve("TOKEN").unwrap(), "tok");
        assert_eq!(src.resolve("CERT").unwrap(), "from-file");
    }

    #[test]
    fn a_missing_or_bad_secret_is_named_without_a_value() {
        let src = SecretSource::new(None, env(&[]));
        let e = src.resolve("API").unwrap_err();
        assert!(
            e.contains("secret 'API' is not set")
                && e.contains("WINDLASS_SECRET_API")
                && e.contains("WINDLASS_SECRET_API_FILE")
                && e.contains(DIR_VAR),
            "{e}"
        );
        for bad in ["", "..", "a/b", "a b"] {
            assert!(src.resolve(bad).unwrap_err().contains("not a secret name"));
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big"), vec![b'x'; 70 * 1024]).unwrap();
        std::fs::write(dir.path().join("bin"), [0xff, 0xfe]).unwrap();
        let src = SecretSource::new(Some(dir.path().to_path_buf()), env(&[]));
        assert!(src.resolve("big").unwrap_err().contains("more than"));
        assert!(src.resolve("bin").unwrap_err().contains("not UTF-8"));
        assert!(!format!("{src:?}").contains("xxx"));
    }
}
