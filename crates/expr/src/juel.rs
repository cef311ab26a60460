//! A JUEL subset (the `${...}` / `#{...}` expressions of Camunda 7,
//! Flowable and Activiti models) rewritten into the compatibility dialect
//! ([`crate::Language::Compat`]), which has the same paths, literals and
//! most operators. What the subset reads: property paths (`a.b`, `a[0]`,
//! `a['k']`), string, number, `true` / `false` / `null` literals, `==` `!=`
//! `<` `>` `<=` `>=` and their word forms `eq` `ne` `lt` `gt` `le` `ge`,
//! `&&` `||` `!` and `and` `or` `not`, `empty` before a path, `+ - * / %`
//! and `div` `mod`, parentheses. Anything else — method or function calls
//! (beans), the conditional `?:`, `instanceof`, lambdas — is refused,
//! naming the construct.
//!
//! Written by hand: no crate reads JUEL, and the subset maps token by token
//! onto the dialect except `empty`.

/// The compatibility-dialect text of the JUEL expression `inner` (the text
/// inside `${...}` or `#{...}`), or why it is outside the subset.
pub fn to_compat(inner: &str) -> Result<String, String> {
    let chars: Vec<char> = inner.chars().collect();
    let mut out = String::with_capacity(inner.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            out.push(c);
            i += 1;
        } else if c == '\'' || c == '"' {
            let end = string_end(&chars, i)?;
            out.extend(&chars[i..end]);
            i = end;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.extend(&chars[start..i]);
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let after_dot = out.trim_end().ends_with('.');
            if after_dot {
                // A property name, whatever it spells.
                out.push_str(&word);
                if next_non_space(&chars, i) == Some('(') {
                    return Err(format!("the method call `{word}(...)`"));
                }
                continue;
            }
            match word.as_str() {
                "eq" => out.push_str("=="),
                "ne" => out.push_str("!="),
                "lt" => out.push('<'),
                "gt" => out.push('>'),
                "le" => out.push_str("<="),
                "ge" => out.push_str(">="),
                "div" => out.push('/'),
                "mod" => out.push('%'),
                "and" | "or" | "not" | "true" | "false" | "null" => out.push_str(&word),
                "empty" => {
                    let (path, end) = path_after(&chars, i)?;
                    out.push_str(&format!(
                        "({path} == null or (not {path} and {path} != 0 and {path} != false))"
                    ));
                    i = end;
                }
                "instanceof" => return Err("`instanceof`".into()),
                _ => {
                    if next_non_space(&chars, i) == Some('(') {
                        return Err(format!("the function call `{word}(...)`"));
                    }
                    out.push_str(&word);
                }
            }
        } else {
            match c {
                '?' => return Err("the conditional operator `?:`".into()),
                '(' | ')' | '[' | ']' | '.' | ',' | '+' | '-' | '*' | '/' | '%' | '<' | '>'
                | '=' | '!' | '&' | '|' => {
                    out.push(c);
                    i += 1;
                }
                other => return Err(format!("the character '{other}'")),
            }
        }
    }
    Ok(out)
}

/// The index just after the string literal opening at `start`.
fn string_end(chars: &[char], start: usize) -> Result<usize, String> {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err("a string literal that is not closed".into())
}

fn next_non_space(chars: &[char], from: usize) -> Option<char> {
    chars[from.min(chars.len())..]
        .iter()
        .copied()
        .find(|c| !c.is_whitespace())
}

/// The property path after `empty` (starting at or after `from`) as text,
/// and the index after it.
fn path_after(chars: &[char], from: usize) -> Result<(String, usize), String> {
    let mut i = from;
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    let start = i;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    if i >= chars.len() || !(chars[i].is_alphabetic() || chars[i] == '_') {
        return Err("`empty` before something other than a property path".into());
    }
    while i < chars.len() {
        let dot_then_name = chars[i] == '.' && chars.get(i + 1).is_some_and(|c| c.is_alphabetic());
        if ident(chars[i]) || dot_then_name {
            i += 1;
        } else if chars[i] == '[' {
            let mut depth = 0;
            while i < chars.len() {
                match chars[i] {
                    '[' => depth += 1,
                    ']' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    '\'' | '"' => {
                        i = string_end(chars, i)?;
                        continue;
                    }
                    _ => {}
                }
                i += 1;
            }
        } else {
            break;
        }
    }
    if next_non_space(chars, i) == Some('(') {
        return Err("`empty` before a method call".into());
    }
    Ok((chars[start..i].iter().collect(), i))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Expression, Language};
    use serde_json::{Value, json};

    fn eval(juel: &str, vars: Value) -> Value {
        let text = to_compat(juel).unwrap();
        let e = Expression::compile(Language::Compat, &text).unwrap();
        e.evaluate(vars.as_object().unwrap()).unwrap()
    }

    #[test]
    fn the_subset_means_what_juel_means() {
        let v = json!({"amount": 150, "approved": true, "name": "ann",
                       "list": [], "full": [1], "order": {"items": [{"id": "x"}]},
                       "zero": 0, "blank": "", "none": null, "map": {}});
        assert_eq!(eval("amount > 100", v.clone()), json!(true));
        assert_eq!(eval("amount gt 100 and approved", v.clone()), json!(true));
        assert_eq!(eval("amount le 100 || !approved", v.clone()), json!(false));
        assert_eq!(
            eval("name eq 'ann' && name ne \"bob\"", v.clone()),
            json!(true)
        );
        assert_eq!(
            eval("not empty full and empty list", v.clone()),
            json!(true)
        );
        assert_eq!(
            eval("empty none && empty blank && empty map", v.clone()),
            json!(true)
        );
        assert_eq!(eval("empty zero", v.clone()), json!(false));
        assert_eq!(eval("order.items[0].id == 'x'", v.clone()), json!(true));
        // EL divides as doubles, as the dialect does.
        assert_eq!(eval("amount div 10 + amount mod 7", v.clone()), json!(18.0));
        assert_eq!(eval("none == null", v), json!(true));
    }

    #[test]
    fn broken_input_is_an_error_or_a_compile_error_never_a_panic() {
        for juel in [
            "",
            "[",
            "]",
            "empty",
            "empty ",
            "a[",
            "a['x",
            "'",
            "\\",
            "empty a[",
            "empty a['",
            "a.(",
            "1.e",
            "a .",
            "!!",
            "é eq ü",
            "empty é.b[0]",
            "a['\\']",
        ] {
            if let Ok(text) = to_compat(juel) {
                let _ = Expression::compile(Language::Compat, &text);
            }
        }
    }

    #[test]
    fn what_is_outside_the_subset_is_named() {
        for (juel, says) in [
            ("order.getItems()", "method call `getItems(...)`"),
            ("myBean.check(x)", "method call `check(...)`"),
            ("size(list)", "function call `size(...)`"),
            ("a ? b : c", "conditional"),
            ("a instanceof B", "instanceof"),
            ("empty (a)", "`empty` before"),
            ("'open", "not closed"),
            ("a # b", "'#'"),
        ] {
            let e = to_compat(juel).unwrap_err();
            assert!(e.contains(says), "{juel}: {e}");
        }
    }
}
