//! Which outbox rows are deliveries between instances, and who sent them:
//! a call activity's child start and termination (sent by the parent to the
//! child) and a child's notice and escalations (sent by the child to the
//! parent). A row belongs to the partition of the instance it is for (its
//! target); on nodes serving some partitions the sender may live on
//! another node, which leaves the row for the target's node
//! (`deliveries.rs`). The sender is read from the row's key and target
//! alone, without decoding its payload. A broadcast's part for one
//! partition (`signal_to.rs`) is a delivery too, from no instance: the
//! node serving its partition always takes it from the store.

use super::keys::parse_child_done_key;
use super::{KIND_CANCEL_CHILD, KIND_CHILD_DONE, KIND_START_CHILD, escalation, signal_to};
use windlass_store_api::OutboxRow;

/// The kinds of the rows that are deliveries to instances.
pub const DELIVERY_KINDS: [&str; 5] = [
    KIND_START_CHILD,
    KIND_CANCEL_CHILD,
    KIND_CHILD_DONE,
    escalation::KIND_CHILD_ESCALATED,
    signal_to::KIND_SIGNAL_TO,
];

/// Whether `row` is a broadcast's part for one partition: a delivery no
/// instance sent.
pub fn is_signal_to(row: &OutboxRow) -> bool {
    row.kind == signal_to::KIND_SIGNAL_TO
}

/// The instance id of the parent of a call activity's child (child ids are
/// `{parent id}/{parent run}/call/{token}`), if `child_id` is one.
pub fn parent_id_of(child_id: &str) -> Option<&str> {
    let mut parts = child_id.rsplitn(4, '/');
    let _token = parts.next()?;
    if parts.next()? != "call" {
        return None;
    }
    let _run = parts.next()?;
    parts.next().filter(|id| !id.is_empty())
}

/// The instance id that sent the delivery `row`; `None` for rows that are
/// not deliveries between instances (jobs, thrown messages and signals,
/// markers, a broadcast's parts).
pub fn delivery_source(row: &OutboxRow) -> Option<&str> {
    let kind = row.kind.as_str();
    if kind == KIND_START_CHILD || kind == KIND_CANCEL_CHILD {
        parent_id_of(row.instance.as_ref()?.id.as_str())
    } else if kind == KIND_CHILD_DONE {
        let rest = row.key.strip_prefix("child-done:")?;
        parse_child_done_key(&row.key)?;
        rest.rsplit_once('/').map(|(id, _run)| id)
    } else if kind == escalation::KIND_CHILD_ESCALATED {
        let rest = row.key.strip_prefix("child-escalated:")?;
        let mut parts = rest.rsplitn(3, '/');
        let (_number, _run) = (parts.next()?, parts.next()?);
        parts.next().filter(|id| !id.is_empty())
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::outbox::{
        CancelChild, ChildDone, ChildEscalation, OutboxEntry, StartChild, child_ref,
    };
    use windlass_engine::ids::TokenId;
    use windlass_store_api::InstanceRef;
    use windlass_types::{Timestamp, Vars};

    #[test]
    fn deliveries_name_their_sender() {
        let parent = InstanceRef::new("order/7", "r1");
        let child = child_ref(&parent, TokenId(3));
        assert_eq!(parent_id_of(&child.id.0), Some("order/7"));
        assert_eq!(parent_id_of("order/7"), None);
        assert_eq!(parent_id_of("call/3"), None);
        let start = OutboxEntry::StartChild {
            child: child.clone(),
            start: Box::new(StartChild {
                parent_id: parent.id.0.clone(),
                parent_run: parent.run.0.clone(),
                parent_definition: "p:1".into(),
                process_id: "c".into(),
                binding: windlass_model::CallBinding::Latest,
                token: TokenId(3),
                vars: Vars::new(),
            }),
        };
        let cancel = OutboxEntry::CancelChild {
            child: child.clone(),
            cancel: CancelChild::interrupted_in(&parent),
        };
        let done = OutboxEntry::ChildDone {
            child: child.clone(),
            parent: parent.clone(),
            done: Box::new(ChildDone {
                token: TokenId(3),
                completed: true,
                outputs: Vars::new(),
                code: None,
                message: String::new(),
                not_started: false,
            }),
        };
        let escalated = OutboxEntry::ChildEscalated {
            parent: parent.clone(),
            escalation: Box::new(ChildEscalation {
                child_id: child.id.0.clone(),
                child_run: child.run.0.clone(),
                token: TokenId(3),
                number: 12,
                code: None,
            }),
        };
        let row = |e: &OutboxEntry| e.to_row(Timestamp(0));
        assert_eq!(delivery_source(&row(&start)), Some("order/7"));
        assert_eq!(delivery_source(&row(&cancel)), Some("order/7"));
        assert_eq!(delivery_source(&row(&done)), Some(child.id.as_str()));
        assert_eq!(delivery_source(&row(&escalated)), Some(child.id.as_str()));
        let mut job = row(&done);
        job.kind = "job:shell".into();
        assert_eq!(delivery_source(&job), None);
    }
}
