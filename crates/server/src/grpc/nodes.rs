//! The gRPC worker service on a node, one of several servers writing one
//! PostgreSQL database (`crate::forward`, `crate::peers`): a worker
//! streaming from any node gets every node's jobs, and answers them there.
//!
//! - **Jobs.** A stream waits on its node's board in slices of
//!   [`SLICE`](crate::peers::SLICE) and, whenever that board has fewer jobs
//!   than the worker has room for, asks the other live nodes for the rest
//!   (REST activations that do not wait, with the worker's token, as a
//!   polled REST activation does).
//! - **Answers.** Completing, failing or heartbeating a job whose instance
//!   another node owns is refused by the runtime before anything happens
//!   (`not_owner`, naming the partition); it is then sent to the owner as
//!   the REST call it is (`/api/v1/jobs/complete`, `/fail`, `/heartbeat`),
//!   and the owner's answer is the worker's, mapped as this node maps its
//!   own ([`code_of`]).
//!
//! A job another node handed to a stream whose worker went away before
//! reading it stays locked on that node until its lease runs out (its
//! attempt then fails and is retried), as a REST activation whose answer
//! is lost; a job of this node goes back on its board at once.

use crate::forward::Forwarding;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use serde::Deserialize;
use tonic::Status;
use tonic::metadata::MetadataMap;

/// The gRPC code for an HTTP status of the API: how this node's own
/// refusals and another node's answers reach a gRPC worker alike.
pub(super) fn code_of(status: StatusCode) -> tonic::Code {
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => tonic::Code::InvalidArgument,
        StatusCode::UNAUTHORIZED => tonic::Code::Unauthenticated,
        StatusCode::NOT_FOUND => tonic::Code::NotFound,
        // 421: nobody forwarded it (a node without forwarding, or a
        // forwarded call that reached a node that lost the partition since).
        StatusCode::CONFLICT | StatusCode::MISDIRECTED_REQUEST => tonic::Code::FailedPrecondition,
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::BAD_GATEWAY => tonic::Code::Unavailable,
        _ => tonic::Code::Internal,
    }
}

/// The REST headers a worker's gRPC call carries to another node: its
/// credentials (the `authorization` metadata).
pub(super) fn rest_headers(metadata: &MetadataMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let token = metadata
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| HeaderValue::from_str(v).ok());
    if let Some(token) = token {
        headers.insert(header::AUTHORIZATION, token);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers
}

/// The part of an API error body a gRPC status repeats.
#[derive(Deserialize)]
struct ErrorText {
    code: String,
    message: String,
}

/// Sends `body` to `path` (a `/api/v1/jobs/…` call) at the node owning
/// `partition`, with the worker's `headers`: `Ok` when it answered 2xx,
/// else its refusal as a status.
pub(super) async fn at_owner(
    forward: &Forwarding,
    partition: u16,
    path: &'static str,
    headers: &HeaderMap,
    body: &serde_json::Value,
) -> Result<(), Status> {
    let bytes = Bytes::from(body.to_string());
    let uri = Uri::from_static(path);
    let answer = forward
        .at_owner(partition, Method::POST, &uri, headers, bytes)
        .await;
    let status = answer.status();
    if status.is_success() {
        return Ok(());
    }
    let text = axum::body::to_bytes(answer.into_body(), 64 << 10)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<ErrorText>(&b).ok());
    let message = match text {
        Some(t) => format!("{}: {}", t.code, t.message),
        None => format!("the owner of partition {partition} answered {status}"),
    };
    Err(Status::new(code_of(status), message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_token_goes_along_as_a_header() {
        let mut metadata = MetadataMap::new();
        metadata.insert("authorization", "Bearer sesame".parse().expect("value"));
        metadata.insert("x-other", "no".parse().expect("value"));
        let headers = rest_headers(&metadata);
        assert_eq!(headers[header::AUTHORIZATION], "Bearer sesame");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert!(!headers.contains_key("x-other"));
        // No token: none is made up (the owner refuses the call).
        let headers = rest_headers(&MetadataMap::new());
        assert!(!headers.contains_key(header::AUTHORIZATION));
    }

    #[test]
    fn owner_answers_map_as_this_nodes_own() {
        assert_eq!(
            code_of(StatusCode::CONFLICT),
            tonic::Code::FailedPrecondition
        );
        assert_eq!(code_of(StatusCode::NOT_FOUND), tonic::Code::NotFound);
        assert_eq!(code_of(StatusCode::BAD_GATEWAY), tonic::Code::Unavailable);
        assert_eq!(
            code_of(StatusCode::SERVICE_UNAVAILABLE),
            tonic::Code::Unavailable
        );
        assert_eq!(
            code_of(StatusCode::UNPROCESSABLE_ENTITY),
            tonic::Code::InvalidArgument
        );
    }
}
