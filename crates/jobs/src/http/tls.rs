//! TLS settings of an `http` request: a client certificate and key
//! (`auth` = `mtls`: `clientCertificate`, `clientKey`) and a CA to trust
//! besides the built-in roots (`caCertificate`, with any `auth`). All PEM
//! text — usually `secret:NAME` references (a mounted `kubernetes.io/tls`
//! Secret has `tls.crt` and `tls.key`). Checked when the settings are read:
//! a value that is not PEM of the right kind is refused by setting.

use crate::error::ConfigError;
use crate::settings::Settings;
use std::fmt;

/// The TLS material of a request (`Debug` shows no key).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Tls {
    /// Client certificate (chain) and private key, PEM, concatenated as
    /// reqwest's `Identity::from_pem` takes them.
    pub identity: Option<String>,
    /// A CA certificate (or several), PEM, trusted besides the roots.
    pub ca: Option<String>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("client_certificate", &self.identity.is_some())
            .field("ca_certificate", &self.ca.is_some())
            .finish()
    }
}

impl Tls {
    /// Reads `caCertificate` and, when `mtls`, `clientCertificate` and
    /// `clientKey` (both required). Each is checked as PEM now.
    pub(super) fn read(s: &Settings<'_>, mtls: bool) -> Result<Tls, ConfigError> {
        let ca = match s.get("caCertificate") {
            Some(pem) => {
                reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                    .ok()
                    .filter(|certs| !certs.is_empty())
                    .ok_or_else(|| s.invalid("caCertificate", "not a PEM certificate"))?;
                Some(pem.to_string())
            }
            None => None,
        };
        let identity = if mtls {
            let cert = s.required("clientCertificate")?;
            let key = s.required("clientKey")?;
            if !cert.contains("-----BEGIN CERTIFICATE-----") {
                return Err(s.invalid("clientCertificate", "not a PEM certificate"));
            }
            if !key.contains("PRIVATE KEY-----") {
                return Err(s.invalid("clientKey", "not a PEM private key"));
            }
            let pem = format!("{}\n{}\n", cert.trim(), key.trim());
            reqwest::Identity::from_pem(pem.as_bytes()).map_err(|e| {
                s.invalid(
                    "clientKey",
                    format!("the certificate and key are not a usable pair: {e}"),
                )
            })?;
            Some(pem)
        } else {
            None
        };
        Ok(Tls { identity, ca })
    }

    /// True when there is nothing beyond the defaults.
    pub fn is_default(&self) -> bool {
        self.identity.is_none() && self.ca.is_none()
    }

    /// `b` with this material.
    pub(super) fn apply(
        &self,
        mut b: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, reqwest::Error> {
        if let Some(ca) = &self.ca {
            for cert in reqwest::Certificate::from_pem_bundle(ca.as_bytes())? {
                b = b.add_root_certificate(cert);
            }
        }
        if let Some(pem) = &self.identity {
            b = b.identity(reqwest::Identity::from_pem(pem.as_bytes())?);
        }
        Ok(b)
    }
}
