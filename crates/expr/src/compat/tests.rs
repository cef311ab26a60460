//! Tests of the compat dialect as a whole: the corpus expressions, syntax
//! errors and evaluation rules.

use serde_json::{Value, json};

use super::CompatProgram;
use super::parser::MAX_DEPTH;

fn vars(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("test variables must be an object"),
    }
}

fn eval(src: &str, v: Value) -> Value {
    CompatProgram::compile(src)
        .unwrap()
        .evaluate(&vars(v))
        .unwrap()
}

fn truthy(src: &str, v: Value) -> bool {
    CompatProgram::compile(src)
        .unwrap()
        .evaluate_bool(&vars(v))
        .unwrap()
}

fn compile_err(src: &str) -> (String, Option<usize>) {
    let e = CompatProgram::compile(src).unwrap_err();
    (e.message, e.offset)
}

#[test]
fn corpus_route_missing_is_false() {
    assert!(!truthy(r#"data.route == "task""#, json!({})));
    assert!(truthy(r#"data.route == "task""#, json!({"route": "task"})));
}

#[test]
fn corpus_not_existing_is_falsy() {
    assert_eq!(eval("data.not_existing", json!({})), json!(null));
    assert!(!truthy("data.not_existing", json!({"x": 1})));
}

#[test]
fn corpus_numeric_comparisons() {
    assert!(truthy("data.x >= 5", json!({"x": 5})));
    assert!(!truthy("data.x >= 5", json!({"x": 4})));
    assert!(truthy("data.x < 5", json!({"x": 4.5})));
    assert!(
        !truthy("data.x < 5", json!({})),
        "null < 5 is false, not an error"
    );
    assert!(!truthy("data.x >= 5", json!({})));
}

#[test]
fn corpus_literal_false() {
    assert!(!truthy("False", json!({})));
    assert_eq!(eval("False", json!({})), json!(false));
}

#[test]
fn corpus_list_truthiness() {
    assert!(truthy("items", json!({"items": [1]})));
    assert!(!truthy("items", json!({"items": []})));
    assert!(!truthy("items", json!({})));
    assert!(truthy("loop_condition", json!({"loop_condition": true})));
}

#[test]
fn corpus_membership_in_a_list() {
    let v = json!({"selected_browsers": ["firefox", "chrome"]});
    assert!(truthy("'firefox' in data.selected_browsers", v.clone()));
    assert!(!truthy("'opera' in data.selected_browsers", v));
    assert!(!truthy("'opera' in data.selected_browsers", json!({})));
}

#[test]
fn corpus_index_by_string() {
    assert!(truthy(
        r#"event["state"] == "process""#,
        json!({"event": {"state": "process"}})
    ));
    assert!(!truthy(
        r#"event["state"] == "process""#,
        json!({"event": {"state": "new"}})
    ));
    assert!(!truthy(r#"event["state"] == "process""#, json!({})));
}

#[test]
fn corpus_error_flag_missing_is_false() {
    assert!(!truthy("_error", json!({})));
    assert!(truthy("_error", json!({"_error": "boom"})));
}

#[test]
fn corpus_nested_attributes() {
    let v = json!({"build": {"run_mypy": true, "run_flake8": false, "binaries": ["a"]}});
    assert!(truthy("build.run_mypy", v.clone()));
    assert!(!truthy("build.run_flake8", v.clone()));
    assert_eq!(eval("build.binaries", v), json!(["a"]));
    assert!(!truthy("build.run_mypy", json!({})));
}

#[test]
fn corpus_context_data_and_cdata_indentation() {
    let v = json!({"test_browsers": ["x"], "servers": [1, 2]});
    assert_eq!(eval("context.data.test_browsers", v.clone()), json!(["x"]));
    assert_eq!(eval("data.test_browsers", v.clone()), json!(["x"]));
    let p = crate::Expression::compile(crate::Language::Compat, "\n          servers\n        ")
        .unwrap();
    assert_eq!(p.evaluate(&vars(v)).unwrap(), json!([1, 2]));
}

#[test]
fn corpus_not_correct_routing_is_a_syntax_error() {
    let (message, offset) = compile_err("not.correct.routing");
    assert_eq!(offset, Some(3));
    assert!(message.contains("expected an expression"), "{message}");
}

#[test]
fn literals() {
    assert_eq!(
        eval(
            "[1, 2.5, 'a', \"b\", True, true, None, null, false]",
            json!({})
        ),
        json!([1, 2.5, "a", "b", true, true, null, null, false])
    );
    assert_eq!(eval("[]", json!({})), json!([]));
    assert_eq!(eval("[1, 2,]", json!({})), json!([1, 2]));
}

#[test]
fn data_is_the_scope() {
    let v = json!({"x": 3, "my key": 1});
    assert_eq!(eval("data.x == x", v.clone()), json!(true));
    assert_eq!(eval("data['my key']", v.clone()), json!(1));
    assert_eq!(eval("data['x' + '']", v.clone()), json!(3));
    let err = CompatProgram::compile("data")
        .unwrap()
        .evaluate(&vars(v.clone()))
        .unwrap_err();
    assert!(err.message.contains("not supported"), "{}", err.message);
    assert!(
        CompatProgram::compile("data[1]")
            .unwrap()
            .evaluate(&vars(v))
            .is_err()
    );
    assert_eq!(
        eval("context.loop", json!({"loop": {"index": 0}})),
        json!({"index": 0})
    );
}

#[test]
fn attribute_and_index_chains() {
    let v = json!({"a": {"b": {"c": [10, {"d": "deep"}]}}});
    assert_eq!(eval("a.b.c[1].d", v.clone()), json!("deep"));
    assert_eq!(eval("a['b'][\"c\"][0]", v.clone()), json!(10));
    assert_eq!(eval("a.b.c[-1]['d']", v.clone()), json!("deep"));
    assert_eq!(eval("a.x.y.z", v.clone()), json!(null));
    assert_eq!(eval("[a.b][0].c[5]", v), json!(null));
}

#[test]
fn boolean_operators_in_both_spellings() {
    let v = json!({"t": true, "f": false, "n": 0});
    assert!(truthy("t and not f", v.clone()));
    assert!(truthy("t && !f", v.clone()));
    assert!(truthy("f or t", v.clone()));
    assert!(truthy("f || t", v.clone()));
    assert!(!truthy("not t", v.clone()));
    assert!(truthy("not n == 1", v.clone()), "not binds looser than ==");
    assert_eq!(
        eval("n or 'default'", v.clone()),
        json!("default"),
        "or yields an operand"
    );
    assert_eq!(eval("t and 7", v.clone()), json!(7));
    assert_eq!(
        eval("f and missing.x", v),
        json!(false),
        "and short-circuits"
    );
}

#[test]
fn short_circuit_skips_errors() {
    assert!(truthy("True or 1 / 0", json!({})));
    assert!(!truthy("False and 1 / 0", json!({})));
}

#[test]
fn comparisons_and_chains() {
    let v = json!({"x": 5, "s": "abc"});
    assert!(truthy("1 < x <= 5", v.clone()));
    assert!(!truthy("1 < x < 5", v.clone()));
    assert!(truthy("x != 4 and s == 'abc'", v.clone()));
    assert!(truthy("'b' in s and 'z' not in s", v.clone()));
    assert!(truthy("missing is None and x is not None", v.clone()));
}

#[test]
fn arithmetic_and_precedence() {
    let v = json!({"x": 7});
    assert_eq!(eval("1 + 2 * 3", v.clone()), json!(7));
    assert_eq!(eval("(1 + 2) * 3", v.clone()), json!(9));
    assert_eq!(eval("x % 4 - -1", v.clone()), json!(4));
    assert_eq!(eval("x / 2", v.clone()), json!(3.5));
    assert_eq!(eval("x // 2", v.clone()), json!(3));
    assert_eq!(eval("10 - 2 - 3", v.clone()), json!(5), "left associative");
    assert_eq!(eval("'a' + 'b'", v.clone()), json!("ab"));
    assert!(truthy("x * 2 > 10", v));
}

#[test]
fn len_function() {
    let v = json!({"l": [1, 2, 3], "s": "ab", "m": {"a": 1}});
    assert_eq!(eval("len(l) + len(s) + len(m)", v.clone()), json!(6));
    assert!(truthy("len(data.l) > 2", v));
}

#[test]
fn evaluation_errors_name_the_problem() {
    let p = CompatProgram::compile("x < 'a'").unwrap();
    let err = p.evaluate(&vars(json!({"x": 1}))).unwrap_err();
    assert_eq!(err.message, "cannot compare int with string using '<'");
    let p = CompatProgram::compile("len(x)").unwrap();
    assert!(
        p.evaluate(&vars(json!({})))
            .unwrap_err()
            .message
            .contains("null")
    );
}

#[test]
fn unsupported_constructs_are_compile_errors() {
    let cases = [
        ("lambda x: x", "lambda", 0),
        ("foo(1)", "function calls", 3),
        ("x.upper()", "method calls", 7),
        ("[y for y in x]", "comprehensions", 3),
        ("x = 1", "assignment", 2),
        ("(x := 1)", "expected ')'", 3),
        ("a if b else c", "conditional", 2),
        ("{'a': 1}", "dict", 0),
        ("x[1:2]", "slices", 3),
        ("(1, 2)", "tuples", 2),
        ("2 ** 3", "'**'", 2),
        ("len()", "exactly one", 4),
        ("len(a, b)", "exactly one", 5),
        ("x # c", "comments", 2),
        ("import os", "keyword 'import'", 0),
        ("a == not b", "parenthesized", 5),
        ("x @ y", "unexpected character", 2),
        ("", "empty", 0),
        ("a b", "unexpected 'b'", 2),
        ("(a", "expected ')'", 2),
        ("[a b]", "expected ',' or ']'", 3),
        ("a.", "attribute name", 2),
        ("a.and", "attribute name", 2),
    ];
    for (src, fragment, offset) in cases {
        let (message, at) = compile_err(src);
        assert!(
            message.contains(fragment),
            "{src:?}: {message:?} should mention {fragment:?}"
        );
        assert_eq!(at, Some(offset), "{src:?}: {message}");
    }
}

#[test]
fn nesting_is_limited() {
    let ok = format!(
        "{}1{}",
        "(".repeat(MAX_DEPTH - 2),
        ")".repeat(MAX_DEPTH - 2)
    );
    assert_eq!(eval(&ok, json!({})), json!(1));
    for deep in [
        format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000)),
        "not ".repeat(10_000) + "x",
        "-".repeat(10_000) + "1",
        vec!["x"; 10_000].join(" + "),
        "x".to_string() + &".a".repeat(10_000),
        "x".to_string() + &"[0]".repeat(10_000),
        "[".repeat(10_000),
    ] {
        let (message, _) = compile_err(&deep);
        assert!(message.contains("nested more than"), "{message}");
    }
}

#[test]
fn referenced_variables_are_collected() {
    let p = CompatProgram::compile("data.b and a > len(c.d) or context.data.e or context.loop")
        .unwrap();
    assert_eq!(p.variables(), ["a", "b", "c", "e", "loop"]);
}

#[test]
fn long_names_and_strings_use_the_constant_table() {
    let long = "v".repeat(70_000);
    let text = "x".repeat(70_000);
    let v = json!({ long.clone(): {long.clone(): "deep"}, "s": text.clone() });
    let src = format!("{long}.{long} == 'deep' and data['{long}'] and s == '{text}'");
    let p = CompatProgram::compile(&src).unwrap();
    assert!(p.evaluate_bool(&vars(v.clone())).unwrap());
    assert_eq!(p.variables(), ["s", long.as_str()]);
    assert_eq!(eval(&format!("'{text}'"), json!({})), json!(text));
}

#[test]
fn escaped_scope_keys_wide_numbers_and_len_spellings() {
    let v = json!({"a\"b": 1, "l": [1, 2]});
    assert_eq!(
        eval(r#"data["a\"b"] + len(l) + data['len'](l)"#, v.clone()),
        json!(5)
    );
    let p = CompatProgram::compile(r#"data["a\"b"] + data['len'](l)"#).unwrap();
    assert_eq!(p.variables(), ["a\"b", "l"]);
    assert_eq!(eval("2147483648 + 1", v.clone()), json!(2_147_483_649_i64));
    assert_eq!(
        eval("-2147483649 - 1", v.clone()),
        json!(-2_147_483_650_i64)
    );
    assert_eq!(eval("2147483647 + 0.5", v), json!(2_147_483_647.5));
}

#[test]
fn string_literals_in_every_position() {
    let v = json!({"s": "b", "m": {"k": 1}, "l": ["a", "b"], "n": null, "i": 3});
    let cases = [
        ("s == 'b'", json!(true)),
        ("'b' != s", json!(false)),
        ("s is 'b' and 'c' is not s", json!(true)),
        ("'a' < s <= 'b'", json!(true)),
        ("'c' > s", json!(true)),
        ("n < 'a' or 'a' > n", json!(false)),
        (
            "'b' in l and 'z' not in l and 'k' in m and 'x' in 'xy'",
            json!(true),
        ),
        ("s in 'abc'", json!(true)),
        ("m['k']", json!(1)),
        ("n['k']", json!(null)),
        ("['a', s] + ['c']", json!(["a", "b", "c"])),
        ("s + 'c'", json!("bc")),
        ("i and 'yes'", json!("yes")),
        ("'x\\ty'", json!("x\ty")),
    ];
    for (src, want) in cases {
        let p = CompatProgram::compile(src).unwrap();
        assert_eq!(p.evaluate(&vars(v.clone())).unwrap(), want, "{src}");
    }
    let errors = [
        ("i < 'a'", "cannot compare int with string using '<'"),
        ("'a' >= i", "cannot compare string with int using '>='"),
        (
            "'a' in i",
            "'in' needs a list, string or map on the right, got int",
        ),
        (
            "i in 'abc'",
            "'in <string>' needs a string on the left, got int",
        ),
        ("l['x']", "list index must be an int, got string"),
        ("i['x']", "cannot index int"),
    ];
    for (src, message) in errors {
        let err = CompatProgram::compile(src)
            .unwrap()
            .evaluate(&vars(v.clone()))
            .unwrap_err();
        assert_eq!(err.message, message, "{src}");
    }
}
