//! A ~1 MB document as a modeler writes it, for the `load` bench: a real
//! modeler file from the conformance corpus, its content repeated inside one
//! `definitions` element with every id (and every reference to one) made
//! unique per copy.

#![allow(
    clippy::disallowed_types,
    reason = "bench input builder: the id set is only looked up, never iterated"
)]

use std::collections::HashSet;
use std::path::PathBuf;

/// The corpus file repeated: a Trisotech export from the BPMN MIWG test
/// suite (collaboration, data stores, gateways, diagram), which loads.
const FILE: &str = "miwg/C.5.0.bpmn";

/// The corpus directory: `$WINDLASS_CORPUS`, else `shared/corpus` next to
/// the workspace.
fn corpus_dir() -> PathBuf {
    match std::env::var_os("WINDLASS_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
    }
}

/// The document, at least `target_bytes` long, and a label naming its
/// source; `Ok(None)` when the corpus file is absent.
pub fn modeler_document(target_bytes: usize) -> Result<Option<(String, String)>, String> {
    let path = corpus_dir().join(FILE);
    let xml = match std::fs::read_to_string(&path) {
        Ok(x) => x,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let doc = repeat(&xml, target_bytes)?;
    Ok(Some((format!("{FILE} repeated"), doc)))
}

/// `xml` with the content of its root element repeated until the document
/// is at least `target_bytes` long; copy `k > 0` has `_k{k}` appended to
/// every id and every whole-token use of one.
pub fn repeat(xml: &str, target_bytes: usize) -> Result<String, String> {
    let root = xml
        .find(":definitions ")
        .or_else(|| xml.find("<definitions "))
        .ok_or("no <definitions> start tag")?;
    let head_end = root + xml[root..].find('>').ok_or("unterminated root tag")? + 1;
    let tail_start = xml.rfind("</").ok_or("no root end tag")?;
    let (head, body, tail) = (
        &xml[..head_end],
        &xml[head_end..tail_start],
        &xml[tail_start..],
    );
    let ids = ids(body);
    if ids.is_empty() || body.is_empty() {
        return Err("the root element has no content with ids".into());
    }
    let copies = target_bytes.div_ceil(body.len()).max(1);
    let mut out = String::with_capacity(xml.len() * copies + copies * ids.len() * 8);
    out.push_str(head);
    for k in 0..copies {
        if k == 0 {
            out.push_str(body);
        } else {
            rename(body, &ids, &format!("_k{k}"), &mut out);
        }
    }
    out.push_str(tail);
    Ok(out)
}

/// Every `id="…"` value in `body`.
fn ids(body: &str) -> HashSet<&str> {
    body.match_indices(" id=\"")
        .filter_map(|(at, m)| {
            let rest = &body[at + m.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')
}

/// Appends `body` to `out` with `suffix` after each maximal run of name
/// characters that is one of `ids`.
fn rename(body: &str, ids: &HashSet<&str>, suffix: &str, out: &mut String) {
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if is_token_byte(bytes[i]) {
            let start = i;
            while i < bytes.len() && is_token_byte(bytes[i]) {
                i += 1;
            }
            let token = &body[start..i];
            out.push_str(token);
            if ids.contains(token) {
                out.push_str(suffix);
            }
        } else {
            let start = i;
            while i < bytes.len() && !is_token_byte(bytes[i]) {
                i += 1;
            }
            out.push_str(&body[start..i]);
        }
    }
}
