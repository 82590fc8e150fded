//! Settings of the dead-letter queue and of the write path that falls back to it.

use std::path::PathBuf;

use clap::Args;
use datastorage_redis::{RedisEndpoint, RedisTls};

use crate::secret::SecretUrl;

#[derive(Debug, Clone, Args)]
pub struct RedisSettings {
    /// Redis URL of the dead-letter queue and the embedding cache: `redis://`, or
    /// `rediss://` for TLS, with an ACL user and password as `rediss://user:password@host:port/db`.
    /// Absent: no queue, and a storage outage answers 503 instead of 202.
    #[arg(
        id = "redis_url",
        value_name = "REDIS_URL",
        long = "redis-url",
        env = "REDIS_URL",
        hide_env_values = true
    )]
    pub url: Option<SecretUrl>,

    /// Prefix of every Redis key (the layout version is appended).
    #[arg(
        id = "redis_key_prefix",
        value_name = "REDIS_KEY_PREFIX",
        long = "redis-key-prefix",
        env = "DS_REDIS__KEY_PREFIX",
        default_value = "ds"
    )]
    pub key_prefix: String,

    /// PEM file of the certificate authorities a `rediss://` server's certificate must chain
    /// to. Absent: the system's trust store.
    #[arg(
        id = "redis_ca_file",
        value_name = "REDIS_CA_FILE",
        long = "redis-ca-file",
        env = "DS_REDIS__CA_FILE"
    )]
    pub ca_file: Option<PathBuf>,

    /// PEM file of a client certificate, for a Redis that asks for one (with
    /// DS_REDIS__CLIENT_KEY_FILE).
    #[arg(
        id = "redis_client_cert_file",
        value_name = "REDIS_CLIENT_CERT_FILE",
        long = "redis-client-cert-file",
        env = "DS_REDIS__CLIENT_CERT_FILE",
        requires = "redis_client_key_file"
    )]
    pub client_cert_file: Option<PathBuf>,

    /// PEM file of the client certificate's private key.
    #[arg(
        id = "redis_client_key_file",
        value_name = "REDIS_CLIENT_KEY_FILE",
        long = "redis-client-key-file",
        env = "DS_REDIS__CLIENT_KEY_FILE",
        requires = "redis_client_cert_file"
    )]
    pub client_key_file: Option<PathBuf>,

    /// REDIS_URL is a Redis Cluster: one or more of its nodes, comma-separated
    /// (`redis://10.0.0.1:6379,redis://10.0.0.2:6379`); the others are discovered, every
    /// connection follows `MOVED`/`ASK`, and no database is selected (database 0 only).
    #[arg(
        id = "redis_cluster",
        value_name = "REDIS_CLUSTER",
        long = "redis-cluster",
        env = "DS_REDIS__CLUSTER",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub cluster: bool,

    /// Replicas that must have a dead-letter enqueue (Redis `WAIT`) before it is answered
    /// 202. Absent: 1 on a cluster (a failover then loses nothing acknowledged), 0 on a
    /// single server (acknowledged once its master has fsynced it).
    #[arg(
        id = "redis_min_replicas",
        value_name = "REDIS_MIN_REPLICAS",
        long = "redis-min-replicas",
        env = "DS_REDIS__MIN_REPLICAS"
    )]
    pub min_replicas: Option<u32>,

    /// Milliseconds an enqueue waits for those replicas; when fewer have it by then, the
    /// write is not acknowledged (503, as when Redis is down).
    #[arg(
        id = "redis_replica_timeout_ms",
        value_name = "REDIS_REPLICA_TIMEOUT_MS",
        long = "redis-replica-timeout-ms",
        env = "DS_REDIS__REPLICA_TIMEOUT_MS",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(1..=60_000)
    )]
    pub replica_timeout_ms: u64,
}

impl RedisSettings {
    /// The Redis server with its TLS material; `None` without a URL.
    pub fn endpoint(&self) -> Option<RedisEndpoint> {
        let url = self.url.as_ref()?;
        Some(RedisEndpoint {
            url: url.expose().to_owned(),
            tls: RedisTls {
                ca_file: self.ca_file.clone(),
                client_cert: self
                    .client_cert_file
                    .clone()
                    .zip(self.client_key_file.clone()),
            },
            cluster: self.cluster,
        })
    }

    /// Replicas an enqueue waits for: as set, else 1 on a cluster and 0 on a single server.
    pub fn min_replicas(&self) -> u32 {
        self.min_replicas.unwrap_or(u32::from(self.cluster))
    }
}

#[derive(Debug, Clone, Args)]
pub struct DlqSettings {
    /// Most entries in the dead-letter queue; beyond it writes get 503, never dropped.
    #[arg(
        id = "dlq_capacity",
        value_name = "DLQ_CAPACITY",
        long = "dlq-capacity",
        env = "DS_DLQ__CAPACITY",
        default_value_t = 1_000_000
    )]
    pub capacity: u64,

    /// Milliseconds another instance's claimed entry must sit unacknowledged before this
    /// instance takes it over.
    #[arg(
        id = "dlq_reclaim_idle_ms",
        value_name = "DLQ_RECLAIM_IDLE_MS",
        long = "dlq-reclaim-idle-ms",
        env = "DS_DLQ__RECLAIM_IDLE_MS",
        default_value_t = 30_000
    )]
    pub reclaim_idle_ms: u64,

    /// Entries the replay worker claims per pass.
    #[arg(
        id = "dlq_replay_batch",
        value_name = "DLQ_REPLAY_BATCH",
        long = "dlq-replay-batch",
        env = "DS_DLQ__REPLAY_BATCH",
        default_value_t = 500
    )]
    pub replay_batch: usize,

    /// This instance's name in the dead-letter queue's consumer group (its replay workers
    /// are `<name>`, `<name>-1`, ...). Give each replica its own, stable across its
    /// restarts (a pod's name): a restarted instance then takes back its own unacknowledged
    /// entries at once instead of after DS_DLQ__RECLAIM_IDLE_MS. Absent: a name unique to
    /// the process.
    #[arg(
        id = "dlq_consumer",
        value_name = "DLQ_CONSUMER",
        long = "dlq-consumer",
        env = "DS_DLQ__CONSUMER"
    )]
    pub consumer: Option<String>,

    /// Replay workers (each its own Redis consumer): while one writes to PostgreSQL the
    /// next claims and decodes.
    #[arg(id = "dlq_replay_workers",
        value_name = "DLQ_REPLAY_WORKERS", long = "dlq-replay-workers", env = "DS_DLQ__REPLAY_WORKERS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=16))]
    pub replay_workers: u32,

    /// Milliseconds the replay worker waits when the queue is empty.
    #[arg(
        id = "dlq_idle_wait_ms",
        value_name = "DLQ_IDLE_WAIT_MS",
        long = "dlq-idle-wait-ms",
        env = "DS_DLQ__IDLE_WAIT_MS",
        default_value_t = 250
    )]
    pub idle_wait_ms: u64,

    /// Milliseconds the fallback's enqueue may take; unanswered by then, the write's outcome
    /// is unknown (503 `outcome-unknown` with the events' ids). A write is answered within
    /// DS_RETRY__DEADLINE_MS plus this.
    #[arg(
        id = "dlq_enqueue_timeout_ms",
        value_name = "DLQ_ENQUEUE_TIMEOUT_MS",
        long = "dlq-enqueue-timeout-ms",
        env = "DS_DLQ__ENQUEUE_TIMEOUT_MS",
        default_value_t = 2000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub enqueue_timeout_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct RetrySettings {
    /// Attempts of a storage write within one request (1 = no retry).
    #[arg(id = "retry_attempts",
        value_name = "RETRY_ATTEMPTS", long = "retry-attempts", env = "DS_RETRY__ATTEMPTS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub attempts: u32,

    /// Milliseconds before the first retry; doubles per retry.
    #[arg(
        id = "retry_base_ms",
        value_name = "RETRY_BASE_MS",
        long = "retry-base-ms",
        env = "DS_RETRY__BASE_MS",
        default_value_t = 50
    )]
    pub base_ms: u64,

    /// Longest wait between retries, in milliseconds.
    #[arg(
        id = "retry_cap_ms",
        value_name = "RETRY_CAP_MS",
        long = "retry-cap-ms",
        env = "DS_RETRY__CAP_MS",
        default_value_t = 1000
    )]
    pub cap_ms: u64,

    /// Milliseconds a write's storage part may take, its attempts and retries together,
    /// before the write falls back to the dead-letter queue. An attempt still unanswered then
    /// is a timeout of unknown outcome, counted by the circuit breaker; the replay settles it.
    #[arg(
        id = "retry_deadline_ms",
        value_name = "RETRY_DEADLINE_MS",
        long = "retry-deadline-ms",
        env = "DS_RETRY__DEADLINE_MS",
        default_value_t = 2000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub deadline_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct BreakerSettings {
    /// Consecutive storage failures that open the circuit breaker (writes then go straight
    /// to the queue).
    #[arg(
        id = "breaker_failure_threshold",
        value_name = "BREAKER_FAILURE_THRESHOLD",
        long = "breaker-failure-threshold",
        env = "DS_BREAKER__FAILURE_THRESHOLD",
        default_value_t = 5
    )]
    pub failure_threshold: u32,

    /// Milliseconds the breaker stays open before storage is probed again (by the replay
    /// worker when there is a queue, else by one request).
    #[arg(
        id = "breaker_open_ms",
        value_name = "BREAKER_OPEN_MS",
        long = "breaker-open-ms",
        env = "DS_BREAKER__OPEN_MS",
        default_value_t = 1000
    )]
    pub open_ms: u64,
}
