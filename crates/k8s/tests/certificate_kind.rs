//! `kubernetes.certificate` against the real API server: the certificate
//! of a TLS Secret (made here with rcgen) is parsed into its names and
//! validity window; a missing Secret is `null` with `optional`; the
//! private key is refused by name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{cluster, namespace, run_task};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use serde_json::json;
use windlass_store_api::InstanceStatus;

/// A self-signed certificate for `host`, valid for `days` from now.
fn self_signed(host: &str, days: i64) -> (String, String) {
    let mut params = rcgen::CertificateParams::new(vec![host.to_string()]).unwrap();
    let start = time_now();
    params.not_before = start;
    params.not_after = start + time::Duration::days(days);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

#[tokio::test]
async fn the_certificate_of_a_tls_secret_is_read_and_its_key_is_not() {
    let Some((_, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "cert").await;
    let (crt, key) = self_signed("shop.example.com", 10);
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "shop-tls"},
        "type": "kubernetes.io/tls",
        "stringData": {"tls.crt": crt, "tls.key": key},
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();

    let settings = [("namespace", ns.as_str()), ("name", "shop-tls")];
    let out = run_task(&client, "kubernetes.certificate", &settings, json!({})).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    let cert = &out.variables["certificate"];
    assert_eq!(cert["dnsNames"], json!(["shop.example.com"]), "{cert}");
    let left = cert["secondsLeft"].as_i64().unwrap();
    assert!((9 * 86_400..=10 * 86_400).contains(&left), "{cert}");
    assert!(cert["notAfter"].as_str().unwrap().ends_with('Z'), "{cert}");
    assert!(!format!("{:?}", out.variables).contains("PRIVATE KEY"));

    let missing = [
        ("namespace", ns.as_str()),
        ("name", "nothing-yet"),
        ("optional", "true"),
    ];
    let out = run_task(&client, "kubernetes.certificate", &missing, json!({})).await;
    assert_eq!(out.status, InstanceStatus::Completed, "{:?}", out.incidents);
    assert!(out.variables["certificate"].is_null());

    let key = [
        ("namespace", ns.as_str()),
        ("name", "shop-tls"),
        ("key", "tls.key"),
    ];
    let out = run_task(&client, "kubernetes.certificate", &key, json!({})).await;
    assert_ne!(out.status, InstanceStatus::Completed);
    let why = format!("{:?}", out.incidents);
    assert!(why.contains("private key"), "{why}");
}
