//! TLS to every store, against real servers with TLS on and a CA made by the test:
//! PostgreSQL with `ssl = on` (and plain TCP refused by `pg_hba.conf`), Redis with only a
//! `tls-port`, an ACL user and client certificates, and an HTTPS embeddings server. The
//! conformance suites run on the TLS Redis too (`conformance::redis_tls_*`).

use std::time::{Duration, Instant};

use datastorage::{Application, Settings};
use datastorage_application::ports::Embedder;
use datastorage_embedder::{HttpEmbedder, HttpEmbedderSettings};
use datastorage_postgres::PgSslMode;
use datastorage_tests::embedding_server::{Behaviour, embeddings_router};
use datastorage_tests::processes::{PgCluster, RedisServer};
use datastorage_tests::support::*;
use datastorage_tests::tls::{TestPki, serve_https};
use reqwest::StatusCode;
use serde_json::Value;

const EVENTS: &str = "/api/v1/audit/events";

/// Settings as spawned apps have them, for a start that is expected to fail.
fn settings() -> Settings {
    let mut settings = Settings::defaults();
    settings.http.addr = "127.0.0.1:0".parse().unwrap();
    settings.embedder.kind = datastorage::EmbedderKind::None;
    settings
}

fn verify_full(settings: &mut Settings, pg: &PgCluster, ca: &std::path::Path) {
    settings.database.url = Some(pg.url().into());
    settings.database.ssl_mode = Some(PgSslMode::VerifyFull);
    settings.database.ssl_root_cert = Some(ca.to_path_buf());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_verify_full_stores_and_reads_and_plain_tcp_is_refused() {
    let pki = TestPki::new();
    let pg = PgCluster::start_new_tls(&pki);
    let app = spawn_app_with(Storage::Memory, |s| verify_full(s, &pg, &pki.ca_file)).await;

    let created = app.post_json(EVENTS, &event_body("tls-pg")).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get(&format!("{EVENTS}/{id}")).await.status(),
        StatusCode::OK
    );
    // Every connection the service holds is TLS (the server would refuse any other).
    let plain = pg.psql(
        "select count(*) from pg_stat_activity a join pg_stat_ssl s using (pid) \
         where a.backend_type = 'client backend' and a.client_addr is not null and not s.ssl",
    );
    let tls = pg.psql(
        "select count(*) from pg_stat_activity a join pg_stat_ssl s using (pid) \
         where a.backend_type = 'client backend' and a.client_addr is not null and s.ssl",
    );
    assert_eq!(plain, "0");
    assert_ne!(tls, "0");

    // The same server without TLS: pg_hba.conf refuses it, and start-up says so.
    let mut settings = settings();
    settings.database.url = Some(pg.url().into());
    settings.database.ssl_mode = Some(PgSslMode::Disable);
    let refused = Application::build(settings).await.err().expect("refused");
    assert!(
        refused.to_string().contains("no encryption"),
        "unexpected error: {refused}"
    );
}

#[tokio::test]
async fn postgres_with_a_ca_that_did_not_sign_its_certificate_fails_at_start_naming_the_setting() {
    let pki = TestPki::new();
    let pg = PgCluster::start_new_tls(&pki);
    let mut settings = settings();
    verify_full(&mut settings, &pg, &pki.unrelated_ca_file());
    let error = Application::build(settings)
        .await
        .err()
        .expect("a certificate from an unknown CA is refused")
        .to_string();
    assert!(
        error.contains("DS_DATABASE__SSL_ROOT_CERT"),
        "the error must name the setting: {error}"
    );
    assert!(
        error.to_lowercase().contains("certificate"),
        "the error must say what failed: {error}"
    );
}

#[tokio::test]
async fn redis_with_a_ca_that_did_not_sign_its_certificate_fails_at_start() {
    let pki = TestPki::new();
    let redis = RedisServer::start_new_tls(&pki);
    let mut endpoint = tls_endpoint(&redis.url(), &pki);
    endpoint.tls.ca_file = Some(pki.unrelated_ca_file());
    datastorage::tls::install_crypto_provider();
    let refused = datastorage_redis::RedisStreamDeadLetterQueue::connect(
        datastorage_redis::RedisQueueSettings {
            endpoint,
            key_prefix: unique_prefix(),
            consumer: "only".into(),
            capacity: 10,
            reclaim_idle: Duration::from_secs(60),
            min_replicas: 0,
            replica_timeout: Duration::from_secs(1),
        },
    )
    .await;
    let error = datastorage_application::cause::chain(&refused.err().expect("refused"));
    assert!(
        error.to_lowercase().contains("certificate"),
        "unexpected error: {error}"
    );
}

#[tokio::test]
async fn redis_tls_settings_on_a_plain_url_are_refused_at_start() {
    let pki = TestPki::new();
    let endpoint = tls_endpoint(&test_redis_url(), &pki);
    let error = endpoint.client().expect_err("refused").to_string();
    assert!(error.contains("rediss://"), "unexpected error: {error}");
}

/// The fallback path end to end over TLS: PostgreSQL stops, a write is answered 202 from
/// the TLS Redis queue, and once PostgreSQL is back the replay stores it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_a_write_is_queued_on_tls_redis_and_replayed() {
    let pki = TestPki::new();
    let pg = PgCluster::start_new();
    let redis = RedisServer::start_new_tls(&pki);
    let app = spawn_app_with(Storage::Memory, |s| {
        s.database.url = Some(pg.url().into());
        s.database.acquire_timeout_secs = 1;
        with_redis_queue(s, redis.url());
        s.redis.ca_file = Some(pki.ca_file.clone());
        s.redis.client_cert_file = Some(pki.client_cert_file.clone());
        s.redis.client_key_file = Some(pki.client_key_file.clone());
    })
    .await;
    assert_eq!(
        app.post_json(EVENTS, &event_body("tls-fallback"))
            .await
            .status(),
        StatusCode::CREATED
    );

    pg.stop();
    let queued = app.post_json(EVENTS, &event_body("tls-fallback")).await;
    assert_eq!(queued.status(), StatusCode::ACCEPTED);
    let id = queued.json::<Value>().await.unwrap()["event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dlq: Value = app.get("/api/v1/dlq").await.json().await.unwrap();
    assert_eq!(dlq["depth"], 1, "{dlq}");

    pg.start();
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.get(&format!("{EVENTS}/{id}")).await.status() != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "the queued event was not replayed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let trail: Value = app
        .get(&format!("{EVENTS}?correlation_id=tls-fallback"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(trail["data"].as_array().unwrap().len(), 2, "{trail}");
}

fn https_embedder(url: &str, ca_file: Option<std::path::PathBuf>) -> HttpEmbedder {
    HttpEmbedder::new(
        HttpEmbedderSettings {
            url: url.into(),
            model: "sentence-transformers/all-MiniLM-L6-v2".into(),
            dimension: 384,
            attempts: 1,
            query_prefix: String::new(),
            document_prefix: String::new(),
        },
        datastorage::tls::http_client(Duration::from_secs(30), ca_file.as_deref()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn the_http_embedder_reaches_an_https_server_it_trusts_and_only_that() {
    let pki = TestPki::new();
    let (router, calls) = embeddings_router(Behaviour::Real);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = serve_https(listener, router, &pki);
    datastorage::tls::install_crypto_provider();

    let vectors = https_embedder(&url, Some(pki.ca_file.clone()))
        .embed(&["restart the pod".to_owned()])
        .await
        .expect("embedded over https");
    assert_eq!(vectors.len(), 1);
    assert_eq!(vectors[0].values().len(), 384);
    let expected = local_embedder()
        .embed(&["restart the pod".to_owned()])
        .await
        .unwrap();
    assert_eq!(vectors[0].values(), expected[0].values());

    // Without the test CA the server's certificate is not trusted: no request reaches it.
    let before = calls.load(std::sync::atomic::Ordering::SeqCst);
    let refused = https_embedder(&url, None)
        .embed(&["restart the pod".to_owned()])
        .await;
    assert!(refused.is_err(), "an untrusted certificate was accepted");
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), before);
}
