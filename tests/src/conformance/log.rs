//! `AuditLogStore` conformance: what every transparency-log store must do, over the events of
//! the repository it is paired with.

use std::sync::Arc;

use chrono::{Duration, Utc};
use datastorage_application::ports::{
    AuditEventRepository, AuditLogStore, SequenceOutcome, StoredCheckpoint,
};
use datastorage_domain::audit::{CorrelationId, EventId, NewAuditEvent};
use datastorage_domain::log::Hash;
use datastorage_domain::log::merkle::{root_of, verify_consistency, verify_inclusion};
use datastorage_domain::log::tiles::needs;

use crate::support::EventFactory;

/// A repository and the log over its events.
pub type LogPair = (Arc<dyn AuditEventRepository>, Arc<dyn AuditLogStore>);

/// Instantiates every case as a `#[tokio::test]`; `$make` is an async expression giving a
/// fresh [`LogPair`].
#[macro_export]
macro_rules! audit_log_conformance {
    ($make:expr) => {
        $crate::audit_log_conformance!(@cases $make;
            an_empty_log_has_size_zero_and_the_empty_root,
            every_stored_event_gets_one_contiguous_index_in_commit_order,
            a_repeated_send_is_not_logged_twice,
            a_step_takes_at_most_max_events_and_the_next_takes_the_rest,
            tiles_reproduce_the_reference_tree_and_its_proofs,
            indexes_and_correlation_entries_name_the_logged_events,
            the_latest_checkpoint_is_the_largest_tree,
            the_backlog_counts_what_is_not_sequenced_yet,
            concurrent_sequencers_never_log_an_event_twice,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::conformance::log::$case($make.await).await;
            }
        )+
    };
}

async fn sequence_all(log: &dyn AuditLogStore) -> (u64, Hash) {
    loop {
        match log.sequence(10_000).await.unwrap() {
            SequenceOutcome::Appended {
                appended: 0,
                size,
                root,
                ..
            } => return (size, root),
            SequenceOutcome::Appended { .. } => {}
            SequenceOutcome::Busy => panic!("no other sequencer runs in this test"),
        }
    }
}

fn events(n: usize, correlation: &str) -> Vec<NewAuditEvent> {
    let f = EventFactory::default();
    (0..n).map(|i| f.event(correlation, -(i as i64))).collect()
}

async fn store(repo: &dyn AuditEventRepository, events: &[NewAuditEvent]) {
    repo.insert_batch(events).await.unwrap();
}

pub async fn an_empty_log_has_size_zero_and_the_empty_root((_, log): LogPair) {
    assert_eq!(log.size().await.unwrap(), 0);
    let (size, root) = sequence_all(log.as_ref()).await;
    assert_eq!((size, root), (0, root_of(&[])));
    assert_eq!(log.latest_checkpoint().await.unwrap(), None);
}

pub async fn every_stored_event_gets_one_contiguous_index_in_commit_order((repo, log): LogPair) {
    let first = events(3, "c-order");
    store(repo.as_ref(), &first).await;
    let single = EventFactory::default().event("c-order", 5);
    repo.insert(&single).await.unwrap();
    let (size, _) = sequence_all(log.as_ref()).await;
    assert_eq!(size, 4);
    let ids: Vec<EventId> = first
        .iter()
        .chain([&single])
        .map(|e| e.event.event_id)
        .collect();
    let indexes = log.indexes(&ids).await.unwrap();
    let mut got: Vec<u64> = ids.iter().map(|id| indexes[id]).collect();
    // The batch commits before the single event; within the batch, order is free.
    assert_eq!(got[3], 3);
    got.sort_unstable();
    assert_eq!(got, vec![0, 1, 2, 3]);
}

pub async fn a_repeated_send_is_not_logged_twice((repo, log): LogPair) {
    let f = EventFactory::default();
    let e = f.with_id(uuid::Uuid::now_v7(), "c-repeat");
    repo.insert(&e).await.unwrap();
    repo.insert(&e).await.unwrap();
    repo.insert_batch(std::slice::from_ref(&e)).await.unwrap();
    assert_eq!(sequence_all(log.as_ref()).await.0, 1);
}

pub async fn a_step_takes_at_most_max_events_and_the_next_takes_the_rest((repo, log): LogPair) {
    store(repo.as_ref(), &events(5, "c-max")).await;
    match log.sequence(2).await.unwrap() {
        SequenceOutcome::Appended {
            appended,
            size,
            lags,
            ..
        } => {
            assert_eq!((appended, size), (2, 2));
            assert_eq!(lags.len(), 2);
        }
        SequenceOutcome::Busy => panic!("busy"),
    }
    assert_eq!(sequence_all(log.as_ref()).await.0, 5);
}

pub async fn tiles_reproduce_the_reference_tree_and_its_proofs((repo, log): LogPair) {
    // Past one full tile, in uneven steps.
    let all = events(600, "c-tiles");
    for chunk in all.chunks(170) {
        store(repo.as_ref(), chunk).await;
        let _ = log.sequence(97).await.unwrap();
    }
    let (size, root) = sequence_all(log.as_ref()).await;
    assert_eq!(size, 600);
    let indexes = log
        .indexes(&all.iter().map(|e| e.event.event_id).collect::<Vec<_>>())
        .await
        .unwrap();
    let mut leaves = vec![Hash([0; 32]); 600];
    for e in &all {
        leaves[indexes[&e.event.event_id] as usize] = e.event.leaf_hash();
    }
    assert_eq!(root, root_of(&leaves));
    let tiles = log.tiles(&needs::root(600)).await.unwrap();
    assert_eq!(tiles.root(600).unwrap(), root);
    for (index, size) in [
        (0u64, 600u64),
        (255, 600),
        (256, 600),
        (599, 600),
        (10, 300),
    ] {
        let tiles = log.tiles(&needs::inclusion(index, size)).await.unwrap();
        let path = tiles.inclusion_proof(index, size).unwrap();
        assert_eq!(tiles.leaf(index).unwrap(), leaves[index as usize]);
        verify_inclusion(
            index,
            size,
            &leaves[index as usize],
            &path,
            &root_of(&leaves[..size as usize]),
        )
        .unwrap();
    }
    let tiles = log.tiles(&needs::consistency(257, 600)).await.unwrap();
    let path = tiles.consistency_proof(257, 600).unwrap();
    verify_consistency(257, 600, &root_of(&leaves[..257]), &root, &path).unwrap();
}

pub async fn indexes_and_correlation_entries_name_the_logged_events((repo, log): LogPair) {
    let a = events(3, "c-entries-a");
    let b = events(2, "c-entries-b");
    store(repo.as_ref(), &a).await;
    store(repo.as_ref(), &b).await;
    let unlogged = EventId::from_uuid(uuid::Uuid::now_v7());
    sequence_all(log.as_ref()).await;
    let entries = log
        .correlation_entries(&CorrelationId::parse("c-entries-a".to_owned()).unwrap())
        .await
        .unwrap();
    let mut got: Vec<EventId> = entries.iter().map(|e| e.event_id).collect();
    let mut want: Vec<EventId> = a.iter().map(|e| e.event.event_id).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert!(entries.windows(2).all(|w| w[0].log_index < w[1].log_index));
    let indexes = log.indexes(&[want[0], unlogged]).await.unwrap();
    assert!(indexes.contains_key(&want[0]));
    assert!(!indexes.contains_key(&unlogged));
}

pub async fn the_latest_checkpoint_is_the_largest_tree((_, log): LogPair) {
    let at = Utc::now();
    let cp = |size: u64, seconds: i64| StoredCheckpoint {
        tree_size: size,
        root: Hash([size as u8; 32]),
        signed_at: at + Duration::seconds(seconds),
        note: format!("note {size} {seconds}"),
    };
    log.save_checkpoint(&cp(5, 0)).await.unwrap();
    log.save_checkpoint(&cp(7, 1)).await.unwrap();
    log.save_checkpoint(&cp(6, 2)).await.unwrap();
    log.save_checkpoint(&cp(7, 3)).await.unwrap();
    let latest = log.latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(latest.tree_size, 7);
    assert_eq!(latest.note, "note 7 3");
    assert_eq!(latest.root, Hash([7; 32]));
}

pub async fn the_backlog_counts_what_is_not_sequenced_yet((repo, log): LogPair) {
    store(repo.as_ref(), &events(4, "c-backlog")).await;
    let before = log.backlog().await.unwrap();
    assert_eq!((before.size, before.unsequenced), (0, 4));
    assert!(before.oldest_unsequenced_seconds.is_some());
    sequence_all(log.as_ref()).await;
    let after = log.backlog().await.unwrap();
    assert_eq!((after.size, after.unsequenced), (4, 0));
    assert_eq!(after.oldest_unsequenced_seconds, None);
}

pub async fn concurrent_sequencers_never_log_an_event_twice((repo, log): LogPair) {
    let all = events(300, "c-concurrent");
    let writer = {
        let repo = repo.clone();
        tokio::spawn(async move {
            for chunk in all.chunks(10) {
                repo.insert_batch(chunk).await.unwrap();
            }
            all
        })
    };
    let sequencers: Vec<_> = (0..3)
        .map(|_| {
            let log = log.clone();
            tokio::spawn(async move {
                for _ in 0..20 {
                    let _ = log.sequence(7).await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let all = writer.await.unwrap();
    for s in sequencers {
        s.await.unwrap();
    }
    let (size, root) = sequence_all(log.as_ref()).await;
    assert_eq!(size, 300);
    let indexes = log
        .indexes(&all.iter().map(|e| e.event.event_id).collect::<Vec<_>>())
        .await
        .unwrap();
    let mut seen: Vec<u64> = indexes.values().copied().collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..300).collect::<Vec<_>>());
    let mut leaves = vec![Hash([0; 32]); 300];
    for e in &all {
        leaves[indexes[&e.event.event_id] as usize] = e.event.leaf_hash();
    }
    assert_eq!(root, root_of(&leaves));
}
