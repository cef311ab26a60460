//! `auth` = `mtls` against a real TLS server on loopback (rustls) that
//! requires a client certificate from its CA: certificates made for the
//! test (rcgen) — a CA, the server's for `localhost`, a client's, and a
//! client's from another CA. The key comes in as a `secret:` reference.
//! (The HTTP answer is written by hand on the TLS stream: what is tested is
//! the handshake, which is real.)

#![allow(clippy::unwrap_used)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use windlass_engine::event::JobFailure;
use windlass_jobs::{SecretSource, TaskInput};
use windlass_runtime::JobOutcome;

/// A CA: its certificate and key.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn new_ca(name: &str) -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    Ca { cert, key }
}

/// A leaf certificate signed by `ca`: (certificate, key).
fn leaf(ca: &Ca, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (rcgen::Certificate, KeyPair) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut p = CertificateParams::new(names).unwrap();
    p.distinguished_name.push(DnType::CommonName, "leaf");
    p.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
    (cert, key)
}

/// A TLS server trusting client certificates of `ca` only; answers each
/// request with JSON saying how many client certificates it saw.
async fn server(ca: &Ca) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert.der().clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let (cert, key) = leaf(
        ca,
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let seen = tls.get_ref().1.peer_certificates().map_or(0, <[_]>::len);
                let body = json!({"hello": "mtls", "clientCerts": seen}).to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn input(settings: &[(&str, &str)], secrets: SecretSource) -> TaskInput {
    let map: BTreeMap<String, String> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TaskInput {
        label: "Call".into(),
        kind: "http".into(),
        settings: map.clone(),
        settings_source: map,
        inputs: Default::default(),
        cancel: Default::default(),
        secrets,
        job_key: None,
    }
}

async fn run(i: TaskInput) -> JobOutcome {
    windlass_jobs::start(i).unwrap().await
}

fn failure(o: JobOutcome) -> String {
    match o {
        JobOutcome::Failed(JobFailure::Technical { message, .. }) => message,
        other => panic!("not a technical failure: {other:?}"),
    }
}

#[tokio::test]
async fn a_client_certificate_is_presented_and_the_server_ca_trusted() {
    let ca = new_ca("windlass test CA");
    let port = server(&ca).await;
    let url = format!("https://localhost:{port}/hello");
    let (client_cert, client_key) = leaf(&ca, &["client"], ExtendedKeyUsagePurpose::ClientAuth);
    let key_pem = client_key.serialize_pem();
    let secrets = SecretSource::new(
        None,
        Some([("WINDLASS_SECRET_client-key".to_string(), key_pem.clone())].into()),
    );
    let ca_pem = ca.cert.pem();
    let cert_pem = client_cert.pem();

    // The certificate, the key by reference, the server's CA: accepted.
    let good = [
        ("url", url.as_str()),
        ("auth", "mtls"),
        ("clientCertificate", cert_pem.as_str()),
        ("clientKey", "secret:client-key"),
        ("caCertificate", ca_pem.as_str()),
    ];
    let spec = windlass_jobs::http::HttpSpec::parse(&input(&good, secrets.clone())).unwrap();
    assert!(!format!("{spec:?}").contains("PRIVATE KEY"), "{spec:?}");
    match run(input(&good, secrets.clone())).await {
        JobOutcome::Completed { outputs, .. } => {
            assert_eq!(
                outputs["response"]["body"],
                json!({"hello": "mtls", "clientCerts": 1})
            );
        }
        other => panic!("{other:?}"),
    }

    // No client certificate: the server refuses the handshake.
    let message = failure(
        run(input(
            &[
                ("url", url.as_str()),
                ("caCertificate", ca_pem.as_str()),
                ("maxRetries", "0"),
            ],
            secrets.clone(),
        ))
        .await,
    );
    assert!(message.contains("task 'Call'"), "{message}");

    // A client certificate from another CA: refused too.
    let other = new_ca("another CA");
    let (stranger, stranger_key) = leaf(&other, &["client"], ExtendedKeyUsagePurpose::ClientAuth);
    let stranger_pem = stranger.pem();
    let stranger_key = stranger_key.serialize_pem();
    let message = failure(
        run(input(
            &[
                ("url", url.as_str()),
                ("auth", "mtls"),
                ("clientCertificate", stranger_pem.as_str()),
                ("clientKey", stranger_key.as_str()),
                ("caCertificate", ca_pem.as_str()),
                ("maxRetries", "0"),
            ],
            secrets.clone(),
        ))
        .await,
    );
    assert!(!message.contains("PRIVATE KEY"), "{message}");

    // Without the server's CA its certificate is not trusted.
    let message = failure(
        run(input(
            &[
                ("url", url.as_str()),
                ("auth", "mtls"),
                ("clientCertificate", cert_pem.as_str()),
                ("clientKey", "secret:client-key"),
                ("maxRetries", "0"),
            ],
            secrets,
        ))
        .await,
    );
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    assert!(!message.contains(key_pem.trim()), "{message}");
}
