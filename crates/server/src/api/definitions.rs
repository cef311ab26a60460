//! `/api/v1/definitions`: deploy a BPMN document, list and read deployed
//! versions.
//!
//! A deploy is checked exactly as `windlass validate` checks a file
//! (`windlass_engine::plan::diagnostics`): any error refuses it with 422
//! and every diagnostic; warnings come back with the deployment. Versions
//! are numbered per process id by the runtime under its deploy lock, so two
//! deploys never get the same number; deploying the same document again
//! changes nothing and answers with its existing versions.

use crate::api::json_of;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use windlass_engine::plan::diagnostics::document_diagnostics;
use windlass_model::{Diagnostic, Severity};
use windlass_store_api::{DefinitionRead as _, DefinitionRow};

/// One process of a deployment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeployedProcess {
    /// The BPMN process id.
    pub process_id: String,
    /// The definition key instances of this version refer to.
    pub key: String,
    /// Its version among the process id's deployments (1, 2, ...).
    pub version: u32,
}

/// What a deploy did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeployResponse {
    /// Every runnable process of the document.
    pub processes: Vec<DeployedProcess>,
    /// The warnings `windlass validate` reports for the document.
    #[schema(value_type = Vec<Object>)]
    pub diagnostics: Vec<Value>,
}

/// A deployed version, without its source.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionInfo {
    /// The BPMN process id.
    pub process_id: String,
    /// The definition key.
    pub key: String,
    /// The version.
    pub version: u32,
    /// When it was deployed, RFC 3339 UTC.
    pub deployed_at: String,
    /// True for the latest version of its process id (what new instances run).
    pub latest: bool,
}

/// A process id with all its versions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessDefinitions {
    /// The BPMN process id.
    pub process_id: String,
    /// The latest version.
    pub latest: DefinitionInfo,
    /// Every version, oldest first.
    pub versions: Vec<DefinitionInfo>,
}

/// The list query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Every version, not only the latest per process.
    #[serde(default)]
    pub all: bool,
}

/// The version query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// A version number (default: the latest).
    pub version: Option<u32>,
}

/// A diagnostic as JSON, with the line `windlass validate` prints for it
/// (`text`, without a file name).
fn diagnostic_json(d: &Diagnostic) -> Value {
    let mut v = json_of(d);
    if let Value::Object(map) = &mut v {
        map.insert("text".into(), Value::String(d.to_string()));
    }
    v
}

fn info(row: &DefinitionRow, latest: bool) -> DefinitionInfo {
    DefinitionInfo {
        process_id: row.process_id.clone(),
        key: row.key.clone(),
        version: row.version,
        deployed_at: windlass_views::time::iso(row.deployed_at.0),
        latest,
    }
}

/// Every stored version by process id, oldest first.
async fn by_process(state: &AppState) -> ApiResult<BTreeMap<String, Vec<DefinitionRow>>> {
    let mut map: BTreeMap<String, Vec<DefinitionRow>> = BTreeMap::new();
    for row in state.rt.store().definitions().await? {
        map.entry(row.process_id.clone()).or_default().push(row);
    }
    for rows in map.values_mut() {
        rows.sort_by_key(|r| r.version);
    }
    Ok(map)
}

/// The version `version` (or the latest) of `process_id`.
pub(super) async fn find(
    state: &AppState,
    process_id: &str,
    version: Option<u32>,
) -> ApiResult<(DefinitionRow, bool)> {
    let mut map = by_process(state).await?;
    let rows = map.remove(process_id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "definition_not_found",
            format!("no process '{process_id}' is deployed"),
        )
    })?;
    let latest = rows.last().map(|r| r.version);
    let row = match version {
        None => rows.into_iter().last(),
        Some(v) => rows.into_iter().find(|r| r.version == v),
    };
    let row = row.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "definition_not_found",
            format!(
                "process '{process_id}' has no version {}",
                version.unwrap_or(0)
            ),
        )
    })?;
    let is_latest = Some(row.version) == latest;
    Ok((row, is_latest))
}

/// Deploys a BPMN document.
#[utoipa::path(
    post,
    path = "/api/v1/definitions",
    tag = "definitions",
    request_body(content = String, content_type = "application/xml", description = "The BPMN 2.0 XML document"),
    responses(
        (status = 200, description = "Deployed (or already deployed)", body = DeployResponse),
        (status = 415, description = "Not XML", body = ErrorBody),
        (status = 422, description = "The document has errors (`details.diagnostics`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn deploy(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let xml_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if !matches!(xml_type.as_deref(), Some("application/xml" | "text/xml")) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "deploy takes the BPMN XML as the body with Content-Type: application/xml",
        ));
    }
    let diagnostics = document_diagnostics(&body);
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let json: Vec<Value> = diagnostics.iter().map(diagnostic_json).collect();
    if errors > 0 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_definition",
            format!("the document has {errors} error(s); nothing was deployed"),
        )
        .with_details(serde_json::json!({ "diagnostics": json })));
    }
    // The model loaded it, so it is UTF-8 text.
    let xml = std::str::from_utf8(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8: {e}")))?;
    let dep = state.rt.deploy(xml).await?;
    let processes = dep
        .processes
        .into_iter()
        .map(|(process_id, key, version)| DeployedProcess {
            process_id,
            key,
            version,
        })
        .collect();
    Ok(Json(DeployResponse {
        processes,
        diagnostics: json,
    })
    .into_response())
}

/// Lists deployed processes: the latest version of each, or every version.
#[utoipa::path(
    get,
    path = "/api/v1/definitions",
    tag = "definitions",
    params(ListQuery),
    responses((status = 200, description = "Deployed versions, by process id", body = Vec<DefinitionInfo>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<DefinitionInfo>>> {
    let map = by_process(&state).await?;
    let mut out = Vec::new();
    for rows in map.values() {
        let latest = rows.last().map(|r| r.version);
        for row in rows {
            let is_latest = Some(row.version) == latest;
            if q.all || is_latest {
                out.push(info(row, is_latest));
            }
        }
    }
    Ok(Json(out))
}

/// One process id: its latest version (or `version`) and every version.
#[utoipa::path(
    get,
    path = "/api/v1/definitions/{processId}",
    tag = "definitions",
    params(("processId" = String, Path, description = "The BPMN process id")),
    responses(
        (status = 200, description = "The process's versions", body = ProcessDefinitions),
        (status = 404, description = "Not deployed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(process_id): ApiPath<String>,
) -> ApiResult<Json<ProcessDefinitions>> {
    let (latest, _) = find(&state, &process_id, None).await?;
    let map = by_process(&state).await?;
    let versions = map
        .get(&process_id)
        .map(|rows| {
            rows.iter()
                .map(|r| info(r, r.version == latest.version))
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(ProcessDefinitions {
        process_id: process_id.clone(),
        latest: info(&latest, true),
        versions,
    }))
}

/// The BPMN XML of a version (default: the latest).
#[utoipa::path(
    get,
    path = "/api/v1/definitions/{processId}/xml",
    tag = "definitions",
    params(("processId" = String, Path, description = "The BPMN process id"), VersionQuery),
    responses(
        (status = 200, description = "The BPMN XML", body = String, content_type = "application/xml"),
        (status = 404, description = "Not deployed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn xml(
    State(state): State<AppState>,
    ApiPath(process_id): ApiPath<String>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> ApiResult<Response> {
    let (row, _) = find(&state, &process_id, q.version).await?;
    Ok((
        [(CONTENT_TYPE, "application/xml; charset=utf-8")],
        row.source,
    )
        .into_response())
}
