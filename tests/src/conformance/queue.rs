//! `DeadLetterQueue` conformance: what every queue adapter must do. Each case gets two
//! consumers of one fresh queue (two service instances sharing it).

use std::time::Duration;

use chrono::Utc;
use datastorage_application::ports::{QueueEntryId, QueueError};
use datastorage_domain::audit::NewAuditEvent;

use crate::support::{EventFactory, QueuePair};

/// Instantiates every case as a `#[tokio::test]` in the calling module. `$make` is an async
/// fn `(capacity, reclaim_idle) -> QueuePair`.
#[macro_export]
macro_rules! dead_letter_queue_conformance {
    ($make:path) => {
        $crate::dead_letter_queue_conformance!(@cases $make;
            a_batch_is_one_entry_whose_events_round_trip_unchanged,
            entries_are_claimed_oldest_first_and_acknowledged_away,
            a_consumers_unacknowledged_entries_come_back_to_it,
            another_consumer_leaves_recently_claimed_entries_alone,
            a_crashed_consumers_entries_are_taken_over_after_idle,
            requeue_moves_an_entry_to_the_tail_with_attempts_and_not_before,
            dead_lettering_removes_the_entry_and_counts_it,
            a_full_queue_refuses_instead_of_dropping,
            concurrent_enqueues_each_get_their_own_answer_and_never_overfill,
            stats_report_depth_pending_and_age,
        );
    };
    (@cases $make:path; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::conformance::queue::$case($make).await;
            }
        )+
    };
}

const LONG: Duration = Duration::from_secs(3600);

fn events(n: usize, correlation: &str) -> Vec<NewAuditEvent> {
    let f = EventFactory::default();
    (0..n).map(|i| f.event(correlation, -(i as i64))).collect()
}

fn ids_of(entries: &[datastorage_application::ports::QueuedEntry]) -> Vec<QueueEntryId> {
    entries.iter().map(|e| e.id.clone()).collect()
}

pub async fn a_batch_is_one_entry_whose_events_round_trip_unchanged<F, Fut>(make: F)
where
    F: Fn(u64, Duration) -> Fut,
    Fut: std::future::Future<Output = QueuePair>,
{
    let (a, _) = make(100, LONG).await;
    let f = EventFactory::default();
    let mut draft = f.draft("q-roundtrip-ü🚒");
    draft.parent_event_id = Some(uuid::Uuid::now_v7().to_string());
    draft.parent_event_date = Some("2026-11-01".into());
    draft.error_message = Some("line1\nline2 \"quoted\"".into());
    draft.event_data = serde_json::json!({"n": 1.5, "big": 9_007_199_254_740_993_u64, "deep": {"a": [1, null, "x"]}}).into();
    let batch = vec![
        f.build(draft),
        f.event("q-roundtrip", -1),
        f.event("q-roundtrip", -2),
    ];
    a.enqueue(&batch).await.unwrap();
    let claimed = a.claim(10).await.unwrap();
    assert!(claimed.undecodable.is_empty());
    assert_eq!(claimed.entries.len(), 1, "a batch is one entry");
    let got: Vec<_> = claimed.entries[0]
        .events
        .iter()
        .map(|n| n.event.clone())
        .collect();
    let sent: Vec<_> = batch.iter().map(|n| n.event.clone()).collect();
    assert_eq!(got, sent);
    assert_eq!(claimed.entries[0].attempts, 0);
}

pub async fn entries_are_claimed_oldest_first_and_acknowledged_away<F, Fut>(make: F)
where
    F: Fn(u64, Duration) -> Fut,
    Fut: std::future::Future<Output = QueuePair>,
{
    let (a, _) = make(100, LONG).await;
    let sent: Vec<Vec<NewAuditEvent>> =
        (0..3).map(|i| events(1, &format!("q-order-{i}"))).collect();
    for e in &sent {
        a.enqueue(e).await.unwrap();
    }
    let first = a.claim(2).await.unwrap().entries;
    let order: Vec<_> = first
        .iter()
        .map(|e| e.events[0].event.correlation_id.to_string())
        .collect();
    assert_eq!(order, ["q-order-0", "q-order-1"]);
    a.ack(&ids_of(&first)).await.unwrap();
    let rest = a.claim(10).await.unwrap().entries;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].events[0].event.correlation_id.as_str(), "q-order-2");
    a.ack(&ids_of(&rest)).await.unwrap();
    assert!(a.claim(10).await.unwrap().entries.is_empty());
    assert_eq!(a.stats().await.unwrap().depth, 0);
}

pub async fn a_consumers_unacknowledged_entries_come_back_to_it<F, Fut>(make: F)
where
    F: Fn(u64, Duration) -> Fut,
    Fut: std::future::Future<Output = QueuePair>,
{
    let (a, _) = make(100, LONG).await;
    a.enqueue(&events(2, "q-again")).await.unwrap();
    let first = a.claim(10).await.unwrap().entries;
    let again = a.claim(10).await.unwrap().entries;
    assert_eq!(ids_of(&first), ids_of(&again));
}

pub async fn another_consumer_leaves_recently_claimed_entries_alone<F, Fut>(make: F)
where
    F: Fn(u64, Duration) -> Fut,
    Fut: std::future::Future<Output = QueuePair>,
{
    let (a, b) = make(100, LONG).await;
    a.enqueue(&events(1, "q-mine")).await.unwrap();
    assert_eq!(a.claim(10).await.unwrap().entries.len(), 1);
    assert!(b.claim(10).await.unwrap().entries.is_empty());
    a.enqueue(&events(1, "q-new")).await.unwrap();
    let for_b = b.claim(10).await.unwrap().entries;
    assert_eq!(for_b.len(), 1, "new entries go to whoever asks");
    assert_eq!(for_b[0].events[0].event.correlation_id.as_str(), "q-new");
}

pub async fn a_crashed_consumers_entries_are_taken_over_after_idle<F, Fut>(make: F)
where
    F: Fn(u64, Duration) -> Fut,
    Fut: std::future::Future<Output = QueuePair>,
{
    let (a, b) = make(100, Duration::ZERO).await;
    a.enqueue(&events(1, "q-crash")).await.unwrap();
    let claimed_by_a = a.claim(10).await.unwrap().entries;
    // `a` dies here without acknowledging.
    let taken_over = b.claim(10).await.unwrap().entries;
    assert_eq!(ids_of(&taken_over), ids_of(&claimed_by_a));
    b.ack(&ids_of(&taken_over)).await.unwrap();
    let stats = b.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending), (0, 0));
}

pub async fn requeue_moves_an_entry_to_the_tail_with_attempts_and_not_before<F, Fut>(make: F)
where
    F: Fn(u64, Duration) -> Fut,
    Fut: std::future::Future<Output = QueuePair>,
{
    let (a, _) = make(100, LONG).await;
    a.enqueue(&events(2, "q-retry")).await.unwrap();
    a.enqueue(&events(1, "q-behind")).await.unwrap();
    let first = a.claim(1).await.unwrap().entries.remove(0);
    let not_before = Utc::now() + chrono::Duration::seconds(30);
    a.requeue(&first, 3, not_before, "statement timeout")
        .await
        .unwrap();
    let next = a.claim(10).await.unwrap().entries;
    assert_eq!(next.len(), 2);
    assert_eq!(next[0].events[0].event.correlation_id.as_str(), "q-behind");
    let again = &next[1];
    assert_eq!(again.attempts, 3);
    assert_eq!(again.events, first.events);
    let drift = (again.not_before.unwrap() - not_before)
        .num_milliseconds()
        .abs();
    assert!(drift < 1000, "not_before kept (to the second)");
    assert_eq!(a.stats().await.unwrap().depth, 2);
}

pub async fn dead_lettering_removes_the_entry_and_counts_it<F, Fut>(make: F)
where
    F: Fn(u64, Duration) -> Fut,
    Fut: std::future::Future<Output = QueuePair>,
{
    let (a, _) = make(100, LONG).await;
    a.enqueue(&events(1, "q-dead")).await.unwrap();
    a.enqueue(&events(1, "q-alive")).await.unwrap();
    let claimed = a.claim(10).await.unwrap().entries;
    a.dead_letter(&claimed[0].id, "refused: check constraint")
        .await
        .unwrap();
    let stats = a.stats().await.unwrap();
    assert_eq!((stats.depth, stats.dead_lettered), (1, 1));
    let left = a.claim(10).await.unwrap().entries;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].events[0].event.correlation_id.as_str(), "q-alive");
}

pub async fn a_full_queue_refuses_instead_of_dropping<F, Fut>(make: F)
where
    F: Fn(u64, Duration) -> Fut,
    Fut: std::future::Future<Output = QueuePair>,
{
    let (a, _) = make(2, LONG).await;
    a.enqueue(&events(1, "q-full-1")).await.unwrap();
    a.enqueue(&events(1, "q-full-2")).await.unwrap();
    assert!(matches!(
        a.enqueue(&events(1, "q-full-3")).await,
        Err(QueueError::Full { capacity: 2 })
    ));
    let kept: Vec<_> = a
        .claim(10)
        .await
        .unwrap()
        .entries
        .iter()
        .map(|e| e.events[0].event.correlation_id.to_string())
        .collect();
    assert_eq!(kept, ["q-full-1", "q-full-2"], "nothing was trimmed");
}

pub async fn concurrent_enqueues_each_get_their_own_answer_and_never_overfill<F, Fut>(make: F)
where
    F: Fn(u64, Duration) -> Fut,
    Fut: std::future::Future<Output = QueuePair>,
{
    let (a, _) = make(5, LONG).await;
    let writes: Vec<_> = (0..40)
        .map(|i| {
            let a = a.clone();
            tokio::spawn(async move {
                let correlation = format!("q-concurrent-{i}");
                let result = a.enqueue(&events(1 + i % 3, &correlation)).await;
                (correlation, 1 + i % 3, result)
            })
        })
        .collect();
    let mut accepted = std::collections::HashMap::new();
    let mut refused = 0;
    for w in writes {
        let (correlation, size, result) = w.await.unwrap();
        match result {
            Ok(()) => {
                accepted.insert(correlation, size);
            }
            Err(QueueError::Full { capacity: 5 }) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((accepted.len(), refused), (5, 35));
    let claimed = a.claim(100).await.unwrap().entries;
    let kept: std::collections::HashMap<_, _> = claimed
        .iter()
        .map(|e| {
            let correlation = e.events[0].event.correlation_id.to_string();
            assert!(
                e.events
                    .iter()
                    .all(|n| n.event.correlation_id.as_str() == correlation)
            );
            (correlation, e.events.len())
        })
        .collect();
    assert_eq!(kept, accepted, "exactly the accepted entries, each whole");
}

pub async fn stats_report_depth_pending_and_age<F, Fut>(make: F)
where
    F: Fn(u64, Duration) -> Fut,
    Fut: std::future::Future<Output = QueuePair>,
{
    let (a, _) = make(100, LONG).await;
    let empty = a.stats().await.unwrap();
    assert_eq!((empty.depth, empty.pending, empty.dead_lettered), (0, 0, 0));
    assert_eq!(empty.oldest_age_seconds, None);
    assert_eq!(empty.capacity, 100);
    for i in 0..3 {
        a.enqueue(&events(1, &format!("q-stats-{i}")))
            .await
            .unwrap();
    }
    a.claim(2).await.unwrap();
    let stats = a.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending), (3, 2));
    assert!(
        stats
            .oldest_age_seconds
            .is_some_and(|age| (0.0..60.0).contains(&age))
    );
}
