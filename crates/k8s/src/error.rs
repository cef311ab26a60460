//! [`K8sError`]: what went wrong talking to the cluster, naming the verb,
//! the resource, the namespace and the name; an RBAC denial says which
//! permission is missing.

use std::fmt;

/// What a failing call was doing: the verb and the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `get`, `list`, `apply`, `patch`, `delete`, `watch`, `create`…
    pub verb: &'static str,
    /// `apps/v1 Deployment`.
    pub resource: String,
    /// The resource's plural name (with `/status` for the status
    /// subresource) and group as RBAC names them (`deployments`, `apps`),
    /// when known.
    pub rbac: Option<(String, String)>,
    /// The namespace (`None`: cluster-scoped or all namespaces).
    pub namespace: Option<String>,
    /// The object's name (`None`: a list or a collection).
    pub name: Option<String>,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        match (&self.namespace, &self.name) {
            (Some(ns), Some(name)) => write!(f, " {ns}/{name}"),
            (None, Some(name)) => write!(f, " {name}"),
            (Some(ns), None) => write!(f, " in namespace {ns}"),
            (None, None) => write!(f, " in all namespaces"),
        }
    }
}

/// Why a Kubernetes operation failed.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    /// The cluster configuration could not be read or used.
    #[error("cannot use {what}: {why}")]
    Config {
        /// What was read.
        what: String,
        /// Why it failed.
        why: String,
    },
    /// The API server refused the call for lack of permission (403).
    #[error("{call}: forbidden: {missing}; the API server said: {message}")]
    Forbidden {
        /// The call.
        call: Call,
        /// The permission that is missing, in RBAC's words.
        missing: String,
        /// The server's message.
        message: String,
    },
    /// The object does not exist (404).
    #[error("{call}: not found ({message})")]
    NotFound {
        /// The call.
        call: Call,
        /// The server's message.
        message: String,
    },
    /// The API server refused the call for another reason.
    #[error("{call}: {reason} ({code}): {message}")]
    Api {
        /// The call.
        call: Call,
        /// The HTTP status code.
        code: u16,
        /// The server's reason (`Conflict`, `Invalid`…).
        reason: String,
        /// The server's message.
        message: String,
    },
    /// The API server could not be reached or answered nonsense.
    #[error("{call}: {why}")]
    Transport {
        /// The call.
        call: Call,
        /// What failed.
        why: String,
    },
    /// The apiVersion and kind name no resource the server serves.
    #[error("{resource}: the API server serves no such resource ({why})")]
    UnknownResource {
        /// `apiVersion kind` as written.
        resource: String,
        /// The discovery's answer.
        why: String,
    },
}

impl K8sError {
    /// The error of `call` failing with `e`.
    pub fn of(call: Call, e: kube::Error) -> K8sError {
        match e {
            kube::Error::Api(status) if status.code == 403 => {
                let missing = match &call.rbac {
                    Some((plural, group)) => {
                        let group = if group.is_empty() {
                            "the core group".to_string()
                        } else {
                            format!("group {group}")
                        };
                        let scope = match &call.namespace {
                            Some(ns) => format!("in namespace {ns}"),
                            None => "cluster-wide".into(),
                        };
                        let verb = denied_verb(&status.message)
                            .unwrap_or_else(|| rbac_verb(call.verb).to_string());
                        format!(
                            "the identity needs RBAC permission '{verb}' on '{plural}' ({group}) {scope}"
                        )
                    }
                    None => format!("the identity may not {}", call.verb),
                };
                K8sError::Forbidden {
                    call,
                    missing,
                    message: status.message,
                }
            }
            kube::Error::Api(status) if status.code == 404 => K8sError::NotFound {
                call,
                message: status.message,
            },
            kube::Error::Api(status) => K8sError::Api {
                call,
                code: status.code,
                reason: if status.reason.is_empty() {
                    "error".into()
                } else {
                    status.reason
                },
                message: status.message,
            },
            other => K8sError::Transport {
                call,
                why: other.to_string(),
            },
        }
    }

    /// Whether trying again later may succeed (the server unreachable,
    /// overloaded, or a conflict that passes).
    pub fn is_retryable(&self) -> bool {
        match self {
            K8sError::Transport { .. } => true,
            K8sError::Api { code, .. } => matches!(code, 409 | 429 | 500 | 503 | 504),
            _ => false,
        }
    }
}

/// The RBAC verb a call needs (server-side apply is a `patch`).
/// The verb the API server's RBAC message says was denied (`User "…"
/// cannot create resource …`): a server-side apply that creates an object
/// needs `create`, one that changes it `patch`.
fn denied_verb(message: &str) -> Option<String> {
    let rest = &message[message.find(" cannot ")? + " cannot ".len()..];
    let verb = rest.split_whitespace().next()?;
    verb.chars()
        .all(|c| c.is_ascii_lowercase())
        .then(|| verb.to_string())
}

fn rbac_verb(verb: &str) -> &str {
    match verb {
        "apply" => "patch",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::denied_verb;

    #[test]
    fn the_denied_verb_is_read_from_the_servers_message() {
        let m = "persistentvolumeclaims \"b\" is forbidden: User \"system:serviceaccount:w:w\" \
                 cannot create resource \"persistentvolumeclaims\" in API group \"\" in the \
                 namespace \"n\"";
        assert_eq!(denied_verb(m).as_deref(), Some("create"));
        assert_eq!(denied_verb("forbidden"), None);
        assert_eq!(denied_verb("x cannot Do it"), None);
    }
}
