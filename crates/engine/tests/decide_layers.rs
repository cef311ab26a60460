//! `src/decide/` is a dispatcher with leaves: only `mod.rs` dispatches, and
//! no element module calls back into a sibling that (directly or through
//! others) calls it. Completions travel back through the step queue instead.
//! This test reads the sources and fails on any cycle between siblings.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn decide_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/decide")
}

/// Sibling module name → the siblings it names (`super::x` paths and
/// `use super::{.., x, ..}` lists).
fn sibling_calls() -> BTreeMap<String, BTreeSet<String>> {
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(decide_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.extension().is_some_and(|e| e == "rs") && name != "mod" && name != "tests" {
            modules.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(name, src)| {
            let code: String = src
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            // Names listed in `use super::{...};` (possibly over several lines).
            let mut listed = BTreeSet::new();
            let mut rest = code.as_str();
            while let Some(i) = rest.find("use super::{") {
                let after = &rest[i + "use super::{".len()..];
                let end = after.find("};").unwrap_or(after.len());
                listed.extend(after[..end].split(',').map(|p| p.trim().to_string()));
                rest = &after[end..];
            }
            let uses = names
                .iter()
                .filter(|other| *other != name)
                .filter(|other| {
                    listed.contains(*other)
                        || code.contains(&format!("super::{other}::"))
                        || code.contains(&format!("super::{other};"))
                })
                .cloned()
                .collect();
            (name.clone(), uses)
        })
        .collect()
}

/// A cycle in `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn decide_modules_call_only_downward() {
    let graph = sibling_calls();
    assert_eq!(find_cycle(&graph), None, "{graph:#?}");
    // The leaves the element modules build on exist and are seen.
    assert!(graph["task"].contains("job"), "{graph:#?}");
    assert!(graph["cancel"].contains("flow"), "{graph:#?}");
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let mut graph = sibling_calls();
    graph.get_mut("flow").unwrap().insert("cancel".into());
    assert!(find_cycle(&graph).is_some());
}
