//! Finding the real Kubernetes API server that tests run against.
//!
//! `scripts/k8s-test-env start` runs kube-apiserver and etcd on loopback and
//! writes a kubeconfig; `scripts/test` exports it as `KUBECONFIG` and sets
//! `WINDLASS_REQUIRE_K8S=1`. Tests that need the API server ask
//! [`kubeconfig_from_env`]: without a kubeconfig they skip, unless the
//! environment is required, in which case its absence is an error.

use std::ffi::OsStr;
use std::path::PathBuf;

/// Environment variable naming the kubeconfig file of the test API server.
pub const KUBECONFIG_VAR: &str = "KUBECONFIG";

/// Environment variable that, when set to `1` or `true`, makes a missing
/// test environment an error instead of a skip (set by `scripts/test`).
pub const REQUIRE_VAR: &str = "WINDLASS_REQUIRE_K8S";

/// Why the test environment cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TestEnvError {
    /// The environment is required but `KUBECONFIG` is unset or empty.
    #[error(
        "{REQUIRE_VAR} is set but {KUBECONFIG_VAR} is not; start the API server with \
         `scripts/k8s-test-env start` and export the output of `scripts/k8s-test-env env --export`"
    )]
    Required,
    /// `KUBECONFIG` names a file that does not exist.
    #[error("{KUBECONFIG_VAR} names {0}, which does not exist (is the test API server running?)")]
    Missing(PathBuf),
    /// `KUBECONFIG` lists several files; the tests expect exactly one.
    #[error("{KUBECONFIG_VAR} lists several files ({0}); the tests need exactly one")]
    SeveralFiles(String),
    /// `WINDLASS_REQUIRE_K8S` has a value that is neither a yes nor a no.
    #[error("{REQUIRE_VAR} must be 1/true or 0/false, got {0:?}")]
    BadRequireValue(String),
}

/// Reads [`KUBECONFIG_VAR`] and [`REQUIRE_VAR`] from the process environment
/// and decides as [`decide`] does.
pub fn kubeconfig_from_env() -> Result<Option<PathBuf>, TestEnvError> {
    let kubeconfig = std::env::var_os(KUBECONFIG_VAR);
    let require = std::env::var_os(REQUIRE_VAR);
    decide(kubeconfig.as_deref(), require.as_deref(), |path| {
        path.is_file()
    })
}

/// Decides from the two variables' values whether tests run against a real
/// API server: `Ok(Some(path))` to run with that kubeconfig, `Ok(None)` to
/// skip, `Err` when the environment is required or misconfigured.
/// `exists` checks that a path is a file.
pub fn decide(
    kubeconfig: Option<&OsStr>,
    require: Option<&OsStr>,
    exists: impl Fn(&std::path::Path) -> bool,
) -> Result<Option<PathBuf>, TestEnvError> {
    let required = parse_require(require)?;
    let Some(kubeconfig) = kubeconfig.filter(|k| !k.is_empty()) else {
        return if required {
            Err(TestEnvError::Required)
        } else {
            Ok(None)
        };
    };
    let text = kubeconfig.to_string_lossy();
    if text.contains(':') {
        return Err(TestEnvError::SeveralFiles(text.into_owned()));
    }
    let path = PathBuf::from(kubeconfig);
    if exists(&path) {
        Ok(Some(path))
    } else {
        Err(TestEnvError::Missing(path))
    }
}

/// Reads [`REQUIRE_VAR`]: whether a missing test environment is an error.
pub fn required_from_env() -> Result<bool, TestEnvError> {
    parse_require(std::env::var_os(REQUIRE_VAR).as_deref())
}

/// Parses a [`REQUIRE_VAR`] value: unset, empty, `0` or `false` mean no;
/// `1` or `true` mean yes.
pub fn parse_require(value: Option<&OsStr>) -> Result<bool, TestEnvError> {
    match value.map(|v| v.to_string_lossy().trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v.is_empty() || v == "0" || v == "false" => Ok(false),
        Some(v) if v == "1" || v == "true" => Ok(true),
        Some(v) => Err(TestEnvError::BadRequireValue(v)),
    }
}

/// Whether an API server URL (`https://host:port/...`) points at this
/// machine's loopback interface. Tests create and delete cluster-wide objects,
/// so they only ever run against a loopback server, never against whatever
/// cluster a developer's `KUBECONFIG` happens to name.
pub fn server_is_loopback(server: &str) -> bool {
    let Some((_, rest)) = server.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn yes(_: &Path) -> bool {
        true
    }

    fn no(_: &Path) -> bool {
        false
    }

    #[test]
    fn skips_when_nothing_is_set() {
        assert_eq!(decide(None, None, yes), Ok(None));
        assert_eq!(
            decide(Some(OsStr::new("")), Some(OsStr::new("0")), yes),
            Ok(None)
        );
    }

    #[test]
    fn missing_kubeconfig_fails_when_required() {
        assert_eq!(
            decide(None, Some(OsStr::new("1")), yes),
            Err(TestEnvError::Required)
        );
        assert_eq!(
            decide(Some(OsStr::new("")), Some(OsStr::new("true")), yes),
            Err(TestEnvError::Required)
        );
    }

    #[test]
    fn uses_an_existing_kubeconfig() {
        assert_eq!(
            decide(Some(OsStr::new("/tmp/k/kubeconfig")), None, yes),
            Ok(Some(PathBuf::from("/tmp/k/kubeconfig")))
        );
    }

    #[test]
    fn a_kubeconfig_that_does_not_exist_is_an_error_even_when_optional() {
        assert_eq!(
            decide(Some(OsStr::new("/nope")), None, no),
            Err(TestEnvError::Missing(PathBuf::from("/nope")))
        );
    }

    #[test]
    fn several_files_are_rejected() {
        assert!(matches!(
            decide(Some(OsStr::new("/a:/b")), None, yes),
            Err(TestEnvError::SeveralFiles(_))
        ));
    }

    #[test]
    fn loopback_servers_are_recognised() {
        assert!(server_is_loopback("https://127.0.0.1:6443"));
        assert!(server_is_loopback("https://127.0.0.2:6443/"));
        assert!(server_is_loopback("https://localhost:6443"));
        assert!(server_is_loopback("https://[::1]:6443"));
        assert!(!server_is_loopback("https://10.0.0.1:6443"));
        assert!(!server_is_loopback("https://kube.example.com"));
        assert!(!server_is_loopback("https://127.0.0.1.example.com:443"));
        assert!(!server_is_loopback("127.0.0.1:6443"));
    }

    #[test]
    fn a_bad_require_value_is_rejected() {
        assert_eq!(
            decide(None, Some(OsStr::new("maybe")), yes),
            Err(TestEnvError::BadRequireValue("maybe".to_owned()))
        );
    }
}
