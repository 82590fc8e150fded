//! Per-identity rate limits: a burst over the limit gets 429 `rate-limited` with
//! Retry-After while another identity and the probes are unaffected; the bucket refills on
//! the limiter's clock, a manual one here, so nothing waits.

use std::sync::Arc;
use std::time::Duration;

use datastorage_application::ManualClock;
use datastorage_domain::sha256_hex;
use datastorage_tests::support::*;
use serde_json::{Value, json};

fn tokens_file(ids: &[&str]) -> std::path::PathBuf {
    let tokens: Vec<Value> = ids
        .iter()
        .map(|id| json!({"identity": id, "sha256": sha256_hex(&format!("token-{id}")), "roles": ["operator"]}))
        .collect();
    let path = std::env::temp_dir().join(format!("tokens-{}.json", uuid::Uuid::now_v7()));
    std::fs::write(&path, json!({"tokens": tokens}).to_string()).unwrap();
    path
}

async fn dlq(app: &TestApp, who: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/dlq"))
        .bearer_auth(format!("token-{who}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_the_limit_gets_429_and_the_bucket_refills() {
    let file = tokens_file(&["busy", "calm", "vip"]);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = spawn_app_on_clock(
        Storage::Memory,
        |s| {
            s.auth.tokens_file = Some(file.clone());
            s.auth.rate_limits = Some(
                json!({
                    "default": {"per_second": 0.5, "burst": 3},
                    "identities": {"vip": {"per_second": 100, "burst": 10}}
                })
                .to_string(),
            );
        },
        clock.clone(),
    )
    .await;
    for i in 0..3 {
        assert_eq!(
            dlq(&app, "busy").await.status(),
            200,
            "request {i} of the burst"
        );
    }
    let limited = dlq(&app, "busy").await;
    assert_eq!(limited.status(), 429);
    // Half a token a second: the next one is 2 s away.
    assert_eq!(limited.headers()["retry-after"], "2");
    let problem: Value = limited.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "https://kubernaut.io/problems/rate-limited"
    );
    assert_eq!(problem["status"], 429);
    assert_eq!(problem["instance"], "/api/v1/dlq");

    assert_eq!(dlq(&app, "calm").await.status(), 200, "another identity");
    for i in 0..10 {
        assert_eq!(
            dlq(&app, "vip").await.status(),
            200,
            "vip request {i}: its own limit"
        );
    }
    assert_eq!(dlq(&app, "vip").await.status(), 429);
    assert_eq!(
        app.get("/health/ready").await.status(),
        200,
        "probes are not limited"
    );

    clock.advance(Duration::from_secs(1));
    assert_eq!(
        dlq(&app, "busy").await.status(),
        429,
        "half a token is not one"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(dlq(&app, "busy").await.status(), 200, "refilled");
    assert_eq!(dlq(&app, "busy").await.status(), 429);

    let metrics = app.get("/metrics").await.text().await.unwrap();
    for label in ["limit=\"default\"", "limit=\"identity:vip\""] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("datastorage_http_rate_limited_total{") && l.contains(label)),
            "{label} counted"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_authentication_every_caller_shares_the_anonymous_bucket() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = spawn_app_on_clock(
        Storage::Memory,
        |s| {
            s.auth.rate_limits = Some(
                json!({"identities": {"anonymous": {"per_second": 1, "burst": 2}}}).to_string(),
            )
        },
        clock,
    )
    .await;
    let first = reqwest::Client::new();
    let second = reqwest::Client::new();
    assert_eq!(
        first
            .get(app.url("/api/v1/dlq"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        second
            .get(app.url("/api/v1/dlq"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let limited = first.get(app.url("/api/v1/dlq")).send().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert_eq!(
        second
            .get(app.url("/api/v1/dlq"))
            .send()
            .await
            .unwrap()
            .status(),
        429
    );
}

#[tokio::test]
async fn a_bad_rate_limit_document_is_refused_at_start_naming_the_key() {
    let mut settings = datastorage::Settings::defaults();
    settings.http.addr = "127.0.0.1:0".parse().unwrap();
    settings.embedder.kind = datastorage::EmbedderKind::None;
    settings.auth.rate_limits =
        Some(r#"{"roles": {"root": {"per_second": 1, "burst": 1}}}"#.into());
    let err = datastorage::Application::build(settings)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("DS_AUTH__RATE_LIMITS"), "{err}");
}
