//! Heap held by a compiled definition versus the length of its XML.
//!
//! Run: `cargo run --release -p windlass-model --example load_memory [FILE]`.
//! Without FILE it measures the generated ~1 MB benchmark document. Exits 1
//! when the compiled graphs use as much heap as the XML text or more.

#[path = "../benches/support/generated.rs"]
mod generated;
#[path = "../benches/support/heap.rs"]
mod heap;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() -> anyhow::Result<()> {
    let _profiler = dhat::Profiler::builder().testing().build();
    let (label, xml) = match std::env::args().nth(1) {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))?;
            (path, text)
        }
        None => ("generated(2000)".to_string(), generated::generated(2000)),
    };
    let h = heap::measure(&xml).map_err(anyhow::Error::msg)?;
    let ratio = h.graph_bytes as f64 / h.xml_bytes as f64;
    println!("document:        {label}");
    println!("nodes / flows:   {} / {}", h.nodes, h.flows);
    println!("XML text:        {} bytes", h.xml_bytes);
    println!(
        "compiled graphs: {} bytes live in {} heap blocks",
        h.graph_bytes, h.graph_blocks
    );
    println!("graph / XML:     {ratio:.2}");
    if h.graph_bytes >= h.xml_bytes {
        anyhow::bail!("the compiled graphs use more heap than the XML text");
    }
    Ok(())
}
