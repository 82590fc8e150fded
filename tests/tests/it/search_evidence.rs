//! Each search result explains itself (`score_breakdown`), and a search with `query` stays up
//! when the embedder does not: it answers from labels and lexical evidence, says which
//! evidence is missing, and counts it; on memory and PostgreSQL, with a real HTTP embedder
//! server that goes down.

use datastorage_domain::workflow::FusionWeights;
use datastorage_tests::embedding_server::{Behaviour, spawn_embedding_server};
use datastorage_tests::support::*;
use serde_json::{Value, json};

fn workflow(name: &str, title: &str, description: &str, gitops: bool) -> Value {
    json!({
        "workflow_name": name, "version": "1.0.0", "name": title, "description": description,
        "content": format!("kind: Workflow # {name}"), "execution_engine": "argo-workflows",
        "labels": {"signal_type": "CrashLoopBackOff", "severity": "high", "component": "pod",
                   "environment": "*", "priority": "*"},
        "detected_labels": {"gitOpsManaged": gitops},
    })
}

fn search_body(query: &str) -> Value {
    json!({
        "query": query,
        "filters": {"signal_type": "CrashLoopBackOff", "severity": "high", "component": "pod",
                    "environment": "production", "priority": "P1",
                    "detected_labels": {"gitOpsManaged": true}},
        "top_k": 10
    })
}

/// The same search without detected labels: the words alone decide.
fn search_body_without_labels(query: &str) -> Value {
    let mut body = search_body(query);
    body["filters"]
        .as_object_mut()
        .map(|f| f.remove("detected_labels"));
    body
}

async fn register_three(app: &TestApp) {
    for w in [
        workflow(
            "fix-config",
            "Restore the missing ConfigMap key",
            "Puts back the configuration key whose absence makes the container exit with code 1 at start.",
            false,
        ),
        workflow(
            "raise-probe",
            "Lengthen the liveness probe",
            "Raises the liveness probe's initial delay when a slow start makes the kubelet kill a healthy container.",
            true,
        ),
        workflow(
            "rollback",
            "Roll back the release",
            "Rolls the deployment back to its previous revision.",
            false,
        ),
    ] {
        assert_eq!(app.post_json("/api/v1/workflows", &w).await.status(), 201);
    }
}

/// Every result's breakdown adds up to its final_score with the configured weights.
fn assert_breakdowns_add_up(body: &Value, semantic: bool) {
    let w = FusionWeights::DEFAULT;
    for r in body["workflows"].as_array().unwrap() {
        let b = &r["score_breakdown"];
        let f = |k: &str| b[k].as_f64().unwrap_or_else(|| panic!("{k} in {r}"));
        let (boost, penalty) = (f("label_boost"), f("label_penalty"));
        assert_eq!(boost, r["label_boost"].as_f64().unwrap());
        assert_eq!(penalty, r["label_penalty"].as_f64().unwrap());
        assert!(
            (f("label_part") - w.labels * (boost - penalty)).abs() < 2e-5,
            "{r}"
        );
        if semantic {
            let sim = f("semantic_similarity");
            assert_eq!(Some(sim), r["semantic_similarity"].as_f64());
            assert!(
                (f("semantic_part") - (1.0 - w.lexical) * sim).abs() < 2e-5,
                "{r}"
            );
            assert!(
                (f("lexical_part") - w.lexical * f("lexical_score")).abs() < 2e-5,
                "{r}"
            );
        } else {
            assert!(b.get("semantic_similarity").is_none(), "{r}");
            assert_eq!(f("semantic_part"), 0.0);
            assert!((f("lexical_part") - f("lexical_score")).abs() < 2e-5, "{r}");
        }
        let total = (f("semantic_part") + f("lexical_part") + f("label_part")).clamp(0.0, 1.0);
        assert!(
            (r["final_score"].as_f64().unwrap() - total).abs() < 5e-5,
            "{r}"
        );
    }
}

macro_rules! evidence_cases {
    ($storage:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn each_result_explains_its_score() {
            super::each_result_explains_its_score($storage).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn with_the_embedder_down_search_answers_from_labels_and_words() {
            super::with_the_embedder_down_search_answers_from_labels_and_words($storage).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn instruction_prefixes_mark_queries_and_workflow_texts() {
            super::instruction_prefixes_mark_queries_and_workflow_texts($storage).await;
        }
    };
}

mod memory {
    evidence_cases!(datastorage_tests::support::Storage::Memory);
}

mod postgres {
    evidence_cases!(datastorage_tests::support::Storage::Postgres);
}

async fn each_result_explains_its_score(storage: Storage) {
    let app = spawn_app_with(storage, with_local_embedder).await;
    register_three(&app).await;
    let r = app
        .post_json(
            "/api/v1/workflows/search",
            &search_body("pods in CrashLoopBackOff: the kubelet kills them, liveness probe failed during a slow start"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert!(body.get("missing_evidence").is_none(), "{body}");
    let first = &body["workflows"][0];
    assert_eq!(first["workflow_name"], "raise-probe", "{body}");
    let matched: Vec<&str> = first["score_breakdown"]["matched_terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for term in ["kubelet", "liveness", "probe", "slow", "start"] {
        assert!(matched.contains(&term), "{term} in {matched:?}");
    }
    assert_eq!(first["score_breakdown"]["lexical_score"], 1.0);
    assert_breakdowns_add_up(&body, true);

    // A label-only search has nothing to explain beyond its labels.
    let label_only: Value = app
        .post_json(
            "/api/v1/workflows/search",
            &json!({"filters": search_body("")["filters"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(label_only["workflows"][0].get("score_breakdown").is_none());
}

async fn with_the_embedder_down_search_answers_from_labels_and_words(storage: Storage) {
    let server = spawn_embedding_server(Behaviour::Real).await;
    let url = server.url.clone();
    let app = spawn_app_with(storage, move |s| {
        s.embedder.kind = datastorage::EmbedderKind::Http;
        s.embedder.url = Some(url.into());
        s.embedder.attempts = 1;
    })
    .await;
    register_three(&app).await;
    server.set_down(true);
    let calls_before = server.calls();
    let r = app
        .post_json(
            "/api/v1/workflows/search",
            &search_body_without_labels("container exits with code 1 at start: a configuration key is missing from the ConfigMap"),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        server.calls() > calls_before,
        "the embedder was asked first"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["missing_evidence"], json!(["semantic"]), "{body}");
    let results = body["workflows"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["workflow_name"], "fix-config", "{body}");
    assert!(
        results
            .iter()
            .all(|w| w.get("semantic_similarity").is_none())
    );
    assert_breakdowns_add_up(&body, false);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l
                .starts_with("datastorage_workflow_search_degraded_total{missing=\"semantic\"}")),
        "the degraded search is counted"
    );

    // Back up: the same search is hybrid again and says nothing is missing.
    server.set_down(false);
    let body: Value = app
        .post_json(
            "/api/v1/workflows/search",
            &search_body_without_labels("container exits with code 1 at start: a configuration key is missing from the ConfigMap"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(body.get("missing_evidence").is_none(), "{body}");
    assert_breakdowns_add_up(&body, true);
}

async fn instruction_prefixes_mark_queries_and_workflow_texts(storage: Storage) {
    let server = spawn_embedding_server(Behaviour::Real).await;
    let url = server.url.clone();
    let app = spawn_app_with(storage, move |s| {
        s.embedder.kind = datastorage::EmbedderKind::Http;
        s.embedder.url = Some(url.into());
        s.embedder.query_prefix = "query: ".into();
        s.embedder.document_prefix = "passage: ".into();
    })
    .await;
    register_three(&app).await;
    let query = "the container exits at start because a ConfigMap key is missing";
    let r = app
        .post_json("/api/v1/workflows/search", &search_body(query))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert!(body.get("missing_evidence").is_none(), "{body}");
    // Every text went out marked: the three workflows as passages, the search as a query.
    let inputs = server.inputs();
    let passages = inputs.iter().filter(|t| t.starts_with("passage: ")).count();
    assert_eq!(passages, 3, "{inputs:?}");
    assert!(inputs.contains(&format!("query: {query}")), "{inputs:?}");
    assert_eq!(inputs.len(), 4, "nothing sent unmarked: {inputs:?}");
}

#[test]
fn the_prefixes_are_part_of_the_model_id_so_a_change_re_embeds() {
    use datastorage_application::ports::Embedder;
    let embedder = |query: &str, document: &str| {
        datastorage_embedder::HttpEmbedder::new(
            datastorage_embedder::HttpEmbedderSettings {
                url: "http://127.0.0.1:9".into(),
                model: "intfloat/e5-small-v2".into(),
                dimension: 384,
                attempts: 1,
                query_prefix: query.into(),
                document_prefix: document.into(),
            },
            reqwest::Client::new(),
        )
        .unwrap()
        .model()
        .to_string()
    };
    assert_eq!(embedder("", ""), "intfloat/e5-small-v2");
    let e5 = embedder("query: ", "passage: ");
    assert!(e5.starts_with("intfloat/e5-small-v2+prefixes-"), "{e5}");
    assert_eq!(e5, embedder("query: ", "passage: "));
    assert_ne!(e5, embedder("query: ", ""));
    assert_ne!(e5, embedder("", "query: passage: "));
}
