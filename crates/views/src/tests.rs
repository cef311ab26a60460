//! The views against the in-memory store, with histories made by the
//! engine itself (start, then a job failing for good: an incident).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{Cursor, PageRequest, ViewError, Views};
use windlass_engine::codec::encode_event;
use windlass_engine::event::JobFailure;
use windlass_engine::{Command, Ctx, Decision, Effect, Event, InstanceState, Plan, step};
use windlass_store_api::{
    Batch, DefinitionRow, InstanceQuery, InstanceRef, InstanceRow, InstanceStatus, StoreWrite,
    Timestamp,
};
use windlass_store_memory::MemoryStore;
use windlass_types::Vars;

const KEY: &str = "p:1";

fn xml() -> String {
    r#"<?xml version="1.0"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
    <serviceTask id="work" name="Deploy {n}"/>
    <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#
        .to_string()
}

fn plan() -> Plan {
    let defs = windlass_model::load(&xml()).definitions.unwrap();
    Plan::new(defs.process("p").unwrap().clone()).unwrap()
}

/// The events of an instance that starts and, when `fail`, whose job
/// fails for good (an incident); otherwise the job completes.
fn history(fail: bool) -> (Vec<Event>, InstanceState) {
    let plan = plan();
    let ctx = Ctx {
        plan: &plan,
        now: Timestamp(1),
        definition_key: KEY,
    };
    let mut state = InstanceState::default();
    let mut out = Decision::default();
    let mut vars = Vars::new();
    vars.insert("n".into(), serde_json::json!("web\u{1b}[2J"));
    vars.insert("dbPassword".into(), serde_json::json!("hunter2"));
    let start = Command::Start {
        vars,
        business_key: None,
        start_event: None,
        has_parent: false,
    };
    step(&mut state, &start, &ctx, &mut out).unwrap();
    let mut events = std::mem::take(&mut out.events);
    let job = out
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::RunJob(j) => Some(j.key),
            _ => None,
        })
        .unwrap();
    out.clear();
    let cmd = if fail {
        Command::FailJob {
            job,
            failure: JobFailure::Technical {
                message: "boom".into(),
                retryable: false,
            },
        }
    } else {
        Command::CompleteJob {
            job,
            outputs: Vars::new(),
            by: windlass_engine::event::CompletedBy::Handler,
        }
    };
    step(&mut state, &cmd, &ctx, &mut out).unwrap();
    events.append(&mut out.events);
    (events, state)
}

fn row(id: &str, t: i64, status: InstanceStatus) -> InstanceRow {
    InstanceRow {
        instance: InstanceRef::new(id, "1"),
        definition_key: KEY.into(),
        status,
        business_key: None,
        parent: None,
        created_at: Timestamp(t),
        updated_at: Timestamp(t),
        last_seq: 0,
        tally: Vec::new(),
    }
}

async fn store(with_definition: bool) -> MemoryStore {
    store_with(with_definition, false).await
}

/// The five runs of [`store`]; with `tallies`, each row keeps the tally of
/// its state, as the runtime writes it.
async fn store_with(with_definition: bool, tallies: bool) -> MemoryStore {
    let s = MemoryStore::new();
    let mut b = Batch::new();
    if with_definition {
        b.put_definition(DefinitionRow {
            key: KEY.into(),
            process_id: "p".into(),
            version: 1,
            source: xml(),
            deployed_at: Timestamp(0),
        });
    }
    for (i, id) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        let fail = *id == "b" || *id == "d";
        let (events, state) = history(fail);
        let status = if fail {
            InstanceStatus::Incident
        } else {
            InstanceStatus::Completed
        };
        let mut r = row(id, i as i64, status);
        if tallies {
            r.tally = windlass_engine::tally::NodeTally::of(&state).encode();
        }
        let payloads = events.iter().map(|e| encode_event(e).unwrap()).collect();
        b.create(r, payloads);
    }
    s.commit(b).await.unwrap();
    s
}

#[tokio::test]
async fn listings_page_with_cursors() {
    let s = store(true).await;
    let v = Views::new(&s);
    let all = InstanceQuery::default();
    let first = v
        .list(
            &all,
            &PageRequest {
                after: None,
                limit: Some(2),
            },
        )
        .await
        .unwrap();
    let ids: Vec<&str> = first.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    let next = first.next.clone().unwrap();
    assert_eq!(next, first.items[1].cursor);
    let token = next.token();
    let second = v
        .list(
            &all,
            &PageRequest {
                after: Some(Cursor::parse(&token).unwrap()),
                limit: Some(2),
            },
        )
        .await
        .unwrap();
    let ids: Vec<&str> = second.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["c", "d"]);
    let last = v
        .list(
            &all,
            &PageRequest {
                after: second.next,
                limit: Some(2),
            },
        )
        .await
        .unwrap();
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.next, None, "the last page has no next cursor");

    let up_to = v.list_up_to(&all, None, Some(3)).await.unwrap();
    assert_eq!(up_to.items.len(), 3);
    assert_eq!(up_to.next.as_ref(), Some(&up_to.items[2].cursor));
    let everything = v.list_up_to(&all, None, None).await.unwrap();
    assert_eq!((everything.items.len(), everything.next), (5, None));
    let incidents_only = InstanceQuery {
        status: Some(InstanceStatus::Incident),
        ..Default::default()
    };
    let inc = v.list_up_to(&incidents_only, None, None).await.unwrap();
    let ids: Vec<&str> = inc.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["b", "d"]);
    assert_eq!(inc.items[0].status, "incident");
}

#[tokio::test]
async fn an_instance_in_an_incident_shows_where_and_why() {
    let s = store(true).await;
    let v = Views::new(&s);
    let view = v.instance("b", None).await.unwrap();
    assert_eq!(view.status, "incident");
    assert_eq!(view.incidents.len(), 1);
    let inc = &view.incidents[0];
    assert_eq!((inc.node.as_str(), inc.attempt), ("work", 1));
    assert_eq!(inc.node_name.as_deref(), Some("Deploy {n}"));
    assert!(inc.message.contains("boom"), "{}", inc.message);
    assert_eq!(view.tokens.len(), 1);
    assert_eq!(view.variables["n"], "web\u{1b}[2J");
    let done = v.instance("a", Some("1")).await.unwrap();
    assert!(done.tokens.is_empty() && done.incidents.is_empty());
    assert_eq!(done.variables["n"], "web\u{1b}[2J", "final variables");

    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["incidents"][0]["attempt"], 1);
}

#[tokio::test]
async fn values_under_secret_names_are_masked_in_every_view() {
    let s = store(true).await;
    let v = Views::new(&s);
    let mask = windlass_engine::secret_names::MASK;
    let running = v.instance("b", None).await.unwrap();
    assert_eq!(running.variables["dbPassword"], mask);
    let done = v.instance("a", Some("1")).await.unwrap();
    assert_eq!(done.variables["dbPassword"], mask, "final variables");
    for id in ["a", "b"] {
        let h = v.history(id, None).await.unwrap();
        let text = serde_json::to_string(&h).unwrap();
        assert!(text.contains("dbPassword") && text.contains(mask), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}

#[tokio::test]
async fn history_has_one_line_per_event() {
    let s = store(true).await;
    let v = Views::new(&s);
    let (events, _) = history(true);
    let h = v.history("b", None).await.unwrap();
    assert_eq!(h.events.len(), events.len());
    assert_eq!(h.status, "incident");
    assert!(h.events.iter().any(|l| l.node.as_deref() == Some("work")));
    let seqs: Vec<u64> = h.events.iter().map(|l| l.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn history_pages_by_seq_and_say_where_to_go_on() {
    let s = store(true).await;
    let v = Views::new(&s);
    let all = v.history("b", None).await.unwrap().events;
    assert!(all.len() > 3);
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = v.history_page("b", None, after, 2).await.unwrap();
        assert!(page.events.len() <= 2);
        seen.extend(page.events.iter().map(|l| l.seq));
        match page.next_after {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(seen, all.iter().map(|l| l.seq).collect::<Vec<_>>());
    let tail = v
        .history_page("b", None, all.len() as u64, 2)
        .await
        .unwrap();
    assert!(tail.events.is_empty() && tail.next_after.is_none());
    assert!(matches!(
        v.history_page("nope", None, 0, 2).await,
        Err(ViewError::NotFound { .. })
    ));
}

#[tokio::test]
async fn incidents_list_every_open_incident_with_its_instance() {
    let s = store(true).await;
    let v = Views::new(&s);
    let page = v
        .incidents(&InstanceQuery::default(), &PageRequest::default())
        .await
        .unwrap();
    let got: Vec<(&str, &str, u32)> = page
        .items
        .iter()
        .map(|i| {
            (
                i.instance.as_str(),
                i.incident.node.as_str(),
                i.incident.attempt,
            )
        })
        .collect();
    assert_eq!(got, [("b", "work", 1), ("d", "work", 1)]);
    let json = serde_json::to_value(&page.items[0]).unwrap();
    assert_eq!(json["instance"], "b");
    assert_eq!(json["node"], "work", "the incident's fields are flattened");
}

#[tokio::test]
async fn missing_things_are_errors_not_panics() {
    let s = store(false).await;
    let v = Views::new(&s);
    assert_eq!(
        v.instance("nobody", None).await.unwrap_err(),
        ViewError::NotFound {
            id: "nobody".into(),
            run: None
        }
    );
    assert!(matches!(
        v.instance("a", Some("9")).await,
        Err(ViewError::NotFound { .. })
    ));
    // Without the definition: the state still shows, with node indexes.
    let view = v.instance("b", None).await.unwrap();
    assert!(view.incidents[0].node.starts_with('#'), "{view:?}");
    assert_eq!(
        v.history("b", None).await.unwrap_err(),
        ViewError::MissingDefinition(KEY.into())
    );

    // An undecodable event is named by its sequence number.
    let mut b = Batch::new();
    b.create(
        row("broken", 10, InstanceStatus::Running),
        vec![vec![0xff, 1, 2]],
    );
    s.commit(b).await.unwrap();
    let err = v.instance("broken", None).await.unwrap_err();
    assert!(
        matches!(&err, ViewError::BadHistory { id, seq: 1, .. } if id == "broken"),
        "{err:?}"
    );
}

/// Statistics sum the stored tallies and replay the runs that have none;
/// both give the same counts.
#[tokio::test]
async fn statistics_sum_stored_tallies_and_replay_runs_without_one() {
    let expect = |stats: &crate::DefinitionStatistics| {
        let nodes: Vec<_> = stats
            .nodes
            .iter()
            .map(|n| (n.node.as_str(), n.active, n.incidents, n.completed))
            .collect();
        // a, c, e completed; b, d wait for an incident at `work`.
        assert_eq!(nodes, [("s", 0, 0, 5), ("work", 0, 2, 3), ("e", 0, 0, 3)]);
        assert_eq!(stats.instances, 5);
        assert_eq!(stats.by_status.get("completed"), Some(&3));
        assert_eq!(stats.by_status.get("incident"), Some(&2));
    };
    // Rows without a tally: every run is replayed.
    let s = store(true).await;
    let stats = Views::new(&s).statistics(KEY).await.unwrap();
    expect(&stats);
    assert_eq!(stats.replayed, 5);
    assert_eq!(stats.nodes[1].name.as_deref(), Some("Deploy {n}"));

    // Rows with their tallies: nothing is replayed, the same counts.
    let s = store_with(true, true).await;
    let stats = Views::new(&s).statistics(KEY).await.unwrap();
    expect(&stats);
    assert_eq!(stats.replayed, 0);
    // Read in pages of two rows (and of exactly the row count): the same.
    for page in [2, 5] {
        let paged = Views::new(&s).statistics_paged(KEY, page).await.unwrap();
        assert_eq!(paged, stats, "pages of {page}");
    }

    // A tally that does not decode is an error naming the run.
    let mut b = Batch::new();
    let mut r = row("bad", 9, InstanceStatus::Running);
    r.tally = b"not json".to_vec();
    b.create(r, vec![]);
    s.commit(b).await.unwrap();
    let err = Views::new(&s).statistics(KEY).await.unwrap_err();
    assert!(err.to_string().contains("bad"), "{err}");
    // An unknown definition is a clear error.
    let err = Views::new(&s).statistics("nope:1").await.unwrap_err();
    assert!(matches!(err, ViewError::MissingDefinition(_)), "{err:?}");
}
