//! Compiles the 2000 conditions and 4000 templates of the generated model
//! benchmark document, for instruction counts under callgrind.
//!
//! Run: `cargo build --release -p windlass-expr --example compile_cost`, then
//! `valgrind --tool=callgrind target/release/examples/compile_cost` and read
//! the inclusive cost of `compile_conditions` / `parse_templates` with
//! `callgrind_annotate --inclusive=yes`.

#[path = "support/inputs.rs"]
mod inputs;

use std::hint::black_box;
use windlass_expr::{ExprError, Expression, Language, Template};

/// Compiles every condition (kept until the end, as a graph keeps them).
#[inline(never)]
fn compile_conditions(sources: &[String]) -> Result<Vec<Expression>, ExprError> {
    sources
        .iter()
        .map(|s| Expression::compile(Language::Compat, black_box(s)))
        .collect()
}

/// Parses every template.
#[inline(never)]
fn parse_templates(sources: &[String]) -> Result<Vec<Template>, ExprError> {
    sources
        .iter()
        .map(|s| Template::parse(black_box(s)))
        .collect()
}

fn main() -> Result<(), ExprError> {
    let conditions = inputs::conditions(2000);
    let templates = inputs::templates(2000);
    let compiled = compile_conditions(&conditions)?;
    let parsed = parse_templates(&templates)?;
    println!(
        "compiled {} conditions and {} templates",
        black_box(compiled).len(),
        black_box(parsed).len()
    );
    Ok(())
}
