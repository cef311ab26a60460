//! Which instance partitions a runtime serves
//! ([`RuntimeOptions::partitions`](crate::RuntimeOptions::partitions)).
//!
//! By default a runtime is the single node of its store and serves every
//! partition. With several writing nodes on one PostgreSQL database each
//! runtime is a node serving the partitions its node owns: it recovers, fires and
//! re-dispatches only their instances, creates generated ids only inside
//! them, refuses requests for instances elsewhere ([`RuntimeError::NotOwner`],
//! so the caller can go to the owner) and adopts partitions taken over from
//! a dead node while it runs ([`RuntimeHandle::adopt`](crate::RuntimeHandle::adopt))
//! and gives partitions up for another node to serve
//! ([`RuntimeHandle::release`](crate::RuntimeHandle::release)).
//!
//! Schedules (process-level timer start events) belong to the partition of
//! their schedule id, which is also the instance id their fires start
//! under: the node serving that partition holds, fires, pauses and
//! redeploys them, each fire committed with its instance in one batch that
//! the node's fence covers ([`schedule_partitions`]). Schedules whose fires
//! would start instances elsewhere (overlap `allow-all`, an instance id
//! template) are refused on a node.
//!
//! Call activities work across nodes: a child lives in the partition of its
//! own id, and the rows between parent and child (start, termination,
//! notice, escalation) are deliveries the target's node takes from the
//! store (`deliveries.rs`).
//!
//! Signal broadcasts work across nodes: a broadcast on a node is one row
//! per partition, which each partition's node delivers to its waiting
//! instances (`broadcast_parts.rs`); signal start events start on the
//! broadcasting node, under ids it generates in its own partitions (so an
//! instance id template on a signal start event is refused).
//!
//! What is keyed by something other than an instance — message
//! correlation, dedup keys — is still a service of one runtime. A node
//! refuses it by name ([`RuntimeError::Partitioned`]), whatever it serves,
//! rather than running two correlators over one message table.

use crate::definitions::ProcessDef;
use crate::error::{RuntimeError, RuntimeResult};
use std::sync::RwLock;
use windlass_model::{EventResult, EventTrigger, NodeKind, OverlapPolicy};
use windlass_store_api::Store;
use windlass_types::{Partition, PartitionSet};

/// How many generated ids are tried for one start before giving up: with
/// at least one partition served the expected number is 256 / served, so
/// this is never reached by chance.
const ID_TRIES: usize = 1 << 16;

/// The served partitions, changed only by adoption, and whether the
/// runtime started serving them all (the single node of its store).
#[derive(Debug)]
pub(crate) struct Served {
    set: RwLock<PartitionSet>,
    /// Started serving every partition. A runtime that started with only
    /// some stays a node among others even once it adopted them all: the
    /// other nodes may still live and claim partitions back.
    single: bool,
}

impl Served {
    /// Serving `set`, as the `single` node of its store (`set` is then
    /// every partition) or as one node among others.
    pub fn new(set: PartitionSet, single: bool) -> Self {
        Served {
            single,
            set: RwLock::new(set),
        }
    }

    /// The partitions served now.
    pub fn get(&self) -> PartitionSet {
        match self.set.read() {
            Ok(set) => *set,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// Serves `more` as well; returns the new set.
    pub fn add(&self, more: &PartitionSet) -> PartitionSet {
        let mut set = match self.set.write() {
            Ok(set) => set,
            Err(poisoned) => poisoned.into_inner(),
        };
        *set = set.union(more);
        *set
    }

    /// Serves `fewer` no more; returns the new set.
    pub fn remove(&self, fewer: &PartitionSet) -> PartitionSet {
        let mut set = match self.set.write() {
            Ok(set) => set,
            Err(poisoned) => poisoned.into_inner(),
        };
        *set = set.difference(fewer);
        *set
    }

    /// True for the single node of its store (started serving every
    /// partition): nothing is refused for being unpartitioned.
    pub fn is_single(&self) -> bool {
        self.single
    }

    /// The partition of `id` (an instance or schedule id) and the served
    /// set, when that partition is not served.
    fn outside(&self, id: &str) -> Option<(u16, String)> {
        let set = self.get();
        let partition = Partition::of_instance(id);
        (!set.contains(partition)).then(|| (partition.0, set.to_string()))
    }

    /// True when the partition of `id` (an instance or schedule id) is
    /// served.
    pub fn serves(&self, id: &str) -> bool {
        self.get().contains(Partition::of_instance(id))
    }

    /// Refuses an instance id outside the served partitions.
    pub fn check(&self, id: &str) -> RuntimeResult<()> {
        match self.outside(id) {
            None => Ok(()),
            Some((partition, served)) => Err(RuntimeError::NotOwner {
                instance: id.to_string(),
                partition,
                served,
            }),
        }
    }

    /// Refuses `what` unless this is the single node of its store.
    pub fn require_all(&self, what: impl FnOnce() -> String) -> RuntimeResult<()> {
        if self.single {
            Ok(())
        } else {
            Err(RuntimeError::Partitioned {
                what: what(),
                served: self.get().to_string(),
            })
        }
    }

    /// A new generated instance id in a served partition (a UUIDv7, drawn
    /// again until its partition is served).
    pub fn generate_id(&self) -> RuntimeResult<String> {
        let set = self.get();
        if set.is_all() {
            return Ok(crate::start::new_uuid_v7());
        }
        if !set.is_empty() {
            for _ in 0..ID_TRIES {
                let id = crate::start::new_uuid_v7();
                if set.has_instance(&id) {
                    return Ok(id);
                }
            }
        }
        Err(RuntimeError::Partitioned {
            what: "starting an instance with a generated id".into(),
            served: set.to_string(),
        })
    }

    /// Refuses a definition that uses what a runtime serving only some
    /// partitions cannot do yet (see the module docs); any definition is
    /// fine on the single node of its store.
    pub fn check_definition(&self, def: &ProcessDef) -> RuntimeResult<()> {
        if self.single {
            return Ok(());
        }
        check_definition(&self.get(), def)
    }

    /// Refuses deploying `def` on a node that does not serve every
    /// partition its process's schedules are in (those `def` derives and
    /// those `stored`, each schedule row's id and process): their rows are
    /// written only by the node serving them. Schedules in one partition
    /// served elsewhere: [`RuntimeError::ScheduleElsewhere`], so the deploy
    /// can go to that partition's owner.
    pub fn check_schedules(
        &self,
        def: &ProcessDef,
        stored: &[(String, String)],
    ) -> RuntimeResult<()> {
        if self.single {
            return Ok(());
        }
        let set = self.get();
        let parts = schedule_partitions(def, stored);
        let Some((id, partition)) = parts.iter().find(|(_, p)| !set.contains(*p)) else {
            return Ok(());
        };
        let mut distinct: Vec<u16> = parts.iter().map(|(_, p)| p.0).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if let [_] = distinct.as_slice() {
            return Err(RuntimeError::ScheduleElsewhere {
                schedule: id.clone(),
                partition: partition.0,
                served: set.to_string(),
            });
        }
        let list: Vec<String> = parts
            .iter()
            .map(|(id, p)| format!("'{id}' in {}", p.0))
            .collect();
        Err(RuntimeError::Partitioned {
            what: format!(
                "process '{}' has schedules in several partitions ({}) and this node does not serve them all; deploy it through a node that does",
                def.process_id,
                list.join(", ")
            ),
            served: set.to_string(),
        })
    }

    /// Refuses schedule `id` (pause, trigger, next times) when its
    /// partition is served elsewhere.
    pub fn check_schedule(&self, id: &str) -> RuntimeResult<()> {
        match self.outside(id) {
            None => Ok(()),
            Some((partition, served)) => Err(RuntimeError::ScheduleElsewhere {
                schedule: id.to_string(),
                partition,
                served,
            }),
        }
    }
}

/// Refuses `def` when it uses what a runtime that is one node among others
/// (serving `served` now) cannot do yet.
pub(crate) fn check_definition(served: &PartitionSet, def: &ProcessDef) -> RuntimeResult<()> {
    match needs_every_partition(def) {
        None => Ok(()),
        Some(feature) => Err(RuntimeError::Partitioned {
            what: format!("process '{}' uses {feature}", def.process_id),
            served: served.to_string(),
        }),
    }
}

/// Refuses to start a node (a runtime that is not the single node of its
/// store) over a store holding rows that only the single node drives
/// today: schedules whose fires start instances in other partitions or
/// publish messages (see [`schedule_feature`]; the latest version of each
/// schedule's process is read into `cache` and checked), dedup entries and
/// buffered messages (each node's service would grant or consume them).
pub(crate) async fn refuse_unpartitioned_rows<S: Store>(
    store: &S,
    cache: &crate::definitions::DefinitionCache,
    served: &PartitionSet,
    now: windlass_types::Timestamp,
) -> RuntimeResult<()> {
    let refuse = |what: String| RuntimeError::Partitioned {
        what,
        served: served.to_string(),
    };
    for s in store.schedules().await? {
        let spec = crate::schedules::spec::Spec::decode(&s.id, &s.spec)
            .map_err(|reason| refuse(format!("schedule '{}' is unreadable ({reason})", s.id)))?;
        let fires_elsewhere = match &spec.target {
            crate::schedules::spec::Target::Publish { .. } => Some("publishes a message"),
            crate::schedules::spec::Target::Start { .. }
                if spec.overlap() == OverlapPolicy::AllowAll =>
            {
                Some("has overlap allow-all (its fires start under per-fire ids)")
            }
            crate::schedules::spec::Target::Start { .. } => None,
        };
        if let Some(why) = fires_elsewhere {
            return Err(refuse(format!(
                "the store holds schedule '{}' (process '{}'), which {why}; starting over it",
                s.id, s.process_id
            )));
        }
        let def = cache.latest(&s.process_id, store).await?;
        if let Some(feature) = needs_every_partition(&def) {
            return Err(refuse(format!(
                "the store holds schedule '{}' of process '{}', which uses {feature}; starting over it",
                s.id, s.process_id
            )));
        }
    }
    if let Some(d) = store.dedup_entries().await?.first() {
        return Err(refuse(format!(
            "the store holds dedup entry '{}'; starting over it",
            d.key
        )));
    }
    let messages = store.live_messages(now).await?;
    if let Some(m) = messages.iter().find(|m| m.consumed_at.is_none()) {
        return Err(refuse(format!(
            "the store holds buffered message '{}' (name '{}'); starting over it",
            m.id, m.name
        )));
    }
    Ok(())
}

/// The first element of `def` (named, with its id) that needs a runtime
/// serving every partition, if any.
pub(crate) fn needs_every_partition(def: &ProcessDef) -> Option<String> {
    let graph = def.plan.graph();
    if !graph.extensions.sources.is_empty() {
        return Some("a windlass:source (it publishes messages)".into());
    }
    for node in &graph.nodes {
        let what = match &node.kind {
            NodeKind::StartEvent { trigger, .. } => match trigger {
                EventTrigger::Timer(_) if node.scope.0 == 0 => schedule_feature(def, &node.id),
                EventTrigger::Signal { .. }
                    if node.scope.0 == 0 && graph.extensions.instance_id.is_some() =>
                {
                    Some("a signal start event with an instance id template")
                }
                other => trigger_feature(other),
            },
            NodeKind::IntermediateCatch { trigger } | NodeKind::Boundary { trigger, .. } => {
                trigger_feature(trigger)
            }
            NodeKind::EndEvent { result } | NodeKind::IntermediateThrow { result } => {
                match result {
                    EventResult::Message { .. } => Some("a message throw event"),
                    _ => None,
                }
            }
            NodeKind::Task {
                message: Some(_), ..
            } => Some("a receive task with a message"),
            _ => None,
        };
        let what = what.or(node.dedup_key.as_ref().map(|_| "a dedup key"));
        if let Some(what) = what {
            return Some(format!("{what} (element '{}')", node.id));
        }
    }
    None
}

/// What makes the process-level timer start event `start_event` of `def`
/// need the single node: fires that start instances under ids other than
/// the schedule id, so in other partitions than the schedule's.
fn schedule_feature(def: &ProcessDef, start_event: &str) -> Option<&'static str> {
    let g = def.plan.graph();
    if g.extensions.instance_id.is_some() {
        return Some("a timer start event with an instance id template");
    }
    let allow_all = g
        .extensions
        .schedules
        .iter()
        .any(|s| s.start_event == start_event && s.overlap == OverlapPolicy::AllowAll);
    allow_all.then_some("a timer start event with overlap allow-all")
}

/// The partitions of `process_id`'s schedules on this runtime: those its
/// new definition `def` derives and those the store holds for it
/// (`stored`, every schedule row's id and process). A node may deploy the
/// process only when it serves all of them: it is then the only writer of
/// their rows.
pub(crate) fn schedule_partitions(
    def: &ProcessDef,
    stored: &[(String, String)],
) -> Vec<(String, Partition)> {
    let mut ids: Vec<String> = crate::schedules::spec::derive(def)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for (id, process) in stored {
        if *process == def.process_id && !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    ids.into_iter()
        .map(|id| {
            let p = Partition::of_instance(&id);
            (id, p)
        })
        .collect()
}

/// What a catching trigger needs a runtime serving every partition for.
fn trigger_feature(trigger: &EventTrigger) -> Option<&'static str> {
    match trigger {
        EventTrigger::Message { .. } => Some("a message event"),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_land_in_served_partitions() {
        let served = Served::new(PartitionSet::range(10, 12), false);
        for _ in 0..50 {
            let id = served.generate_id().unwrap();
            assert!(served.check(&id).is_ok(), "{id}");
        }
        let none = Served::new(PartitionSet::none(), false);
        let err = none.generate_id().unwrap_err().to_string();
        assert!(err.contains("generated id"), "{err}");
    }

    #[test]
    fn ids_elsewhere_are_refused_naming_the_partition() {
        let served = Served::new(PartitionSet::range(0, 127), false);
        let outside = (0..)
            .map(|i| format!("order-{i}"))
            .find(|id| Partition::of_instance(id).0 > 127)
            .unwrap();
        let err = served.check(&outside).unwrap_err();
        let RuntimeError::NotOwner {
            instance,
            partition,
            served: text,
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!(instance, &outside);
        assert_eq!(*partition, Partition::of_instance(&outside).0);
        assert_eq!(text, "0-127");
        served.add(&PartitionSet::range(128, 255));
        assert!(served.check(&outside).is_ok());
        assert!(served.get().is_all());
        // Still a node among others: what is not partitioned stays refused.
        assert!(!served.is_single());
        assert!(served.require_all(|| "publishing".into()).is_err());
        let single = Served::new(PartitionSet::all(), true);
        assert!(single.require_all(String::new).is_ok());
        // A node that owns every partition is still a node.
        let node = Served::new(PartitionSet::all(), false);
        assert!(node.require_all(String::new).is_err());
    }
}
