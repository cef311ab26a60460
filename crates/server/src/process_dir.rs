//! `--processes DIR`: every BPMN file under the folder (`*.bpmn`,
//! `*.bpmn20.xml`, recursively) is deployed at start and again whenever it
//! changes. A file with errors is reported with the diagnostics
//! `windlass validate` prints, and skipped; the others deploy.
//!
//! Changes are found by polling (size and modification time, every
//! `interval`) rather than by inotify: polling sees changes on every file
//! system, including Kubernetes ConfigMap mounts that swap a symlink, and a
//! folder of process files is small. Deploying is idempotent per content,
//! so a touched but unchanged file deploys nothing new.

use crate::state::ServerStore;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use windlass_engine::plan::diagnostics::document_diagnostics;
use windlass_model::Severity;
use windlass_runtime::{RuntimeError, RuntimeHandle};

/// The largest BPMN file read (as `windlass validate`).
pub const MAX_FILE: u64 = 16 << 20;

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    /// Deployed: `(process id, version)` of each process.
    Deployed(Vec<(String, u32)>),
    /// Refused: the lines that say why.
    Refused(Vec<String>),
}

/// The BPMN files under `dir`, sorted, with their size and modification
/// time.
fn scan(dir: &Path) -> std::io::Result<BTreeMap<PathBuf, (u64, Option<SystemTime>)>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            // `metadata` follows symlinks (ConfigMap mounts link to files).
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
            } else if is_bpmn(&path) {
                out.insert(path, (meta.len(), meta.modified().ok()));
            }
        }
    }
    Ok(out)
}

fn is_bpmn(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".bpmn") || name.ends_with(".bpmn20.xml")
}

/// Reads, checks and deploys one file.
pub async fn deploy_file(rt: &RuntimeHandle<ServerStore>, path: &Path) -> FileOutcome {
    let shown = path.display().to_string();
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return FileOutcome::Refused(vec![format!("{shown}: cannot read: {e}")]);
    }
    match deploy_document(rt, &shown, &bytes).await {
        Ok(outcome) => outcome,
        Err(e) => FileOutcome::Refused(vec![format!("{shown}: {e}")]),
    }
}

/// Checks and deploys one BPMN document; `shown` names it in the lines of
/// a refusal. `Err`: the runtime could not deploy it for a reason other
/// than the document (the database failed): worth trying again.
pub async fn deploy_document(
    rt: &RuntimeHandle<ServerStore>,
    shown: &str,
    bytes: &[u8],
) -> Result<FileOutcome, RuntimeError> {
    if bytes.len() as u64 > MAX_FILE {
        return Ok(FileOutcome::Refused(vec![format!(
            "{shown}: larger than {MAX_FILE} bytes"
        )]));
    }
    let diagnostics = document_diagnostics(bytes);
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        return Ok(FileOutcome::Refused(
            diagnostics.iter().map(|d| format!("{shown}:{d}")).collect(),
        ));
    }
    let Ok(xml) = std::str::from_utf8(bytes) else {
        return Ok(FileOutcome::Refused(vec![format!("{shown}: not UTF-8")]));
    };
    match rt.deploy(xml).await {
        Ok(dep) => Ok(FileOutcome::Deployed(
            dep.processes.into_iter().map(|(p, _, v)| (p, v)).collect(),
        )),
        Err(e @ RuntimeError::Store(_)) => Err(e),
        Err(e) => Ok(FileOutcome::Refused(vec![format!("{shown}: {e}")])),
    }
}

/// Deploys every BPMN file under `dir` now (the caller reports the
/// outcomes).
pub async fn deploy_all(
    rt: &RuntimeHandle<ServerStore>,
    dir: &Path,
) -> std::io::Result<Vec<(PathBuf, FileOutcome)>> {
    let mut out = Vec::new();
    for path in scan(dir)?.into_keys() {
        let outcome = deploy_file(rt, &path).await;
        out.push((path, outcome));
    }
    Ok(out)
}

fn log(path: &Path, outcome: &FileOutcome) {
    match outcome {
        FileOutcome::Deployed(list) => {
            for (process, version) in list {
                tracing::info!(file = %path.display(), process, version, "deployed");
            }
        }
        FileOutcome::Refused(lines) => {
            for line in lines {
                tracing::error!(file = %path.display(), "not deployed: {line}");
            }
        }
    }
}

/// The watcher task: polls `dir` every `interval` and deploys what changed.
#[derive(Debug)]
pub struct ProcessDirWatch {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl ProcessDirWatch {
    /// Starts watching `dir`, taking its current contents as deployed.
    pub fn start(rt: RuntimeHandle<ServerStore>, dir: PathBuf, interval: Duration) -> Self {
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            let mut seen = scan(&dir).unwrap_or_default();
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(interval) => {}
                }
                let now = match scan(&dir) {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(dir = %dir.display(), "cannot read the processes folder: {e}");
                        continue;
                    }
                };
                for (path, stamp) in &now {
                    if seen.get(path) != Some(stamp) {
                        log(path, &deploy_file(&rt, path).await);
                    }
                }
                seen = now;
            }
        });
        Self { cancel, task }
    }

    /// Stops watching.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scans_bpmn_files_recursively_and_skips_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a.bpmn"), "x").unwrap();
        std::fs::write(dir.path().join("sub/b.bpmn20.xml"), "y").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "z").unwrap();
        let found: Vec<PathBuf> = scan(dir.path()).unwrap().into_keys().collect();
        assert_eq!(
            found,
            [
                dir.path().join("a.bpmn"),
                dir.path().join("sub/b.bpmn20.xml")
            ]
        );
    }
}
