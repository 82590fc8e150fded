//! Fault tests against the real processes: PostgreSQL and Redis are stopped and started
//! under load, a replay worker dies between commit and acknowledge, and the rows are
//! counted at the end. Each test runs its own PostgreSQL cluster or Redis server when it
//! needs to stop one, so the shared servers of the other tests are never disturbed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datastorage::SystemClock;
use datastorage_application::audit::{ReplaySettings, ReplayWorker};
use datastorage_application::ports::*;
use datastorage_domain::audit::NewAuditEvent;
use datastorage_tests::processes::{PgCluster, RedisServer};
use datastorage_tests::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::watch;

const EVENTS: &str = "/api/v1/audit/events";

async fn dlq(app: &TestApp) -> Value {
    app.get("/api/v1/dlq").await.json().await.unwrap()
}

fn event_with_id(correlation: &str, id: uuid::Uuid) -> Value {
    let mut body = event_body(correlation);
    body["event_id"] = json!(id.to_string());
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_under_load_every_event_is_acknowledged_and_stored_exactly_once() {
    postgres_stopped_under_load(|s| with_redis_queue(s, test_redis_url())).await;
}

/// The same on a Redis Cluster (3 masters, 3 replicas): each 202 waited for a replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_a_redis_cluster_postgres_stopped_under_load_every_event_is_stored_exactly_once() {
    postgres_stopped_under_load(with_redis_cluster_queue).await;
}

/// 10,000 single events from 16 clients; PostgreSQL is stopped a fifth of the way in and
/// started again 2,000 answers later. Every answer is 201 or 202, and every event is stored
/// and logged exactly once. `queue` points the service at its dead-letter queue.
async fn postgres_stopped_under_load(queue: fn(&mut datastorage::Settings)) {
    const CLIENTS: usize = 16;
    const PER_CLIENT: usize = 625; // 10,000 events
    const TOTAL: usize = CLIENTS * PER_CLIENT;
    let pg = Arc::new(PgCluster::start_new());
    let app = Arc::new(
        spawn_app_with(Storage::Memory, |s| {
            s.database.url = Some(pg.url().into());
            s.database.acquire_timeout_secs = 1;
            queue(s);
        })
        .await,
    );

    let (progress, mut watch_progress) = watch::channel(0usize);
    let progress = Arc::new(progress);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (app, progress) = (app.clone(), progress.clone());
            tokio::spawn(async move {
                let mut answers = Vec::with_capacity(PER_CLIENT);
                for _ in 0..PER_CLIENT {
                    let id = uuid::Uuid::now_v7();
                    let status = app
                        .post_json(EVENTS, &event_with_id(&format!("load-{c}"), id))
                        .await
                        .status();
                    answers.push((id, status));
                    progress.send_modify(|n| *n += 1);
                }
                answers
            })
        })
        .collect();

    // Stop PostgreSQL a fifth of the way in; start it again 2,000 answers later.
    watch_progress.wait_for(|n| *n >= TOTAL / 5).await.unwrap();
    let stopper = pg.clone();
    tokio::task::spawn_blocking(move || stopper.stop())
        .await
        .unwrap();
    let stopped_at = *watch_progress.borrow();
    watch_progress
        .wait_for(|n| *n >= (stopped_at + 2000).min(TOTAL))
        .await
        .unwrap();
    let starter = pg.clone();
    tokio::task::spawn_blocking(move || starter.start())
        .await
        .unwrap();

    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await.unwrap());
    }
    let bad: Vec<_> = answers
        .iter()
        .filter(|(_, s)| *s != StatusCode::CREATED && *s != StatusCode::ACCEPTED)
        .collect();
    assert!(bad.is_empty(), "answers other than 201/202: {bad:?}");
    let queued = answers
        .iter()
        .filter(|(_, s)| *s == StatusCode::ACCEPTED)
        .count();
    assert!(queued > 0, "the outage must have sent writes to the queue");

    eventually(
        "the replay worker drains the queue",
        Duration::from_secs(120),
        || async {
            let q = dlq(&app).await;
            q["depth"] == 0 && q["pending"] == 0
        },
    )
    .await;
    let pool = PgPool::connect(&pg.url()).await.unwrap();
    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT event_id) FROM audit_events")
            .fetch_one(&pool)
            .await
            .unwrap();
    let acked: Vec<uuid::Uuid> = answers.iter().map(|(id, _)| *id).collect();
    let found: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE event_id = ANY($1)")
            .bind(&acked)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (rows, distinct, found),
        (TOTAL as i64, TOTAL as i64, TOTAL as i64)
    );
    assert_eq!(dlq(&app).await["dead_lettered"], 0);
    // Every acknowledged event, written directly or replayed, is in the log exactly once.
    assert_eq!(app.sync_log().await, TOTAL as u64);
    let (leaves, logged, first, last): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT event_id) FILTER (WHERE event_id = ANY($1)),
                min(log_index), max(log_index) FROM audit_log_leaves",
    )
    .bind(&acked)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (leaves, logged, first, last),
        (TOTAL as i64, TOTAL as i64, 0, TOTAL as i64 - 1)
    );
    println!(
        "{TOTAL} events: {} answered 201, {queued} answered 202 and were replayed",
        TOTAL - queued
    );
}

/// A queue whose `ack` fails as if the process died right after the commit.
struct DiesBeforeAck(Arc<dyn DeadLetterQueue>);

#[async_trait]
impl DeadLetterQueue for DiesBeforeAck {
    async fn enqueue(&self, events: &[NewAuditEvent]) -> Result<(), QueueError> {
        self.0.enqueue(events).await
    }
    async fn claim(&self, max: usize) -> Result<Claimed, QueueError> {
        self.0.claim(max).await
    }
    async fn ack(&self, _ids: &[QueueEntryId]) -> Result<(), QueueError> {
        Err(QueueError::Unavailable(
            datastorage_application::Cause::msg("the worker died before acknowledging"),
        ))
    }
    async fn requeue(
        &self,
        e: &QueuedEntry,
        a: u32,
        t: DateTime<Utc>,
        why: &str,
    ) -> Result<(), QueueError> {
        self.0.requeue(e, a, t, why).await
    }
    async fn dead_letter(&self, id: &QueueEntryId, reason: &str) -> Result<(), QueueError> {
        self.0.dead_letter(id, reason).await
    }
    async fn stats(&self) -> Result<QueueStats, QueueError> {
        self.0.stats().await
    }
    async fn durability(&self) -> Result<QueueDurability, QueueError> {
        self.0.durability().await
    }
}

async fn count_rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_between_insert_and_acknowledge_causes_no_duplicate() {
    let pool = fresh_pool().await;
    let repository: Arc<dyn AuditEventRepository> = Arc::new(
        datastorage_postgres::PgAuditEventRepository::new(pool.clone()),
    );
    // Two service instances; a dead one's entries are taken over at once (idle 0).
    let (first, second) = redis_queues(1000, Duration::ZERO).await;
    let f = EventFactory::default();
    first
        .enqueue(&[f.event("crash", -3), f.event("crash", -2)])
        .await
        .unwrap();
    first.enqueue(&[f.event("crash", -1)]).await.unwrap();

    let clock = Arc::new(SystemClock);
    let dying = ReplayWorker::with_parts(
        repository.clone(),
        Arc::new(DiesBeforeAck(first.clone())),
        clock.clone(),
        ReplaySettings::default(),
    );
    assert!(
        dying.run_once().await.is_err(),
        "the first worker dies at acknowledge"
    );
    assert_eq!(count_rows(&pool).await, 3, "its transaction committed");
    assert_eq!(
        first.stats().await.unwrap().pending,
        2,
        "its entries are still pending"
    );

    let survivor =
        ReplayWorker::with_parts(repository, second.clone(), clock, ReplaySettings::default());
    let report = survivor.run_once().await.unwrap();
    assert_eq!(
        (report.claimed, report.acked, report.events_stored),
        (2, 2, 0)
    );
    assert_eq!(count_rows(&pool).await, 3, "redelivery wrote no duplicate");
    let stats = second.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanently_refused_entry_is_dead_lettered_with_its_reason_and_blocks_nothing() {
    let pool = fresh_pool().await;
    // A value this database refuses for good.
    sqlx::query(
        "ALTER TABLE audit_events ADD CONSTRAINT no_poison CHECK (event_type <> 'poison.pill')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let repository: Arc<dyn AuditEventRepository> = Arc::new(
        datastorage_postgres::PgAuditEventRepository::new(pool.clone()),
    );
    let prefix = unique_prefix();
    let queue = Arc::new(
        datastorage_redis::RedisStreamDeadLetterQueue::connect(
            datastorage_redis::RedisQueueSettings {
                endpoint: datastorage_redis::RedisEndpoint {
                    url: test_redis_url(),
                    ..Default::default()
                },
                key_prefix: prefix.clone(),
                consumer: "only".into(),
                capacity: 1000,
                reclaim_idle: Duration::from_secs(60),
                min_replicas: 0,
                replica_timeout: Duration::from_secs(1),
            },
        )
        .await
        .unwrap(),
    );
    let f = EventFactory::default();
    let mut poison = f.draft("poison");
    poison.event_type = "poison.pill".into();
    let good_before = f.event("poison", -2);
    let good_after = f.event("poison", -1);
    queue
        .enqueue(std::slice::from_ref(&good_before))
        .await
        .unwrap();
    queue.enqueue(&[f.build(poison)]).await.unwrap();
    queue
        .enqueue(std::slice::from_ref(&good_after))
        .await
        .unwrap();

    let worker = ReplayWorker::with_parts(
        repository,
        queue.clone(),
        Arc::new(SystemClock),
        ReplaySettings::default(),
    );
    let report = worker.run_once().await.unwrap();
    assert_eq!(
        (report.acked, report.dead_lettered, report.events_stored),
        (2, 1, 2)
    );
    let stored: HashSet<uuid::Uuid> = sqlx::query_scalar("SELECT event_id FROM audit_events")
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let expected = HashSet::from([
        *good_before.event.event_id.as_uuid(),
        *good_after.event.event_id.as_uuid(),
    ]);
    assert_eq!(stored, expected);
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.depth, stats.dead_lettered), (0, 1));

    let client = redis::Client::open(test_redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let dead: redis::Value = redis::cmd("XRANGE")
        .arg(format!("{prefix}:v2:{{{prefix}:dlq}}:audit:dead"))
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let text = format!("{dead:?}");
    assert!(
        text.contains("no_poison") || text.contains("refused"),
        "the reason is kept: {text}"
    );
    assert!(text.contains("poison.pill"), "the events are kept: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_both_stores_down_writes_get_503_and_the_service_recovers_without_restart() {
    let pg = PgCluster::start_new();
    let mut redis = RedisServer::start_new();
    let app = spawn_app_with(Storage::Memory, |s| {
        s.database.url = Some(pg.url().into());
        s.database.acquire_timeout_secs = 1;
        with_redis_queue(s, redis.url());
    })
    .await;
    assert_eq!(
        app.post_json(EVENTS, &event_body("down")).await.status(),
        StatusCode::CREATED
    );

    pg.stop();
    redis.stop();
    let refused: Vec<uuid::Uuid> = (0..5).map(|_| uuid::Uuid::now_v7()).collect();
    for id in &refused {
        let response = app.post_json(EVENTS, &event_with_id("down", *id)).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
        let problem: Value = response.json().await.unwrap();
        assert_eq!(
            problem["type"],
            "https://kubernaut.io/problems/service-unavailable"
        );
    }
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["checks"]["audit_storage"], "unavailable");
    assert_eq!(ready["checks"]["dead_letter_queue"], "unavailable");

    pg.start();
    redis.start();
    eventually(
        "writes are committed again",
        Duration::from_secs(60),
        || async {
            app.post_json(EVENTS, &event_body("down")).await.status() == StatusCode::CREATED
        },
    )
    .await;
    assert_eq!(app.get("/health/ready").await.status(), StatusCode::OK);
    eventually(
        "anything queued during recovery is replayed",
        Duration::from_secs(60),
        || async { dlq(&app).await["depth"] == 0 },
    )
    .await;
    for id in &refused {
        let status = app.get(&format!("{EVENTS}/{id}")).await.status();
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a 503'd event must not be stored"
        );
    }
}

/// The enqueue keeps its connections between calls. After Redis restarts, the one it kept is
/// dead and Redis no longer has the script: the next enqueue must still be queued, once.
#[tokio::test]
async fn an_enqueue_after_redis_restarts_reconnects_resends_its_script_and_loses_nothing() {
    let mut redis = RedisServer::start_new();
    let queue = datastorage_redis::RedisStreamDeadLetterQueue::connect(
        datastorage_redis::RedisQueueSettings {
            endpoint: datastorage_redis::RedisEndpoint {
                url: redis.url(),
                ..Default::default()
            },
            key_prefix: unique_prefix(),
            consumer: "only".into(),
            capacity: 1000,
            reclaim_idle: Duration::from_secs(60),
            min_replicas: 0,
            replica_timeout: Duration::from_secs(1),
        },
    )
    .await
    .unwrap();
    let f = EventFactory::default();
    let before = f.event("restart", -2);
    queue.enqueue(std::slice::from_ref(&before)).await.unwrap();

    redis.stop();
    redis.start();
    let after = f.event("restart", -1);
    queue.enqueue(std::slice::from_ref(&after)).await.unwrap();

    let claimed = queue.claim(10).await.unwrap();
    let ids: Vec<_> = claimed
        .entries
        .iter()
        .flat_map(|entry| entry.events.iter().map(|e| e.event.event_id))
        .collect();
    assert_eq!(ids, vec![before.event.event_id, after.event.event_id]);
    assert_eq!(queue.stats().await.unwrap().depth, 2);
}
