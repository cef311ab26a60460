//! The `body` of an `http` task: a JSON template rendered so that a value
//! can never change the document's shape. Inside a JSON string a value is
//! inserted escaped (`"Hello {name}"`); outside one it is inserted as JSON
//! when its text is one JSON value (a number, a list, an object...) and as
//! a quoted string otherwise. The result must be valid JSON. Braces of the
//! JSON itself are written doubled (`{{"a": {n}}}`), like any literal brace
//! in a template.

use windlass_expr::Template;
use windlass_types::Vars;

/// Renders the body template `source` against `vars` into a JSON value;
/// the error says what is wrong (a missing value, invalid JSON).
pub fn render_json_body(source: &str, vars: &Vars) -> Result<serde_json::Value, String> {
    let template = Template::parse(source).map_err(|e| e.to_string())?;
    let mut placeholders = template.placeholders();
    let mut out = String::with_capacity(source.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = source;
    while let Some(c) = rest.chars().next() {
        let next = rest.get(c.len_utf8()..).unwrap_or("");
        if c == '{' || c == '}' {
            if next.starts_with(c) {
                push_char(&mut out, c, &mut in_string, &mut escaped);
                rest = next.get(1..).unwrap_or("");
                continue;
            }
            let raw = placeholders
                .next()
                .filter(|raw| rest.starts_with(raw))
                .ok_or_else(|| format!("cannot read the placeholder at '{rest}'"))?;
            let text = Template::parse(raw)
                .map_err(|e| e.to_string())?
                .render_strict(vars)
                .map_err(|e| e.to_string())?;
            if in_string {
                let quoted = serde_json::Value::String(text).to_string();
                out.push_str(quoted.get(1..quoted.len() - 1).unwrap_or(""));
            } else if serde_json::from_str::<serde_json::Value>(&text).is_ok() {
                out.push_str(&text);
            } else {
                out.push_str(&serde_json::Value::String(text).to_string());
            }
            rest = rest.get(raw.len()..).unwrap_or("");
            continue;
        }
        push_char(&mut out, c, &mut in_string, &mut escaped);
        rest = next;
    }
    // The rendered text is not quoted: a value in it may be a credential.
    serde_json::from_str(&out)
        .map_err(|e| format!("not valid JSON once rendered ({e}); as written: {source}"))
}

fn push_char(out: &mut String, c: char, in_string: &mut bool, escaped: &mut bool) {
    out.push(c);
    if *in_string {
        if *escaped {
            *escaped = false;
        } else if c == '\\' {
            *escaped = true;
        } else if c == '"' {
            *in_string = false;
        }
    } else if c == '"' {
        *in_string = true;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: serde_json::Value) -> Vars {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn values_never_change_the_shape() {
        let v = vars(json!({
            "name": "x\", \"admin\": true, \"y\": \"",
            "n": 3,
            "items": [1, "two"],
            "word": "1, \"admin\": true"
        }));
        let body = render_json_body(
            r#"{{"name": "{name}", "n": {n}, "items": {items}, "w": {word}, "lit": "{{x}}"}}"#,
            &v,
        )
        .unwrap();
        assert_eq!(
            body,
            json!({
                "name": "x\", \"admin\": true, \"y\": \"",
                "n": 3,
                "items": [1, "two"],
                "w": "1, \"admin\": true",
                "lit": "{x}"
            })
        );
    }

    #[test]
    fn missing_values_and_bad_json_are_errors() {
        let e = render_json_body(r#"{{"a": {nope}}}"#, &Vars::new()).unwrap_err();
        assert!(e.contains("{nope}"), "{e}");
        let e = render_json_body(r#"{{"a": }}"#, &Vars::new()).unwrap_err();
        assert!(e.contains("not valid JSON"), "{e}");
    }
}
