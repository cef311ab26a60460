//! Evaluation cost of typical conditions and name templates in both
//! languages (run with `cargo bench -p windlass-expr`).
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::hint::black_box;
use windlass_expr::{Expression, Language, Template};

fn variables() -> serde_json::Map<String, Value> {
    let event = json!({
        "id": "default/web", "state": "process",
        "object": {"metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
                   "spec": {"rules": [{"host": "a.example"}, {"host": "b.example"}]}},
    });
    match json!({"route": "task", "x": 7, "selected_browsers": ["chrome", "firefox"], "event": event})
    {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn conditions(c: &mut Criterion) {
    let vars = variables();
    let cases = [
        (Language::Compat, "compat route", r#"data.route == "task""#),
        (
            Language::Compat,
            "compat in list",
            "'firefox' in data.selected_browsers",
        ),
        (
            Language::Compat,
            "compat nested",
            r#"event["state"] == "process" and data.x >= 5"#,
        ),
        (Language::Cel, "cel route", r#"route == "task""#),
        (
            Language::Cel,
            "cel in list",
            "'firefox' in selected_browsers",
        ),
        (
            Language::Cel,
            "cel nested",
            r#"event.state == "process" && x >= 5"#,
        ),
    ];
    for (language, name, src) in cases {
        let expr = Expression::compile(language, src).unwrap();
        assert!(expr.evaluate_bool(&vars).unwrap(), "{name}");
        c.bench_function(name, |b| {
            b.iter(|| black_box(&expr).evaluate_bool(black_box(&vars)))
        });
    }
}

fn templates(c: &mut Criterion) {
    let vars = variables();
    let literal = Template::parse("Create Certificate").unwrap();
    let one = Template::parse("Is certificate {event.id} in valid range?").unwrap();
    c.bench_function("template literal", |b| {
        b.iter(|| black_box(&literal).render(black_box(&vars)))
    });
    c.bench_function("template one placeholder", |b| {
        b.iter(|| black_box(&one).render(black_box(&vars)))
    });
}

criterion_group!(benches, conditions, templates);
criterion_main!(benches);
