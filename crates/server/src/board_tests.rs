//! Tests of the job board: order, re-posts, cancelled jobs, leases and
//! long polls (on tokio's paused clock).
#![allow(clippy::unwrap_used)]

use super::*;
use windlass_engine::event::JobPurpose;
use windlass_engine::{JobKey, JobRequest};
use windlass_store_api::InstanceRef;

fn job(key: &str, kind: Option<&str>) -> Job {
    Job {
        instance: InstanceRef::new("i", "r"),
        key: key.into(),
        request: JobRequest {
            key: JobKey {
                node: windlass_model::NodeIdx(0),
                token: windlass_engine::ids::TokenId(0),
                attempt: 1,
            },
            node_id: "t".into(),
            name: None,
            task_type: Some(windlass_model::TaskType::Service),
            purpose: JobPurpose::Task,
            kind: kind.map(String::from),
            settings: BTreeMap::new(),
            inputs: Vars::new(),
            not_before: None,
            max_attempts: 3,
            timeout_millis: None,
        },
        settings_source: BTreeMap::new(),
        cancel: CancellationToken::new(),
    }
}

fn keys(jobs: &[ActivatedJob]) -> Vec<&str> {
    jobs.iter().map(|j| j.job_key.as_str()).collect()
}

const LOCK: Duration = Duration::from_secs(60);

#[tokio::test]
async fn jobs_go_out_by_kind_in_order_once_each() {
    let b = JobBoard::new();
    let h = BoardHandler(b.clone());
    for (k, kind) in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("a3", "a")] {
        assert!(matches!(
            h.handle(&job(k, Some(kind))),
            HandlerResult::External
        ));
    }
    // A re-dispatch of a posted key keeps its place.
    b.post("a", &job("a1", Some("a")));
    let kinds = ["b".to_string(), "a".to_string()];
    let got = b.activate(&kinds, "w", 3, LOCK, Duration::ZERO).await;
    assert_eq!(keys(&got), ["b1", "a1", "a2"]);
    assert_eq!(
        b.levels(),
        BoardLevels {
            queued: 1,
            leased: 3
        }
    );
    let got = b.activate(&kinds, "w", 10, LOCK, Duration::ZERO).await;
    assert_eq!(keys(&got), ["a3"]);
    assert!(
        b.activate(&kinds, "w", 10, LOCK, Duration::ZERO)
            .await
            .is_empty()
    );
    b.remove("a1");
    assert_eq!(
        b.levels(),
        BoardLevels {
            queued: 0,
            leased: 3
        }
    );
}

#[tokio::test]
async fn a_job_without_a_kind_follows_the_unbound_rule() {
    let b = JobBoard::new();
    let h = BoardHandler(b.clone());
    let mut abstract_task = job("x", None);
    abstract_task.request.task_type = Some(windlass_model::TaskType::Task);
    assert!(matches!(
        h.handle(&abstract_task),
        HandlerResult::Ready(JobOutcome::Completed {
            by: CompletedBy::NoOp,
            ..
        })
    ));
    assert!(matches!(
        h.handle(&job("y", None)),
        HandlerResult::Ready(JobOutcome::Failed(JobFailure::Technical {
            retryable: false,
            ..
        }))
    ));
    assert_eq!(b.levels(), BoardLevels::default());
}

#[tokio::test]
async fn cancelled_jobs_are_skipped_and_told_on_heartbeat() {
    let b = JobBoard::new();
    let one = job("1", Some("k"));
    let two = job("2", Some("k"));
    b.post("k", &one);
    b.post("k", &two);
    one.cancel.cancel();
    let kinds = ["k".to_string()];
    let got = b.activate(&kinds, "w", 5, LOCK, Duration::ZERO).await;
    assert_eq!(keys(&got), ["2"]);
    assert_eq!(b.heartbeat("2", None), Beat::Extended);
    two.cancel.cancel();
    assert_eq!(b.heartbeat("2", None), Beat::Cancelled);
    assert_eq!(b.heartbeat("2", None), Beat::NotHere);
}

#[tokio::test(start_paused = true)]
async fn leases_run_out_unless_extended_and_long_polls_wake_on_post() {
    let b = JobBoard::new();
    b.post("k", &job("1", Some("k")));
    let kinds = ["k".to_string()];
    let got = b
        .activate(&kinds, "w", 1, Duration::from_secs(10), Duration::ZERO)
        .await;
    assert_eq!(got[0].lock_millis, 10_000);
    tokio::time::advance(Duration::from_secs(8)).await;
    assert_eq!(
        b.heartbeat("1", Some(Duration::from_secs(5))),
        Beat::Extended
    );
    tokio::time::advance(Duration::from_secs(4)).await;
    assert!(b.expire(Instant::now()).0.is_empty());
    tokio::time::advance(Duration::from_secs(2)).await;
    let (expired, next) = b.expire(Instant::now());
    assert_eq!(expired, [("1".to_string(), "w".to_string())]);
    assert_eq!(next, None);
    // Cancelled jobs of a kind nobody asks for leave the board and its
    // queue at the next sweep.
    let idle = job("idle", Some("nobody"));
    b.post("nobody", &idle);
    idle.cancel.cancel();
    b.expire(Instant::now());
    assert!(b.shelves().queues.is_empty());
    assert_eq!(b.levels(), BoardLevels::default());

    // A long poll returns the job posted while it waits.
    let poll = tokio::spawn({
        let b = b.clone();
        async move {
            let kinds = ["k".to_string()];
            b.activate(&kinds, "w", 1, LOCK, Duration::from_secs(30))
                .await
        }
    });
    tokio::task::yield_now().await;
    b.post("k", &job("2", Some("k")));
    assert_eq!(keys(&poll.await.unwrap()), ["2"]);
    // Closing the board answers waiting polls at once.
    let poll = tokio::spawn({
        let b = b.clone();
        async move {
            let kinds = ["k".to_string()];
            b.activate(&kinds, "w", 1, LOCK, Duration::from_secs(30))
                .await
        }
    });
    tokio::task::yield_now().await;
    b.close();
    assert!(poll.await.unwrap().is_empty());
}
