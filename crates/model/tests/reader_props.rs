//! Property tests of the BPMN reader (issue 16, "no panics"): random bytes,
//! random XML-like text and mutated valid documents (truncations, random
//! bytes inserted, ranges deleted or repeated) never panic; every error
//! carries a stable `WL` code and a position in the document, and a
//! definition is returned exactly when there are no errors.

use proptest::prelude::*;
use windlass_model::{LoadOutcome, Severity, load, load_bytes};

/// Valid documents to mutate: the all-elements fixture and the accepted
/// example processes of the repository.
fn seeds() -> Vec<Vec<u8>> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut out =
        vec![std::fs::read(format!("{root}/tests/fixtures/all-elements.bpmn")).unwrap_or_default()];
    for name in ["certificate-renewal.bpmn"] {
        if let Ok(b) = std::fs::read(format!("{root}/../../examples/{name}")) {
            out.push(b);
        }
    }
    out.retain(|b| !b.is_empty());
    out
}

/// The reader's contract for any input.
fn check(out: &LoadOutcome) -> Result<(), TestCaseError> {
    prop_assert_eq!(out.definitions.is_some(), !out.has_errors());
    for d in &out.diagnostics {
        prop_assert!(
            d.code.starts_with("WL") && d.code.len() == 6,
            "bad code in {}",
            d
        );
        if d.severity == Severity::Error {
            prop_assert!(d.position.is_some(), "error without a position: {}", d);
        }
    }
    Ok(())
}

/// Fragments that make random text look like (broken) BPMN.
const FRAGMENTS: &[&str] = &[
    "<",
    ">",
    "/>",
    "</",
    "<?xml version=\"1.0\"?>",
    "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" xmlns:windlass=\"urn:windlass:bpmn:1\">",
    "</definitions>",
    "<process id=\"p\" isExecutable=\"true\">",
    "</process>",
    "<startEvent id=\"s\"/>",
    "<endEvent id=\"e\"/>",
    "<task id=\"t\" name=\"T {x}\"/>",
    "<sequenceFlow id=\"f\" sourceRef=\"s\" targetRef=\"t\"/>",
    "<conditionExpression>x &gt; 1</conditionExpression>",
    "<exclusiveGateway id=\"g\" default=\"f\"/>",
    "<subProcess id=\"sp\">",
    "</subProcess>",
    "<extensionElements>",
    "</extensionElements>",
    "<windlass:task kind=\"shell\" retries=\"x\"/>",
    "<windlass:script resultVariable=\"r\"/>",
    "<script>[b]</script>",
    "<multiInstanceLoopCharacteristics/>",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<!DOCTYPE x>",
    "&amp;",
    "&#x1b;",
    "&#xFFFE;",
    "&bogus;",
    "id=\"",
    "\"",
    "'",
    "=",
    " ",
    "\n",
    "x:y",
    "é",
    "\u{feff}",
];

fn fragment_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check(&load_bytes(&bytes))?;
    }

    #[test]
    fn random_text_never_panics(text in any::<String>()) {
        check(&load(&text))?;
    }

    #[test]
    fn random_bpmn_like_text_never_panics(text in fragment_text()) {
        check(&load(&text))?;
    }

    #[test]
    fn mutated_documents_never_panic(
        seed in any::<prop::sample::Index>(),
        edits in prop::collection::vec(
            (0u8..4, any::<prop::sample::Index>(), any::<prop::sample::Index>(),
             prop::collection::vec(any::<u8>(), 1..16)),
            1..6,
        ),
    ) {
        let seeds = seeds();
        let mut bytes = seed.get(&seeds).clone();
        for (kind, a, b, junk) in edits {
            let (i, j) = (a.index(bytes.len() + 1), b.index(bytes.len() + 1));
            let (lo, hi) = (i.min(j), i.max(j));
            match kind {
                // Random bytes inside the document.
                0 => { bytes.splice(lo..lo, junk); }
                // A range deleted.
                1 => { bytes.drain(lo..hi); }
                // A range repeated.
                2 => { let chunk = bytes[lo..hi].to_vec(); bytes.splice(hi..hi, chunk); }
                // Truncated.
                _ => bytes.truncate(lo),
            }
        }
        check(&load_bytes(&bytes))?;
    }

    #[test]
    fn every_truncation_is_an_error_with_a_position(
        seed in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let seeds = seeds();
        let bytes = seed.get(&seeds);
        let cut = cut.index(bytes.len());
        let out = load_bytes(&bytes[..cut]);
        check(&out)?;
        // Cutting only trailing whitespace leaves a whole document.
        if cut < bytes.trim_ascii_end().len() {
            prop_assert!(out.has_errors(), "a document cut at {} was accepted", cut);
        }
    }
}
