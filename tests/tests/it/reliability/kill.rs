//! The service itself killed mid-load (SIGKILL: no shutdown, no final replay) and started
//! again on the same port: the real binary, as a child process.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use datastorage_tests::processes::free_port;
use datastorage_tests::support::*;
use sqlx::PgPool;

use super::load::{Load, Shape};
use super::tally::{Figures, Row, drained, watch_recovery};
use super::{DATABASE_DEADLINE, ENQUEUE_TIMEOUT, PATIENCE};

/// One `datastorage` process; killed if the test ends without stopping it.
struct Service {
    child: Child,
    log: PathBuf,
}

impl Service {
    fn spawn(port: u16, database_url: &str, key_prefix: &str, log: PathBuf) -> Self {
        let child = Command::new(datastorage_binary())
            .env_clear()
            .env("DS_HTTP__ADDR", format!("127.0.0.1:{port}"))
            .env("DS_EMBEDDER__KIND", "none")
            .env("DATABASE_URL", database_url)
            .env("DS_DATABASE__MAX_CONNECTIONS", "8")
            .env("REDIS_URL", test_redis_url())
            .env("DS_REDIS__KEY_PREFIX", key_prefix)
            // The same consumer name: the new process takes over the dead one's pending entries
            // at once instead of after the reclaim time.
            .env("DS_DLQ__CONSUMER", "reliability")
            .env("DS_DLQ__IDLE_WAIT_MS", "20")
            .env("DS_BREAKER__OPEN_MS", "200")
            .env(
                "DS_RETRY__DEADLINE_MS",
                DATABASE_DEADLINE.as_millis().to_string(),
            )
            .env(
                "DS_DLQ__ENQUEUE_TIMEOUT_MS",
                ENQUEUE_TIMEOUT.as_millis().to_string(),
            )
            .env("DS_LOG", "warn")
            .stdout(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .expect("the service's log"),
            )
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the datastorage binary");
        Self { child, log }
    }

    async fn wait_ready(&mut self, base_url: &str) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("the child's status") {
                panic!("the service exited ({status}); see {}", self.log.display());
            }
            let ready = client
                .get(format!("{base_url}/health/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the service is not ready; see {}",
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, and the process reaped.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the service");
        self.child.wait().expect("reap the service");
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_service_killed_mid_load_and_restarted_loses_and_doubles_nothing() {
    let case = "service-killed";
    let database_url = fresh_database_url().await;
    let key_prefix = unique_prefix();
    let port = free_port();
    let base_url = format!("http://127.0.0.1:{port}");
    let log = std::env::temp_dir().join(format!("ds-{case}-{}.log", uuid::Uuid::now_v7()));
    let mut service = Service::spawn(port, &database_url, &key_prefix, log.clone());
    service.wait_ready(&base_url).await;
    let pool = PgPool::connect(&database_url)
        .await
        .expect("the case's database");

    let mut load = Load::start(&base_url, case, Shape::Mixed);
    load.until_answered(300, PATIENCE).await;
    service.kill();
    let killed = Instant::now();
    let mut service = Service::spawn(port, &database_url, &key_prefix, log.clone());
    service.wait_ready(&base_url).await;
    let down_for = killed.elapsed();
    let recovery = watch_recovery(pool.clone(), load.acknowledged());
    load.until_more(300, PATIENCE).await;

    let record = load.finish().await;
    drained(&base_url).await;
    let figures = Figures::count(&record, &pool, Some(recovery.await.unwrap())).await;
    service.kill();
    Row {
        case,
        test: "the_service_killed_mid_load",
        title: "The service killed (SIGKILL) mid-load, then restarted",
        fault: format!(
            "the process SIGKILLed; a new one on the same port ready {:.1} s later",
            down_for.as_secs_f64()
        ),
        shape: Shape::Mixed,
        proves: "An acknowledgement survives the process: whatever was answered 201 or 202 \
                 before the kill is in PostgreSQL (or replayed from the queue by the new \
                 process) exactly once; requests cut off by the kill are re-sent with their \
                 ids and stored once.",
        details: vec![(
            "exchanges without an answer (cut off or refused while down)".into(),
            figures.answered("no answer").to_string(),
        )],
    }
    .write(&figures);

    figures.assert_exactly_once();
    assert_eq!(figures.refused, 0, "the stores were up: no 503 is due");
    // Kept only when the case fails, to read.
    let _ = std::fs::remove_file(&log);
}
