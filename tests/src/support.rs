//! Test fixtures.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use datastorage::{Application, Settings};
use datastorage_application::ports::AuditEventRepository;
use datastorage_domain::audit::{AuditEventDraft, EventId, EventRules, NewAuditEvent};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection, PgPool};

/// The superuser URL of the test PostgreSQL, or a panic that says how to get one.
pub fn test_database_url() -> String {
    std::env::var("DS_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "DS_TEST_DATABASE_URL is not set: run the integration tests with scripts/test.sh, \
             which installs and starts PostgreSQL 16 + pgvector and Redis"
        )
    })
}

/// A new, empty, migrated database; returns its URL.
pub async fn fresh_database_url() -> String {
    let admin_url = test_database_url();
    let name = format!("ds_test_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL at {admin_url}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .expect("DS_TEST_DATABASE_URL ends in /<database>");
    let url = format!("{base}/{name}");
    if let Ok(workers) = std::env::var("DS_TEST_CITUS_WORKERS") {
        citus_database(&url, &name, &workers).await;
    }
    url
}

/// With `DS_TEST_DATABASE_URL` on a Citus coordinator and `DS_TEST_CITUS_WORKERS` naming its
/// workers (`host:port,...`, same superuser): the new database is made on every worker too,
/// with the extension, and the workers are added to it, as an operator would
/// (docs/citus.md). Citus keeps its metadata per database.
async fn citus_database(url: &str, name: &str, workers: &str) {
    let (scheme_user, coordinator) = url
        .rsplit_once('@')
        .expect("DS_TEST_DATABASE_URL has user@host");
    let coordinator = coordinator.split('/').next().expect("host:port");
    for worker in workers.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let mut admin = PgConnection::connect(&format!("{scheme_user}@{worker}/postgres"))
            .await
            .unwrap_or_else(|e| panic!("cannot reach the Citus worker {worker}: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create the database on a worker");
        let mut db = PgConnection::connect(&format!("{scheme_user}@{worker}/{name}"))
            .await
            .expect("connect to the worker's new database");
        sqlx::query("CREATE EXTENSION citus")
            .execute(&mut db)
            .await
            .expect("citus on a worker");
    }
    let mut db = PgConnection::connect(url).await.expect("the new database");
    sqlx::query("CREATE EXTENSION citus")
        .execute(&mut db)
        .await
        .expect("citus on the coordinator");
    let (host, port) = coordinator.split_once(':').expect("host:port");
    sqlx::query("SELECT citus_set_coordinator_host($1, $2::int)")
        .bind(host)
        .bind(port)
        .execute(&mut db)
        .await
        .expect("citus_set_coordinator_host");
    for worker in workers.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let (host, port) = worker.split_once(':').expect("worker host:port");
        sqlx::query("SELECT citus_add_node($1, $2::int)")
            .bind(host)
            .bind(port)
            .execute(&mut db)
            .await
            .expect("citus_add_node");
    }
}

/// A pool on a fresh migrated database.
pub async fn fresh_pool() -> PgPool {
    let url = fresh_database_url().await;
    datastorage_postgres::connect_and_migrate(&datastorage_postgres::PgSettings {
        url,
        max_connections: 8,
        acquire_timeout: std::time::Duration::from_secs(30),
        tls: Default::default(),
        statement_timeout: std::time::Duration::from_secs(30),
        idle_in_transaction_timeout: std::time::Duration::from_secs(60),
    })
    .await
    .expect("connect and migrate the test database")
}

pub async fn memory_repository() -> Arc<dyn AuditEventRepository> {
    Arc::new(datastorage_memory::MemoryAuditEventRepository::new())
}

pub async fn postgres_repository() -> Arc<dyn AuditEventRepository> {
    Arc::new(datastorage_postgres::PgAuditEventRepository::new(
        fresh_pool().await,
    ))
}

pub async fn memory_log() -> crate::conformance::log::LogPair {
    let events = datastorage_memory::MemoryAuditEventRepository::new();
    (Arc::new(events.clone()), Arc::new(events.log()))
}

pub async fn postgres_log() -> crate::conformance::log::LogPair {
    let pool = fresh_pool().await;
    (
        Arc::new(datastorage_postgres::PgAuditEventRepository::new(
            pool.clone(),
        )),
        Arc::new(datastorage_postgres::PgAuditLog::new(pool)),
    )
}

pub async fn memory_governance() -> crate::conformance::governance::GovernancePair {
    let events = datastorage_memory::MemoryAuditEventRepository::new();
    let log = events.log();
    let governance = datastorage_memory::MemoryGovernance::new(events.clone(), log.clone());
    crate::conformance::governance::GovernancePair {
        events: Arc::new(events),
        log: Arc::new(log),
        holds: Arc::new(governance.clone()),
        retention: Arc::new(governance),
    }
}

pub async fn postgres_governance() -> crate::conformance::governance::GovernancePair {
    let pool = fresh_pool().await;
    let governance = datastorage_postgres::PgGovernance::new(pool.clone());
    crate::conformance::governance::GovernancePair {
        events: Arc::new(datastorage_postgres::PgAuditEventRepository::new(
            pool.clone(),
        )),
        log: Arc::new(datastorage_postgres::PgAuditLog::new(pool)),
        holds: Arc::new(governance.clone()),
        retention: Arc::new(governance),
    }
}

/// The service's binary, built beside the test binary by `cargo test --all-targets`, for
/// tests of its subcommands (`log verify`, `export verify`) and of its logs. `DS_BINARY`
/// names another build (a target directory shared by several checkouts holds whichever
/// built last).
pub fn datastorage_binary() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("DS_BINARY") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join("datastorage");
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace --all-targets` \
         (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// A service running in this process on a free port.
pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    /// The database behind it, when PostgreSQL-backed.
    pub database_url: Option<String>,
    catalog: datastorage_application::catalog::CatalogService,
    pub log: datastorage_application::log::AuditLogService,
    /// The accepted credentials (re-read the tokens file with it).
    pub credentials: datastorage::Credentials,
}

impl TestApp {
    /// Returns once every search audit event written after its search answered is stored.
    pub async fn settle(&self) {
        self.catalog.finish_background_audits().await;
    }

    /// Sequences every committed event and signs a checkpoint of the whole log, as the
    /// background sequencer would within a second; returns the log's size. A step that
    /// finds the log held by the background sequencer is simply taken again.
    pub async fn sync_log(&self) -> u64 {
        use datastorage_application::log::LogSequencer;
        loop {
            // A fresh sequencer signs on its first step.
            let step = LogSequencer::new(&self.log)
                .step()
                .await
                .expect("sequencing step");
            if step.busy {
                tokio::task::yield_now().await;
                continue;
            }
            if step.appended == 0 {
                assert!(step.signed);
                return step.size;
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }
}

/// Which storage a spawned service uses.
#[derive(Debug, Clone, Copy)]
pub enum Storage {
    Memory,
    Postgres,
}

pub async fn spawn_app(storage: Storage) -> TestApp {
    spawn_app_with(storage, |_| {}).await
}

pub async fn spawn_app_with(storage: Storage, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on_clock(storage, adjust, Arc::new(datastorage::SystemClock)).await
}

/// [`spawn_app_with`], its rate limiter's buckets refilling on `rate_limit_clock`.
pub async fn spawn_app_on_clock(
    storage: Storage,
    adjust: impl FnOnce(&mut Settings),
    rate_limit_clock: Arc<dyn datastorage_application::Clock>,
) -> TestApp {
    let mut settings = Settings::defaults();
    settings.http.addr = "127.0.0.1:0".parse().expect("addr");
    settings.database.max_connections = 8;
    // Label-only unless a test asks for the model (loading it costs a moment per app).
    settings.embedder.kind = datastorage::EmbedderKind::None;
    settings.database.url = match storage {
        Storage::Memory => None,
        Storage::Postgres => Some(fresh_database_url().await.into()),
    };
    adjust(&mut settings);
    let database_url = settings
        .database
        .url
        .as_ref()
        .map(|u| u.expose().to_owned());
    let app = Application::build_with_rate_limit_clock(settings, rate_limit_clock)
        .await
        .expect("build app");
    let base_url = format!("http://{}", app.local_addr());
    let credentials = app.credentials().clone();
    let catalog = app.catalog().clone();
    let log = app.log().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        base_url,
        client: reqwest::Client::new(),
        database_url,
        catalog,
        log,
        credentials,
    }
}

/// A valid event body: every required field, timestamp `now`.
pub fn event_body(correlation_id: &str) -> Value {
    json!({
        "version": "1.0",
        "event_type": "gateway.signal.received",
        "event_timestamp": Utc::now().to_rfc3339(),
        "event_category": "gateway",
        "event_action": "received",
        "event_outcome": "success",
        "actor_type": "service",
        "actor_id": "gateway-service",
        "resource_type": "Signal",
        "resource_id": "fp-abc123",
        "correlation_id": correlation_id,
        "severity": "critical",
        "event_data": {"signal": "HighCPU", "replicas": 3},
    })
}

/// Builds validated events for repository-level tests.
pub struct EventFactory {
    pub now: DateTime<Utc>,
}

impl Default for EventFactory {
    fn default() -> Self {
        Self { now: Utc::now() }
    }
}

impl EventFactory {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self { now }
    }

    /// A draft with every field set.
    pub fn draft(&self, correlation_id: &str) -> AuditEventDraft {
        AuditEventDraft {
            event_id: None,
            version: "1.0".into(),
            event_type: "gateway.signal.received".into(),
            event_timestamp: self.now.to_rfc3339(),
            event_category: "gateway".into(),
            event_action: "received".into(),
            event_outcome: "success".into(),
            actor_type: Some("service".into()),
            actor_id: Some("gateway-service".into()),
            resource_type: Some("Signal".into()),
            resource_id: Some("fp-abc123".into()),
            resource_name: Some("high-cpu".into()),
            correlation_id: correlation_id.into(),
            parent_event_id: None,
            parent_event_date: None,
            trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
            span_id: Some("00f067aa0ba902b7".into()),
            namespace: Some("payments".into()),
            cluster_name: Some("prod-eu-1".into()),
            severity: Some("critical".into()),
            duration_ms: Some(42),
            error_code: None,
            error_message: None,
            event_data: json!({"signal": "HighCPU", "replicas": 3, "nested": {"ok": true}}).into(),
            retention_days: Some(90),
            is_sensitive: Some(false),
        }
    }

    /// Validates a draft (ids: the draft's, or a fresh UUIDv7).
    pub fn build(&self, draft: AuditEventDraft) -> NewAuditEvent {
        draft
            .validate(
                &EventRules::default(),
                self.now,
                EventId::from_uuid(uuid::Uuid::now_v7()),
            )
            .unwrap_or_else(|e| panic!("test event is invalid: {e}"))
    }

    /// An event `seconds` after the factory's instant.
    pub fn event(&self, correlation_id: &str, seconds: i64) -> NewAuditEvent {
        let mut d = self.draft(correlation_id);
        d.event_timestamp = (self.now + Duration::seconds(seconds)).to_rfc3339();
        self.build(d)
    }

    /// An event with a client-chosen id.
    pub fn with_id(&self, id: uuid::Uuid, correlation_id: &str) -> NewAuditEvent {
        let mut d = self.draft(correlation_id);
        d.event_id = Some(id.to_string());
        self.build(d)
    }
}

/// The URL of the test Redis, or a panic that says how to get one.
pub fn test_redis_url() -> String {
    std::env::var("DS_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!("DS_TEST_REDIS_URL is not set: run the integration tests with scripts/test.sh")
    })
}

/// A key prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("test-{}", uuid::Uuid::now_v7().simple())
}

pub type QueuePair = (
    Arc<dyn datastorage_application::ports::DeadLetterQueue>,
    Arc<dyn datastorage_application::ports::DeadLetterQueue>,
);

/// Two consumers of one fresh in-memory queue.
pub async fn memory_queues(capacity: u64, reclaim_idle: std::time::Duration) -> QueuePair {
    let a = datastorage_memory::MemoryDeadLetterQueue::new(capacity, reclaim_idle);
    let b = a.consumer("consumer-2");
    (Arc::new(a), Arc::new(b))
}

/// Two consumers (two service instances) of one fresh Redis stream.
pub async fn redis_queues(capacity: u64, reclaim_idle: std::time::Duration) -> QueuePair {
    let endpoint = datastorage_redis::RedisEndpoint {
        url: test_redis_url(),
        ..Default::default()
    };
    queues_on(endpoint, capacity, reclaim_idle).await
}

/// Two consumers of one fresh stream at `endpoint`.
async fn queues_on(
    endpoint: datastorage_redis::RedisEndpoint,
    capacity: u64,
    reclaim_idle: std::time::Duration,
) -> QueuePair {
    datastorage::tls::install_crypto_provider();
    let prefix = unique_prefix();
    let make = |consumer: &str| datastorage_redis::RedisQueueSettings {
        reclaim_idle,
        ..datastorage_redis::RedisQueueSettings::new(
            endpoint.clone(),
            prefix.clone(),
            consumer.to_owned(),
            capacity,
        )
    };
    let a = datastorage_redis::RedisStreamDeadLetterQueue::connect(make("consumer-1"))
        .await
        .expect("connect to the test Redis");
    let b = datastorage_redis::RedisStreamDeadLetterQueue::connect(make("consumer-2"))
        .await
        .expect("connect to the test Redis");
    (Arc::new(a), Arc::new(b))
}

/// Two consumers of one fresh stream on the shared Redis Cluster (3 masters, 3 replicas),
/// each enqueue acknowledged once a replica has it.
pub async fn redis_cluster_queues(capacity: u64, reclaim_idle: std::time::Duration) -> QueuePair {
    queues_on(redis_cluster_endpoint(), capacity, reclaim_idle).await
}

/// The shared Redis Cluster as the service reaches it: every node a seed.
pub fn redis_cluster_endpoint() -> datastorage_redis::RedisEndpoint {
    datastorage_redis::RedisEndpoint {
        url: crate::cluster::shared_redis_cluster().url(),
        cluster: true,
        ..Default::default()
    }
}

/// The embedding cache on the shared Redis Cluster, under fresh keys.
pub async fn redis_cluster_embedding_cache()
-> Arc<dyn datastorage_application::ports::EmbeddingCache> {
    Arc::new(
        datastorage_redis::RedisEmbeddingCache::new(&redis_cluster_endpoint(), &unique_prefix())
            .expect("the Redis Cluster embedding cache"),
    )
}

/// Points a service at a dead-letter queue of its own on the shared Redis Cluster.
pub fn with_redis_cluster_queue(settings: &mut Settings) {
    with_redis_queue(settings, crate::cluster::shared_redis_cluster().url());
    settings.redis.cluster = true;
}

/// The shared TLS Redis as the service reaches it: `rediss://` with its ACL user, the test
/// CA, and the client certificate it asks for.
pub fn redis_tls_endpoint() -> datastorage_redis::RedisEndpoint {
    let shared = crate::processes::shared_tls_redis();
    tls_endpoint(&shared.url, &shared.pki)
}

/// A `rediss://` endpoint trusting `pki`'s CA and presenting its client certificate.
pub fn tls_endpoint(url: &str, pki: &crate::tls::TestPki) -> datastorage_redis::RedisEndpoint {
    datastorage_redis::RedisEndpoint {
        url: url.to_owned(),
        tls: datastorage_redis::RedisTls {
            ca_file: Some(pki.ca_file.clone()),
            client_cert: Some((pki.client_cert_file.clone(), pki.client_key_file.clone())),
        },
        cluster: false,
    }
}

/// Two consumers of one fresh stream on the shared TLS Redis.
pub async fn redis_tls_queues(capacity: u64, reclaim_idle: std::time::Duration) -> QueuePair {
    queues_on(redis_tls_endpoint(), capacity, reclaim_idle).await
}

/// The embedding cache on the shared TLS Redis, under fresh keys.
pub async fn redis_tls_embedding_cache() -> Arc<dyn datastorage_application::ports::EmbeddingCache>
{
    datastorage::tls::install_crypto_provider();
    Arc::new(
        datastorage_redis::RedisEmbeddingCache::new(&redis_tls_endpoint(), &unique_prefix())
            .expect("the TLS Redis embedding cache"),
    )
}

/// Points a service at a Redis dead-letter queue of its own, with fast replay polling.
pub fn with_redis_queue(settings: &mut Settings, redis_url: String) {
    settings.redis.url = Some(redis_url.into());
    settings.redis.key_prefix = unique_prefix();
    settings.dlq.idle_wait_ms = 20;
    settings.breaker.open_ms = 200;
}

pub async fn memory_catalog() -> Arc<dyn datastorage_application::ports::WorkflowCatalog> {
    Arc::new(datastorage_memory::MemoryWorkflowCatalog::new())
}

pub async fn postgres_catalog() -> Arc<dyn datastorage_application::ports::WorkflowCatalog> {
    Arc::new(datastorage_postgres::PgWorkflowCatalog::new(
        fresh_pool().await,
    ))
}

/// The local model's directory (fetched by scripts/fetch-model.sh, which scripts/test.sh runs).
pub fn model_dir() -> std::path::PathBuf {
    let dir = std::env::var("DS_MODEL_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.models/all-minilm-l6-v2")
        });
    assert!(
        dir.join("model.safetensors").exists(),
        "the local model is missing at {}: run scripts/fetch-model.sh (scripts/test.sh does)",
        dir.display()
    );
    dir
}

/// The local all-MiniLM-L6-v2 embedder, loaded once per test binary.
pub fn local_embedder() -> datastorage_embedder::LocalModelEmbedder {
    static MODEL: std::sync::OnceLock<datastorage_embedder::LocalModelEmbedder> =
        std::sync::OnceLock::new();
    MODEL
        .get_or_init(|| {
            datastorage_embedder::LocalModelEmbedder::load(&model_dir())
                .expect("load the local model")
        })
        .clone()
}

pub async fn memory_embedding_cache() -> Arc<dyn datastorage_application::ports::EmbeddingCache> {
    Arc::new(datastorage_memory::MemoryEmbeddingCache::new(1000))
}

/// A Redis embedding cache under keys no other test uses.
pub async fn redis_embedding_cache() -> Arc<dyn datastorage_application::ports::EmbeddingCache> {
    Arc::new(
        datastorage_redis::RedisEmbeddingCache::new(
            &datastorage_redis::RedisEndpoint {
                url: test_redis_url(),
                ..Default::default()
            },
            &unique_prefix(),
        )
        .expect("redis cache"),
    )
}

/// Gives a test service the local all-MiniLM-L6-v2 embedder.
pub fn with_local_embedder(settings: &mut Settings) {
    settings.embedder.kind = datastorage::EmbedderKind::Local;
    settings.model.dir = model_dir();
}

/// Polls `check` every 50 ms until it holds, and fails naming `what` once `limit` has passed:
/// a wait for an outcome, never for a length of time.
pub async fn eventually<F, Fut>(what: &str, limit: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
