//! One writer per database: a writing store holds an exclusive OS advisory
//! lock on a sidecar file `<db>-lock` for as long as it is open. The OS
//! releases the lock when the process exits, however it exits (a crash or
//! kill -9 included), so a lock is never left behind. The holder writes who
//! it is (pid, host, since) into the file, so a second writer is refused
//! with an error naming the holder ([`StoreError::InUse`]). Readers take no
//! lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use windlass_store_api::{StoreError, StoreResult};

/// How often a waiting writer tries the lock again.
const POLL: Duration = Duration::from_millis(50);

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub(crate) struct WriterLock {
    file: File,
}

impl WriterLock {
    /// The sidecar lock file of the database at `db`.
    pub(crate) fn path_for(db: &Path) -> PathBuf {
        let mut name = db.as_os_str().to_owned();
        name.push("-lock");
        PathBuf::from(name)
    }

    /// Takes the lock of the database at `db`, trying again for up to
    /// `wait` while another process holds it.
    pub(crate) fn acquire(db: &Path, wait: Duration, shown: &str) -> StoreResult<Self> {
        let path = Self::path_for(db);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| open_error(&e, &path, shown))?;
        // No deadline when `wait` is too long to represent: wait on.
        let deadline = Instant::now().checked_add(wait);
        // A holder writes its name just after it takes the lock and empties
        // the file just before it lets go: an empty file means "try again
        // in a moment", for a short while, before saying who holds it.
        let mut unnamed_tries = 0;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if deadline.is_none_or(|d| Instant::now() < d) => {
                    std::thread::sleep(POLL);
                }
                Err(TryLockError::WouldBlock) => match read_holder(&mut file) {
                    None if unnamed_tries < 50 => {
                        unnamed_tries += 1;
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    holder => {
                        return Err(StoreError::InUse {
                            path: shown.to_string(),
                            holder: holder.unwrap_or_else(|| {
                                "another process (it has not written its pid into the lock \
                                 file)"
                                    .to_string()
                            }),
                        });
                    }
                },
                Err(TryLockError::Error(e)) => {
                    return Err(StoreError::Backend(format!(
                        "cannot lock {} (the lock file of database {shown}): {e}",
                        path.display()
                    )));
                }
            }
        }
        write_holder(&mut file).map_err(|e| {
            StoreError::Backend(format!(
                "cannot write the lock file {} of database {shown}: {e}",
                path.display()
            ))
        })?;
        Ok(Self { file })
    }
}

/// Why the lock file could not be opened: a read-only place is
/// [`StoreError::ReadOnly`] (nothing can be written there), anything else a
/// failed open.
fn open_error(e: &std::io::Error, lock: &Path, shown: &str) -> StoreError {
    use std::io::ErrorKind;
    let what = format!(
        "cannot create the writer lock file {} of database {shown}: {e}",
        lock.display()
    );
    match e.kind() {
        ErrorKind::ReadOnlyFilesystem | ErrorKind::PermissionDenied => StoreError::ReadOnly(what),
        _ => StoreError::Backend(format!(
            "cannot open database {shown}: {what} (does the directory exist and is it writable?)"
        )),
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // Leave no stale holder text behind; the OS drops the lock with the
        // file handle anyway.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// This process, as the lock file names it.
fn holder_text() -> String {
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!(
        "pid {} on host {} since {since}",
        std::process::id(),
        host_name()
    )
}

/// Writes the holder text over whatever is there, then cuts the file to
/// it, so a reader never sees an empty file in between.
fn write_holder(file: &mut File) -> std::io::Result<()> {
    let text = holder_text();
    file.seek(SeekFrom::Start(0))?;
    file.write_all(text.as_bytes())?;
    file.set_len(text.len() as u64)?;
    file.flush()
}

/// What the holder wrote, if anything yet.
fn read_holder(file: &mut File) -> Option<String> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.take(1024).read_to_string(&mut text))
        .ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The host name, read where the OS publishes it.
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| {
            std::fs::read_to_string(p)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "(unknown host)".to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_free_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let first = WriterLock::acquire(&db, Duration::ZERO, "x.db").unwrap();
        let err = WriterLock::acquire(&db, Duration::from_millis(120), "x.db").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(
            text.contains("on host ") && text.contains(" since "),
            "{text}"
        );
        drop(first);
        let again = WriterLock::acquire(&db, Duration::ZERO, "x.db").unwrap();
        drop(again);
        assert_eq!(std::fs::read(WriterLock::path_for(&db)).unwrap(), b"");
    }

    #[test]
    fn a_waiting_writer_gets_the_lock_once_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("w.db");
        let first = WriterLock::acquire(&db, Duration::ZERO, "w.db").unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(first);
        });
        let second = WriterLock::acquire(&db, Duration::from_secs(10), "w.db");
        releaser.join().unwrap();
        assert!(second.is_ok(), "{second:?}");
    }
}
