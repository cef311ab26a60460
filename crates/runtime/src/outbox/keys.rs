//! Outbox keys: the job idempotency key `{instance}/{run}/{node}/{token}/{attempt}`,
//! child instance ids and the keys of call-activity rows, plus their parsing.
//! The formats are stored: they never change.

use crate::error::{RuntimeError, RuntimeResult};
use windlass_engine::JobKey;
use windlass_engine::ids::TokenId;
use windlass_model::NodeIdx;
use windlass_store_api::InstanceRef;

/// The idempotency key of a job attempt of `instance`.
pub fn job_key(instance: &InstanceRef, job: &JobKey) -> String {
    windlass_store_api::job_key_text(instance, job.node.0, job.token.0, job.attempt)
}

/// Parses a key made by [`job_key`]. The instance id may itself contain `/`:
/// the last four parts are run, node, token and attempt.
pub fn parse_job_key(key: &str) -> RuntimeResult<(InstanceRef, JobKey)> {
    let bad = || RuntimeError::BadJobKey(key.to_string());
    let mut parts = key.rsplitn(5, '/');
    let attempt = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let token = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let node = parts
        .next()
        .and_then(|p| p.parse().ok())
        .map(NodeIdx)
        .ok_or_else(bad)?;
    let run = parts.next().filter(|r| !r.is_empty()).ok_or_else(bad)?;
    let id = parts.next().filter(|r| !r.is_empty()).ok_or_else(bad)?;
    Ok((
        InstanceRef::new(id, run),
        JobKey {
            node,
            token,
            attempt,
        },
    ))
}

/// The instance id of the child a call activity's `token` starts:
/// `{parent id}/{parent run}/call/{token}` (deterministic, so a re-dispatch
/// cannot start a second child).
pub fn child_id(parent: &InstanceRef, token: TokenId) -> String {
    format!("{}/{}/call/{}", parent.id.0, parent.run.0, token)
}

/// The run of the child a call activity's `token` starts: instance id
/// [`child_id`], run id the parent's run id. The child's id already names
/// the parent's run, so it is fresh per parent run and the run can be the
/// parent's (a UUIDv7; `"1"` under a legacy parent run), which keeps the
/// child's ref derivable from the parent's state (tokens) with nothing
/// stored.
pub fn child_ref(parent: &InstanceRef, token: TokenId) -> InstanceRef {
    InstanceRef {
        id: windlass_store_api::InstanceId(child_id(parent, token)),
        run: parent.run.clone(),
    }
}

/// The call activity token encoded in a child's instance id, if it is one.
pub fn parent_token(child_id: &str) -> Option<TokenId> {
    let (rest, token) = child_id.rsplit_once('/')?;
    rest.ends_with("/call").then(|| token.parse().ok())?
}

/// Prefix of the key of a pending child start.
const START_CHILD_PREFIX: &str = "start-child:";
/// Prefix of the key of a finished child's notice.
const CHILD_DONE_PREFIX: &str = "child-done:";
/// Prefix of the key of a pending child termination.
const CANCEL_CHILD_PREFIX: &str = "cancel-child:";

/// The outbox key of a pending child start.
pub fn start_child_key(child: &InstanceRef) -> String {
    format!("{START_CHILD_PREFIX}{}/{}", child.id.0, child.run.0)
}

/// The outbox key of a finished child's notice to its parent.
pub fn child_done_key(child: &InstanceRef) -> String {
    format!("{CHILD_DONE_PREFIX}{}/{}", child.id.0, child.run.0)
}

/// The outbox key of a pending termination of the child `child` (its call
/// activity was interrupted).
pub fn cancel_child_key(child: &InstanceRef) -> String {
    format!("{CANCEL_CHILD_PREFIX}{}/{}", child.id.0, child.run.0)
}

/// The child named by a [`child_done_key`].
pub fn parse_child_done_key(key: &str) -> Option<InstanceRef> {
    let (id, run) = key.strip_prefix(CHILD_DONE_PREFIX)?.rsplit_once('/')?;
    (!id.is_empty() && !run.is_empty()).then(|| InstanceRef::new(id, run))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn job_keys_round_trip_even_with_slashes_in_ids() {
        let inst = InstanceRef::new("a/b/call/3", "1");
        let job = JobKey {
            node: NodeIdx(4),
            token: TokenId(7),
            attempt: 2,
        };
        let k = job_key(&inst, &job);
        assert_eq!(k, "a/b/call/3/1/4/7/2");
        assert_eq!(parse_job_key(&k).unwrap(), (inst, job));
        assert!(parse_job_key("x/1/2/3").is_err());
        assert!(parse_job_key("x/1/2/3/z").is_err());
        assert!(parse_job_key("/1/2/3/4").is_err());
    }

    #[test]
    fn child_ids_carry_the_parent_token() {
        let parent = InstanceRef::new("p", "1");
        let id = child_id(&parent, TokenId(12));
        assert_eq!(id, "p/1/call/12");
        assert_eq!(parent_token(&id), Some(TokenId(12)));
        assert_eq!(parent_token("plain"), None);
        assert_eq!(parent_token("p/1/x/12"), None);
        let child = InstanceRef::new(id, "1");
        assert_eq!(child_ref(&parent, TokenId(12)), child);
        let uuid_parent = InstanceRef::new("p", "0190a3b1-0000-7000-8000-000000000000");
        assert_eq!(
            child_ref(&uuid_parent, TokenId(2)),
            InstanceRef::new(
                "p/0190a3b1-0000-7000-8000-000000000000/call/2",
                "0190a3b1-0000-7000-8000-000000000000"
            )
        );
        assert_eq!(child_done_key(&child), "child-done:p/1/call/12/1");
        assert_eq!(
            parse_child_done_key(&child_done_key(&child)),
            Some(child.clone())
        );
        assert_eq!(start_child_key(&child), "start-child:p/1/call/12/1");
        assert_eq!(cancel_child_key(&child), "cancel-child:p/1/call/12/1");
        assert_eq!(parse_child_done_key("child-done:x"), None);
        assert_eq!(parse_child_done_key("start-child:x/1"), None);
    }
}
