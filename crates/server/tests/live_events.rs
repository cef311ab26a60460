//! `GET /api/v1/instances/{id}/events` on a real server (loopback, SQLite
//! store): the stream sends the history so far, then a job completed
//! through the API arrives as new events, then an `end` event and the end
//! of the body once the instance has completed; `Last-Event-ID` resumes; the
//! token is required; an open stream does not hold the server's shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::time::{Duration, Instant};

mod common;
use common::{Fixture, fixture_with_grace};

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <serviceTask id="t" name="Wait for me">
      <extensionElements><windlass:task kind="remote"/></extensionElements>
    </serviceTask>
    <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#;

/// One parsed server-sent event.
#[derive(Debug, Default)]
struct Sse {
    event: Option<String>,
    id: Option<String>,
    data: String,
}

/// Reads a `text/event-stream` body event by event.
struct Reader {
    resp: reqwest::Response,
    buf: String,
    comments: usize,
}

impl Reader {
    /// The next event; `None` when the body ended.
    async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(at) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..at + 2).collect();
                let mut ev = Sse::default();
                let mut data = Vec::new();
                let mut any = false;
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.comments += 1;
                        continue;
                    }
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value).to_string();
                    any = true;
                    match field {
                        "event" => ev.event = Some(value),
                        "id" => ev.id = Some(value),
                        "data" => data.push(value),
                        _ => {}
                    }
                }
                if !any {
                    continue;
                }
                ev.data = data.join("\n");
                return Some(ev);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.resp.chunk())
                .await
                .expect("the stream stalled for 10 s")
                .expect("read the stream")?;
            self.buf
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }

    /// History lines until one of type `event_type` (inclusive).
    async fn until(&mut self, event_type: &str) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let ev = self.next().await.expect("the stream ended early");
            assert_eq!(ev.event, None, "a history message: {ev:?}");
            let line: Value = serde_json::from_str(&ev.data).unwrap();
            assert_eq!(ev.id.as_deref(), Some(line["seq"].to_string().as_str()));
            let done = line["eventType"] == event_type;
            out.push(line);
            if done {
                return out;
            }
        }
    }
}

/// A server over a fresh database with `PROCESS` deployed; its shutdown
/// grace is `grace`.
async fn fixture(dir: &tempfile::TempDir, grace: Duration) -> Fixture {
    fixture_with_grace(&dir.path().join("w.db"), Some(PROCESS), Some(grace)).await
}

async fn stream(f: &Fixture, path: &str, last_event_id: Option<u64>) -> Reader {
    let mut req = f.request(path);
    if let Some(n) = last_event_id {
        req = req.header("Last-Event-ID", n.to_string());
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    Reader {
        resp,
        buf: String::new(),
        comments: 0,
    }
}

/// Starts instance `id` and waits until its job is open.
async fn start_waiting(f: &Fixture, id: &str) -> String {
    f.post(
        "/api/v1/instances",
        json!({"processId": "p", "instanceId": id, "wait": "settled"}),
    )
    .await;
    let (_, detail) = f.get(&format!("/api/v1/instances/{id}")).await;
    detail["openJobs"][0]["jobKey"]
        .as_str()
        .expect("an open job")
        .to_string()
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_sends_new_events_as_committed_and_ends_with_the_instance() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(&dir, Duration::from_secs(10)).await;
    let job = start_waiting(&f, "i1").await;

    // The token is required; an unknown instance is a 404 before any stream.
    let bare = f
        .http
        .get(format!("{}/api/v1/instances/i1/events", f.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 401);
    let missing = f
        .request("/api/v1/instances/nobody/events")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let bad = f
        .request("/api/v1/instances/i1/events")
        .header("Last-Event-ID", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // The history so far, then nothing more while the job is open.
    let mut s = stream(&f, "/api/v1/instances/i1/events", None).await;
    let first = s.until("JobCreated").await;
    assert_eq!(first[0]["seq"], 1);
    assert_eq!(first[0]["eventType"], "InstanceStarted");
    let seqs: Vec<u64> = first.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    let quiet = tokio::time::timeout(Duration::from_millis(800), s.next()).await;
    assert!(quiet.is_err(), "nothing is sent while nothing happens");

    // Completing the job through the API: its events arrive, then `end`,
    // then the body ends.
    let asked = Instant::now();
    f.post(
        "/api/v1/jobs/complete",
        json!({"jobKey": job, "variables": {"ok": true}}),
    )
    .await;
    let more = s.until("InstanceCompleted").await;
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "arrived in {:?}",
        asked.elapsed()
    );
    assert_eq!(more[0]["eventType"], "JobCompleted");
    assert_eq!(more[0]["seq"].as_u64().unwrap(), *seqs.last().unwrap() + 1);
    let end = s.next().await.expect("an end event");
    assert_eq!(end.event.as_deref(), Some("end"));
    assert_eq!(
        serde_json::from_str::<Value>(&end.data).unwrap()["status"],
        "completed"
    );
    assert!(s.next().await.is_none(), "the body ends after `end`");
    let total = more.last().unwrap()["seq"].as_u64().unwrap();

    // Resuming: Last-Event-ID wins over `after`; a finished run's stream
    // sends what is left and ends.
    let mut again = stream(&f, "/api/v1/instances/i1/events?after=1", Some(total - 2)).await;
    let rest = again.until("InstanceCompleted").await;
    let rest_seqs: Vec<u64> = rest.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    assert_eq!(rest_seqs, vec![total - 1, total]);
    assert_eq!(again.next().await.unwrap().event.as_deref(), Some("end"));
    assert!(again.next().await.is_none());
    let mut caught_up = stream(
        &f,
        &format!("/api/v1/instances/i1/events?after={total}"),
        None,
    )
    .await;
    assert_eq!(
        caught_up.next().await.unwrap().event.as_deref(),
        Some("end")
    );

    f.server.shutdown().await.unwrap();
    f.rt.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_stream_does_not_hold_the_shutdown() {
    // A grace period far longer than the test may take: the shutdown must
    // not wait for it.
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(&dir, Duration::from_secs(60)).await;
    start_waiting(&f, "i2").await;
    let mut s = stream(&f, "/api/v1/instances/i2/events", None).await;
    s.until("JobCreated").await;
    let asked = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), f.server.shutdown())
        .await
        .expect("the shutdown waited for the stream")
        .unwrap();
    assert!(asked.elapsed() < Duration::from_secs(5));
    // The client sees the body end (no `end` event: the run goes on).
    let tail = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(ev) = s.next().await {
            assert_ne!(ev.event.as_deref(), Some("end"));
        }
    })
    .await;
    assert!(tail.is_ok(), "the body ended");
    f.rt.shutdown().await.unwrap();
}
