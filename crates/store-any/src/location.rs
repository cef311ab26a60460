//! Where a `--db` value (or `WINDLASS_DB`) points: a SQLite file, or a
//! PostgreSQL database named by a `postgres://` / `postgresql://` URL.

use std::path::{Path, PathBuf};

/// The environment variable naming the database when `--db` is not given.
pub const DB_ENV: &str = "WINDLASS_DB";

/// A database location.
#[derive(Clone, PartialEq, Eq)]
pub enum DbLocation {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl std::fmt::Debug for DbLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DbLocation({self})")
    }
}

impl DbLocation {
    /// Reads a `--db` value: a `postgres://` or `postgresql://` URL names
    /// PostgreSQL, anything else is a SQLite file path.
    pub fn parse(value: impl AsRef<Path>) -> DbLocation {
        let path = value.as_ref();
        match path.to_str() {
            Some(s) if is_postgres_url(s) => DbLocation::Postgres(s.to_string()),
            _ => DbLocation::Sqlite(path.to_path_buf()),
        }
    }

    /// `--db` if given, else `WINDLASS_DB` if set, else the SQLite file
    /// `default` in the working directory.
    pub fn from_arg_or_env(db: Option<&Path>, default: &str) -> DbLocation {
        match db {
            Some(db) => DbLocation::parse(db),
            None => match std::env::var_os(DB_ENV) {
                Some(v) if !v.is_empty() => DbLocation::parse(PathBuf::from(v)),
                _ => DbLocation::Sqlite(PathBuf::from(default)),
            },
        }
    }

    /// The SQLite file, if this is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            DbLocation::Sqlite(p) => Some(p),
            DbLocation::Postgres(_) => None,
        }
    }
}

/// Shown to people: the file's path, or the URL without its password.
impl std::fmt::Display for DbLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbLocation::Sqlite(p) => write!(f, "{}", p.display()),
            DbLocation::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// `url` with the password of its user part replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{scheme}://{name}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_postgres_and_everything_else_is_a_file() {
        assert_eq!(
            DbLocation::parse("postgres://u@h/db"),
            DbLocation::Postgres("postgres://u@h/db".into())
        );
        assert!(matches!(
            DbLocation::parse("postgresql://h/db"),
            DbLocation::Postgres(_)
        ));
        assert_eq!(
            DbLocation::parse("state/w.db"),
            DbLocation::Sqlite("state/w.db".into())
        );
        // A file that merely contains the word is a file.
        assert!(matches!(
            DbLocation::parse("postgres.db"),
            DbLocation::Sqlite(_)
        ));
    }

    #[test]
    fn passwords_are_not_shown() {
        let loc = DbLocation::parse("postgres://me:s3cret@db:5432/w?sslmode=disable");
        assert_eq!(
            loc.to_string(),
            "postgres://me:***@db:5432/w?sslmode=disable"
        );
        assert!(!format!("{loc:?}").contains("s3cret"));
        let plain = DbLocation::parse("postgres://me@db/w");
        assert_eq!(plain.to_string(), "postgres://me@db/w");
    }
}
