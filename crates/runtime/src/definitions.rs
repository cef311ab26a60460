//! Deployed definitions: keys, deployment into the store, and the cache of
//! prepared [`Plan`]s (one per definition key, shared by every instance).
//!
//! A key is `{process id}:{16 hex digits of the FNV-1a hash of the XML}`,
//! so deploying the same document again is a no-op and every process of one
//! document can find its siblings (call activities) by computing their key.

use crate::error::{RuntimeError, RuntimeResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use windlass_engine::Plan;
use windlass_model::{Definitions, ProcessGraph};
use windlass_store_api::{Batch, DefinitionRow, Store};
use windlass_types::{Timestamp, normalize_whitespace};

/// One runnable process of a deployed document.
#[derive(Debug)]
pub struct ProcessDef {
    /// The definition key instances refer to.
    pub key: String,
    /// The BPMN process id.
    pub process_id: String,
    /// The prepared graph.
    pub plan: Plan,
    /// Per node: the unresolved, whitespace-normalised name template, for
    /// nodes whose name has placeholders (handler lookup).
    pub templates: Vec<Option<String>>,
    /// The content hash shared by every process of the document.
    pub hash: u64,
}

impl ProcessDef {
    /// The key of process `process_id` in the same document.
    pub fn sibling_key(&self, process_id: &str) -> String {
        definition_key(process_id, self.hash)
    }
}

/// What [`crate::RuntimeHandle::deploy`] deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// Every runnable process: (process id, definition key, version).
    pub processes: Vec<(String, String, u32)>,
    /// The key of the first executable process, if any.
    pub default_key: Option<String>,
}

/// FNV-1a, 64 bit, of the document's UTF-8 bytes: stable across builds and
/// platforms (the one FNV-1a of `windlass_types::partition`).
pub fn content_hash(source: &str) -> u64 {
    let mut h = windlass_types::partition::Fnv1a64::new();
    h.write(source.as_bytes());
    h.finish()
}

/// The definition key of `process_id` in a document with hash `hash`.
pub fn definition_key(process_id: &str, hash: u64) -> String {
    format!("{process_id}:{hash:016x}")
}

/// Loads a BPMN document, or says why it cannot be loaded.
pub fn load_document(xml: &str) -> RuntimeResult<Definitions> {
    let outcome = windlass_model::load(xml);
    match outcome.definitions {
        Some(d) => Ok(d),
        None => {
            let msgs: Vec<String> = outcome
                .diagnostics
                .iter()
                .filter(|d| d.severity == windlass_model::Severity::Error)
                .map(|d| d.to_string())
                .collect();
            Err(RuntimeError::InvalidDefinition(msgs.join("; ")))
        }
    }
}

fn prepare(graph: &Arc<ProcessGraph>, hash: u64) -> RuntimeResult<ProcessDef> {
    let plan = Plan::new(graph.clone()).map_err(|e| RuntimeError::Unrunnable {
        process: graph.id.clone(),
        reason: e.to_string(),
    })?;
    let templates = graph
        .nodes
        .iter()
        .map(|n| {
            n.name_template
                .as_ref()
                .and(n.name.as_deref())
                .map(normalize_whitespace)
        })
        .collect();
    Ok(ProcessDef {
        key: definition_key(&graph.id, hash),
        process_id: graph.id.clone(),
        plan,
        templates,
        hash,
    })
}

/// The cache of prepared definitions, shared by the handle and the shards.
#[derive(Debug, Default)]
pub struct DefinitionCache {
    by_key: Mutex<HashMap<String, Arc<ProcessDef>>>,
    /// process id → key of its latest deployed version.
    latest: Mutex<HashMap<String, (u32, String)>>,
}

impl DefinitionCache {
    /// The prepared definition with `key`, if cached.
    pub fn cached(&self, key: &str) -> Option<Arc<ProcessDef>> {
        self.by_key.lock().ok()?.get(key).cloned()
    }

    /// The key of the latest deployed version of `process_id` seen by this
    /// runtime (deployed or loaded).
    pub fn latest_key(&self, process_id: &str) -> Option<String> {
        Some(self.latest.lock().ok()?.get(process_id)?.1.clone())
    }

    /// Takes `latest` (read from the store) as the latest versions of their
    /// processes where they are newer than the ones known, without loading
    /// them (the next start or call loads the one it needs). Returns how
    /// many were newer.
    pub fn note_latest(&self, latest: &[windlass_store_api::LatestDefinition]) -> usize {
        let Ok(mut known) = self.latest.lock() else {
            return 0;
        };
        let mut newer = 0;
        for l in latest {
            let e = known
                .entry(l.process_id.clone())
                .or_insert((0, String::new()));
            if l.version > e.0 {
                *e = (l.version, l.key.clone());
                newer += 1;
            }
        }
        newer
    }

    fn insert(&self, def: ProcessDef, version: u32) -> Arc<ProcessDef> {
        let def = Arc::new(def);
        if let Ok(mut latest) = self.latest.lock() {
            let e = latest
                .entry(def.process_id.clone())
                .or_insert((version, def.key.clone()));
            if version >= e.0 {
                *e = (version, def.key.clone());
            }
        }
        if let Ok(mut m) = self.by_key.lock() {
            m.insert(def.key.clone(), def.clone());
        }
        def
    }

    /// The prepared definition with `key`, loading and compiling it from the
    /// store when it is not cached.
    pub async fn get_or_load<S: Store>(
        &self,
        key: &str,
        store: &S,
    ) -> RuntimeResult<Arc<ProcessDef>> {
        if let Some(d) = self.cached(key) {
            return Ok(d);
        }
        let row = store
            .definition(key)
            .await?
            .ok_or_else(|| RuntimeError::UnknownDefinition(key.to_string()))?;
        let defs = load_document(&row.source)?;
        let graph = defs
            .process(&row.process_id)
            .ok_or_else(|| RuntimeError::Corrupt {
                what: format!("definition {key}"),
                detail: format!("its source has no process '{}'", row.process_id),
            })?;
        let def = prepare(graph, content_hash(&row.source))?;
        Ok(self.insert(def, row.version))
    }

    /// The latest deployed version of `process_id`: the one this runtime
    /// knows as latest when it has it prepared, else the highest version in
    /// the store.
    pub async fn latest<S: Store>(
        &self,
        process_id: &str,
        store: &S,
    ) -> RuntimeResult<Arc<ProcessDef>> {
        if let Some(key) = self.latest_key(process_id) {
            return self.get_or_load(&key, store).await;
        }
        self.version_of(process_id, None, store).await
    }

    /// Version `version` of `process_id` (the highest when `None`), from
    /// the store's definitions.
    pub async fn version_of<S: Store>(
        &self,
        process_id: &str,
        version: Option<u32>,
        store: &S,
    ) -> RuntimeResult<Arc<ProcessDef>> {
        let row = store
            .definitions()
            .await?
            .into_iter()
            .filter(|r| r.process_id == process_id && version.is_none_or(|v| r.version == v))
            .max_by_key(|r| r.version)
            .ok_or_else(|| {
                RuntimeError::UnknownDefinition(match version {
                    Some(v) => format!("{process_id} version {v}"),
                    None => process_id.to_string(),
                })
            })?;
        self.get_or_load(&row.key, store).await
    }

    /// Deploys every runnable process of `xml` (idempotent per document).
    /// An executable process the engine cannot run fails the deployment,
    /// naming the element; non-executable ones that cannot run are skipped.
    /// `check` refuses a prepared process before anything is written (a
    /// node among others, `partitions.rs`).
    pub async fn deploy<S: Store>(
        &self,
        xml: &str,
        store: &S,
        now: Timestamp,
        check: impl Fn(&ProcessDef) -> RuntimeResult<()>,
    ) -> RuntimeResult<Deployment> {
        let defs = load_document(xml)?;
        let hash = content_hash(xml);
        let mut prepared = Vec::new();
        for graph in defs.processes() {
            windlass_types::limits::check_process_id(&graph.id)?;
            match prepare(graph, hash) {
                Ok(d) => {
                    check(&d)?;
                    prepared.push(d)
                }
                Err(e) if graph.is_executable => return Err(e),
                Err(_) => {}
            }
        }
        let existing = store.definitions().await?;
        let mut batch = Batch::new();
        let mut versions = Vec::new();
        for d in &prepared {
            let same = existing.iter().find(|r| r.key == d.key);
            let version = match same {
                Some(r) => r.version,
                None => {
                    let v = existing
                        .iter()
                        .filter(|r| r.process_id == d.process_id)
                        .map(|r| r.version)
                        .max()
                        .unwrap_or(0)
                        + 1;
                    batch.put_definition(DefinitionRow {
                        key: d.key.clone(),
                        process_id: d.process_id.clone(),
                        version: v,
                        source: xml.to_string(),
                        deployed_at: now,
                    });
                    v
                }
            };
            versions.push(version);
        }
        if !batch.is_empty() {
            store.commit(batch).await?;
        }
        let default_pid = defs.first_executable().map(|g| g.id.clone());
        let mut out = Deployment {
            processes: Vec::new(),
            default_key: None,
        };
        for (d, version) in prepared.into_iter().zip(versions) {
            if Some(&d.process_id) == default_pid.as_ref() {
                out.default_key = Some(d.key.clone());
            }
            out.processes
                .push((d.process_id.clone(), d.key.clone(), version));
            self.insert(d, version);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_content_addressed() {
        assert_eq!(content_hash(""), 0xcbf2_9ce4_8422_2325);
        let a = definition_key("p", content_hash("<a/>"));
        assert_eq!(a, definition_key("p", content_hash("<a/>")));
        assert_ne!(a, definition_key("p", content_hash("<b/>")));
        assert!(a.starts_with("p:"));
        assert_eq!(a.len(), 2 + 16);
    }
}
