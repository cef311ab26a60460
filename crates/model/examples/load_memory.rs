//! Heap held by a compiled definition versus the length of its XML.
//!
//! Run: `cargo run --release -p windlass-model --example load_memory [FILE]`.
//!
//! With FILE it measures that file and exits 1 when its compiled graphs use
//! as much heap as the XML text or more. Without FILE it measures two ~1 MB
//! documents: the modeler document (a real modeler file from the corpus
//! repeated, diagram included, as modelers write them), which is the target
//! document and decides the exit code, and the generated stress document
//! (every task with a name template, documentation, a `windlass:task` with a
//! templated setting and a conditional flow, and a thin diagram), whose ratio
//! is reported beside it.

#[path = "../benches/support/generated.rs"]
mod generated;
#[path = "../benches/support/heap.rs"]
mod heap;
#[path = "../benches/support/modeler.rs"]
mod modeler;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Measures and prints one document; true when the graphs are smaller than
/// the XML.
fn report(label: &str, xml: &str) -> anyhow::Result<bool> {
    let h = heap::measure(xml).map_err(anyhow::Error::msg)?;
    let ratio = h.graph_bytes as f64 / h.xml_bytes as f64;
    println!("document:        {label}");
    println!("nodes / flows:   {} / {}", h.nodes, h.flows);
    println!("XML text:        {} bytes", h.xml_bytes);
    println!(
        "compiled graphs: {} bytes live in {} heap blocks",
        h.graph_bytes, h.graph_blocks
    );
    println!("graph / XML:     {ratio:.2}\n");
    Ok(h.graph_bytes < h.xml_bytes)
}

fn main() -> anyhow::Result<()> {
    let _profiler = dhat::Profiler::builder().testing().build();
    if let Some(path) = std::env::args().nth(1) {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))?;
        if !report(&path, &text)? {
            anyhow::bail!("the compiled graphs use more heap than the XML text");
        }
        return Ok(());
    }
    let Some((label, xml)) = modeler::modeler_document(1_000_000).map_err(anyhow::Error::msg)?
    else {
        anyhow::bail!("the corpus file for the modeler document is absent (set WINDLASS_CORPUS)");
    };
    let modeler_ok = report(&label, &xml)?;
    let stress_ok = report(
        "generated(2000), stress document",
        &generated::generated(2000),
    )?;
    if !stress_ok {
        println!(
            "note: the stress document's graphs use more heap than its XML (see BENCHMARKS.md)"
        );
    }
    if !modeler_ok {
        anyhow::bail!("the modeler document's compiled graphs use more heap than its XML text");
    }
    Ok(())
}
