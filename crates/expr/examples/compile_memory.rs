//! Heap bytes and blocks held per compiled condition and per template of
//! the generated model benchmark document, measured with `dhat`.
//!
//! Run: `cargo run --release -p windlass-expr --example compile_memory`.

#[path = "support/inputs.rs"]
mod inputs;

use windlass_expr::{ExprError, Expression, Language, Template};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Heap bytes and blocks live after `make` minus before, per item.
fn per_item<T>(
    count: usize,
    make: impl FnOnce() -> Result<Vec<T>, ExprError>,
) -> Result<(f64, f64), ExprError> {
    let before = dhat::HeapStats::get();
    let kept = make()?;
    let after = dhat::HeapStats::get();
    // The vector holding the items is not part of them.
    let vec_bytes = kept.capacity() * std::mem::size_of::<T>();
    let bytes = after
        .curr_bytes
        .saturating_sub(before.curr_bytes)
        .saturating_sub(vec_bytes);
    let blocks = after
        .curr_blocks
        .saturating_sub(before.curr_blocks)
        .saturating_sub(1);
    drop(kept);
    Ok((bytes as f64 / count as f64, blocks as f64 / count as f64))
}

fn main() -> Result<(), ExprError> {
    let _profiler = dhat::Profiler::builder().testing().build();
    let conditions = inputs::conditions(2000);
    let templates = inputs::templates(2000);
    // Warm any lazily built statics.
    drop(Expression::compile(Language::Compat, &conditions[0])?);
    drop(Template::parse(&templates[0])?);
    let (bytes, blocks) = per_item(conditions.len(), || {
        conditions
            .iter()
            .map(|s| Expression::compile(Language::Compat, s))
            .collect()
    })?;
    println!(
        "compat condition: {bytes:.1} heap bytes in {blocks:.2} blocks each (+ {} inline)",
        std::mem::size_of::<Expression>()
    );
    let (bytes, blocks) = per_item(templates.len(), || {
        templates.iter().map(|s| Template::parse(s)).collect()
    })?;
    println!(
        "template:         {bytes:.1} heap bytes in {blocks:.2} blocks each (+ {} inline)",
        std::mem::size_of::<Template>()
    );
    Ok(())
}
