//! Parse + validate + compile of a generated ~1 MB BPMN file and of a
//! corpus-sized fixture.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

#[path = "support/generated.rs"]
mod support;
use support::generated;

fn bench(c: &mut Criterion) {
    let big = generated(2000);
    assert!(
        windlass_model::load(&big).definitions.is_some(),
        "generated file must load"
    );
    eprintln!("generated file: {} bytes", big.len());
    c.bench_function("load generated ~1 MB", |b| {
        b.iter(|| windlass_model::load(black_box(&big)))
    });
    let fixture = include_str!("../tests/fixtures/all-elements.bpmn");
    c.bench_function("load all-elements fixture", |b| {
        b.iter(|| windlass_model::load(black_box(fixture)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
