//! The composition root: the only crate that knows every adapter.
//!
//! Reads [`Settings`], picks the adapters (memory when no `DATABASE_URL`, PostgreSQL when
//! given), wires them into the use-cases and the HTTP router, binds the listener and serves
//! until told to stop. Tests build the same [`Application`] on port 0.

mod cli;
mod clock;
pub mod config;
mod database;
pub mod export_verify;
mod identity;
pub mod logging;
mod memory;
mod otlp;
mod secret;
mod settings;
mod telemetry;
pub mod tls;
pub mod transparency;
mod wiring;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use datastorage_application::audit::{ReplaySettings, ReplayWorker};
use datastorage_application::catalog::CatalogService;
use datastorage_application::circuit::BreakerSettings;
use datastorage_application::governance::{GovernanceService, RetentionWorker};
use datastorage_application::log::{AuditLogService, LogSequencer, LogSettings};
use datastorage_application::ports::{
    AuditEventRepository, AuditLogStore, DeadLetterQueue, LegalHoldStore, RetentionStore,
    WorkflowCatalog,
};
use datastorage_application::{AuditService, AuditSettings};
use datastorage_domain::audit::{EventRules, RetentionDefaults};
use datastorage_domain::remediation::LateAfter;
use datastorage_domain::retry::RetryPolicy;
use datastorage_http::{AppState, HttpSettings, Services};
use tokio::net::TcpListener;

pub use cli::{Cli, Command, ConfigAction, ExportAction, LogAction};
pub use clock::SystemClock;
pub use database::migrate;
pub use identity::{Credentials, TokensReload};
pub use memory::return_freed_pages_promptly;
pub use otlp::ExportHandle;
pub use settings::{EmbedderKind, LogFormat, Settings, WhenEmbedderDown, redact_url};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot prepare PostgreSQL: {0}")]
    Database(String),
    #[error("cannot prepare the Redis dead-letter queue: {0}")]
    Queue(String),
    #[error("cannot prepare the embedder: {0}")]
    Embedder(String),
    /// A setting is invalid; the message names its key.
    #[error("invalid setting {key}: {reason}")]
    Setting { key: &'static str, reason: String },
}

/// Which storage backs the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    Memory,
    Postgres,
}

/// A bound, wired service, ready to serve.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    /// The connection limits the accept loop applies.
    http: HttpSettings,
    shutting_down: Arc<AtomicBool>,
    storage: StorageKind,
    /// Empty without a queue.
    replay: Vec<ReplayWorker>,
    /// `None` when the log is switched off.
    sequencer: Option<LogSequencer>,
    log: AuditLogService,
    governance: GovernanceService,
    /// `None` when retention is off.
    retention: Option<RetentionWorker>,
    catalog: CatalogService,
    shutdown: ShutdownSettings,
    upkeep: Option<datastorage_postgres::PartitionUpkeep>,
    credentials: Credentials,
    /// `None`: the tokens file is read once.
    tokens_reload: Option<Duration>,
}

#[derive(Debug, Clone, Copy)]
struct ShutdownSettings {
    readiness_delay: Duration,
    timeout: Duration,
}

impl Application {
    /// Connects storage (running the migrations, or checking the schema is current, as
    /// `DS_DATABASE__MIGRATE_AT_START` says), wires everything and binds the listener.
    ///
    /// # Errors
    /// When the address cannot be bound or PostgreSQL cannot be prepared.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_rate_limit_clock(settings, Arc::new(SystemClock)).await
    }

    /// [`Application::build`], with the rate limiter's buckets refilling on `clock` (tests
    /// pass a manual clock, so refills need no waiting).
    ///
    /// # Errors
    /// As [`Application::build`].
    pub async fn build_with_rate_limit_clock(
        settings: Settings,
        rate_limit_clock: Arc<dyn datastorage_application::Clock>,
    ) -> Result<Self, StartupError> {
        tls::install_crypto_provider();
        type Stores = (
            Arc<dyn AuditEventRepository>,
            Arc<dyn AuditLogStore>,
            (Arc<dyn LegalHoldStore>, Arc<dyn RetentionStore>),
            Arc<dyn WorkflowCatalog>,
            StorageKind,
            Option<datastorage_postgres::PgPool>,
        );
        let (repository, log_store, governance_stores, catalog, storage, pool): Stores =
            match &settings.database.url {
                None => {
                    let events = datastorage_memory::MemoryAuditEventRepository::new();
                    let log = events.log();
                    let governance =
                        datastorage_memory::MemoryGovernance::new(events.clone(), log.clone());
                    (
                        Arc::new(events.clone()),
                        Arc::new(log),
                        (Arc::new(governance.clone()), Arc::new(governance)),
                        Arc::new(datastorage_memory::MemoryWorkflowCatalog::new()),
                        StorageKind::Memory,
                        None,
                    )
                }
                Some(url) => {
                    let pool = database::prepare(&settings, url.expose()).await?;
                    (
                        Arc::new(
                            datastorage_postgres::PgAuditEventRepository::with_group_commit(
                                pool.clone(),
                                datastorage_postgres::GroupCommitSettings {
                                    max_events: settings.database.group_commit_max_events as usize,
                                    max_in_flight: settings.database.group_commit_in_flight
                                        as usize,
                                    // A quarter of the write's deadline: a database that
                                    // refuses connections fails every attempt in time to say
                                    // "nothing was written".
                                    connection_wait: Duration::from_millis(
                                        settings.retry.deadline_ms / 4,
                                    ),
                                },
                            ),
                        ),
                        Arc::new(datastorage_postgres::PgAuditLog::new(pool.clone())),
                        {
                            let governance = datastorage_postgres::PgGovernance::new(pool.clone());
                            (Arc::new(governance.clone()), Arc::new(governance))
                        },
                        Arc::new(datastorage_postgres::PgWorkflowCatalog::new(pool.clone())),
                        StorageKind::Postgres,
                        Some(pool),
                    )
                }
            };

        // Distinct per replica, so that replicas share the queue's entries instead of
        // reading each other's pending ones (see docs/architecture.md, "Several replicas").
        let consumer = match settings.dlq.consumer.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => format!(
                "datastorage-{}-{}",
                std::process::id(),
                uuid::Uuid::now_v7().simple()
            ),
        };
        let connect_queue = |consumer: String| {
            let settings = &settings;
            async move {
                let Some(endpoint) = settings.redis.endpoint() else {
                    return Ok(None);
                };
                let queue = datastorage_redis::RedisStreamDeadLetterQueue::connect(
                    datastorage_redis::RedisQueueSettings {
                        endpoint,
                        key_prefix: settings.redis.key_prefix.clone(),
                        consumer,
                        capacity: settings.dlq.capacity,
                        reclaim_idle: Duration::from_millis(settings.dlq.reclaim_idle_ms),
                        min_replicas: settings.redis.min_replicas(),
                        replica_timeout: Duration::from_millis(settings.redis.replica_timeout_ms),
                    },
                )
                .await
                .map_err(|e| StartupError::Queue(datastorage_application::cause::chain(&e)))?;
                Ok::<_, StartupError>(Some(Arc::new(queue) as Arc<dyn DeadLetterQueue>))
            }
        };
        let queue = connect_queue(consumer.clone()).await?;

        let clock = Arc::new(SystemClock);
        let log = AuditLogService::new(
            log_store,
            repository.clone(),
            transparency::signer(&settings.audit_log)?,
            clock.clone(),
            LogSettings {
                poll_every: Duration::from_millis(settings.audit_log.poll_ms),
                batch: settings.audit_log.batch as usize,
                checkpoint_every: Duration::from_millis(settings.audit_log.checkpoint_ms),
                idle_checkpoint_every: Duration::from_secs(settings.audit_log.idle_checkpoint_secs),
            },
        );
        let sequencer = (settings.audit_log.enabled || storage == StorageKind::Memory)
            .then(|| LogSequencer::new(&log));
        let audit = AuditService::new(
            repository,
            queue,
            clock.clone(),
            AuditSettings {
                rules: EventRules {
                    max_age: chrono::Duration::hours(i64::from(settings.audit.max_age_hours)),
                    max_skew_ahead: chrono::Duration::minutes(i64::from(
                        settings.audit.max_skew_ahead_minutes,
                    )),
                    default_retention: RetentionDefaults::parse(
                        &settings.audit.default_retention_days,
                    )
                    .map_err(|e| StartupError::Setting {
                        key: "DS_AUDIT__DEFAULT_RETENTION_DAYS",
                        reason: e.to_string(),
                    })?,
                },
                max_batch: settings.audit.max_batch as usize,
                retry: RetryPolicy {
                    attempts: settings.retry.attempts,
                    base: Duration::from_millis(settings.retry.base_ms),
                    cap: Duration::from_millis(settings.retry.cap_ms),
                    ..RetryPolicy::default()
                },
                retry_deadline: Duration::from_millis(settings.retry.deadline_ms),
                enqueue_timeout: Duration::from_millis(settings.dlq.enqueue_timeout_ms),
                breaker: BreakerSettings {
                    failure_threshold: settings.breaker.failure_threshold,
                    open_for: Duration::from_millis(settings.breaker.open_ms),
                },
                timeline: LateAfter::parse(&settings.timeline.late_after).map_err(|e| {
                    StartupError::Setting {
                        key: "DS_TIMELINE__LATE_AFTER",
                        reason: e.to_string(),
                    }
                })?,
                ..AuditSettings::default()
            },
        );
        let replay_settings = ReplaySettings {
            batch_entries: settings.dlq.replay_batch,
            idle_wait: Duration::from_millis(settings.dlq.idle_wait_ms),
            ..ReplaySettings::default()
        };
        let mut replay: Vec<ReplayWorker> = ReplayWorker::new(&audit, replay_settings)
            .into_iter()
            .collect();
        if !replay.is_empty() {
            for i in 1..settings.dlq.replay_workers {
                if let Some(queue) = connect_queue(format!("{consumer}-{i}")).await? {
                    replay.push(ReplayWorker::over_queue(&audit, queue, replay_settings));
                }
            }
        }
        let governance = GovernanceService::new(
            governance_stores.0,
            governance_stores.1,
            audit.clone(),
            clock.clone(),
            // A month is weighed once the oldest event the write path accepts is past it.
            chrono::Duration::hours(i64::from(settings.audit.max_age_hours))
                + chrono::Duration::days(1),
        );
        let retention = settings.audit.retention.then(|| {
            RetentionWorker::new(
                &governance,
                Duration::from_secs(settings.partitions.interval_secs.max(1)),
            )
        });
        let (auth, credentials) = identity::build(&settings)?;
        let rate_limiter = identity::rate_limiter(&settings, rate_limit_clock)?;
        let embedder = wiring::build_embedder(&settings)?;
        let catalog = CatalogService::new(catalog, audit.clone(), clock, embedder)
            .with_search_settings(wiring::search_settings(&settings)?);
        let shutting_down = Arc::new(AtomicBool::new(false));
        let http = HttpSettings {
            body_limit_bytes: settings.http.body_limit_bytes,
            request_timeout: Duration::from_millis(settings.http.request_timeout_ms),
            max_in_flight: settings.http.max_in_flight,
            header_read_timeout: Duration::from_millis(settings.http.header_read_timeout_ms),
            body_read_timeout: Duration::from_millis(settings.http.body_read_timeout_ms),
            max_connections: settings.http.max_connections,
        };
        let router = datastorage_http::router(
            AppState::new(Services {
                audit,
                log: log.clone(),
                governance: governance.clone(),
                catalog: catalog.clone(),
                metrics: telemetry::renderer(pool.clone()),
                auth,
                rate_limiter,
                shutting_down: shutting_down.clone(),
            }),
            http,
        );
        let listener = TcpListener::bind(settings.http.addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: settings.http.addr,
                source,
            })?;
        Ok(Self {
            listener,
            router,
            http,
            shutting_down,
            storage,
            replay,
            sequencer,
            log,
            governance,
            retention,
            catalog,
            upkeep: pool.map(|pool| {
                datastorage_postgres::PartitionUpkeep::new(
                    pool,
                    Duration::from_secs(settings.partitions.interval_secs.max(1)),
                )
            }),
            shutdown: ShutdownSettings {
                readiness_delay: Duration::from_millis(settings.shutdown.readiness_delay_ms),
                timeout: Duration::from_secs(settings.shutdown.timeout_secs),
            },
            credentials,
            tokens_reload: (settings.auth.tokens_reload_secs > 0)
                .then(|| Duration::from_secs(settings.auth.tokens_reload_secs)),
        })
    }

    /// The accepted credentials (tests re-read the tokens file through it instead of
    /// waiting for the watcher).
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The catalog use-cases (for one-off commands such as `reembed`, and tests that wait
    /// for its background audit writes).
    pub fn catalog(&self) -> &CatalogService {
        &self.catalog
    }

    /// The governance use-cases (tests run retention with it directly).
    pub fn governance(&self) -> &GovernanceService {
        &self.governance
    }

    /// The transparency log's use-cases (tests sequence and sign with it directly).
    pub fn log(&self) -> &AuditLogService {
        &self.log
    }

    /// The bound address (with the real port when built with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn storage(&self) -> StorageKind {
        self.storage
    }

    /// Serves (and replays the dead-letter queue in the background) until `shutdown`
    /// completes, then shuts down as DESIGN.md §3 rule 9 says: readiness turns 503 at once;
    /// after the readiness delay the listener closes and in-flight requests finish; the replay
    /// worker makes a final pass while storage is up; all within the shutdown timeout.
    ///
    /// # Errors
    /// None today: a failed accept is logged and retried by the accept loop. The `Result`
    /// stays so that a listener that can fail needs no change of callers.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let flag = self.shutting_down.clone();
        let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
        let delay = self.shutdown.readiness_delay;
        let upkeep = self
            .upkeep
            .map(|task| tokio::spawn(task.run(self.shutting_down.clone())));
        let metrics_upkeep = tokio::spawn(telemetry::upkeep());
        let tokens_watch = self
            .tokens_reload
            .filter(|_| self.credentials.has_tokens_file())
            .map(|every| tokio::spawn(self.credentials.clone().watch_tokens_file(every)));
        let retention = self.retention.map(|worker| {
            let stop = self.shutting_down.clone();
            tokio::spawn(async move { worker.run(&stop).await })
        });
        let sequencer = self.sequencer.map(|sequencer| {
            let stop = self.shutting_down.clone();
            tokio::spawn(async move { sequencer.run(&stop).await })
        });
        let replay: Vec<_> = self
            .replay
            .into_iter()
            .map(|worker| {
                let stop = self.shutting_down.clone();
                tokio::spawn(async move { worker.run(&stop).await })
            })
            .collect();
        let serve =
            datastorage_http::serve::serve(self.listener, self.router, self.http, async move {
                shutdown.await;
                flag.store(true, Ordering::SeqCst);
                let _ = signalled.send(());
                tracing::info!(
                    delay_ms = delay.as_millis() as u64,
                    "shutting down: readiness is 503"
                );
                tokio::time::sleep(delay).await;
                tracing::info!("shutting down: listener closed, finishing in-flight requests");
            });
        let budget = self.shutdown.timeout;
        let deadline = async move {
            match on_signal.await {
                Ok(()) => tokio::time::sleep(delay + budget).await,
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = serve => {}
            () = deadline => {
                tracing::warn!("shutdown timeout: in-flight requests did not finish in time");
            }
        }
        self.shutting_down.store(true, Ordering::SeqCst);
        // Searches answered before the listener closed may still be writing their audit
        // events; they are written (or queued) before the final replay pass.
        if tokio::time::timeout(budget, self.catalog.finish_background_audits())
            .await
            .is_err()
        {
            tracing::warn!("shutdown timeout: search audit events still being written");
        }
        if let Some(upkeep) = upkeep {
            upkeep.abort();
        }
        metrics_upkeep.abort();
        if let Some(watch) = tokens_watch {
            watch.abort();
        }
        // A step cut short rolls back whole; what it had not logged, the next start will.
        if let Some(sequencer) = sequencer {
            sequencer.abort();
        }
        // A retention run cut short drops no month half-way (each drop is one transaction).
        if let Some(retention) = retention {
            retention.abort();
        }
        let until = tokio::time::Instant::now() + budget;
        for worker in replay {
            match tokio::time::timeout_at(until, worker).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "replay worker failed"),
                Err(_) => tracing::warn!(
                    "shutdown timeout: the final replay pass did not finish; entries stay queued"
                ),
            }
        }
        Ok(())
    }

    /// Serves until SIGTERM or Ctrl-C.
    ///
    /// # Errors
    /// When serving fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
