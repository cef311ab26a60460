//! Tests of templates: parsing, escapes, errors and rendering.

use serde_json::{Value, json};

use super::Template;

fn vars(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("test variables must be an object"),
    }
}

fn render(src: &str, v: Value) -> String {
    Template::parse(src).unwrap().render(&vars(v))
}

#[test]
fn corpus_templates_render() {
    let v = json!({
        "event": {"id": "ing-1", "data": {"k": 1}},
        "loop": {"value": "srv", "index": 2},
        "data_x": 0,
        "x": 42,
        "platform": "linux",
        "ingress_object": "web",
    });
    assert_eq!(
        render("Is certificate {event.id} in valid range?", v.clone()),
        "Is certificate ing-1 in valid range?"
    );
    assert_eq!(render("Backup {loop.value}", v.clone()), "Backup srv");
    assert_eq!(render("Build {data.x}", v.clone()), "Build 42");
    assert_eq!(
        render("Raise\nError\n{loop.index}", v.clone()),
        "Raise\nError\n2"
    );
    assert_eq!(
        render("Test Browser {loop.value} on {data.platform}", v.clone()),
        "Test Browser srv on linux"
    );
    assert_eq!(
        render("Event Execute {event.data}", v.clone()),
        r#"Event Execute {"k":1}"#
    );
    assert_eq!(
        render("Create Secret {ingress_object}", v),
        "Create Secret web"
    );
}

#[test]
fn nested_paths_and_indexes() {
    let v = json!({"loop": {"value": {"name": "gbs"}}, "l": ["a", "b", {"n": 1}], "m": {"my-key": true, "0": "zero"}});
    assert_eq!(
        render("GBS Build {loop.value.name}", v.clone()),
        "GBS Build gbs"
    );
    assert_eq!(render("{l[0]}{l.1}{l[-1].n}", v.clone()), "ab1");
    assert_eq!(
        render("{m.my-key} {m[\"my-key\"]} {m['0']} {m[0]}", v.clone()),
        "true true zero zero"
    );
    assert_eq!(render("{l[9]}", v), "{l[9]}");
}

#[test]
fn scalars_render_as_json_and_strings_bare() {
    let v = json!({"s": "text", "i": 3, "f": 2.5, "b": false, "list": [1, "a"]});
    assert_eq!(
        render("{s}|{i}|{f}|{b}|{list}", v),
        r#"text|3|2.5|false|[1,"a"]"#
    );
}

#[test]
fn missing_and_null_leave_the_placeholder_as_written() {
    let v = json!({"event": {"id": null}});
    assert_eq!(
        render("Check {event.id} and {nothing} and {data.gone}", v),
        "Check {event.id} and {nothing} and {data.gone}"
    );
    assert_eq!(
        render("{event.id.deeper}", json!({"event": {"id": "x"}})),
        "{event.id.deeper}"
    );
}

#[test]
fn escapes_are_literal_braces() {
    let t = Template::parse("{{literal}} {x} }}").unwrap();
    assert!(!t.is_literal());
    assert_eq!(t.render(&vars(json!({"x": 1}))), "{literal} 1 }");
    let t = Template::parse("a {{b}}").unwrap();
    assert!(t.is_literal());
    assert_eq!(t.render(&vars(json!({}))), "a {b}");
    assert_eq!(t.source(), "a {{b}}");
}

#[test]
fn literal_fast_path() {
    let t = Template::parse("Plain task name").unwrap();
    assert!(t.is_literal());
    assert_eq!(t.placeholders().count(), 0);
    assert_eq!(t.render(&vars(json!({"x": 1}))), "Plain task name");
    assert_eq!(Template::parse("").unwrap().render(&vars(json!({}))), "");
}

#[test]
fn placeholders_and_variables_are_listed() {
    let t = Template::parse("{a.b} and {data.c[0]}").unwrap();
    assert_eq!(
        t.placeholders().collect::<Vec<_>>(),
        ["{a.b}", "{data.c[0]}"]
    );
    assert_eq!(t.variables().collect::<Vec<_>>(), ["a", "c"]);
}

#[test]
fn parse_errors_have_offsets() {
    let cases = [
        ("Build {x", 6, "unclosed '{'"),
        ("Build {}", 6, "empty placeholder"),
        ("a } b", 2, "single '}'"),
        ("{a b}", 2, "expected '.', '[' or '}'"),
        ("{1x}", 1, "variable name"),
        ("{a.}", 3, "name after '.'"),
        ("{a[x]}", 3, "[number]"),
        ("{a[0}", 2, "unclosed '['"),
        ("{a:>10}", 2, "format specs"),
        ("{data}", 1, "'data' must be followed"),
        ("{a{b}}", 0, "unclosed '{'"),
        ("é {", 2, "unclosed '{'"),
    ];
    for (src, offset, fragment) in cases {
        let err = Template::parse(src).unwrap_err();
        assert!(
            err.message.contains(fragment),
            "{src:?}: {:?} should mention {fragment:?}",
            err.message
        );
        assert_eq!(err.offset, Some(offset), "{src:?}: {}", err.message);
    }
}

#[test]
fn a_part_is_twenty_bytes() {
    assert_eq!(std::mem::size_of::<super::Part>(), 20);
}

#[test]
fn many_parts_and_data_paths_past_the_inline_buffer() {
    let v = vars(json!({"x": {"y": [5, {"z": "deep"}]}, "w": -1}));
    let src = "{x.y[0]}-{data.x.y[-1].z}-{data.w}-{x['y'].1.z}-{{-}}-{w}";
    let t = Template::parse(src).unwrap();
    assert_eq!(t.render(&v), "5-deep--1-deep-{-}--1");
    assert_eq!(t.variables().collect::<Vec<_>>(), ["x", "x", "w", "x", "w"]);
    let long = (0..40)
        .map(|i| format!("{{data.w}}{i}"))
        .collect::<String>();
    let t = Template::parse(&long).unwrap();
    assert_eq!(
        t.render(&v),
        (0..40).map(|i| format!("-1{i}")).collect::<String>()
    );
    assert_eq!(t.placeholders().count(), 40);
    let index = Template::parse("{l[-9223372036854775808]}{l[4294967296]}").unwrap();
    assert_eq!(
        index.render(&vars(json!({"l": [1]}))),
        "{l[-9223372036854775808]}{l[4294967296]}"
    );
}

#[test]
fn strict_rendering_refuses_a_missing_or_null_value_by_placeholder() {
    let t = Template::parse("{event.namespace}/{event.name}").unwrap();
    let ok = t.render_strict(&vars(
        json!({"event": {"namespace": "web", "name": "shop"}}),
    ));
    assert_eq!(ok.unwrap(), "web/shop");
    let missing = t
        .render_strict(&vars(json!({"event": {"name": "shop"}})))
        .unwrap_err();
    assert_eq!(missing.placeholder, "{event.namespace}");
    assert_eq!(
        missing.to_string(),
        "template '{event.namespace}/{event.name}': no value for {event.namespace} (missing or null)"
    );
    let null = t
        .render_strict(&vars(json!({"event": {"namespace": "web", "name": null}})))
        .unwrap_err();
    assert_eq!(null.placeholder, "{event.name}");
    // Escapes and non-string values render as in the lenient form.
    let t = Template::parse("{{k}}-{n}").unwrap();
    assert_eq!(t.render_strict(&vars(json!({"n": 7}))).unwrap(), "{k}-7");
}

#[test]
fn a_sole_placeholder_keeps_its_value_and_type() {
    let vars = serde_json::json!({"n": 3, "m": {"a": [1, 2]}, "s": "3"});
    let vars = vars.as_object().unwrap();
    let t = Template::parse("{n}").unwrap();
    assert_eq!(t.sole_value(vars), Some(Ok(serde_json::json!(3))));
    let t = Template::parse("{m.a[1]}").unwrap();
    assert_eq!(t.sole_value(vars), Some(Ok(serde_json::json!(2))));
    let t = Template::parse("{s}").unwrap();
    assert_eq!(t.sole_value(vars), Some(Ok(serde_json::json!("3"))));
    assert!(matches!(
        Template::parse("{gone}").unwrap().sole_value(vars),
        Some(Err(_))
    ));
    assert_eq!(Template::parse("x{n}").unwrap().sole_value(vars), None);
    assert_eq!(Template::parse("{n}{n}").unwrap().sole_value(vars), None);
    assert_eq!(Template::parse("plain").unwrap().sole_value(vars), None);
}
