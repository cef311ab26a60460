//! Several BPMN files deployed together (`windlass run A.bpmn B.bpmn`, a
//! folder, or a scenario's `deploy:` list): call activities find their
//! callees among all of them. A folder stands for its `*.bpmn` files in
//! name order (not its sub-folders). The process to run is the one named
//! (looked for in each file, in order) or the first executable process of
//! the first file.

use crate::load::{LoadError, Loaded, load_document, prepare};
use std::path::PathBuf;
use windlass_model::Definitions;

/// The files of one deployment, loaded.
#[derive(Debug, Clone)]
pub struct LoadedSet {
    /// The process to run and its document (the others in its
    /// [`Loaded::deployed_with`]).
    pub main: Loaded,
    /// The file of `main`.
    pub main_path: PathBuf,
    /// Every other document, in the order given.
    pub others: Vec<(PathBuf, Definitions)>,
}

impl LoadedSet {
    /// Every document, `main`'s first: what a resolver searches.
    pub fn documents(&self) -> Vec<Definitions> {
        self.main.documents()
    }
}

/// Loads the documents `paths` stand for (files, folders), in order.
pub fn load_documents(paths: &[PathBuf]) -> Result<Vec<Definitions>, LoadError> {
    expand(paths)?.iter().map(|f| load_document(f)).collect()
}

/// The files `paths` stand for: each file as it is, each folder as its
/// `*.bpmn` files in name order.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let read = |e: std::io::Error| LoadError::Read {
            path: p.display().to_string(),
            detail: e.to_string(),
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(read)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "bpmn"))
            .collect();
        if files.is_empty() {
            return Err(LoadError::NoProcess {
                path: p.display().to_string(),
                detail: "the folder holds no .bpmn file".into(),
            });
        }
        files.sort();
        out.extend(files);
    }
    Ok(out)
}

/// Loads the files `paths` stand for and prepares the process to run:
/// `process_id` from the first file that has it, else the first executable
/// process of the first file.
pub fn load_set(paths: &[PathBuf], process_id: Option<&str>) -> Result<LoadedSet, LoadError> {
    let files = expand(paths)?;
    let mut docs = Vec::with_capacity(files.len());
    for f in &files {
        docs.push((f.clone(), load_document(f)?));
    }
    let at = match process_id {
        Some(id) => docs
            .iter()
            .position(|(_, d)| d.process(id).is_some())
            .unwrap_or(0),
        None => 0,
    };
    if docs.is_empty() {
        return Err(LoadError::NoProcess {
            path: String::new(),
            detail: "no file given".into(),
        });
    }
    let (main_path, main_doc) = docs.remove(at);
    let mut main = prepare(main_doc, process_id, &main_path)?;
    main.deployed_with = docs.iter().map(|(_, d)| d.clone()).collect();
    Ok(LoadedSet {
        main,
        main_path,
        others: docs,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::path::Path;

    fn write(dir: &Path, name: &str, process: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(
            &p,
            format!(
                r#"<?xml version="1.0"?><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"><process id="{process}" isExecutable="true"><startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="e"/><endEvent id="e"/></process></definitions>"#
            ),
        )
        .unwrap();
        p
    }

    #[test]
    fn a_folder_stands_for_its_bpmn_files_and_the_named_process_is_found_in_any() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "b.bpmn", "second");
        write(dir.path(), "a.bpmn", "first");
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let set = load_set(&[dir.path().to_path_buf()], None).unwrap();
        assert_eq!(set.main.graph.id, "first");
        assert_eq!(set.others.len(), 1);
        let set = load_set(&[dir.path().to_path_buf()], Some("second")).unwrap();
        assert_eq!(set.main.graph.id, "second");
        assert!(set.main_path.ends_with("b.bpmn"));
        assert_eq!(set.documents().len(), 2);
        let empty = tempfile::tempdir().unwrap();
        let e = load_set(&[empty.path().to_path_buf()], None).unwrap_err();
        assert!(e.to_string().contains("no .bpmn file"), "{e}");
    }
}
