//! The fault suite (issue 29): each case puts the service under load from 16 clients writing
//! single events and batches of 20 with client-chosen ids, injects one fault, heals it, and
//! counts: acknowledged, stored, lost (must be 0), duplicated (must be 0), the slowest answer
//! and the time to recover. The faults are made by a loopback proxy between the service and
//! PostgreSQL or Redis (`datastorage_tests::proxy`), so the shared servers are never touched
//! and the cases run beside every other test; a case that needs the process itself to die runs
//! the real binary.
//!
//! Each case writes its row of docs/reliability.md (`scripts/reliability.sh` runs the suite
//! and renders the page).

mod half_sent;
mod kill;
mod load;
mod postgres;
mod redis;
mod tally;

use std::time::Duration;

use datastorage_tests::proxy::Proxy;
use datastorage_tests::support::*;
use sqlx::PgPool;

/// Bounds every wait of the suite: a service that hangs fails its case instead of stalling it.
const PATIENCE: Duration = Duration::from_secs(120);

/// The write deadline the cases give the service (`retry.deadline_ms` for the database part,
/// `dlq.enqueue_timeout_ms` for the queue's), shorter than the defaults to keep the suite quick.
const DATABASE_DEADLINE: Duration = Duration::from_millis(1000);
const ENQUEUE_TIMEOUT: Duration = Duration::from_millis(1000);
const WRITE_DEADLINE: Duration = DATABASE_DEADLINE.saturating_add(ENQUEUE_TIMEOUT);

fn with_deadlines(s: &mut datastorage::Settings) {
    s.retry.deadline_ms = DATABASE_DEADLINE.as_millis() as u64;
    s.dlq.enqueue_timeout_ms = ENQUEUE_TIMEOUT.as_millis() as u64;
}

/// An in-process service whose PostgreSQL (and, when asked, Redis) is reached through a proxy.
struct Rig {
    app: TestApp,
    postgres: Proxy,
    redis: Option<Proxy>,
    /// The case's own database, reached directly (for the count).
    pool: PgPool,
}

/// Which of the service's connections go through a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Through {
    Postgres,
    PostgresAndRedis,
}

impl Rig {
    /// A fresh database and queue, the suite's write deadline; `adjust` changes the
    /// service's settings last.
    async fn start(through: Through, adjust: impl FnOnce(&mut datastorage::Settings)) -> Self {
        let database_url = fresh_database_url().await;
        let postgres = Proxy::in_front_of(&database_url).await;
        let redis_url = test_redis_url();
        let redis = match through {
            Through::Postgres => None,
            Through::PostgresAndRedis => Some(Proxy::in_front_of(&redis_url).await),
        };
        let app = spawn_app_with(Storage::Memory, |s| {
            s.database.url = Some(postgres.url_for(&database_url).into());
            s.database.acquire_timeout_secs = 1;
            let queue_url = redis
                .as_ref()
                .map_or(redis_url.clone(), |r| r.url_for(&redis_url));
            with_redis_queue(s, queue_url);
            with_deadlines(s);
            adjust(s);
        })
        .await;
        let pool = PgPool::connect(&database_url)
            .await
            .expect("the case's database");
        Self {
            app,
            postgres,
            redis,
            pool,
        }
    }
}
