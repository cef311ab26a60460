//! Manifests written in a task's settings: YAML or JSON (JSON is YAML),
//! one document or several separated by `---`, with placeholders. Like
//! every setting, the text is a template: `{name}` is a placeholder and a
//! literal brace is doubled (`{{"kind": "ConfigMap"}}` in JSON, or YAML's
//! block style, which needs no braces). Placeholders are filled in *after*
//! the document is parsed, so a value can never change its shape (no YAML
//! injection):
//!
//! - an unquoted scalar that is one placeholder and nothing else
//!   (`replicas: {replicas}`, `"size": {size}` in JSON) takes the
//!   variable's value with its type: a number stays a number, a map a map;
//! - a quoted one (`replicas: "{replicas}"`) and a scalar with placeholders
//!   among other text (`name: db-{name}`) are rendered as text (a
//!   ConfigMap's values must be strings);
//! - a placeholder without a value is an error naming it and where it is
//!   (`spec.replicas`), never literal text. Keys are rendered as text.
//!
//! How: each placeholder is replaced by a marker (private-use characters
//! around its number; another character when the placeholder fills a
//! quoted scalar) before parsing; the parsed document's strings are then
//! searched for markers.

use serde::Deserialize as _;
use serde_json::Value;
use windlass_expr::Template;
use windlass_types::Vars;

/// The character around a placeholder's number in the parsed text (from
/// Unicode's private use area: never in a manifest as written, checked).
const MARK: char = '\u{F8FF}';

/// The marker of a placeholder that fills a quoted scalar (`"{n}"`): its
/// value is rendered as text.
const TEXT_MARK: char = '\u{F8FE}';

/// The documents of `source` with their placeholders filled in from
/// `vars`; empty documents are left out. The error says what is wrong and
/// where.
pub fn render_documents(source: &str, vars: &Vars) -> Result<Vec<Value>, String> {
    let (text, placeholders) = mark(source)?;
    let fill = Fill {
        placeholders: &placeholders,
        vars,
    };
    let mut out = Vec::new();
    for (i, doc) in serde_norway::Deserializer::from_str(&text).enumerate() {
        let value = Value::deserialize(doc)
            .map_err(|e| format!("document {} is not valid YAML or JSON: {e}", i + 1))?;
        if value.is_null() {
            continue;
        }
        out.push(fill.value(value, &mut String::new())?);
    }
    Ok(out)
}

/// One document (a patch, for instance): exactly one is required.
pub fn render_document(source: &str, vars: &Vars) -> Result<Value, String> {
    let mut docs = render_documents(source, vars)?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        0 => Err("it is empty".into()),
        n => Err(format!("it has {n} documents; one is expected")),
    }
}

/// `source` with `{{` / `}}` made single and each placeholder replaced by
/// its marker; the placeholders as written, in order.
fn mark(source: &str) -> Result<(String, Vec<String>), String> {
    if source.contains([MARK, TEXT_MARK]) {
        return Err("it contains the character U+F8FE or U+F8FF, which are reserved".into());
    }
    let template = Template::parse(source).map_err(|e| e.to_string())?;
    let mut placeholders = template.placeholders();
    let mut found = Vec::new();
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(c) = rest.chars().next() {
        let next = rest.get(c.len_utf8()..).unwrap_or("");
        if c == '{' || c == '}' {
            if next.starts_with(c) {
                out.push(c);
                rest = next.get(1..).unwrap_or("");
                continue;
            }
            let raw = placeholders
                .next()
                .filter(|raw| rest.starts_with(raw))
                .ok_or_else(|| format!("cannot read the placeholder at '{rest}'"))?;
            let after = rest.get(raw.len()..).unwrap_or("");
            // `"{n}"` or `'{n}'`: a quoted scalar that is this placeholder.
            let quoted = [('"', '"'), ('\'', '\'')]
                .iter()
                .any(|(open, close)| out.ends_with(*open) && after.starts_with(*close));
            let mark = if quoted { TEXT_MARK } else { MARK };
            out.push(mark);
            out.push_str(&found.len().to_string());
            out.push(mark);
            found.push(raw.to_string());
            rest = after;
            continue;
        }
        out.push(c);
        rest = next;
    }
    Ok((out, found))
}

/// Fills markers in parsed values.
struct Fill<'a> {
    placeholders: &'a [String],
    vars: &'a Vars,
}

impl Fill<'_> {
    fn value(&self, value: Value, path: &mut String) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) if s.contains([MARK, TEXT_MARK]) => self.string(&s, path)?,
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    out.push(self.value(item, path)?);
                    path.truncate(len);
                }
                Value::Array(out)
            }
            Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, v) in map {
                    let key = if k.contains([MARK, TEXT_MARK]) {
                        match self.string(&k, path)? {
                            Value::String(s) => s,
                            other => other.to_string(),
                        }
                    } else {
                        k
                    };
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&key);
                    let v = self.value(v, path)?;
                    path.truncate(len);
                    out.insert(key, v);
                }
                Value::Object(out)
            }
            other => other,
        })
    }

    /// A string with markers: the sole placeholder's value, or the text.
    fn string(&self, s: &str, path: &str) -> Result<Value, String> {
        let at = if path.is_empty() {
            "the document"
        } else {
            path
        };
        let pieces: Vec<&str> = s.split([MARK, TEXT_MARK]).collect();
        // Odd positions are placeholder numbers: "", "0", "" is a sole one.
        let raw = |piece: &str| -> Result<&str, String> {
            piece
                .parse::<usize>()
                .ok()
                .and_then(|i| self.placeholders.get(i))
                .map(String::as_str)
                .ok_or_else(|| format!("at {at}: a placeholder was cut by the YAML syntax"))
        };
        let template = |raw: &str| Template::parse(raw).map_err(|e| format!("at {at}: {e}"));
        if let [before, one, after] = pieces.as_slice()
            && before.is_empty()
            && after.is_empty()
            && s.starts_with(MARK)
        {
            let t = template(raw(one)?)?;
            return match t.sole_value(self.vars) {
                Some(Ok(v)) => Ok(v),
                Some(Err(e)) => Err(format!("at {at}: {e}")),
                None => Err(format!("at {at}: cannot read {one}")),
            };
        }
        let mut out = String::new();
        for (i, piece) in pieces.iter().enumerate() {
            if i % 2 == 0 {
                out.push_str(piece);
            } else {
                let text = template(raw(piece)?)?
                    .render_strict(self.vars)
                    .map_err(|e| format!("at {at}: {e}"))?;
                out.push_str(&text);
            }
        }
        Ok(Value::String(out))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Vars {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn placeholders_fill_string_values_and_keep_types() {
        let source = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: db-{name}
  labels: {{app: "{name}"}}
data:
  replicas: {replicas}
  settings: {settings}
  quoted: "{replicas}"
  literal: "{{not a placeholder}}"
  "{name}-key": x
---
---
{{"apiVersion": "v1", "kind": "Secret", "metadata": {{"name": "{name}"}}}}
"#;
        let v = vars(json!({"name": "orders", "replicas": 3, "settings": {"a": [1]}}));
        let docs = render_documents(source, &v).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["metadata"]["name"], "db-orders");
        assert_eq!(docs[0]["metadata"]["labels"]["app"], "orders");
        assert_eq!(docs[0]["data"]["replicas"], 3);
        assert_eq!(docs[0]["data"]["settings"], json!({"a": [1]}));
        assert_eq!(docs[0]["data"]["quoted"], "3", "quoted: text");
        assert_eq!(docs[0]["data"]["literal"], "{not a placeholder}");
        assert_eq!(docs[0]["data"]["orders-key"], "x");
        assert_eq!(docs[1]["metadata"]["name"], "orders");
    }

    #[test]
    fn a_value_never_changes_the_shape() {
        let v = vars(json!({"name": "x\nkind: Secret\n---\nevil: true"}));
        let docs = render_documents("metadata:\n  name: \"{name}\"\n", &v).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(
            docs[0]["metadata"]["name"],
            "x\nkind: Secret\n---\nevil: true"
        );
    }

    #[test]
    fn errors_name_the_placeholder_and_where_it_is() {
        let err = render_documents("spec:\n  template:\n    - x: \"{gone}\"\n", &Vars::new())
            .unwrap_err();
        assert!(
            err.contains("spec.template[0].x") && err.contains("{gone}"),
            "{err}"
        );
        let err = render_documents("a: [1\n", &Vars::new()).unwrap_err();
        assert!(err.contains("document 1 is not valid YAML"), "{err}");
        let err = render_document("a: 1\n---\nb: 2\n", &Vars::new()).unwrap_err();
        assert!(err.contains("2 documents"), "{err}");
    }
}
