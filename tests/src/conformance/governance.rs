//! `LegalHoldStore` and `RetentionStore` conformance: holds, and retention that drops a month
//! only when all its events are expired and none is held, leaving the log whole.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use datastorage_application::ports::{
    AuditEventRepository, AuditLogStore, LegalHold, LegalHoldStore, PlaceOutcome, RetentionStore,
    SequenceOutcome,
};
use datastorage_domain::audit::{CorrelationId, NewAuditEvent, PageLimit};

use crate::support::EventFactory;

/// A repository, its log, and the holds and retention over them.
pub struct GovernancePair {
    pub events: Arc<dyn AuditEventRepository>,
    pub log: Arc<dyn AuditLogStore>,
    pub holds: Arc<dyn LegalHoldStore>,
    pub retention: Arc<dyn RetentionStore>,
}

#[macro_export]
macro_rules! governance_conformance {
    ($make:expr) => {
        $crate::governance_conformance!(@cases $make;
            a_second_hold_on_a_correlation_is_refused_and_names_the_first,
            a_released_hold_is_no_longer_active_and_can_be_placed_again,
            months_count_events_expired_and_held,
            a_month_drops_only_when_every_event_is_expired,
            a_held_event_keeps_its_month_until_the_hold_is_released,
            pruning_leaves_the_log_whole_and_records_the_month_and_its_indexes,
            a_pruned_month_takes_its_remediations_out_of_the_incidents,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::conformance::governance::$case($make.await).await;
            }
        )+
    };
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// An event at `when`, kept `retention_days`.
fn event(when: &str, correlation: &str, retention_days: i64) -> NewAuditEvent {
    let f = EventFactory::at(at(when));
    let mut d = f.draft(correlation);
    d.retention_days = Some(retention_days);
    f.build(d)
}

fn hold(correlation: &str, by: &str) -> LegalHold {
    LegalHold {
        correlation_id: CorrelationId::parse(correlation.to_owned()).unwrap(),
        reason: "litigation".into(),
        placed_by: by.into(),
        placed_at: at("2026-06-01T00:00:00Z"),
    }
}

async fn sequence_all(log: &dyn AuditLogStore) -> u64 {
    loop {
        match log.sequence(10_000).await.unwrap() {
            SequenceOutcome::Appended {
                appended: 0, size, ..
            } => return size,
            SequenceOutcome::Appended { .. } => {}
            SequenceOutcome::Busy => panic!("no other sequencer runs here"),
        }
    }
}

pub async fn a_second_hold_on_a_correlation_is_refused_and_names_the_first(g: GovernancePair) {
    assert_eq!(
        g.holds.place(&hold("h-1", "alice")).await.unwrap(),
        PlaceOutcome::Placed
    );
    match g.holds.place(&hold("h-1", "bob")).await.unwrap() {
        PlaceOutcome::AlreadyHeld(first) => assert_eq!(first.placed_by, "alice"),
        other => panic!("{other:?}"),
    }
    let active = g.holds.active().await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].correlation_id.as_str(), "h-1");
}

pub async fn a_released_hold_is_no_longer_active_and_can_be_placed_again(g: GovernancePair) {
    g.holds.place(&hold("h-2", "alice")).await.unwrap();
    let c = CorrelationId::parse("h-2".to_owned()).unwrap();
    let released = g
        .holds
        .release(&c, "bob", "case closed", at("2026-07-01T00:00:00Z"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            released.hold.placed_by.as_str(),
            released.released_by.as_str()
        ),
        ("alice", "bob")
    );
    assert!(g.holds.active().await.unwrap().is_empty());
    assert_eq!(
        g.holds
            .release(&c, "bob", "again", at("2026-07-02T00:00:00Z"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        g.holds.place(&hold("h-2", "carol")).await.unwrap(),
        PlaceOutcome::Placed
    );
}

pub async fn months_count_events_expired_and_held(g: GovernancePair) {
    g.events
        .insert_batch(&[
            event("2026-01-10T00:00:00Z", "m-a", 30),
            event("2026-01-20T00:00:00Z", "m-b", 365),
            event("2026-02-05T00:00:00Z", "m-held", 30),
        ])
        .await
        .unwrap();
    g.holds.place(&hold("m-held", "alice")).await.unwrap();
    let months = g
        .retention
        .months(at("2026-06-01T00:00:00Z"), day(2026, 6, 1))
        .await
        .unwrap();
    let summary: Vec<(NaiveDate, u64, u64, u64)> = months
        .iter()
        .map(|m| (m.month, m.events, m.expired, m.held))
        .collect();
    assert_eq!(
        summary,
        vec![(day(2026, 1, 1), 2, 1, 0), (day(2026, 2, 1), 1, 1, 1)]
    );
    // Months from `before` on are not read.
    let early = g
        .retention
        .months(at("2026-06-01T00:00:00Z"), day(2026, 2, 1))
        .await
        .unwrap();
    assert_eq!(
        early.iter().map(|m| m.month).collect::<Vec<_>>(),
        vec![day(2026, 1, 1)]
    );
}

pub async fn a_month_drops_only_when_every_event_is_expired(g: GovernancePair) {
    let short = event("2026-01-10T00:00:00Z", "d-a", 30);
    let long = event("2026-01-20T00:00:00Z", "d-b", 200);
    g.events
        .insert_batch(&[short.clone(), long.clone()])
        .await
        .unwrap();
    // 2026-06-01: the 200-day event (to 2026-08-08) is not expired.
    assert_eq!(
        g.retention
            .prune(day(2026, 1, 1), at("2026-06-01T00:00:00Z"))
            .await
            .unwrap(),
        None
    );
    assert!(g.events.get(short.event.event_id).await.unwrap().is_some());
    let pruned = g
        .retention
        .prune(day(2026, 1, 1), at("2026-09-01T00:00:00Z"))
        .await
        .unwrap()
        .expect("every event expired");
    assert_eq!((pruned.month, pruned.events), (day(2026, 1, 1), 2));
    assert_eq!(g.events.get(short.event.event_id).await.unwrap(), None);
    assert_eq!(g.events.get(long.event.event_id).await.unwrap(), None);
}

pub async fn a_held_event_keeps_its_month_until_the_hold_is_released(g: GovernancePair) {
    // The hold is placed before the event arrives: it covers the future too.
    g.holds.place(&hold("k-held", "alice")).await.unwrap();
    let held = event("2026-03-03T00:00:00Z", "k-held", 1);
    let free = event("2026-03-04T00:00:00Z", "k-free", 1);
    g.events
        .insert_batch(&[held.clone(), free.clone()])
        .await
        .unwrap();
    let later = at("2026-12-01T00:00:00Z");
    assert_eq!(
        g.retention.prune(day(2026, 3, 1), later).await.unwrap(),
        None
    );
    assert!(g.events.get(held.event.event_id).await.unwrap().is_some());
    assert!(g.events.get(free.event.event_id).await.unwrap().is_some());
    let c = CorrelationId::parse("k-held".to_owned()).unwrap();
    g.holds
        .release(&c, "bob", "done", later)
        .await
        .unwrap()
        .unwrap();
    let pruned = g.retention.prune(day(2026, 3, 1), later).await.unwrap();
    assert_eq!(pruned.map(|p| p.events), Some(2));
}

pub async fn pruning_leaves_the_log_whole_and_records_the_month_and_its_indexes(g: GovernancePair) {
    let april: Vec<NewAuditEvent> = (0..3)
        .map(|i| event(&format!("2026-04-0{}T00:00:00Z", i + 1), "p-april", 1))
        .collect();
    let may = event("2026-05-02T00:00:00Z", "p-may", 2555);
    g.events.insert_batch(&april).await.unwrap();
    g.events.insert(&may).await.unwrap();
    let size = sequence_all(g.log.as_ref()).await;
    assert_eq!(size, 4);
    let root = g
        .log
        .tiles(&datastorage_domain::log::tiles::needs::root(size))
        .await
        .unwrap()
        .root(size)
        .unwrap();
    let pruned = g
        .retention
        .prune(
            day(2026, 4, 1),
            at("2026-06-01T00:00:00Z") + Duration::days(1),
        )
        .await
        .unwrap()
        .expect("april expired");
    assert_eq!(pruned.events, 3);
    assert_eq!(pruned.log_ranges, vec![(0, 2)]);
    assert_eq!(g.log.pruned_months().await.unwrap(), vec![day(2026, 4, 1)]);
    // The log outlives the rows: same size, same root, the entries still there.
    assert_eq!(sequence_all(g.log.as_ref()).await, 4);
    let after = g
        .log
        .tiles(&datastorage_domain::log::tiles::needs::root(4))
        .await
        .unwrap()
        .root(4)
        .unwrap();
    assert_eq!(after, root);
    let entries = g
        .log
        .correlation_entries(&CorrelationId::parse("p-april".to_owned()).unwrap())
        .await
        .unwrap();
    assert_eq!(entries.len(), 3);
    assert!(
        entries
            .iter()
            .all(|e| e.event_date.format("%Y-%m").to_string() == "2026-04")
    );
}

pub async fn a_pruned_month_takes_its_remediations_out_of_the_incidents(g: GovernancePair) {
    use datastorage_domain::remediation::{IncidentFilter, IncidentPosition, IncidentQuery};
    let chosen = |when: &str, correlation: &str, retention_days: i64| {
        let f = EventFactory::at(at(when));
        let mut d = f.draft(correlation);
        d.retention_days = Some(retention_days);
        d.event_type = "remediation.workflow_created".into();
        d.event_category = "workflow".into();
        d.event_data = serde_json::json!({"target_resource": "prod/Deployment/api"}).into();
        f.build(d)
    };
    g.events
        .insert_batch(&[
            chosen("2026-02-10T00:00:00Z", "gone", 30),
            // Chose in January (kept 400 days) and again in February.
            chosen("2026-01-05T00:00:00Z", "both", 400),
            chosen("2026-02-20T00:00:00Z", "both", 30),
            chosen("2026-03-10T00:00:00Z", "kept", 30),
        ])
        .await
        .unwrap();
    let all = IncidentQuery {
        filter: IncidentFilter::default(),
        limit: PageLimit::parse(10).unwrap(),
        position: IncidentPosition::Offset(0),
    };
    let ids = |keys: datastorage_domain::remediation::IncidentKeys| {
        (
            keys.total,
            keys.ids
                .iter()
                .map(|i| i.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        ids(g.events.incidents(&all).await.unwrap()),
        (3, vec!["kept".into(), "both".into(), "gone".into()])
    );
    g.retention
        .prune(day(2026, 2, 1), at("2026-04-01T00:00:00Z"))
        .await
        .unwrap()
        .expect("February expired");
    // "both" is listed by its January choice now, below "kept"; "gone" is gone.
    assert_eq!(
        ids(g.events.incidents(&all).await.unwrap()),
        (2, vec!["kept".into(), "both".into()])
    );
    let january = IncidentQuery {
        filter: IncidentFilter {
            until: Some(at("2026-01-31T00:00:00Z")),
            ..IncidentFilter::default()
        },
        ..all
    };
    assert_eq!(
        ids(g.events.incidents(&january).await.unwrap()),
        (1, vec!["both".into()])
    );
}
