//! `WorkflowCatalog` conformance of a whole search: the use-case ranks the candidates a store
//! hands over (lexical scoring and fusion are in the domain), so every adapter must give the
//! same ranking and the same scores, to the millionth, for the same catalog and query.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datastorage_application::audit::{AuditService, AuditSettings};
use datastorage_application::catalog::{CatalogService, ScoringMode, SearchRequest};
use datastorage_application::embedding::CachedEmbedder;
use datastorage_application::ports::{EmbedError, Embedder};
use datastorage_domain::embedding::{Embedding, EmbeddingModel};
use datastorage_domain::workflow::*;
use serde_json::json;

use super::catalog::{Catalog, draft, new_workflow};

/// Embeds every query text as one fixed vector of the model `m` (a fake for state: the
/// workflows' vectors are set by hand).
struct FixedQueryVector(EmbeddingModel);

#[async_trait]
impl Embedder for FixedQueryVector {
    fn model(&self) -> &EmbeddingModel {
        &self.0
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Embedding>, EmbedError> {
        Ok(texts.iter().map(|_| vector(&[1.0, 0.2, 0.0])).collect())
    }
}

fn vector(values: &[f32]) -> Embedding {
    Embedding::new(EmbeddingModel::parse("m").unwrap(), values.to_vec()).unwrap()
}

/// Name, title, description, vector and custom labels of a workflow of the case.
type Entry<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Option<&'a [f32]>,
    serde_json::Value,
);

pub async fn hybrid_ranking_and_scores_are_the_same_on_every_adapter(c: Catalog) {
    let entries: [Entry; 4] = [
        (
            "rank-restart",
            "Restart pods stuck in CrashLoopBackOff",
            "Deletes the crashing pod so that its controller recreates it.",
            Some(&[1.0, 0.0, 0.0]),
            json!({}),
        ),
        (
            "rank-rollback",
            "Roll back a bad release",
            "Rolls the deployment back when the new revision crash-loops right after a deploy.",
            Some(&[0.8, 0.6, 0.0]),
            json!({"team": ["payments"]}),
        ),
        (
            "rank-cert",
            "Rotate the x509 serving certificate",
            "Renews the TLS certificate before it expires.",
            Some(&[0.0, 1.0, 0.0]),
            json!({}),
        ),
        (
            "rank-groesse",
            "Größere Speichergrenze",
            "Erhöht das Speicherlimit des Containers nach einem OOMKilled.",
            None,
            json!({"team": ["*"]}),
        ),
    ];
    for (name, title, description, values, custom) in entries {
        let mut d = draft(name, "1.0.0");
        d.signal_type = "RankingConformance".into();
        d.title = title.into();
        d.description = description.into();
        d.custom_labels = custom;
        let mut w = new_workflow(d);
        w.0.embedding = values.map(vector);
        c.register(&w).await.unwrap();
    }
    let clock = Arc::new(datastorage::SystemClock);
    let audit = AuditService::new(
        Arc::new(datastorage_memory::MemoryAuditEventRepository::new()),
        None,
        clock.clone(),
        AuditSettings::default(),
    );
    let embedder = Arc::new(CachedEmbedder::new(
        Arc::new(FixedQueryVector(EmbeddingModel::parse("m").unwrap())),
        Arc::new(datastorage_memory::MemoryEmbeddingCache::new(10)),
        Duration::from_secs(60),
    ));
    let service = CatalogService::new(c, audit, clock, Some(embedder));
    let filters = SearchFilters::parse(
        "rankingconformance".into(),
        "critical",
        "pod".into(),
        "production".into(),
        "P0",
        DetectedLabels::default(),
        CustomLabels::parse(std::collections::BTreeMap::from([(
            "team".to_string(),
            vec!["payments".to_string()],
        )]))
        .unwrap(),
    )
    .unwrap();
    let search = |mode: ScoringMode| SearchRequest {
        filters: Some(filters.clone()),
        query: Some("pods crash loop back off after the deploy of the new release".into()),
        mode,
        top_k: 10,
        ..SearchRequest::default()
    };
    let ranked = |results: datastorage_application::catalog::SearchResults| {
        results
            .results
            .iter()
            .map(|r| {
                (
                    r.workflow.name.to_string(),
                    r.final_score,
                    r.lexical.as_ref().map(|m| m.matched_terms.clone()),
                )
            })
            .collect::<Vec<_>>()
    };
    let hybrid = ranked(service.search(search(ScoringMode::Hybrid)).await.unwrap());
    let lexical = ranked(
        service
            .search(search(ScoringMode::LexicalOnly))
            .await
            .unwrap(),
    );
    let terms = |t: &[&str]| Some(t.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(
        hybrid,
        [
            (
                "rank-rollback".to_string(),
                HYBRID[0],
                terms(&["after", "back", "crash", "deploy", "new", "release"])
            ),
            (
                "rank-restart".to_string(),
                HYBRID[1],
                terms(&["back", "crash", "loop", "off", "pods"])
            ),
            // No word and no vector: only its wildcard team label (0.025 × 4).
            ("rank-groesse".to_string(), HYBRID[2], terms(&[])),
            ("rank-cert".to_string(), HYBRID[3], terms(&[])),
        ]
    );
    assert_eq!(
        lexical.iter().map(|r| r.1).collect::<Vec<_>>(),
        [1.0, 0.861574, 0.0, 0.0]
    );
}

/// The hybrid scores with the default weights, as every adapter must give them.
/// (The first is clamped: its text and its team label (4 × 0.05) add up to more than 1.)
const HYBRID: [f64; 4] = [1.0, 0.897276, 0.1, 0.058835];
