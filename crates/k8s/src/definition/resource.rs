//! The `ProcessDefinition` custom resource (`windlass.io/v1alpha1`): a
//! BPMN document deployed with kubectl or GitOps. Its CRD is generated
//! from these types ([`crd_yaml`]); `deploy/crd.yaml` is that output, checked
//! by a test.

use kube::CustomResource;
use kube::CustomResourceExt as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A BPMN document to deploy.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "windlass.io",
    version = "v1alpha1",
    kind = "ProcessDefinition",
    namespaced,
    status = "ProcessDefinitionStatus",
    shortname = "pd",
    category = "windlass",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Processes","type":"string","jsonPath":".status.summary"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ProcessDefinitionSpec {
    /// The BPMN 2.0 XML document (one or more processes). Each change
    /// deploys new versions; running instances stay on theirs.
    pub bpmn: String,
}

/// What the operator made of a `ProcessDefinition`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessDefinitionStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The processes deployed from the document, with their versions.
    #[serde(default)]
    pub processes: Vec<DeployedProcess>,
    /// `id@version, …` of the processes (for `kubectl get`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Why the document was not deployed: validation problems with line
    /// and element id.
    #[serde(default)]
    pub problems: Vec<String>,
    /// `Ready`: deployed (`True`) or refused (`False`, with the reason).
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// One deployed process.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeployedProcess {
    /// The BPMN process id.
    pub id: String,
    /// The version deployed (the same content keeps its version).
    pub version: u32,
}

/// A status condition, as Kubernetes' `metav1.Condition`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's type (`Ready`).
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase reason (`Deployed`, `Invalid`, `DeployFailed`).
    pub reason: String,
    /// What happened, for people.
    pub message: String,
    /// When `status` last changed (RFC 3339).
    pub last_transition_time: String,
    /// The generation the condition was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The CustomResourceDefinition of [`ProcessDefinition`], as YAML (what
/// `deploy/crd.yaml` holds).
pub fn crd_yaml() -> String {
    let crd = ProcessDefinition::crd();
    // A CRD serializes without fail: it is plain data.
    serde_norway::to_string(&crd).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crd_names_the_group_kind_and_status_subresource() {
        let crd = ProcessDefinition::crd();
        assert_eq!(crd.spec.group, "windlass.io");
        assert_eq!(crd.spec.names.kind, "ProcessDefinition");
        assert_eq!(crd.spec.names.plural, "processdefinitions");
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some()
        );
    }

    #[test]
    fn the_shipped_crd_is_the_generated_one() {
        let shipped = include_str!("../../../../deploy/crd.yaml");
        assert_eq!(
            shipped.trim_end(),
            crd_yaml().trim_end(),
            "deploy/crd.yaml is stale: `windlass operator --print-manifests` prints the current one"
        );
    }
}
