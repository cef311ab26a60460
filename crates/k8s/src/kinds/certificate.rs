//! `kubernetes.certificate`: the X.509 certificate in a TLS Secret
//! (`name`, `namespace`; `key`, default `tls.crt`), parsed, as
//! `resultVariable` (default `certificate`): `subject`, `issuer`,
//! `dnsNames`, `serial`, `notBefore`, `notAfter` (RFC 3339) and
//! `secondsLeft` (until `notAfter`, when the task ran; negative once
//! expired). A gateway decides on it (`certificate.secondsLeft < 2592000`:
//! renew within 30 days).
//!
//! Only the certificate is read: it is public. The private key
//! (`tls.key`) is refused by name: read it with `kubernetes.values`
//! (`kind` = `Secret`, into a masked variable) if a process must.
//! A missing Secret or key fails the task, or gives `null` with
//! `optional` = true (nothing issued yet).

use super::Context;
use super::common::{Failure, Outcome, client, flag, outputs, result_name};
use crate::error::{Call, K8sError};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use serde_json::{Value, json};
use windlass_jobs::TaskInput;
use windlass_jobs::settings::{Known, Settings};
use x509_parser::extensions::GeneralName;

const KNOWN: Known<'static> = Known {
    names: &["namespace", "name", "key", "optional", "resultVariable"],
    prefixes: &[],
    unsupported: &[],
    verbatim: &[],
};

pub(super) async fn run(ctx: &Context, input: &TaskInput) -> Outcome {
    let s = Settings::read(input, KNOWN)?;
    let name = s.required("name")?.to_string();
    let key = s.get("key").unwrap_or("tls.crt").to_string();
    if key == "tls.key" || key.ends_with(".key") {
        return Err(s
            .invalid(
                "key",
                format!("'{key}' holds a private key: only the certificate is read"),
            )
            .into());
    }
    let optional = flag(&s, "optional", false)?;
    let result = result_name(&s, Some("certificate"))?;
    let client = client(ctx).await?;
    let namespace = s
        .get("namespace")
        .map(str::to_string)
        .unwrap_or_else(|| client.default_namespace().to_string());
    let call = Call {
        verb: "get",
        resource: "v1 Secret".into(),
        rbac: Some(("secrets".into(), String::new())),
        namespace: Some(namespace.clone()),
        name: Some(name.clone()),
    };
    let api: Api<Secret> = Api::namespaced(client, &namespace);
    let secret = api
        .get_opt(&name)
        .await
        .map_err(|e| K8sError::of(call.clone(), e))?;
    let bytes = secret.and_then(|s| s.data).and_then(|mut d| d.remove(&key));
    let Some(bytes) = bytes else {
        if optional {
            return Ok(outputs(result, Value::Null));
        }
        return Err(Failure::Failed(format!(
            "{call}: no Secret with key '{key}' (optional = true gives null)"
        )));
    };
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let parsed = describe(&bytes.0, now)
        .map_err(|why| Failure::Failed(format!("{call}: key '{key}': {why}")))?;
    Ok(outputs(result, parsed))
}

/// The first certificate of the PEM (or DER) `bytes`, described; `now` in
/// seconds since the epoch.
pub(crate) fn describe(bytes: &[u8], now: i64) -> Result<Value, String> {
    let der = match x509_parser::pem::parse_x509_pem(bytes) {
        Ok((_, pem)) if pem.label.contains("CERTIFICATE") => pem.contents,
        Ok((_, pem)) => return Err(format!("a PEM '{}' block, not a certificate", pem.label)),
        Err(_) => bytes.to_vec(),
    };
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let validity = cert.validity();
    let time = |t: i64| {
        k8s_openapi::jiff::Timestamp::from_second(t)
            .map(|t| t.to_string())
            .unwrap_or_default()
    };
    let mut dns = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let GeneralName::DNSName(d) = name {
                dns.push(Value::String((*d).to_string()));
            }
        }
    }
    let not_after = validity.not_after.timestamp();
    Ok(json!({
        "subject": cert.subject().to_string(),
        "issuer": cert.issuer().to_string(),
        "dnsNames": dns,
        "serial": cert.raw_serial_as_string(),
        "notBefore": time(validity.not_before.timestamp()),
        "notAfter": time(not_after),
        "secondsLeft": not_after - now,
    }))
}
