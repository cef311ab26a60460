//! The manifests that run `windlass operator` in a cluster (`deploy/` in
//! the repository; `windlass operator --print-manifests` prints them):
//! the namespace, the `ProcessDefinition` CRD (generated from
//! [`crate::definition::resource`]), least-privilege RBAC, the Deployment
//! with its probes and the Service.

/// The manifests in the order they apply, as `(file name, YAML)`.
pub fn manifests() -> Vec<(&'static str, String)> {
    vec![
        (
            "namespace.yaml",
            include_str!("../../../deploy/namespace.yaml").to_string(),
        ),
        ("crd.yaml", crate::definition::resource::crd_yaml()),
        (
            "rbac.yaml",
            include_str!("../../../deploy/rbac.yaml").to_string(),
        ),
        (
            "deployment.yaml",
            include_str!("../../../deploy/deployment.yaml").to_string(),
        ),
        (
            "service.yaml",
            include_str!("../../../deploy/service.yaml").to_string(),
        ),
    ]
}

/// Every manifest as one multi-document YAML stream (for
/// `kubectl apply -f -`).
pub fn manifests_yaml() -> String {
    let mut out = String::new();
    for (file, yaml) in manifests() {
        out.push_str(&format!("---\n# deploy/{file}\n"));
        out.push_str(yaml.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_manifest_parses_and_names_its_kind() {
        for (file, yaml) in super::manifests() {
            for doc in serde_norway::Deserializer::from_str(&yaml) {
                let value: serde_json::Value =
                    serde::Deserialize::deserialize(doc).unwrap_or_else(|e| panic!("{file}: {e}"));
                assert!(
                    value.get("kind").is_some(),
                    "{file}: a document without kind"
                );
                assert!(value.get("apiVersion").is_some(), "{file}: no apiVersion");
            }
        }
    }
}
