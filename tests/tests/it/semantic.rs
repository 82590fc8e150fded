//! Semantic search: the HTTP embedder against a real server speaking the OpenAI protocol (and
//! faulty ones), the embedding cache as a decorator, and hybrid search through the API on
//! memory and PostgreSQL with the real local model.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use datastorage_application::embedding::CachedEmbedder;
use datastorage_application::ports::{EmbedError, Embedder};
use datastorage_domain::embedding::{Embedding, EmbeddingModel};
use datastorage_embedder::{HttpEmbedder, HttpEmbedderSettings};
use datastorage_tests::embedding_server::{Behaviour, spawn_embedding_server};
use datastorage_tests::support::*;
use serde_json::{Value, json};

fn http_embedder(url: &str, timeout_ms: u64) -> HttpEmbedder {
    HttpEmbedder::new(
        HttpEmbedderSettings {
            url: url.into(),
            model: "sentence-transformers/all-MiniLM-L6-v2".into(),
            dimension: 384,
            attempts: 3,
            query_prefix: String::new(),
            document_prefix: String::new(),
        },
        datastorage::tls::http_client(Duration::from_millis(timeout_ms), None).unwrap(),
    )
    .unwrap()
}

fn texts() -> Vec<String> {
    vec![
        "pod OOMKilled after deploy".into(),
        "certificate expires tomorrow".into(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_embedder_reproduces_the_local_model_over_the_wire() {
    let server = spawn_embedding_server(Behaviour::Real).await;
    let remote = http_embedder(&server.url, 10_000)
        .embed(&texts())
        .await
        .unwrap();
    let local = local_embedder().embed(&texts()).await.unwrap();
    for (r, l) in remote.iter().zip(&local) {
        assert!(r.cosine(l).unwrap() > 0.99999);
    }
    assert_eq!(server.calls(), 1, "one request for the whole batch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_embedder_times_out_as_unavailable() {
    let server = spawn_embedding_server(Behaviour::Slow).await;
    match http_embedder(&server.url, 200).embed(&texts()).await {
        Err(EmbedError::Unavailable { embedder, .. }) => assert_eq!(embedder, server.url),
        other => panic!("expected unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_embedder_is_retried_then_unavailable() {
    let server = spawn_embedding_server(Behaviour::Fails).await;
    let result = http_embedder(&server.url, 2000).embed(&texts()).await;
    assert!(
        matches!(result, Err(EmbedError::Unavailable { .. })),
        "{result:?}"
    );
    assert_eq!(server.calls(), 3, "bounded retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_dimension_or_malformed_answer_is_refused_without_retry() {
    for behaviour in [Behaviour::WrongDimension, Behaviour::Malformed] {
        let server = spawn_embedding_server(behaviour).await;
        let result = http_embedder(&server.url, 2000).embed(&texts()).await;
        assert!(
            matches!(result, Err(EmbedError::BadAnswer { .. })),
            "{behaviour:?}: {result:?}"
        );
        assert_eq!(server.calls(), 1, "{behaviour:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_to_refuse_a_search_whose_query_cannot_be_embedded_is_a_503_naming_the_embedder() {
    let server = spawn_embedding_server(Behaviour::Fails).await;
    let url = server.url.clone();
    let app = spawn_app_with(Storage::Memory, move |s| {
        s.search.when_embedder_down = datastorage::WhenEmbedderDown::Refuse;
        s.embedder.kind = datastorage::EmbedderKind::Http;
        s.embedder.url = Some(url.into());
        s.embedder.attempts = 1;
    })
    .await;
    let response = app
        .post_json("/api/v1/workflows/search", &search_body("anything"))
        .await;
    assert_eq!(response.status(), 503);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "https://kubernaut.io/problems/embedder-unavailable"
    );
    assert!(problem["detail"].as_str().unwrap().contains(&server.url));
}

/// Counts how often the wrapped embedder really embeds.
struct Counting {
    inner: Arc<dyn Embedder>,
    texts: AtomicU32,
}

#[async_trait]
impl Embedder for Counting {
    fn model(&self) -> &EmbeddingModel {
        self.inner.model()
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Embedding>, EmbedError> {
        self.texts.fetch_add(texts.len() as u32, Ordering::SeqCst);
        self.inner.embed(texts).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_embeds_each_text_once_and_counts_hits_and_misses() {
    for cache in [
        memory_embedding_cache().await,
        redis_embedding_cache().await,
    ] {
        let counting = Arc::new(Counting {
            inner: Arc::new(local_embedder()),
            texts: AtomicU32::new(0),
        });
        let cached = CachedEmbedder::new(counting.clone(), cache, Duration::from_secs(60));
        let first = cached.embed(&texts()).await.unwrap();
        let again = cached.embed(&texts()).await.unwrap();
        let mixed = cached
            .embed(&[texts()[0].clone(), "a new text".into()])
            .await
            .unwrap();
        assert_eq!(first, again);
        assert_eq!(mixed[0], first[0]);
        assert_eq!(
            counting.texts.load(Ordering::SeqCst),
            3,
            "only the misses were embedded"
        );
        let counts = cached.counts();
        assert_eq!((counts.hits, counts.misses), (3, 3));
    }
}

fn search_body(query: &str) -> Value {
    json!({
        "query": query,
        "filters": {"signal_type": "OOMKilled", "severity": "critical", "component": "pod",
                    "environment": "production", "priority": "P0",
                    "detected_labels": {"gitOpsManaged": true}},
        "top_k": 10
    })
}

fn workflow(name: &str, title: &str, description: &str, gitops: bool) -> Value {
    json!({
        "workflow_name": name, "version": "1.0.0", "name": title, "description": description,
        "content": format!("kind: Workflow # {name}"), "execution_engine": "argo-workflows",
        "labels": {"signal_type": "OOMKilled", "severity": "critical", "component": "pod",
                   "environment": "*", "priority": "*"},
        "detected_labels": {"gitOpsManaged": gitops},
    })
}

macro_rules! hybrid_cases {
    ($storage:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn hybrid_search_ranks_by_meaning_plus_labels() {
            super::hybrid_search_ranks_by_meaning_plus_labels($storage).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn registration_caches_and_disable_invalidates_a_workflows_embedding() {
            super::registration_caches_and_disable_invalidates_a_workflows_embedding($storage)
                .await;
        }
    };
}

mod memory {
    hybrid_cases!(datastorage_tests::support::Storage::Memory);
}

mod postgres {
    hybrid_cases!(datastorage_tests::support::Storage::Postgres);
}

async fn hybrid_search_ranks_by_meaning_plus_labels(storage: Storage) {
    let app = spawn_app_with(storage, with_local_embedder).await;
    for w in [
        workflow(
            "raise-limit",
            "Raise the memory limit",
            "Increases the container memory limit by 50% when the workload legitimately needs more memory.",
            false,
        ),
        workflow(
            "rollback",
            "Roll back the release",
            "Rolls the deployment back to the previous version when a new release introduced a memory leak or regression.",
            true,
        ),
        workflow(
            "heap-dump",
            "Capture a heap dump",
            "Takes a heap dump of the JVM for offline analysis before restarting the pod.",
            false,
        ),
    ] {
        assert_eq!(app.post_json("/api/v1/workflows", &w).await.status(), 201);
    }
    let r = app.post_json("/api/v1/workflows/search", &search_body(
        "memory usage started climbing right after we deployed the new version; undo the bad release",
    )).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let results = body["workflows"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["workflow_name"], "rollback");
    for w in results {
        // With the default weights: (1 − lexical) × similarity + lexical × lexical_score +
        // labels × (boost − penalty), clamped to [0, 1].
        let weights = datastorage_domain::workflow::FusionWeights::DEFAULT;
        let b = &w["score_breakdown"];
        let (sim, lexical, boost, penalty, fin) = (
            w["semantic_similarity"].as_f64().unwrap(),
            b["lexical_score"].as_f64().unwrap(),
            w["label_boost"].as_f64().unwrap(),
            w["label_penalty"].as_f64().unwrap(),
            w["final_score"].as_f64().unwrap(),
        );
        let expected = ((1.0 - weights.lexical) * sim
            + weights.lexical * lexical
            + weights.labels * (boost - penalty))
            .clamp(0.0, 1.0);
        assert!((fin - expected).abs() < 5e-5, "{w}");
    }
    let label_only = app
        .post_json(
            "/api/v1/workflows/search",
            &json!({"filters": search_body("")["filters"]}),
        )
        .await;
    let label_only: Value = label_only.json().await.unwrap();
    assert!(
        label_only["workflows"][0]
            .get("semantic_similarity")
            .is_none()
    );
}

async fn registration_caches_and_disable_invalidates_a_workflows_embedding(storage: Storage) {
    let app = spawn_app_with(storage, with_local_embedder).await;
    let r = app
        .post_json(
            "/api/v1/workflows",
            &workflow("cached", "Raise the memory limit", "More memory.", false),
        )
        .await;
    let id = r.json::<Value>().await.unwrap()["workflow_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let delete = |path: String| {
        let client = app.client.clone();
        let url = app.url(&path);
        async move {
            let r = client.delete(url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()["invalidated"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!(
        delete(format!("/api/v1/cache/workflows/{id}")).await,
        1,
        "registration cached the workflow's embedding"
    );
    assert_eq!(delete(format!("/api/v1/cache/workflows/{id}")).await, 0);

    let r = app
        .post_json(
            "/api/v1/workflows",
            &workflow("cached2", "Roll back", "Rollback.", false),
        )
        .await;
    let id2 = r.json::<Value>().await.unwrap()["workflow_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let off = app
        .client
        .patch(app.url(&format!("/api/v1/workflows/{id2}/disable")))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 200);
    assert_eq!(
        delete(format!("/api/v1/cache/workflows/{id2}")).await,
        0,
        "disable invalidated it"
    );

    app.post_json("/api/v1/workflows/search", &search_body("some incident"))
        .await;
    assert!(
        delete("/api/v1/cache/workflows".into()).await >= 1,
        "the query embedding was cached"
    );
}
