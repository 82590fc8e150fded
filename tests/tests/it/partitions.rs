//! Partition upkeep on PostgreSQL: months are created ahead. (Retention, which drops them,
//! is tested with the governance conformance suite.)

use datastorage_postgres::ensure_audit_partitions_around;
use datastorage_tests::support::fresh_pool;

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
