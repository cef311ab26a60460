//! TLS to a real PostgreSQL server (`scripts/pg-test-env` starts it with
//! `ssl=on`, a test CA and a certificate for `localhost` only): the URL's
//! `sslmode` and `sslrootcert` choose TLS, the server's certificate is
//! verified (chain always, host name with `verify-full`), and the server
//! sees the session encrypted. Without `sslmode` the connection stays plain.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use windlass_pg_testing as common;
use windlass_store_api::conformance::{events, iref, row};
use windlass_store_api::{Batch, InstanceIndex, StoreWrite};
use windlass_store_postgres::{PgOptions, PgStore};

/// The test CA's certificate, when the server and it are there.
fn ca() -> Option<String> {
    common::server_url()?;
    match std::env::var("WINDLASS_TEST_PG_CA") {
        Ok(path) if std::path::Path::new(&path).exists() => Some(path),
        _ => panic!(
            "WINDLASS_TEST_PG names a server but WINDLASS_TEST_PG_CA names no CA file \
             (start the server with scripts/pg-test-env)"
        ),
    }
}

/// The test server's URL with `host` and the query `query`.
fn url(host: &str, query: &str) -> String {
    let base = common::server_url().unwrap();
    let base = base.replacen("@127.0.0.1:", &format!("@{host}:"), 1);
    format!("{base}?{query}")
}

fn app_name(tag: &str) -> String {
    format!("wl_tls_{tag}_{}", std::process::id())
}

/// Whether every session named `app` the server has is encrypted (and
/// there is at least one).
async fn encrypted(app: &str) -> bool {
    let (client, conn) =
        tokio_postgres::connect(&common::server_url().unwrap(), tokio_postgres::NoTls)
            .await
            .unwrap();
    let task = tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = $1",
            &[&app],
        )
        .await
        .unwrap();
    drop(client);
    let _ = task.await;
    assert!(!rows.is_empty(), "no session named {app}");
    rows.iter().all(|r| r.get::<_, bool>(0))
}

/// Connects with `url` in a fresh schema and writes and reads one instance.
async fn round_trip(url: String) -> Result<PgStore, String> {
    let schema = common::fresh_schema("tls").await;
    let store = PgStore::connect_with(PgOptions::new(url).schema(schema))
        .await
        .map_err(|e| e.to_string())?;
    let mut b = Batch::new();
    b.create(row("i", "d", 1), events("i", 1));
    store.commit(b).await.unwrap();
    assert!(store.instance(&iref("i")).await.unwrap().is_some());
    Ok(store)
}

#[tokio::test]
async fn verify_full_to_the_certificates_name_is_encrypted() {
    let Some(ca) = ca() else { return };
    let app = app_name("full");
    let store = round_trip(url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}&application_name={app}"),
    ))
    .await
    .unwrap();
    assert!(encrypted(&app).await, "the server sees TLS");
    drop(store);
}

#[tokio::test]
async fn verify_full_refuses_a_name_the_certificate_lacks() {
    let Some(ca) = ca() else { return };
    let err = round_trip(url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .await
    .expect_err("127.0.0.1 is not in the certificate");
    assert!(err.contains("127.0.0.1"), "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    // A configuration error, not a temporary one to retry.
    assert!(err.contains("TLS handshake refused"), "{err}");
    assert!(!err.contains("temporarily"), "{err}");
}

#[tokio::test]
async fn require_and_verify_ca_check_the_chain_but_not_the_name() {
    let Some(ca) = ca() else { return };
    for mode in ["require", "verify-ca"] {
        let app = app_name(&mode.replace('-', "_"));
        let store = round_trip(url(
            "127.0.0.1",
            &format!("sslmode={mode}&sslrootcert={ca}&application_name={app}"),
        ))
        .await
        .unwrap_or_else(|e| panic!("{mode}: {e}"));
        assert!(encrypted(&app).await, "{mode}: the server sees TLS");
        drop(store);
    }
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let Some(_) = ca() else { return };
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    let other = params.self_signed(&key).unwrap();
    let path = std::env::temp_dir().join(format!("wl-other-ca-{}.pem", std::process::id()));
    std::fs::write(&path, other.pem()).unwrap();
    for mode in ["require", "verify-full"] {
        let err = round_trip(url(
            "localhost",
            &format!("sslmode={mode}&sslrootcert={}", path.display()),
        ))
        .await
        .err()
        .unwrap_or_else(|| panic!("{mode}: an unknown issuer must be refused"));
        assert!(err.to_lowercase().contains("issuer"), "{mode}: {err}");
        assert!(err.contains("TLS handshake refused"), "{mode}: {err}");
    }
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn without_sslmode_the_connection_stays_plain() {
    let Some(_) = ca() else { return };
    let app = app_name("plain");
    let store = round_trip(url("127.0.0.1", &format!("application_name={app}")))
        .await
        .unwrap();
    assert!(!encrypted(&app).await, "no sslmode: no TLS");
    drop(store);
}

#[tokio::test]
async fn bad_tls_parameters_are_refused_before_connecting() {
    let Some(_) = ca() else { return };
    let err = round_trip(url(
        "localhost",
        "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    ))
    .await
    .err()
    .unwrap();
    assert!(err.contains("sslrootcert /nonexistent/ca.pem"), "{err}");
    let err = round_trip(url("localhost", "sslmode=sometimes"))
        .await
        .err()
        .unwrap();
    assert!(err.contains("sslmode=sometimes"), "{err}");
    let err = round_trip(url("localhost", "sslmode=require&sslcert=/c.pem"))
        .await
        .err()
        .unwrap();
    assert!(err.contains("sslcert"), "{err}");
}
