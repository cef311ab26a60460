//! Property test of the scenario reader: random and mutated scenario text,
//! JSON and YAML, never panics, and every error names the file.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use std::path::Path;
use windlass_scenario::Scenario;

const SEED_JSON: &str = r#"{"name":"n","process":"p.bpmn","process_id":"p","input":{"x":[1,{"y":"z"}]},
"mocks":{"T":{"output":{"a":1}},"U":{"error":"E"}},"expect":{"status":"completed","executed":{"T":1}},
"notes":"x","spec_divergence":true}"#;

const SEED_YAML: &str = "name: n\nprocess: p.bpmn\ninput:\n  x: [1, {y: z}]\nmocks:\n  T:\n    output: {a: 1}\n  U: {error: E}\nexpect:\n  status: completed\n  executed:\n    T: 1\n# c\nnotes: 'it''s'\n";

fn check(text: &str, name: &str) {
    if let Err(e) = Scenario::parse(text, Path::new(name)) {
        let e = e.to_string();
        assert!(e.contains(name), "error does not name the file: {e}");
    }
}

/// `seed` with `edits` applied: (position, byte) replacements and
/// insertions of YAML/JSON punctuation.
fn mutate(seed: &str, edits: &[(usize, u8, bool)]) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for &(pos, b, insert) in edits {
        let at = pos % (bytes.len() + 1);
        if insert || at == bytes.len() {
            bytes.insert(at, b);
        } else {
            bytes[at] = b;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn punctuation() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(b'['),
        Just(b']'),
        Just(b'{'),
        Just(b'}'),
        Just(b'"'),
        Just(b'\''),
        Just(b':'),
        Just(b'-'),
        Just(b'#'),
        Just(b'&'),
        Just(b'*'),
        Just(b'!'),
        Just(b'\n'),
        Just(b' '),
        Just(b'\\'),
        any::<u8>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,300}") {
        check(&text, "r.scenario.json");
        check(&text, "r.scenario.yaml");
    }

    #[test]
    fn mutated_scenarios_never_panic(
        edits in proptest::collection::vec((0usize..400, punctuation(), any::<bool>()), 1..12)
    ) {
        check(&mutate(SEED_JSON, &edits), "m.scenario.json");
        check(&mutate(SEED_YAML, &edits), "m.scenario.yml");
    }

    #[test]
    fn deep_and_repeated_structures_never_panic(depth in 0usize..400, open in "[\\[{]", key in "[a-z]{0,3}") {
        let text = format!("process: p\ninput:\n  {key}: {}", open.repeat(depth));
        check(&text, "d.scenario.yaml");
    }
}
