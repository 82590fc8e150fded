//! `AuditEventRepository` conformance: what every audit storage adapter must do.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, SecondsFormat, Utc};
use datastorage_application::ports::{AuditEventRepository, InsertOutcome, RepositoryError};
use datastorage_domain::audit::*;
use serde_json::json;
use uuid::Uuid;

use crate::support::EventFactory;

type Repo = Arc<dyn AuditEventRepository>;

/// Instantiates every case as a `#[tokio::test]` in the calling module.
/// `$make` is an async expression producing a fresh `Arc<dyn AuditEventRepository>`.
#[macro_export]
macro_rules! audit_repository_conformance {
    ($make:expr) => {
        $crate::audit_repository_conformance!(@cases $make;
            insert_then_get_returns_the_same_event,
            get_of_an_unknown_id_is_none,
            resending_a_client_id_with_the_same_content_stores_one_event,
            a_client_id_with_other_content_is_a_conflict_and_keeps_the_original,
            a_client_id_with_another_timestamp_is_a_conflict_across_partitions,
            one_client_id_in_two_correlations_is_two_events,
            concurrent_sends_of_one_client_id_store_exactly_one_event,
            concurrent_inserts_are_answered_each_on_its_own,
            a_batch_is_stored_whole_with_outcomes_in_input_order,
            a_batch_with_a_conflict_stores_nothing,
            a_large_mixed_batch_round_trips_every_field,
            events_in_a_month_without_a_partition_are_stored,
            unicode_round_trips_unchanged,
            query_orders_newest_first_with_event_id_as_tie_break,
            query_applies_every_equality_filter,
            query_time_bounds_are_inclusive,
            time_bounds_and_keyset_pages_are_exact_across_a_month_boundary,
            query_detail_matches_strings_and_scalars,
            offset_pages_report_total_and_has_more,
            keyset_pages_visit_every_event_once_despite_concurrent_inserts,
            include_total_false_leaves_the_total_out,
            correlation_lists_oldest_first_up_to_the_limit,
            ping_answers,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::conformance::audit::$case($make.await).await;
            }
        )+
    };
}

fn ids(events: &[AuditEvent]) -> Vec<EventId> {
    events.iter().map(|e| e.event_id).collect()
}

fn query(filter: AuditFilter, limit: i64, position: PagePosition) -> AuditQuery {
    AuditQuery {
        filter,
        limit: PageLimit::parse(limit).unwrap(),
        position,
        include_total: true,
    }
}

fn by_correlation(c: &str) -> AuditFilter {
    AuditFilter {
        correlation_id: Some(CorrelationId::parse(c).unwrap()),
        ..AuditFilter::default()
    }
}

async fn all_of(repo: &Repo, c: &str) -> Vec<AuditEvent> {
    repo.query(&query(by_correlation(c), 1000, PagePosition::Offset(0)))
        .await
        .unwrap()
        .events
}

pub async fn insert_then_get_returns_the_same_event(repo: Repo) {
    let f = EventFactory::default();
    let mut draft = f.draft("c-roundtrip");
    draft.parent_event_id = Some(Uuid::now_v7().to_string());
    draft.parent_event_date = Some("2026-11-01".into());
    draft.error_code = Some("E42".into());
    draft.error_message = Some("boom".into());
    draft.is_sensitive = Some(true);
    draft.event_data = json!({"n": 1.5, "big": 9_007_199_254_740_993_u64, "list": [1, "a", null], "o": {"deep": {"x": false}}}).into();
    let new = f.build(draft);
    assert_eq!(repo.insert(&new).await.unwrap(), InsertOutcome::Created);
    let stored = repo.get(new.event.event_id).await.unwrap().expect("stored");
    assert_eq!(stored, new.event);

    let mut sparse = f.draft("c-roundtrip");
    (sparse.actor_type, sparse.actor_id, sparse.resource_type) = (None, None, None);
    (sparse.resource_id, sparse.resource_name, sparse.trace_id) = (None, None, None);
    (sparse.span_id, sparse.namespace, sparse.cluster_name) = (None, None, None);
    (sparse.severity, sparse.duration_ms, sparse.retention_days) = (None, None, None);
    sparse.event_data = json!({}).into();
    let sparse = f.build(sparse);
    repo.insert(&sparse).await.unwrap();
    assert_eq!(
        repo.get(sparse.event.event_id).await.unwrap(),
        Some(sparse.event)
    );
}

pub async fn get_of_an_unknown_id_is_none(repo: Repo) {
    let unknown = EventId::from_uuid(Uuid::now_v7());
    assert_eq!(repo.get(unknown).await.unwrap(), None);
}

pub async fn resending_a_client_id_with_the_same_content_stores_one_event(repo: Repo) {
    let f = EventFactory::default();
    let new = f.with_id(Uuid::now_v7(), "c-idem");
    assert_eq!(repo.insert(&new).await.unwrap(), InsertOutcome::Created);
    assert_eq!(
        repo.insert(&new).await.unwrap(),
        InsertOutcome::AlreadyExists
    );
    assert_eq!(
        repo.insert_batch(std::slice::from_ref(&new)).await.unwrap(),
        vec![InsertOutcome::AlreadyExists]
    );
    assert_eq!(
        ids(&all_of(&repo, "c-idem").await),
        vec![new.event.event_id]
    );
}

pub async fn a_client_id_with_other_content_is_a_conflict_and_keeps_the_original(repo: Repo) {
    let f = EventFactory::default();
    let id = Uuid::now_v7();
    let original = f.with_id(id, "c-conflict");
    repo.insert(&original).await.unwrap();
    let mut other = f.draft("c-conflict");
    other.event_id = Some(id.to_string());
    other.event_action = "changed".into();
    let other = f.build(other);
    match repo.insert(&other).await {
        Err(RepositoryError::Conflict { event_id }) => {
            assert_eq!(event_id, original.event.event_id)
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        repo.get(original.event.event_id).await.unwrap(),
        Some(original.event)
    );
}

pub async fn a_client_id_with_another_timestamp_is_a_conflict_across_partitions(repo: Repo) {
    // Same id, timestamps in different months: different partitions in PostgreSQL, yet the
    // id must still be unique.
    let id = Uuid::now_v7();
    let early = EventFactory::at(Utc::now() - Duration::days(62)).with_id(id, "c-cross");
    let late = EventFactory::default().with_id(id, "c-cross");
    repo.insert(&early).await.unwrap();
    assert!(matches!(
        repo.insert(&late).await,
        Err(RepositoryError::Conflict { .. })
    ));
    assert!(matches!(
        repo.insert_batch(std::slice::from_ref(&late)).await,
        Err(RepositoryError::Conflict { .. })
    ));
    assert_eq!(all_of(&repo, "c-cross").await.len(), 1);
}

pub async fn one_client_id_in_two_correlations_is_two_events(repo: Repo) {
    // An event_id is unique within its correlation: the same id in another correlation is
    // another event, alone or in one batch, and each is then a repeat of itself only.
    let f = EventFactory::default();
    let id = Uuid::now_v7();
    let first = f.with_id(id, "c-reuse-a");
    let second = f.with_id(id, "c-reuse-b");
    assert_eq!(repo.insert(&first).await.unwrap(), InsertOutcome::Created);
    assert_eq!(repo.insert(&second).await.unwrap(), InsertOutcome::Created);
    let batch = [f.with_id(id, "c-reuse-c"), f.with_id(id, "c-reuse-d")];
    assert_eq!(
        repo.insert_batch(&batch).await.unwrap(),
        vec![InsertOutcome::Created, InsertOutcome::Created]
    );
    assert_eq!(
        repo.insert_batch(&[second.clone(), batch[0].clone()])
            .await
            .unwrap(),
        vec![InsertOutcome::AlreadyExists, InsertOutcome::AlreadyExists]
    );
    for (c, new) in [("c-reuse-a", &first), ("c-reuse-b", &second)]
        .into_iter()
        .chain([("c-reuse-c", &batch[0]), ("c-reuse-d", &batch[1])])
    {
        assert_eq!(all_of(&repo, c).await, vec![new.event.clone()], "{c}");
    }
    // Read by id alone, it answers the first stored.
    assert_eq!(
        repo.get(first.event.event_id).await.unwrap(),
        Some(first.event)
    );
}

pub async fn concurrent_sends_of_one_client_id_store_exactly_one_event(repo: Repo) {
    let new = EventFactory::default().with_id(Uuid::now_v7(), "c-race");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (repo, new) = (repo.clone(), new.clone());
            tokio::spawn(async move { repo.insert(&new).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            InsertOutcome::Created => created += 1,
            InsertOutcome::AlreadyExists => {}
        }
    }
    assert_eq!(created, 1);
    assert_eq!(all_of(&repo, "c-race").await.len(), 1);
}

/// Concurrent single inserts may be written together (group commit); a conflict among them
/// must still refuse only its own event.
pub async fn concurrent_inserts_are_answered_each_on_its_own(repo: Repo) {
    let f = EventFactory::default();
    let taken: Vec<NewAuditEvent> = (0..10)
        .map(|_| f.with_id(Uuid::now_v7(), "c-mixed"))
        .collect();
    repo.insert_batch(&taken).await.unwrap();
    let sends: Vec<(NewAuditEvent, bool)> = (0..200)
        .map(|i| {
            if i % 20 == 0 {
                let mut clash = f.draft("c-mixed");
                clash.event_id = Some(taken[i / 20].event.event_id.to_string());
                clash.event_action = "clashes".into();
                (f.build(clash), false)
            } else {
                (f.event("c-mixed", -(i as i64)), true)
            }
        })
        .collect();
    let tasks: Vec<_> = sends
        .iter()
        .map(|(new, _)| {
            let (repo, new) = (repo.clone(), new.clone());
            tokio::spawn(async move { repo.insert(&new).await })
        })
        .collect();
    for ((new, fresh), task) in sends.iter().zip(tasks) {
        match (task.await.unwrap(), fresh) {
            (Ok(InsertOutcome::Created), true) => {}
            (Err(RepositoryError::Conflict { event_id }), false) => {
                assert_eq!(event_id, new.event.event_id)
            }
            (other, _) => panic!("{} got {other:?}", new.event.event_id),
        }
    }
    let stored = all_of(&repo, "c-mixed").await;
    assert_eq!(stored.len(), 10 + 190);
    for original in &taken {
        assert_eq!(
            repo.get(original.event.event_id).await.unwrap(),
            Some(original.event.clone())
        );
    }
}

pub async fn a_batch_is_stored_whole_with_outcomes_in_input_order(repo: Repo) {
    let f = EventFactory::default();
    let existing = f.with_id(Uuid::now_v7(), "c-batch");
    repo.insert(&existing).await.unwrap();
    let batch = vec![
        f.event("c-batch", -3),
        existing.clone(),
        f.event("c-batch", -1),
    ];
    let outcomes = repo.insert_batch(&batch).await.unwrap();
    assert_eq!(
        outcomes,
        vec![
            InsertOutcome::Created,
            InsertOutcome::AlreadyExists,
            InsertOutcome::Created
        ]
    );
    let stored: HashSet<EventId> = ids(&all_of(&repo, "c-batch").await).into_iter().collect();
    let sent: HashSet<EventId> = batch.iter().map(|n| n.event.event_id).collect();
    assert_eq!(stored, sent);
}

pub async fn a_batch_with_a_conflict_stores_nothing(repo: Repo) {
    let f = EventFactory::default();
    let id = Uuid::now_v7();
    let seed = f.with_id(id, "c-atomic");
    repo.insert(&seed).await.unwrap();
    // The same id in the same correlation with other content.
    let mut clash = f.draft("c-atomic");
    clash.event_id = Some(id.to_string());
    clash.event_action = "changed".into();
    let batch = vec![
        f.event("c-atomic", -2),
        f.build(clash),
        f.event("c-atomic", -1),
    ];
    assert!(matches!(
        repo.insert_batch(&batch).await,
        Err(RepositoryError::Conflict { .. })
    ));
    assert_eq!(
        ids(&all_of(&repo, "c-atomic").await),
        vec![seed.event.event_id]
    );
}

pub async fn a_large_mixed_batch_round_trips_every_field(repo: Repo) {
    // Every optional field both set and unset, dates on both sides of 2000-01-01 (PostgreSQL's
    // epoch, where binary dates and timestamps turn negative), microsecond timestamps, and
    // event_data from empty to 200 KB: each event must come back exactly as sent.
    let instants = [
        "1999-12-31T23:59:59.999999Z",
        "2000-01-01T00:00:00Z",
        "1970-01-01T00:00:00.000001Z",
        "2026-11-26T12:34:56.123456Z",
    ];
    let mut batch = Vec::new();
    for i in 0..400_usize {
        let at: DateTime<Utc> = instants[i % instants.len()].parse().unwrap();
        let f = EventFactory::at(at);
        let mut d = f.draft("c-large-batch");
        if i % 2 == 0 {
            (d.actor_type, d.actor_id, d.resource_type) = (None, None, None);
            (d.resource_id, d.resource_name, d.trace_id) = (None, None, None);
            (d.span_id, d.namespace, d.cluster_name) = (None, None, None);
            (d.severity, d.duration_ms, d.retention_days) = (None, None, None);
        } else {
            d.parent_event_id = Some(Uuid::now_v7().to_string());
            d.parent_event_date = Some(["1999-12-31", "2000-01-01", "2031-05-17"][i % 3].into());
            d.duration_ms = Some([0, 1, i64::MAX / 2][i % 3]);
            d.error_code = Some(format!("E{i}"));
            d.error_message = Some("é".repeat(i));
            d.retention_days = Some([1, 36_500][(i / 2) % 2]);
        }
        d.is_sensitive = Some(i % 3 == 0);
        d.event_data = match i % 4 {
            0 => json!({}),
            1 => json!({"i": i, "f": -0.5, "s": "x".repeat(200_000)}),
            _ => json!({"i": i, "nested": {"list": [null, true, "🚒", i]}}),
        }
        .into();
        batch.push(f.build(d));
    }
    let outcomes = repo.insert_batch(&batch).await.unwrap();
    assert_eq!(outcomes, vec![InsertOutcome::Created; batch.len()]);
    for new in &batch {
        assert_eq!(
            repo.get(new.event.event_id).await.unwrap().as_ref(),
            Some(&new.event)
        );
    }
}

pub async fn events_in_a_month_without_a_partition_are_stored(repo: Repo) {
    // Months far from today: no partition was created ahead for them.
    for instant in ["2021-02-10T08:00:00Z", "2034-07-31T23:59:59.999999Z"] {
        let at: DateTime<Utc> = instant.parse().unwrap();
        let new = EventFactory::at(at).event("c-partition", 0);
        assert_eq!(repo.insert(&new).await.unwrap(), InsertOutcome::Created);
        assert_eq!(repo.get(new.event.event_id).await.unwrap(), Some(new.event));
    }
    let batch = [
        EventFactory::at("2022-03-01T00:00:00Z".parse().unwrap()).event("c-partition", 0),
        EventFactory::at("2022-04-30T23:00:00Z".parse().unwrap()).event("c-partition", 0),
    ];
    repo.insert_batch(&batch).await.unwrap();
    assert_eq!(all_of(&repo, "c-partition").await.len(), 4);
}

pub async fn unicode_round_trips_unchanged(repo: Repo) {
    let f = EventFactory::default();
    let mut d = f.draft("c-ünïcødé-🚒");
    d.resource_name = Some("Straße/данные/数据/🔥".into());
    d.event_data =
        json!({"emoji": "🚒🔥", "rtl": "שלום", "escaped": "tab\tnewline\nquote\""}).into();
    let new = f.build(d);
    repo.insert(&new).await.unwrap();
    assert_eq!(repo.get(new.event.event_id).await.unwrap(), Some(new.event));
    assert_eq!(all_of(&repo, "c-ünïcødé-🚒").await.len(), 1);
}

pub async fn query_orders_newest_first_with_event_id_as_tie_break(repo: Repo) {
    let f = EventFactory::default();
    let same_instant: Vec<NewAuditEvent> = (0..3).map(|_| f.event("c-order", -5)).collect();
    let newer = f.event("c-order", -1);
    let older = f.event("c-order", -60);
    repo.insert_batch(&[same_instant.clone(), vec![newer.clone(), older.clone()]].concat())
        .await
        .unwrap();
    let mut tied: Vec<EventId> = same_instant.iter().map(|n| n.event.event_id).collect();
    tied.sort();
    tied.reverse();
    let expected = [vec![newer.event.event_id], tied, vec![older.event.event_id]].concat();
    assert_eq!(ids(&all_of(&repo, "c-order").await), expected);
}

pub async fn query_applies_every_equality_filter(repo: Repo) {
    let f = EventFactory::default();
    let base = f.event("c-filter", -10);
    let mut d = f.draft("c-filter-other");
    d.event_type = "analysis.done".into();
    d.event_category = "analysis".into();
    d.event_outcome = "failure".into();
    d.severity = Some("low".into());
    d.resource_type = Some("Pod".into());
    d.resource_id = Some("pod-1".into());
    d.actor_id = Some("ai".into());
    let other = f.build(d);
    repo.insert_batch(&[base.clone(), other.clone()])
        .await
        .unwrap();

    let e = &other.event;
    let filters = [
        AuditFilter {
            correlation_id: Some(e.correlation_id.clone()),
            ..Default::default()
        },
        AuditFilter {
            event_type: Some(e.event_type.clone()),
            ..Default::default()
        },
        AuditFilter {
            event_category: Some(e.event_category),
            ..Default::default()
        },
        AuditFilter {
            event_outcome: Some(e.event_outcome),
            ..Default::default()
        },
        AuditFilter {
            severity: e.severity.clone(),
            ..Default::default()
        },
        AuditFilter {
            resource_type: e.resource_type.clone(),
            ..Default::default()
        },
        AuditFilter {
            resource_id: e.resource_id.clone(),
            ..Default::default()
        },
        AuditFilter {
            actor_id: e.actor_id.clone(),
            ..Default::default()
        },
    ];
    for filter in filters {
        let page = repo
            .query(&query(filter.clone(), 10, PagePosition::Offset(0)))
            .await
            .unwrap();
        assert_eq!(ids(&page.events), vec![e.event_id], "filter {filter:?}");
        assert_eq!(page.total, Some(1));
    }
    let both = AuditFilter {
        event_type: Some(e.event_type.clone()),
        actor_id: base.event.actor_id.clone(),
        ..Default::default()
    };
    let page = repo
        .query(&query(both, 10, PagePosition::Offset(0)))
        .await
        .unwrap();
    assert!(page.events.is_empty(), "filters combine with AND");
}

pub async fn query_time_bounds_are_inclusive(repo: Repo) {
    let f = EventFactory::default();
    let events: Vec<NewAuditEvent> = (0..5).map(|i| f.event("c-time", -100 + i * 10)).collect();
    repo.insert_batch(&events).await.unwrap();
    let at = |i: usize| *events[i].event.event_timestamp.as_datetime();
    let filter = AuditFilter {
        correlation_id: Some(CorrelationId::parse("c-time").unwrap()),
        since: Some(at(1)),
        until: Some(at(3)),
        ..Default::default()
    };
    let page = repo
        .query(&query(filter, 10, PagePosition::Offset(0)))
        .await
        .unwrap();
    let expected: Vec<EventId> = [3, 2, 1]
        .iter()
        .map(|&i| events[i].event.event_id)
        .collect();
    assert_eq!(ids(&page.events), expected);
}

/// A month boundary is a partition boundary in PostgreSQL, where the bounds and cursors are
/// also applied to the partition key: they must not move an event by a microsecond.
pub async fn time_bounds_and_keyset_pages_are_exact_across_a_month_boundary(repo: Repo) {
    let f = EventFactory::default();
    let month_start = f
        .now
        .date_naive()
        .with_day(1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap()
        .and_utc();
    let micro = Duration::microseconds(1);
    let events: Vec<NewAuditEvent> = [
        month_start - Duration::days(1),
        month_start - micro,
        month_start,
        month_start + micro,
    ]
    .iter()
    .map(|at| {
        let mut d = f.draft("c-boundary");
        d.event_timestamp = at.to_rfc3339_opts(SecondsFormat::Micros, true);
        f.build(d)
    })
    .collect();
    repo.insert_batch(&events).await.unwrap();
    let id = |i: usize| events[i].event.event_id;
    let bounded = |since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>| AuditFilter {
        correlation_id: Some(CorrelationId::parse("c-boundary").unwrap()),
        since,
        until,
        ..Default::default()
    };
    let from_the_month = repo
        .query(&query(
            bounded(Some(month_start), None),
            10,
            PagePosition::Offset(0),
        ))
        .await
        .unwrap();
    assert_eq!(ids(&from_the_month.events), vec![id(3), id(2)]);
    let before_it = repo
        .query(&query(
            bounded(None, Some(month_start - micro)),
            10,
            PagePosition::Offset(0),
        ))
        .await
        .unwrap();
    assert_eq!(ids(&before_it.events), vec![id(1), id(0)]);
    // Pages of one event, each after the previous one's cursor, cross the boundary one by one.
    let mut seen = Vec::new();
    let mut position = PagePosition::Offset(0);
    loop {
        let page = repo
            .query(&query(bounded(None, None), 1, position))
            .await
            .unwrap();
        seen.extend(ids(&page.events));
        match page.next_cursor {
            Some(cursor) => position = PagePosition::After(cursor),
            None => break,
        }
        assert!(seen.len() <= 4, "keyset walk repeated events");
    }
    assert_eq!(seen, vec![id(3), id(2), id(1), id(0)]);
}

pub async fn query_detail_matches_strings_and_scalars(repo: Repo) {
    let f = EventFactory::default();
    let with = |data: serde_json::Value| {
        let mut d = f.draft("c-detail");
        d.event_data = data.into();
        f.build(d)
    };
    let number = with(json!({"code": 42, "ok": true}));
    let text = with(json!({"code": "42"}));
    let other = with(json!({"code": 43, "nested": {"code": 42}}));
    repo.insert_batch(&[number.clone(), text.clone(), other])
        .await
        .unwrap();
    let find = |key: &str, value: &str| AuditFilter {
        correlation_id: Some(CorrelationId::parse("c-detail").unwrap()),
        detail: Some(DetailMatch::parse(key.into(), value.into()).unwrap()),
        ..Default::default()
    };
    let found: HashSet<EventId> = ids(&repo
        .query(&query(find("code", "42"), 10, PagePosition::Offset(0)))
        .await
        .unwrap()
        .events)
    .into_iter()
    .collect();
    assert_eq!(
        found,
        HashSet::from([number.event.event_id, text.event.event_id])
    );
    let flags = repo
        .query(&query(find("ok", "true"), 10, PagePosition::Offset(0)))
        .await
        .unwrap();
    assert_eq!(ids(&flags.events), vec![number.event.event_id]);
    let none = repo
        .query(&query(find("code", "44"), 10, PagePosition::Offset(0)))
        .await
        .unwrap();
    assert!(none.events.is_empty());
}

/// (events, total, has_more) of the page of `correlation` at `offset`.
async fn offset_page(
    repo: &Repo,
    correlation: &str,
    limit: i64,
    offset: u64,
) -> (usize, Option<u64>, bool) {
    let page = repo
        .query(&query(
            by_correlation(correlation),
            limit,
            PagePosition::Offset(offset),
        ))
        .await
        .unwrap();
    (page.events.len(), page.total, page.has_more)
}

pub async fn offset_pages_report_total_and_has_more(repo: Repo) {
    let f = EventFactory::default();
    let events: Vec<NewAuditEvent> = (0..7).map(|i| f.event("c-offset", -i)).collect();
    repo.insert_batch(&events).await.unwrap();
    assert_eq!(
        offset_page(&repo, "c-offset", 3, 0).await,
        (3, Some(7), true)
    );
    let last = repo
        .query(&query(
            by_correlation("c-offset"),
            3,
            PagePosition::Offset(6),
        ))
        .await
        .unwrap();
    assert_eq!(
        (last.events.len(), last.total, last.has_more),
        (1, Some(7), false)
    );
    assert_eq!(last.next_cursor, None);
    assert_eq!(last.events[0].event_id, events[6].event.event_id);
    // Past the end, on a page holding every match, and with no match at all.
    assert_eq!(
        offset_page(&repo, "c-offset", 3, 50).await,
        (0, Some(7), false)
    );
    assert_eq!(
        offset_page(&repo, "c-offset", 10, 0).await,
        (7, Some(7), false)
    );
    assert_eq!(
        offset_page(&repo, "c-offset-none", 10, 0).await,
        (0, Some(0), false)
    );
}

pub async fn keyset_pages_visit_every_event_once_despite_concurrent_inserts(repo: Repo) {
    let f = EventFactory::default();
    let events: Vec<NewAuditEvent> = (0..10).map(|i| f.event("c-keyset", -100 - i)).collect();
    repo.insert_batch(&events).await.unwrap();
    let mut seen = Vec::new();
    let mut position = PagePosition::Offset(0);
    loop {
        let page = repo
            .query(&query(by_correlation("c-keyset"), 3, position))
            .await
            .unwrap();
        seen.extend(ids(&page.events));
        // Newer events arriving mid-walk must not shift the pages still to come.
        repo.insert(&f.event("c-keyset", 0)).await.unwrap();
        match page.next_cursor {
            Some(cursor) => position = PagePosition::After(cursor),
            None => break,
        }
        assert!(seen.len() <= 10, "keyset walk repeated events");
    }
    let expected: Vec<EventId> = events.iter().map(|n| n.event.event_id).collect();
    assert_eq!(seen, expected);
}

pub async fn include_total_false_leaves_the_total_out(repo: Repo) {
    let f = EventFactory::default();
    repo.insert_batch(&[f.event("c-nototal", -2), f.event("c-nototal", -1)])
        .await
        .unwrap();
    let mut q = query(by_correlation("c-nototal"), 1, PagePosition::Offset(0));
    q.include_total = false;
    let page = repo.query(&q).await.unwrap();
    assert_eq!(
        (page.total, page.has_more, page.events.len()),
        (None, true, 1)
    );
}

pub async fn correlation_lists_oldest_first_up_to_the_limit(repo: Repo) {
    let f = EventFactory::default();
    let events: Vec<NewAuditEvent> = (0..4).map(|i| f.event("c-trail", -i * 10)).collect();
    repo.insert_batch(&events).await.unwrap();
    repo.insert(&f.event("c-trail-other", 0)).await.unwrap();
    let id = CorrelationId::parse("c-trail").unwrap();
    let trail = repo.correlation(&id, 3).await.unwrap();
    let expected: Vec<EventId> = [3, 2, 1]
        .iter()
        .map(|&i| events[i].event.event_id)
        .collect();
    assert_eq!(ids(&trail), expected);
}

pub async fn ping_answers(repo: Repo) {
    repo.ping().await.unwrap();
}
