//! Property tests: no input makes either compiler, the evaluators or the
//! template parser panic or hang.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use windlass_expr::{Expression, Language, Template};

/// Expressions and templates from the corpus and the docs, used as seeds
/// for mutation.
const SEEDS: [&str; 16] = [
    r#"data.route == "task""#,
    "data.not_existing",
    "data.x >= 5",
    "False",
    "items",
    "'firefox' in data.selected_browsers",
    r#"event["state"] == "process""#,
    "_error",
    "build.run_mypy",
    "not.correct.routing",
    "len(a.b) > 2 and not (x < 1.5 or y != 'z')",
    "size(items.filter(i, i > 2)) == 1 && has(a.b)",
    "Is certificate {event.id} in valid range?",
    "Backup {loop.value} {{x}} {l[0].n} {m['k']}",
    "[1, 2.5, -3, None, True][x % 5]",
    "a ? b : c",
];

fn variables() -> serde_json::Map<String, Value> {
    match json!({
        "x": 7, "y": "z", "items": [1, 2, 3], "a": {"b": [1, 2, 3]},
        "event": {"id": "e1", "state": "process"}, "loop": {"value": "v", "index": 0},
        "selected_browsers": ["firefox"], "build": {"run_mypy": true}, "l": [{"n": 1}], "m": {"k": "v"},
    }) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// Random text over the characters the grammars care about.
fn noise() -> impl Strategy<Value = String> {
    "[a-z0-9 ._()\\[\\]{}'\"=<>!&|+*/%,:#?\\\\-]{0,80}"
}

/// A seed with random text spliced in at a random place.
fn mutated() -> impl Strategy<Value = String> {
    (
        0..SEEDS.len(),
        any::<prop::sample::Index>(),
        noise(),
        0usize..4,
    )
        .prop_map(|(seed, at, insert, cut)| {
            let chars: Vec<char> = SEEDS[seed].chars().collect();
            let at = at.index(chars.len() + 1);
            let end = (at + cut).min(chars.len());
            chars[..at]
                .iter()
                .chain(insert.chars().collect::<Vec<_>>().iter())
                .chain(&chars[end..])
                .collect()
        })
}

fn inputs() -> impl Strategy<Value = String> {
    prop_oneof![noise(), mutated(), "[(\\[{]{0,300}[a-z]{0,3}[)\\]}]{0,300}"]
}

/// Compiles and (when it compiles) evaluates `src` in `language`.
fn exercise(language: Language, src: &str) {
    let vars = variables();
    if let Ok(expr) = Expression::compile(language, src) {
        let _ = expr.evaluate(&vars);
        let _ = expr.evaluate_bool(&vars);
        let _ = expr.referenced_variables();
    }
}

#[test]
fn compat_compiler_and_evaluator_never_panic() {
    let mut runner = TestRunner::new(Config {
        cases: 2000,
        ..Config::default()
    });
    runner
        .run(&inputs(), |src| {
            exercise(Language::Compat, &src);
            Ok(())
        })
        .unwrap();
}

#[test]
fn template_parser_and_renderer_never_panic() {
    let mut runner = TestRunner::new(Config {
        cases: 2000,
        ..Config::default()
    });
    let vars = variables();
    runner
        .run(&inputs(), |src| {
            if let Ok(t) = Template::parse(&src) {
                let _ = t.render(&vars);
                prop_assert!(
                    !t.is_literal() || t.render(&vars) == t.render(&serde_json::Map::new())
                );
            }
            Ok(())
        })
        .unwrap();
}

/// The `cel` crate's generated parser uses very large stack frames in
/// unoptimised builds (about a dozen nesting levels fill a 2 MiB test
/// thread), so this property runs on a thread with a large stack. Optimised
/// builds handle the full nesting limit on ordinary stacks.
#[test]
fn cel_compiler_and_evaluator_never_panic() {
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(|| {
            let mut runner = TestRunner::new(Config {
                cases: 500,
                ..Config::default()
            });
            runner
                .run(&inputs(), |src| {
                    exercise(Language::Cel, &src);
                    Ok(())
                })
                .unwrap();
        })
        .unwrap()
        .join()
        .unwrap();
}
