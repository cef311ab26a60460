//! The `http` kind: one request (`method`, `url`, `header.NAME`, a JSON
//! `body`), success decided by `successCodes`, retried inside the attempt
//! on 5xx / 429 and connection errors with a bounded exponential backoff;
//! the response goes into the variable `response` (`status`, `headers`,
//! `body`, parsed when it is JSON), or, with `output.NAME` settings, only
//! the values those CEL expressions select from it. Credentials are masked
//! in all the job gives out ([`Secrets`]).

mod auth;
mod body;
mod oauth2;
mod response;
mod secrets;
mod send;
mod tls;

pub use auth::Auth;
pub use body::render_json_body;
pub use oauth2::OAuth2;
pub use secrets::{MASK, MIN_COOKIE_SECRET, Secrets, is_sensitive_name, url_for_message};
pub use send::run;
pub use tls::Tls;

use crate::error::ConfigError;
use crate::input::TaskInput;
use crate::settings::{Known, Settings, is_variable_name};
use std::fmt;
use std::time::Duration;
use windlass_model::SuccessCodes;

/// The kind name.
pub const KIND: &str = "http";

/// Retries inside one attempt when `maxRetries` is not set.
pub const DEFAULT_RETRIES: u32 = 2;
/// First backoff between retries when `retryBackoff` is not set.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(200);
/// No backoff is longer than this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// The response body is cut after this many bytes (and then not parsed).
pub const BODY_CAP: usize = 1024 * 1024;

const KNOWN: Known<'static> = Known {
    names: &[
        "method",
        "url",
        "body",
        "successCodes",
        "auth",
        "username",
        "password",
        "token",
        "connectTimeout",
        "timeout",
        "maxRetries",
        "retryBackoff",
        "tokenUrl",
        "clientId",
        "clientSecret",
        "scope",
        "clientCertificate",
        "clientKey",
        "caCertificate",
    ],
    prefixes: &["header.", "output."],
    unsupported: &[],
    // A JSON template, rendered so values cannot change its shape; output
    // expressions, compiled.
    verbatim: &["body", "output."],
};

/// An `http` task, settings read and checked (`Debug` shows no
/// credential).
#[derive(Clone)]
pub struct HttpSpec {
    /// The task (for messages).
    pub label: String,
    /// The method, upper case.
    pub method: reqwest::Method,
    /// The URL.
    pub url: reqwest::Url,
    /// Headers, in name order.
    pub headers: Vec<(String, String)>,
    /// The JSON body, if any.
    pub body: Option<serde_json::Value>,
    /// `output.NAME` settings: each variable `NAME` set to its expression's
    /// value over `response`, in place of the variable `response`.
    pub outputs: Vec<(String, windlass_expr::Expression)>,
    /// Which statuses are success.
    pub success: SuccessCodes,
    /// Authentication.
    pub auth: Auth,
    /// Time allowed to connect.
    pub connect_timeout: Option<Duration>,
    /// Time allowed for each request, response body included.
    pub timeout: Option<Duration>,
    /// Retries (after the first try) on 5xx / 429 / connection errors.
    pub max_retries: u32,
    /// The first backoff; doubled each retry, at most [`MAX_BACKOFF`].
    pub backoff: Duration,
    /// The credentials among the settings, masked in all the job gives out.
    pub secrets: Secrets,
    /// Client certificate and extra CA.
    pub tls: Tls,
}

impl fmt::Debug for HttpSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), self.secrets.mask(v)))
            .collect();
        f.debug_struct("HttpSpec")
            .field("label", &self.label)
            .field("method", &self.method)
            .field("url", &url_for_message(&self.url))
            .field("headers", &headers)
            .field(
                "body",
                &self
                    .body
                    .as_ref()
                    .map(|b| self.secrets.mask_json(b.clone())),
            )
            .field(
                "outputs",
                &(self.outputs.iter())
                    .map(|(n, e)| (n.as_str(), e.source()))
                    .collect::<Vec<_>>(),
            )
            .field("success", &self.success)
            .field("auth", &self.auth)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff", &self.backoff)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl HttpSpec {
    /// Reads the settings of `input`, refusing unknown or invalid ones.
    pub fn parse(input: &TaskInput) -> Result<HttpSpec, ConfigError> {
        let s = Settings::read(input, KNOWN)?;
        let url = parse_url(&s, input, "url")?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(s.invalid(
                "url",
                format!("scheme '{}' is not http or https", url.scheme()),
            ));
        }
        let method = s.get("method").unwrap_or("GET").to_ascii_uppercase();
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| s.invalid("method", format!("'{method}' is not a method")))?;
        let mut headers = Vec::new();
        for (name, value) in s.family("header.") {
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| s.invalid(&format!("header.{name}"), e.to_string()))?;
            reqwest::header::HeaderValue::from_str(value)
                .map_err(|e| s.invalid(&format!("header.{name}"), e.to_string()))?;
            headers.push((name.to_string(), value.to_string()));
        }
        let mut outputs = Vec::new();
        for (name, _) in s.family("output.") {
            let setting = format!("output.{name}");
            if !is_variable_name(name) {
                return Err(s.invalid(&setting, format!("'{name}' is not a variable name")));
            }
            let source = s.expression(&setting)?.unwrap_or_default();
            let e = windlass_expr::Expression::compile(windlass_expr::Language::Cel, &source)
                .map_err(|e| s.invalid(&setting, e.to_string()))?;
            outputs.push((name.to_string(), e));
        }
        let body = match s.get("body") {
            Some(source) => Some(
                render_json_body(source, &input.inputs).map_err(|why| s.invalid("body", why))?,
            ),
            None => None,
        };
        let success = match s.get("successCodes") {
            Some(text) => SuccessCodes::parse(text).map_err(|e| s.invalid("successCodes", e))?,
            None => SuccessCodes::default(),
        };
        let max_retries = match s.get("maxRetries") {
            Some(n) => n
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 10)
                .ok_or_else(|| s.invalid("maxRetries", format!("'{n}' is not a number 0-10")))?,
            None => DEFAULT_RETRIES,
        };
        let auth = auth::read(&s, input)?;
        let tls = Tls::read(&s, auth == Auth::Mtls)?;
        let mut secrets = Secrets::default();
        for v in s.secret_values() {
            secrets.add(v);
        }
        secrets.add_url(&url);
        for (name, value) in &headers {
            secrets.add_header(name, value, false);
        }
        match &auth {
            Auth::None => {}
            Auth::Basic { password, .. } => secrets.add(password),
            Auth::Bearer(token) => secrets.add(token),
            Auth::OAuth2(o) => {
                secrets.add(&o.client_secret);
                secrets.add_url(&o.token_url);
            }
            Auth::Mtls => {
                if let Some(key) = s.get("clientKey") {
                    secrets.add(key.trim());
                }
            }
        }
        Ok(HttpSpec {
            label: input.label.clone(),
            method,
            url,
            headers,
            body,
            outputs,
            success,
            auth,
            connect_timeout: s.duration("connectTimeout")?,
            timeout: s.duration("timeout")?,
            max_retries,
            backoff: s.duration("retryBackoff")?.unwrap_or(DEFAULT_BACKOFF),
            secrets,
            tls,
        })
    }
}

/// The URL setting `name`, an error quoting it as written (a rendered URL
/// may hold a credential).
fn parse_url(s: &Settings<'_>, input: &TaskInput, name: &str) -> Result<reqwest::Url, ConfigError> {
    let url = s.required(name)?;
    reqwest::Url::parse(url).map_err(|e| {
        let written = input.settings_source.get(name).map_or("", String::as_str);
        s.invalid(name, format!("{e} (as written: '{written}')"))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn input(settings: &[(&str, &str)]) -> TaskInput {
        let map: BTreeMap<String, String> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TaskInput {
            label: "Call".into(),
            kind: KIND.into(),
            settings: map.clone(),
            settings_source: map,
            inputs: Default::default(),
            cancel: Default::default(),
            secrets: crate::SecretSource::new(None, Some(Default::default())),
            job_key: None,
        }
    }

    fn err(settings: &[(&str, &str)]) -> String {
        HttpSpec::parse(&input(settings)).unwrap_err().to_string()
    }

    #[test]
    fn refusals_name_the_setting() {
        assert!(err(&[]).contains("required setting 'url'"));
        assert!(err(&[("url", "ftp://x")]).contains("setting 'url'"));
        assert!(err(&[("url", "http://x"), ("verb", "GET")]).contains("unknown setting 'verb'"));
        assert!(err(&[("url", "http://x"), ("successCodes", "2yy")]).contains("'successCodes'"));
        assert!(err(&[("url", "http://x"), ("auth", "basic")]).contains("'username'"));
        assert!(err(&[("url", "http://x"), ("token", "t")]).contains("'token'"));
        let e = err(&[("url", "http://x"), ("auth", "mtls")]);
        assert!(e.contains("required setting 'clientCertificate'"), "{e}");
        let e = err(&[("url", "http://x"), ("auth", "kerberos")]);
        assert!(
            e.contains("'kerberos' is not basic, bearer, oauth2 or mtls"),
            "{e}"
        );
        let e = err(&[
            ("url", "http://x"),
            ("auth", "oauth2"),
            ("tokenUrl", "http://t"),
        ]);
        assert!(e.contains("required setting 'clientId'"), "{e}");
        let e = err(&[("url", "http://x"), ("clientId", "c")]);
        assert!(
            e.contains("setting 'clientId': only used with a matching `auth`"),
            "{e}"
        );
        let e = err(&[("url", "http://x"), ("clientCertificate", "c.pem")]);
        assert!(
            e.contains("setting 'clientCertificate': only used with a matching `auth`"),
            "{e}"
        );
        let e = err(&[("url", "http://x"), ("caCertificate", "c.pem")]);
        assert!(
            e.contains("setting 'caCertificate': not a PEM certificate"),
            "{e}"
        );
        let e = err(&[
            ("url", "http://x"),
            ("auth", "mtls"),
            ("clientCertificate", "c.pem"),
            ("clientKey", "k.pem"),
        ]);
        assert!(
            e.contains("setting 'clientCertificate': not a PEM certificate"),
            "{e}"
        );
    }

    #[test]
    fn a_placeholder_without_a_value_is_refused_not_sent() {
        let e = err(&[("url", "http://127.0.0.1:1/items/{id}")]);
        assert_eq!(
            e,
            "task 'Call' (kind 'http'): setting 'url': template \
             'http://127.0.0.1:1/items/{id}': no value for {id} (missing or null)"
        );
        let e = err(&[("url", "http://x/"), ("header.X-Id", "{id}")]);
        assert!(e.contains("setting 'header.X-Id'"), "{e}");
        let mut i = input(&[("url", "http://x/{id}"), ("header.X-Id", "{id}")]);
        i.inputs.insert("id".into(), "7".into());
        let spec = HttpSpec::parse(&i).unwrap();
        assert_eq!(spec.url.as_str(), "http://x/7");
        assert_eq!(spec.headers, vec![("X-Id".to_string(), "7".to_string())]);
    }

    #[test]
    fn defaults() {
        let s = HttpSpec::parse(&input(&[("url", "http://127.0.0.1:1/x")])).unwrap();
        assert_eq!(s.method, reqwest::Method::GET);
        assert_eq!(s.max_retries, DEFAULT_RETRIES);
        assert!(s.success.contains(200) && !s.success.contains(404));
        assert_eq!(s.auth, Auth::None);
    }
}
