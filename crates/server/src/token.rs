//! The token file of `--token-file`: read when it exists, else created with
//! a fresh random token and mode 0600 (only its owner can read it).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// Why the token file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    /// Reading or creating the file failed.
    #[error("token file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file exists but holds no token.
    #[error("token file {0}: it is empty (write a token into it, or delete it for a new one)")]
    Empty(PathBuf),
}

/// A token read from or written to the file.
#[derive(Debug)]
pub struct TokenFile {
    /// The token text.
    pub token: String,
    /// True when the file was created now.
    pub created: bool,
}

/// A new random token: the random bits of two UUIDv4s (244 bits from a
/// cryptographically secure generator seeded by the operating system) as
/// 64 hex digits, safe in a header and a shell.
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Reads the token from `path`, or creates the file (mode 0600, never
/// overwriting one made meanwhile) with a random token.
pub fn read_or_create(path: &Path) -> Result<TokenFile, TokenFileError> {
    let io = |source| TokenFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let token = text.trim().to_string();
            if token.is_empty() {
                return Err(TokenFileError::Empty(path.to_path_buf()));
            }
            return Ok(TokenFile {
                token,
                created: false,
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let token = random_token();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    writeln!(file, "{token}").map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(TokenFile {
        token,
        created: true,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_missing_file_gets_a_private_random_token_then_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let made = read_or_create(&path).unwrap();
        assert!(made.created);
        assert_eq!(made.token.len(), 64);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = read_or_create(&path).unwrap();
        assert!(!again.created);
        assert_eq!(again.token, made.token);
        assert_ne!(random_token(), random_token());
    }

    #[test]
    fn an_empty_file_is_an_error_not_an_empty_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(
            read_or_create(&path),
            Err(TokenFileError::Empty(_))
        ));
        let missing_dir = dir.path().join("no/such/dir/token");
        assert!(matches!(
            read_or_create(&missing_dir),
            Err(TokenFileError::Io { .. })
        ));
    }
}
