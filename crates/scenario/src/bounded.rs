//! Reading a user-named file with a size limit: the one reader behind every
//! BPMN document, `--input @FILE` and scenario file the CLI and the
//! scenario harness read, so that a huge file or an endless stream
//! (`/dev/zero`) fails fast with an error naming the file and the limit
//! instead of reading until memory runs out.
//!
//! A regular file whose size is already over the limit is refused before
//! any byte is read; anything else (a pipe, a device, a file that grows) is
//! read through [`std::io::Read::take`] of the limit plus one byte, so no
//! more than that is ever read.

use crate::limits::MAX_SCENARIO_BYTES;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// One mebibyte.
const MIB: u64 = 1024 * 1024;

/// A size limit for one kind of file: the most bytes read, and what the
/// files are called in the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimit {
    /// The largest size accepted, in bytes.
    pub bytes: u64,
    /// What the files are, plural ("BPMN documents").
    pub what: &'static str,
}

/// The largest BPMN document read (`validate`, `inspect`, `run`, `test`,
/// `bench`): 64 MiB.
pub const BPMN_DOCUMENT: FileLimit = FileLimit {
    bytes: 64 * MIB,
    what: "BPMN documents",
};

/// The largest `--input @FILE` read: 64 MiB (the value limits of
/// `windlass_types::limits` apply to its content afterwards).
pub const INPUT_FILE: FileLimit = FileLimit {
    bytes: 64 * MIB,
    what: "input files",
};

/// The largest scenario file read: [`MAX_SCENARIO_BYTES`] (16 MiB).
pub const SCENARIO_FILE: FileLimit = FileLimit {
    bytes: MAX_SCENARIO_BYTES,
    what: "scenario files",
};

/// A file that could not be read within its limit.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The operating system refused or failed the read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file (or stream) holds more than the limit.
    #[error("{} is larger than {}, the limit for {}", path.display(), Size(limit.bytes), limit.what)]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit it exceeds.
        limit: FileLimit,
    },
}

/// Reads all of `path`, refusing more than `limit.bytes` bytes. Reads at
/// most `limit.bytes + 1` bytes, whatever the file is.
pub fn read_bounded(path: &Path, limit: FileLimit) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let too_large = || ReadError::TooLarge {
        path: path.to_path_buf(),
        limit,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    // A regular file's size is known: refuse it unread, or read it into a
    // buffer of that size. For a stream, reserve the whole limit at once
    // (pages are only touched as they fill), which keeps the peak at the
    // limit instead of the doubling growth's one and a half times.
    let expected = match file.metadata() {
        Ok(meta) if meta.is_file() => {
            if meta.len() > limit.bytes {
                return Err(too_large());
            }
            meta.len()
        }
        _ => limit.bytes.saturating_add(1),
    };
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    file.take(limit.bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit.bytes {
        return Err(too_large());
    }
    Ok(bytes)
}

/// [`read_bounded`], then the bytes as UTF-8 text (an [`ReadError::Io`] of
/// kind `InvalidData` when they are not).
pub fn read_text_bounded(path: &Path, limit: FileLimit) -> Result<String, ReadError> {
    let bytes = read_bounded(path, limit)?;
    String::from_utf8(bytes).map_err(|_| ReadError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ),
    })
}

/// A byte count for people: whole MiB or KiB when it is one, else bytes.
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n >= MIB && n.is_multiple_of(MIB) {
            write!(f, "{} MiB", n / MIB)
        } else if n >= 1024 && n.is_multiple_of(1024) {
            write!(f, "{} KiB", n / 1024)
        } else {
            write!(f, "{n} bytes")
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TEN: FileLimit = FileLimit {
        bytes: 10,
        what: "test files",
    };

    #[test]
    fn a_file_at_the_limit_is_read_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("at");
        std::fs::write(&at, b"0123456789").unwrap();
        assert_eq!(read_bounded(&at, TEN).unwrap(), b"0123456789");
        let under = dir.path().join("under");
        std::fs::write(&under, b"012345678").unwrap();
        assert_eq!(read_text_bounded(&under, TEN).unwrap(), "012345678");
        let over = dir.path().join("over");
        std::fs::write(&over, b"0123456789A").unwrap();
        let e = read_bounded(&over, TEN).unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { limit: TEN, .. }), "{e}");
        assert_eq!(
            e.to_string(),
            format!(
                "{} is larger than 10 bytes, the limit for test files",
                over.display()
            )
        );
    }

    #[test]
    fn an_endless_stream_stops_at_the_limit() {
        // /dev/zero is not a regular file: only the take(limit + 1) stops it.
        let e = read_bounded(Path::new("/dev/zero"), TEN).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/dev/zero is larger than 10 bytes, the limit for test files"
        );
        // A pipe that carries exactly the limit is read whole.
        let mut child = std::process::Command::new("printf")
            .arg("0123456789")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        use std::os::fd::AsRawFd as _;
        let fd = format!("/dev/fd/{}", stdout.as_raw_fd());
        assert_eq!(read_bounded(Path::new(&fd), TEN).unwrap(), b"0123456789");
        child.wait().unwrap();
    }

    #[test]
    fn missing_files_folders_and_bad_text_are_io_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.bpmn");
        let e = read_bounded(&missing, BPMN_DOCUMENT).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("cannot read {}: ", missing.display())),
            "{e}"
        );
        let e = read_bounded(dir.path(), BPMN_DOCUMENT).unwrap_err();
        assert!(matches!(e, ReadError::Io { .. }), "{e}");
        let latin = dir.path().join("latin1");
        std::fs::write(&latin, b"caf\xe9").unwrap();
        let e = read_text_bounded(&latin, TEN).unwrap_err();
        assert!(e.to_string().contains("valid UTF-8"), "{e}");
    }

    #[test]
    fn limits_are_shown_in_whole_units() {
        assert_eq!(Size(BPMN_DOCUMENT.bytes).to_string(), "64 MiB");
        assert_eq!(Size(SCENARIO_FILE.bytes).to_string(), "16 MiB");
        assert_eq!(Size(2048).to_string(), "2 KiB");
        assert_eq!(Size(1000).to_string(), "1000 bytes");
    }
}
