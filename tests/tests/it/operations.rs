//! Operations: the Prometheus scrape after a little real activity holds every family.

use datastorage_tests::support::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_after_activity_has_every_metric_family() {
    let app = spawn_app_with(Storage::Postgres, |s| {
        with_redis_queue(s, test_redis_url());
        with_local_embedder(s);
    })
    .await;
    assert_eq!(
        app.post_json("/api/v1/audit/events", &event_body("metrics"))
            .await
            .status(),
        201
    );
    let mut bad = event_body("metrics");
    bad["event_category"] = json!("billing");
    assert_eq!(
        app.post_json("/api/v1/audit/events", &bad).await.status(),
        400
    );
    // One refusal of each kind of rule, each counted under its typed reason.
    let mut stale = event_body("metrics");
    stale["event_timestamp"] = json!("2020-01-01T00:00:00Z");
    let mut missing = event_body("metrics");
    missing.as_object_mut().unwrap().remove("event_type");
    let mut long = event_body("metrics");
    long["actor_id"] = json!("a".repeat(300));
    let mut wrong = event_body("metrics");
    wrong["duration_ms"] = json!("fast");
    for refused in [stale, missing, long, wrong] {
        assert_eq!(
            app.post_json("/api/v1/audit/events", &refused)
                .await
                .status(),
            400
        );
    }
    let workflow = json!({
        "workflow_name": "metrics-wf", "version": "1.0.0", "name": "Raise memory", "description": "More memory.",
        "content": "kind: Workflow", "execution_engine": "argo-workflows",
        "labels": {"signal_type": "OOMKilled", "severity": "critical", "component": "pod", "environment": "*", "priority": "*"}
    });
    assert_eq!(
        app.post_json("/api/v1/workflows", &workflow).await.status(),
        201
    );
    let search = json!({"query": "pod out of memory", "filters": {"signal_type": "OOMKilled", "severity": "critical",
        "component": "pod", "environment": "production", "priority": "P0"}});
    for _ in 0..2 {
        assert_eq!(
            app.post_json("/api/v1/workflows/search", &search)
                .await
                .status(),
            200
        );
    }
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    println!("{text}");
    for family in [
        "datastorage_http_requests_total{",
        "datastorage_http_request_duration_seconds_bucket{",
        "datastorage_audit_traces_total{service=\"gateway\",status=\"success\"}",
        "datastorage_audit_lag_seconds_bucket{service=\"gateway\"",
        "datastorage_dlq_replayed_entries_total",
        "datastorage_dlq_dead_lettered_entries_total",
        "datastorage_write_duration_seconds_bucket{table=\"audit_events\"",
        "datastorage_write_duration_seconds_bucket{table=\"workflows\"",
        "datastorage_validation_failures_total{field=\"event_category\",reason=\"unknown_value\"}",
        "datastorage_validation_failures_total{field=\"event_timestamp\",reason=\"outside_time_window\"}",
        "datastorage_validation_failures_total{field=\"event_type\",reason=\"required\"}",
        "datastorage_validation_failures_total{field=\"actor_id\",reason=\"out_of_range\"}",
        "datastorage_validation_failures_total{field=\"duration_ms\",reason=\"wrong_type\"}",
        "datastorage_workflow_search_duration_seconds_bucket{mode=\"hybrid\"",
        "datastorage_embedding_cache_hits_total",
        "datastorage_embedding_cache_misses_total",
        "datastorage_dlq_depth",
        "datastorage_dlq_capacity_ratio",
        "datastorage_dlq_capacity_warning_level",
        "datastorage_dlq_durability_always 1",
        "datastorage_circuit_breaker_open 0",
        "datastorage_db_pool_connections{state=\"in_use\"}",
    ] {
        assert!(text.contains(family), "missing {family}");
    }
    assert!(
        text.contains("route=\"/api/v1/audit/events\""),
        "requests are labelled by route template"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_in_flight_cap_api_requests_get_503_but_probes_answer() {
    let app = spawn_app_with(Storage::Memory, |s| s.http.max_in_flight = 0).await;
    let response = app
        .post_json("/api/v1/audit/events", &event_body("saturated"))
        .await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["type"], "https://kubernaut.io/problems/saturated");
    assert_eq!(app.get("/health/live").await.status(), 200);
    assert_eq!(app.get("/health/ready").await.status(), 200);
    assert_eq!(app.get("/metrics").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_the_timeout_is_a_503_problem() {
    use datastorage_tests::embedding_server::{Behaviour, spawn_embedding_server};
    let slow = spawn_embedding_server(Behaviour::Slow).await;
    let url = slow.url.clone();
    let app = spawn_app_with(Storage::Memory, move |s| {
        s.embedder.kind = datastorage::EmbedderKind::Http;
        s.embedder.url = Some(url.into());
        s.embedder.timeout_ms = 10_000;
        s.http.request_timeout_ms = 300;
    })
    .await;
    let search = json!({"query": "anything", "filters": {"signal_type": "OOMKilled", "severity": "critical",
        "component": "pod", "environment": "production", "priority": "P0"}});
    let response = app.post_json("/api/v1/workflows/search", &search).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "https://kubernaut.io/problems/request-timeout"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app(Storage::Memory).await;
    let echoed = app
        .client
        .get(app.url("/health/live"))
        .header("x-request-id", "req-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "req-123");
    let fresh = app.get("/api/v1/audit/events").await;
    let id = fresh.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
}
