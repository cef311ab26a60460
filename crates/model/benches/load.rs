//! Parse + validate + compile of a generated ~1 MB BPMN file, of a ~1 MB
//! file as a modeler writes it (a corpus file repeated; skipped when the
//! corpus is absent), of a corpus-sized fixture, and of a 40,000-task chain
//! on one line and one element per line (issue 16, defect 7).
//!
//! Each document is checked to load on the first run of its benchmark, so a
//! profile of one benchmark (`--bench "load generated"`) calls `load` only
//! on that benchmark's document.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Once;

#[path = "support/generated.rs"]
mod support;
use support::generated;
#[path = "support/chain.rs"]
mod chain;
#[path = "support/modeler.rs"]
mod modeler;

/// Panics (once) unless `doc` loads without error.
fn check_loads(checked: &Once, label: &str, doc: &str) {
    checked.call_once(|| {
        let out = windlass_model::load(doc);
        assert!(
            out.definitions.is_some(),
            "{label} must load: {:?}",
            out.diagnostics
                .iter()
                .find(|d| d.severity == windlass_model::Severity::Error)
        );
        eprintln!("{label}: {} bytes", doc.len());
    });
}

fn bench(c: &mut Criterion) {
    let big = generated(2000);
    let checked = Once::new();
    c.bench_function("load generated ~1 MB", |b| {
        check_loads(&checked, "generated file", &big);
        b.iter(|| windlass_model::load(black_box(&big)))
    });
    match modeler::modeler_document(1_000_000) {
        Ok(Some((label, doc))) => {
            let checked = Once::new();
            c.bench_function("load modeler ~1 MB", |b| {
                check_loads(&checked, &label, &doc);
                b.iter(|| windlass_model::load(black_box(&doc)))
            });
        }
        Ok(None) => eprintln!("modeler bench skipped: the corpus (WINDLASS_CORPUS) is absent"),
        Err(e) => panic!("cannot build the modeler document: {e}"),
    }
    let fixture = include_str!("../tests/fixtures/all-elements.bpmn");
    c.bench_function("load all-elements fixture", |b| {
        b.iter(|| windlass_model::load(black_box(fixture)))
    });
    let mut large = c.benchmark_group("load chain 40k");
    large.sample_size(10);
    for (label, one_line) in [("one line", true), ("one element per line", false)] {
        let doc = chain::chain(40_000, one_line);
        let checked = Once::new();
        large.bench_function(label, |b| {
            check_loads(&checked, label, &doc);
            b.iter(|| windlass_model::load(black_box(&doc)))
        });
    }
    large.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
