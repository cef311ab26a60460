//! TLS to PostgreSQL (rustls, through `tokio-postgres-rustls`), chosen by
//! the connection string's `sslmode` and `sslrootcert` as libpq reads them.
//!
//! Both are taken out of the string here, before tokio-postgres parses the
//! rest: tokio-postgres knows `sslmode` only as `disable`, `prefer` and
//! `require`, and no root certificates. The server's certificate is always
//! verified when TLS is used: against the PEM file `sslrootcert` names, or
//! the platform's roots without one (`sslrootcert=system`, the default
//! here). That is stricter than libpq's `require` and `prefer`, which
//! accept any certificate unless a root file is given: a certificate that
//! does not verify fails the connection with the reason, never downgrades.
//!
//! | `sslmode` | TLS | the certificate |
//! |---|---|---|
//! | not given, `disable`, `allow` | never | — |
//! | `prefer` | when the server offers it | chain verified, host name not checked |
//! | `require`, `verify-ca` | always | chain verified, host name not checked |
//! | `verify-full` | always | chain and host name verified |

use crate::errors::map_pg;
use futures_util::StreamExt as _;
use percent_encoding::percent_decode_str;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_postgres::config::SslMode;
use tokio_postgres::{AsyncMessage, Client, Config, Connection, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;
use windlass_store_api::{StoreError, StoreResult};

/// The `sslmode` values Windlass accepts (libpq's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsMode {
    /// No TLS (also `allow`, and when the string sets no `sslmode`).
    Disable,
    /// TLS when the server offers it.
    Prefer,
    /// TLS, the chain verified (`require` and `verify-ca`).
    VerifyCa,
    /// TLS, the chain and the host name verified.
    VerifyFull,
}

/// The TLS parameters of a connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsParams {
    /// The mode.
    pub mode: TlsMode,
    /// `sslrootcert`: a PEM file of trusted certificates; `None` for the
    /// platform's roots.
    pub root_cert: Option<PathBuf>,
}

impl TlsParams {
    /// The tokio-postgres mode that goes with it.
    pub fn ssl_mode(&self) -> SslMode {
        match self.mode {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        }
    }

    /// The connector for these parameters; `None` without TLS. Errors name
    /// the root certificate file and what is wrong with it.
    pub fn connector(&self) -> StoreResult<Option<MakeRustlsConnect>> {
        if self.mode == TlsMode::Disable {
            return Ok(None);
        }
        let roots = self.roots()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Invalid(format!("TLS to PostgreSQL: {e}")))?;
        let config = if self.mode == TlsMode::VerifyFull {
            builder.with_root_certificates(roots).with_no_client_auth()
        } else {
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| StoreError::Invalid(format!("TLS to PostgreSQL: {e}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
                .with_no_client_auth()
        };
        Ok(Some(MakeRustlsConnect::new(config)))
    }

    fn roots(&self) -> StoreResult<RootCertStore> {
        let mut roots = RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                let shown = path.display();
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| {
                        StoreError::Invalid(format!(
                            "sslrootcert {shown}: not a readable PEM file: {e}"
                        ))
                    })?;
                if certs.is_empty() {
                    return Err(StoreError::Invalid(format!(
                        "sslrootcert {shown}: no certificate in it"
                    )));
                }
                for cert in certs {
                    roots
                        .add(cert)
                        .map_err(|e| StoreError::Invalid(format!("sslrootcert {shown}: {e}")))?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return Err(StoreError::Invalid(
                        "TLS to PostgreSQL: the platform has no trusted root certificates; \
                         name the server's CA with sslrootcert=FILE"
                            .into(),
                    ));
                }
            }
        }
        Ok(roots)
    }
}

/// How to open a session of its own (not pooled) to the database: its
/// configuration and its TLS connector (`None`: no TLS).
#[derive(Clone)]
pub(crate) struct Dial {
    /// The parsed connection string (TLS parameters taken out).
    pub config: Config,
    /// The TLS connector, when TLS is used.
    pub tls: Option<MakeRustlsConnect>,
}

impl Dial {
    /// Connects and drives the connection in a task that hands each
    /// asynchronous message (notices, notifications) to `on_message`; the
    /// task ends when the connection closes or `on_message` says `false`.
    pub async fn session(
        &self,
        target: &str,
        on_message: impl FnMut(AsyncMessage) -> bool + Send + 'static,
    ) -> StoreResult<Client> {
        match &self.tls {
            None => {
                let (client, connection) = self
                    .config
                    .connect(NoTls)
                    .await
                    .map_err(|e| map_pg(e, target))?;
                drive(connection, on_message);
                Ok(client)
            }
            Some(tls) => {
                let (client, connection) = self
                    .config
                    .connect(tls.clone())
                    .await
                    .map_err(|e| map_pg(e, target))?;
                drive(connection, on_message);
                Ok(client)
            }
        }
    }

    /// A session that has run `LISTEN channel` and hands the payload of
    /// each notification on it to `on_note` (until that says `false`).
    pub async fn listen(
        &self,
        target: &str,
        channel: &'static str,
        mut on_note: impl FnMut(&str) -> bool + Send + 'static,
    ) -> StoreResult<Client> {
        let client = self
            .session(target, move |message| match message {
                AsyncMessage::Notification(n) if n.channel() == channel => on_note(n.payload()),
                _ => true,
            })
            .await?;
        client
            .batch_execute(&format!("LISTEN {channel}"))
            .await
            .map_err(|e| map_pg(e, target))?;
        Ok(client)
    }
}

fn drive<S, T>(
    mut connection: Connection<S, T>,
    mut on_message: impl FnMut(AsyncMessage) -> bool + Send + 'static,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(|cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if !on_message(message) {
                return;
            }
        }
    });
}

/// Verifies the chain and ignores a host name mismatch (libpq's
/// `verify-ca`): for servers reached under a name or address their
/// certificate does not list.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Splits the TLS parameters off a connection string (a URL or `key=value`
/// pairs): the string without `sslmode` and `sslrootcert`, and what they
/// said. Client certificates (`sslcert`, `sslkey`) and CRLs are refused by
/// name.
pub(crate) fn split_tls(url: &str) -> StoreResult<(String, TlsParams)> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: &str| -> StoreResult<bool> {
        match key {
            "sslmode" => {
                mode = Some(match value {
                    "disable" | "allow" => TlsMode::Disable,
                    "prefer" => TlsMode::Prefer,
                    "require" | "verify-ca" => TlsMode::VerifyCa,
                    "verify-full" => TlsMode::VerifyFull,
                    other => {
                        return Err(StoreError::Invalid(format!(
                            "sslmode={other}: use disable, prefer, require, verify-ca or verify-full"
                        )));
                    }
                });
                Ok(true)
            }
            "sslrootcert" => {
                root_cert = (value != "system").then(|| PathBuf::from(value));
                Ok(true)
            }
            "sslcert" | "sslkey" | "sslpassword" | "sslcrl" | "sslcrldir" => {
                Err(StoreError::Invalid(format!(
                    "{key}: client certificates and revocation lists are not supported for \
                     PostgreSQL connections (sslmode and sslrootcert are)"
                )))
            }
            _ => Ok(false),
        }
    };
    let rest = if url.contains("://") {
        match url.split_once('?') {
            None => url.to_string(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    let value = percent_decode_str(v).decode_utf8_lossy();
                    if !take(k, &value)? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for (raw, key, value) in pairs(url) {
            if !take(&key, &value)? {
                kept.push(raw);
            }
        }
        kept.join(" ")
    };
    let params = TlsParams {
        mode: mode.unwrap_or(TlsMode::Disable),
        root_cert,
    };
    Ok((rest, params))
}

/// The `key=value` pairs of a libpq keyword string: each as written, its
/// key, its value (single quotes and backslash escapes resolved). Written
/// here because tokio-postgres's parser is private.
fn pairs(s: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        chars.next_if(|(_, c)| *c == '=');
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '\'').is_some() {
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, e)) = chars.next() {
                            value.push(e);
                        }
                    }
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some((_, e)) = chars.next() {
                        value.push(e);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        let end = chars.peek().map_or(s.len(), |(i, _)| *i);
        out.push((s[start..end].trim_end().to_string(), key, value));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_tls_parameters_and_keep_the_rest() {
        let (rest, p) = split_tls(
            "postgres://u:pw@db.internal:5432/w?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20b.pem",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://u:pw@db.internal:5432/w?application_name=x"
        );
        assert_eq!(p.mode, TlsMode::VerifyFull);
        assert_eq!(p.root_cert, Some(PathBuf::from("/etc/ca b.pem")));
        let (rest, p) = split_tls("postgres://h/w?sslmode=require").unwrap();
        assert_eq!(
            (rest.as_str(), p.mode),
            ("postgres://h/w", TlsMode::VerifyCa)
        );
        let (rest, p) = split_tls("postgres://h/w").unwrap();
        assert_eq!(
            (rest.as_str(), p.mode, p.root_cert),
            ("postgres://h/w", TlsMode::Disable, None)
        );
        let (_, p) = split_tls("postgres://h/w?sslmode=prefer&sslrootcert=system").unwrap();
        assert_eq!((p.mode, p.root_cert), (TlsMode::Prefer, None));
    }

    #[test]
    fn keyword_strings_lose_their_tls_parameters_and_keep_the_rest() {
        let (rest, p) = split_tls(
            "host=h port=5432 sslmode = verify-ca sslrootcert='/a b/c\\'s.pem' password='x y'",
        )
        .unwrap();
        assert_eq!(rest, "host=h port=5432 password='x y'");
        assert_eq!(p.mode, TlsMode::VerifyCa);
        assert_eq!(p.root_cert, Some(PathBuf::from("/a b/c's.pem")));
        let (rest, p) = split_tls("host=h dbname=w").unwrap();
        assert_eq!(
            (rest.as_str(), p.mode),
            ("host=h dbname=w", TlsMode::Disable)
        );
    }

    #[test]
    fn unknown_modes_and_client_certificates_are_refused_by_name() {
        let err = split_tls("postgres://h/w?sslmode=verify")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sslmode=verify:"), "{err}");
        let err = split_tls("host=h sslcert=/c.pem").unwrap_err().to_string();
        assert!(err.contains("sslcert"), "{err}");
        let err = split_tls("postgres://h/w?sslkey=/k.pem")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sslkey"), "{err}");
    }

    #[test]
    fn a_missing_or_empty_root_file_is_an_error_naming_it() {
        let p = TlsParams {
            mode: TlsMode::VerifyFull,
            root_cert: Some(PathBuf::from("/nonexistent/ca.pem")),
        };
        let err = p.connector().err().unwrap().to_string();
        assert!(err.contains("sslrootcert /nonexistent/ca.pem"), "{err}");
        let dir = std::env::temp_dir().join(format!("wl-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let p = TlsParams {
            mode: TlsMode::VerifyCa,
            root_cert: Some(empty.clone()),
        };
        let err = p.connector().err().unwrap().to_string();
        assert!(err.contains("no certificate"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            TlsParams {
                mode: TlsMode::Disable,
                root_cert: None
            }
            .connector()
            .unwrap()
            .is_none()
        );
    }
}
