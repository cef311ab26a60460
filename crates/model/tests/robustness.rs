//! No input makes the loader panic or hang: hostile XML, truncations, and a
//! property test over mutated fixtures and corpus files.

use proptest::prelude::*;
use windlass_model::{load, load_bytes};

fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let fixtures = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    out.push(std::fs::read(format!("{fixtures}/all-elements.bpmn")).expect("fixture"));
    let corpus = format!(
        "{}/../../../shared/corpus/adhesive",
        env!("CARGO_MANIFEST_DIR")
    );
    for name in [
        "unit__link-back.bpmn",
        "unit__error-event-interrupting.bpmn",
    ] {
        if let Ok(b) = std::fs::read(format!("{corpus}/{name}")) {
            out.push(b);
        }
    }
    out
}

#[test]
fn hostile_inputs_are_rejected_with_errors() {
    for input in [
        "",
        "not xml at all",
        "<",
        "<?xml version=\"1.0\"?>",
        "<a><b></a>",
        "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\"><process id=\"p\">&ent;</process></definitions>",
        "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>",
        "<root xmlns=\"urn:other\"/>",
        "<x:definitions xmlns:y=\"urn:y\"/>",
    ] {
        let out = load(input);
        assert!(
            out.has_errors(),
            "{input:?} accepted: {:?}",
            out.diagnostics
        );
    }
    assert!(load_bytes(&[0xff, 0xfe, 0x00, 0x3c]).has_errors());
}

#[test]
fn deep_nesting_is_limited() {
    let depth = 100_000;
    let doc = format!(
        "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">{}{}</definitions>",
        "<documentation>".repeat(depth),
        "</documentation>".repeat(depth)
    );
    let out = load(&doc);
    assert!(out.diagnostics.iter().any(|d| d.code == "WL0003"));
}

#[test]
fn every_truncation_of_a_fixture_is_handled() {
    let seed = &seeds()[0];
    let text = String::from_utf8_lossy(seed).to_string();
    for cut in (0..text.len()).step_by(97) {
        if text.is_char_boundary(cut) {
            let out = load(&text[..cut]);
            assert!(out.has_errors() || cut == text.len());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_documents_never_panic(
        seed_idx in 0usize..3,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
        dup in any::<(prop::sample::Index, prop::sample::Index)>(),
        truncate in any::<bool>(),
    ) {
        let seeds = seeds();
        let mut bytes = seeds[seed_idx % seeds.len()].clone();
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let (a, b) = (dup.0.index(bytes.len()), dup.1.index(bytes.len()));
        let (lo, hi) = (a.min(b), a.max(b));
        let chunk = bytes[lo..hi].to_vec();
        bytes.splice(hi..hi, chunk);
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        let out = load_bytes(&bytes);
        prop_assert_eq!(out.definitions.is_some(), !out.has_errors());
    }
}
