//! How an `http` request authenticates: the `auth` setting (`basic`,
//! `bearer`, `oauth2`, `mtls`) and the settings that go with it, each
//! refused by name when given without its `auth` (the certificate and key
//! of `mtls` are read by `tls.rs`).

use super::MASK;
use super::oauth2::OAuth2;
use crate::error::ConfigError;
use crate::input::TaskInput;
use crate::settings::Settings;
use std::fmt;

/// Authentication of a request (`Debug` shows no credential).
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// None.
    None,
    /// HTTP basic (`username`, `password`).
    Basic {
        /// The user.
        username: String,
        /// The password (may be empty).
        password: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// A bearer token from an OAuth2 token endpoint (client credentials).
    OAuth2(OAuth2),
    /// A client certificate (`clientCertificate`, `clientKey`: [`super::Tls`]).
    Mtls,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &MASK)
                .finish(),
            Auth::Bearer(_) => f.debug_tuple("Bearer").field(&MASK).finish(),
            Auth::OAuth2(o) => f.debug_tuple("OAuth2").field(o).finish(),
            Auth::Mtls => f.write_str("Mtls"),
        }
    }
}

/// Reads `auth` and the settings that go with it.
pub(super) fn read(s: &Settings<'_>, input: &TaskInput) -> Result<Auth, ConfigError> {
    let stray = |names: &[&str]| -> Result<(), ConfigError> {
        match names.iter().find(|n| s.get(n).is_some()) {
            Some(n) => Err(s.invalid(n, "only used with a matching `auth`")),
            None => Ok(()),
        }
    };
    const OAUTH2: [&str; 4] = ["tokenUrl", "clientId", "clientSecret", "scope"];
    const MTLS: [&str; 2] = ["clientCertificate", "clientKey"];
    if s.get("auth") != Some("mtls") {
        stray(&MTLS)?;
    }
    match s.get("auth") {
        None => {
            stray(&["username", "password", "token"])?;
            stray(&OAUTH2)?;
            Ok(Auth::None)
        }
        Some("mtls") => {
            stray(&["username", "password", "token"])?;
            stray(&OAUTH2)?;
            Ok(Auth::Mtls)
        }
        Some("basic") => {
            stray(&["token"])?;
            stray(&OAUTH2)?;
            Ok(Auth::Basic {
                username: s.required("username")?.to_string(),
                password: s.get("password").unwrap_or("").to_string(),
            })
        }
        Some("bearer") => {
            stray(&["username", "password"])?;
            stray(&OAUTH2)?;
            Ok(Auth::Bearer(s.required("token")?.to_string()))
        }
        Some("oauth2") => {
            stray(&["username", "password", "token"])?;
            let token_url = super::parse_url(s, input, "tokenUrl")?;
            Ok(Auth::OAuth2(OAuth2 {
                token_url,
                client_id: s.required("clientId")?.to_string(),
                client_secret: s.required("clientSecret")?.to_string(),
                scope: s.get("scope").map(str::to_string),
            }))
        }
        Some(other) => Err(s.invalid(
            "auth",
            format!("'{other}' is not basic, bearer, oauth2 or mtls"),
        )),
    }
}
