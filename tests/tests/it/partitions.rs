//! Partition upkeep on PostgreSQL: months are created ahead, and retention drops only whole
//! months older than the horizon.

use chrono::NaiveDate;
use datastorage_application::ports::AuditEventRepository;
use datastorage_postgres::{
    PgAuditEventRepository, drop_audit_partitions_before, ensure_audit_partitions_around,
    retention_cutoff,
};
use datastorage_tests::support::{EventFactory, fresh_pool};

async fn partitions(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'audit_events'::regclass ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_drops_only_whole_months_past_the_horizon() {
    let pool = fresh_pool().await;
    let repo = PgAuditEventRepository::new(pool.clone());
    let old = EventFactory::at("2021-02-10T08:00:00Z".parse().unwrap()).event("retention", 0);
    let edge = EventFactory::at("2021-03-31T23:59:59Z".parse().unwrap()).event("retention", 0);
    let kept = EventFactory::at("2021-04-01T00:00:00Z".parse().unwrap()).event("retention", 0);
    for e in [&old, &edge, &kept] {
        repo.insert(e).await.unwrap();
    }
    let cutoff = NaiveDate::from_ymd_opt(2021, 4, 1).unwrap();
    let dropped = drop_audit_partitions_before(&pool, cutoff).await.unwrap();
    assert_eq!(dropped, ["audit_events_2021_02", "audit_events_2021_03"]);
    assert_eq!(repo.get(old.event.event_id).await.unwrap(), None);
    assert_eq!(repo.get(edge.event.event_id).await.unwrap(), None);
    assert_eq!(
        repo.get(kept.event.event_id).await.unwrap(),
        Some(kept.event.clone())
    );
    assert!(
        drop_audit_partitions_before(&pool, cutoff)
            .await
            .unwrap()
            .is_empty(),
        "idempotent"
    );
    assert!(
        partitions(&pool)
            .await
            .contains(&"audit_events_2021_04".to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upkeep_creates_the_months_ahead() {
    let pool = fresh_pool().await;
    ensure_audit_partitions_around(&pool, 1, 3).await.unwrap();
    ensure_audit_partitions_around(&pool, 1, 3).await.unwrap();
    assert_eq!(
        partitions(&pool).await.len(),
        5,
        "last month, this month, three ahead; no duplicates"
    );
}

#[test]
fn the_retention_cutoff_is_a_month_start() {
    let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    assert_eq!(
        retention_cutoff(today, 12),
        NaiveDate::from_ymd_opt(2025, 11, 1).unwrap()
    );
    assert_eq!(
        retention_cutoff(today, 0),
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
    );
}
