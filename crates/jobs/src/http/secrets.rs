//! The credentials of one `http` job, masked as `***` in everything the
//! job gives out: failure messages (which become history events and
//! incident text), the `response` variable (a server may echo a header
//! back), log lines and `Debug` output.
//!
//! What counts as a credential: the `password`, `token` and `clientSecret`
//! settings, the password of the URL, the values of sensitive headers
//! (`Authorization`, `Cookie`, names holding `auth`, `token`, `secret`,
//! `password`, `key`, `session` or `signature`), URL query values of such
//! names, every header value the HTTP client marks sensitive (the basic and
//! bearer `Authorization` it builds, OAuth2's client authentication) and
//! every access token fetched. URLs in messages show no password and no
//! query values at all ([`url_for_message`]).

use std::fmt;
use windlass_engine::event::JobFailure;
use windlass_runtime::JobOutcome;

/// What replaces a secret.
pub const MASK: &str = "***";

/// The shortest cookie value masked wherever it appears (shorter ones are
/// masked in their `Set-Cookie` header only: masking `en` everywhere would
/// garble the output).
pub const MIN_COOKIE_SECRET: usize = 8;

/// Secret values to mask, longest first.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    values: Vec<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} values)", self.values.len())
    }
}

/// True when a header or query parameter of this name carries a credential.
pub fn is_sensitive_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    ) || [
        "auth",
        "token",
        "secret",
        "password",
        "passwd",
        "key",
        "session",
        "signature",
    ]
    .iter()
    .any(|w| name.contains(w))
}

impl Secrets {
    /// Adds `value` (nothing when empty).
    pub fn add(&mut self, value: &str) {
        if value.is_empty() || value == MASK || self.values.iter().any(|v| v == value) {
            return;
        }
        self.values.push(value.to_string());
        // Longest first: a secret holding another is masked whole.
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// Adds the value of header `name` when it is a credential: for
    /// `Scheme credentials` (`Bearer abc`) the credentials, so the scheme
    /// stays readable (`Bearer ***`); else the whole value.
    pub fn add_header(&mut self, name: &str, value: &str, marked_sensitive: bool) {
        if !(marked_sensitive || is_sensitive_name(name)) {
            return;
        }
        match value.trim().split_once(' ') {
            Some((scheme, credentials))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !credentials.trim().is_empty()
                    && !credentials.trim().contains(' ') =>
            {
                self.add(credentials.trim());
            }
            _ => self.add(value),
        }
    }

    /// Adds every credential of `request`'s headers.
    pub fn add_request(&mut self, request: &reqwest::Request) {
        for (name, value) in request.headers() {
            if let Ok(text) = value.to_str() {
                self.add_header(name.as_str(), text, value.is_sensitive());
            }
        }
    }

    /// Adds the password and the sensitive query values of `url`, as
    /// written and decoded.
    pub fn add_url(&mut self, url: &reqwest::Url) {
        if let Some(p) = url.password() {
            self.add(p);
            if let Ok(decoded) = percent_decode(p) {
                self.add(&decoded);
            }
        }
        for (name, value) in url.query_pairs() {
            if is_sensitive_name(&name) {
                self.add(&value);
            }
        }
    }

    /// The header of a `Set-Cookie` (`name=value; attributes`) with the
    /// cookie's value masked (`name=***; attributes`), the name and the
    /// attributes kept readable. A value of [`MIN_COOKIE_SECRET`] characters
    /// or more (a session token, not `lang=en`) is also added, so an echo
    /// of it elsewhere is masked too.
    pub fn add_set_cookie(&mut self, header: &str) -> String {
        let (pair, attributes) = match header.split_once(';') {
            Some((pair, rest)) => (pair, Some(rest)),
            None => (header, None),
        };
        let Some((name, value)) = pair.split_once('=') else {
            return MASK.to_string();
        };
        let value = value.trim().trim_matches('"');
        if value.is_empty() {
            return header.to_string();
        }
        if value.chars().count() >= MIN_COOKIE_SECRET {
            self.add(value);
        }
        match attributes {
            Some(rest) => format!("{}={MASK};{rest}", name.trim()),
            None => format!("{}={MASK}", name.trim()),
        }
    }

    /// `text` with every secret replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        out
    }

    /// `value` with every secret masked in its strings and keys.
    pub fn mask_json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.mask(&s)),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.mask_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (self.mask(&k), self.mask_json(v)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// `outcome` with every secret masked: in a failure's message, in a
    /// completion's output variables.
    pub fn mask_outcome(&self, outcome: JobOutcome) -> JobOutcome {
        match outcome {
            JobOutcome::Completed { outputs, by } => JobOutcome::Completed {
                outputs: outputs
                    .into_iter()
                    .map(|(k, v)| (k, self.mask_json(v)))
                    .collect(),
                by,
            },
            JobOutcome::Failed(JobFailure::Technical { message, retryable }) => {
                JobOutcome::Failed(JobFailure::Technical {
                    message: self.mask(&message),
                    retryable,
                })
            }
            JobOutcome::Failed(JobFailure::Bpmn { code, message }) => {
                JobOutcome::Failed(JobFailure::Bpmn {
                    code: self.mask(&code),
                    message: message.map(|m| self.mask(&m)),
                })
            }
        }
    }
}

/// `url` for a message: the password replaced by [`MASK`], every query
/// value too (a key in a query string is common and has no fixed name).
pub fn url_for_message(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some(MASK));
    }
    if u.query().is_some() {
        let names: Vec<String> = u.query_pairs().map(|(k, _)| k.into_owned()).collect();
        u.query_pairs_mut()
            .clear()
            .extend_pairs(names.iter().map(|k| (k.as_str(), MASK)));
    }
    u.to_string()
}

/// `%XX` escapes undone (as UTF-8).
fn percent_decode(text: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_longest_first_in_text_and_json() {
        let mut s = Secrets::default();
        s.add("abc");
        s.add("abcdef");
        s.add("");
        assert_eq!(s.mask("x abcdef y abc"), "x *** y ***");
        assert_eq!(
            s.mask_json(json!({"abc": ["abcdef", 1, {"k": "zabcz"}]})),
            json!({"***": ["***", 1, {"k": "z***z"}]})
        );
        assert_eq!(format!("{s:?}"), "Secrets(2 values)");
    }

    #[test]
    fn set_cookie_values_are_masked_in_the_header_and_long_ones_everywhere() {
        let mut s = Secrets::default();
        assert_eq!(
            s.add_set_cookie("SESSION=abcdef123456; Path=/; HttpOnly"),
            "SESSION=***; Path=/; HttpOnly"
        );
        assert_eq!(s.add_set_cookie("lang=en"), "lang=***");
        assert_eq!(s.add_set_cookie("id=\"q1w2e3r4t5\""), "id=***");
        assert_eq!(s.add_set_cookie("garbage"), "***");
        assert_eq!(s.add_set_cookie("empty=; Max-Age=0"), "empty=; Max-Age=0");
        assert_eq!(s.mask("echo abcdef123456 q1w2e3r4t5 en"), "echo *** *** en");
    }

    #[test]
    fn headers_by_name_or_mark_and_urls() {
        let mut s = Secrets::default();
        s.add_header("X-Trace", "t-1", false);
        s.add_header("X-Api-Key", "k-1", false);
        s.add_header("Authorization", "Bearer tok", false);
        s.add_header("X-Other", "marked", true);
        s.add_header("Cookie", "a=b; c=d", false);
        assert_eq!(
            s.mask("t-1 k-1 Bearer tok / tok marked a=b; c=d"),
            "t-1 *** Bearer *** / *** *** ***"
        );
        let url = reqwest::Url::parse("http://ann:p%40ss@h/x?page=2&api_key=qk").unwrap();
        let mut s = Secrets::default();
        s.add_url(&url);
        assert_eq!(s.mask("p@ss p%40ss qk 2"), "*** *** *** 2");
        assert_eq!(
            url_for_message(&url),
            "http://ann:***@h/x?page=***&api_key=***"
        );
    }
}
