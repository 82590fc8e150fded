//! SIGTERM under load, against the real `datastorage` binary: readiness turns 503 before the
//! listener closes, the process exits within its shutdown timeout, and every acknowledged
//! event is in PostgreSQL afterwards (queued ones included: the final replay pass).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use datastorage_tests::processes::free_port;
use datastorage_tests::support::{event_body, fresh_database_url, test_redis_url, unique_prefix};
use tokio::sync::watch;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_loses_nothing_and_exits_in_time() {
    let database_url = fresh_database_url().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_datastorage"))
        .env("DATABASE_URL", &database_url)
        .env("REDIS_URL", test_redis_url())
        .env("DS_REDIS__KEY_PREFIX", unique_prefix())
        .env("DS_HTTP__ADDR", format!("127.0.0.1:{port}"))
        .env("DS_EMBEDDER__KIND", "none")
        .env("DS_SHUTDOWN__READINESS_DELAY_MS", "500")
        .env("DS_SHUTDOWN__TIMEOUT_SECS", "10")
        .env("DS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the binary");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status() == reqwest::StatusCode::OK)
    {
        assert!(Instant::now() < deadline, "the service never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Load: 16 clients sending events with their own ids until the service stops answering.
    let (progress, mut watch_progress) = watch::channel(0usize);
    let progress = Arc::new(progress);
    let clients: Vec<_> = (0..16)
        .map(|c| {
            let (client, base, progress) = (client.clone(), base.clone(), progress.clone());
            tokio::spawn(async move {
                let mut acked = Vec::new();
                loop {
                    let id = uuid::Uuid::now_v7();
                    let mut body = event_body(&format!("shutdown-{c}"));
                    body["event_id"] = serde_json::json!(id.to_string());
                    match client
                        .post(format!("{base}/api/v1/audit/events"))
                        .json(&body)
                        .send()
                        .await
                    {
                        Ok(r) if r.status() == 201 || r.status() == 202 => acked.push(id),
                        Ok(r) if r.status() == 503 => {}
                        Ok(r) => panic!("unexpected {}", r.status()),
                        Err(_) => return acked, // the listener is closed
                    }
                    progress.send_modify(|n| *n += 1);
                }
            })
        })
        .collect();
    // Readiness watcher: was 503 seen before the listener closed?
    let saw_not_ready = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (client, base, saw) = (client.clone(), base.clone(), saw_not_ready.clone());
        tokio::spawn(async move {
            loop {
                match client.get(format!("{base}/health/ready")).send().await {
                    Ok(r) if r.status() == 503 => saw.store(true, Ordering::SeqCst),
                    Ok(_) => {}
                    Err(_) => return,
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };

    watch_progress.wait_for(|n| *n >= 2000).await.unwrap();
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(20),
            "the process did not exit within its shutdown timeout"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "exit status {exit:?}");
    assert!(
        signalled.elapsed() < Duration::from_millis(500 + 10_000),
        "exited within readiness delay + timeout"
    );

    let mut acked = Vec::new();
    for c in clients {
        acked.extend(c.await.unwrap());
    }
    watcher.await.unwrap();
    assert!(
        saw_not_ready.load(Ordering::SeqCst),
        "readiness turned 503 before the listener closed"
    );
    let pool = sqlx::PgPool::connect(&database_url).await.unwrap();
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE event_id = ANY($1)")
            .bind(&acked)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(acked.len() >= 2000);
    assert_eq!(
        stored,
        acked.len() as i64,
        "every acknowledged event is stored"
    );
}
