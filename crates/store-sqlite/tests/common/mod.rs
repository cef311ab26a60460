//! Helpers shared by the SQLite integration tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use windlass_store_api::conformance::{events, iref, row, update};
use windlass_store_api::{Batch, InstanceStatus};

/// A batch creating instance `i` with 4 events and appending 2 more.
pub fn instance_batch(i: usize, payload: usize) -> Batch {
    let id = format!("inst-{i:06}");
    let mut b = Batch::new();
    let mut evs = events(&id, 4);
    evs[0].resize(payload, b'x');
    b.create(row(&id, "d:1", i as i64), evs);
    b.append(
        iref(&id),
        4,
        events(&id, 2),
        update(InstanceStatus::Completed, i as i64 + 1),
    );
    b
}

/// A file system mounted for a test, unmounted on drop.
pub struct Mount {
    pub path: PathBuf,
}

impl Mount {
    /// Runs `mount` with `args` onto `target`; `None` if this machine does
    /// not allow it (not root, no mount privilege), with the reason printed.
    pub fn new(args: &[&str], target: &Path) -> Option<Mount> {
        std::fs::create_dir_all(target).unwrap();
        let out = Command::new("mount").args(args).arg(target).output();
        match out {
            Ok(o) if o.status.success() => Some(Mount {
                path: target.to_path_buf(),
            }),
            Ok(o) => {
                eprintln!("cannot mount here: {}", String::from_utf8_lossy(&o.stderr));
                None
            }
            Err(e) => {
                eprintln!("cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// True when the tests run as root (needed for mounts).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
