//! `EmbeddingCache` conformance: what every embedding cache adapter must do.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datastorage_application::ports::{CacheKey, EmbeddingCache};
use datastorage_domain::embedding::{Embedding, EmbeddingModel};
use datastorage_domain::sha256_hex;
use datastorage_domain::workflow::WorkflowId;

pub type Cache = Arc<dyn EmbeddingCache>;

#[macro_export]
macro_rules! embedding_cache_conformance {
    ($make:expr) => {
        $crate::embedding_cache_conformance!(@cases $make;
            a_stored_embedding_comes_back_for_the_same_model_and_text,
            another_model_or_text_misses,
            entries_expire_after_their_ttl,
            invalidating_a_workflow_drops_only_its_entries,
            invalidating_everything_empties_the_cache,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::conformance::embedding_cache::$case($make.await).await;
            }
        )+
    };
}

const HOUR: Duration = Duration::from_secs(3600);

fn model(name: &str) -> EmbeddingModel {
    EmbeddingModel::parse(name).unwrap()
}

fn key(m: &str, text: &str, workflow: Option<WorkflowId>) -> CacheKey {
    CacheKey {
        model: model(m),
        text_sha256: sha256_hex(text),
        workflow,
    }
}

fn vector(m: &str, seed: f32) -> Embedding {
    Embedding::new(model(m), vec![seed, -0.5, 0.25, 1e-7, -3.5e4]).unwrap()
}

pub async fn a_stored_embedding_comes_back_for_the_same_model_and_text(c: Cache) {
    let k = key("m1", "pod OOMKilled in payments", None);
    assert_eq!(c.get(&k).await.unwrap(), None);
    c.put(&k, &vector("m1", 0.125), HOUR).await.unwrap();
    assert_eq!(c.get(&k).await.unwrap(), Some(vector("m1", 0.125)));
    c.put(&k, &vector("m1", 0.5), HOUR).await.unwrap();
    assert_eq!(
        c.get(&k).await.unwrap(),
        Some(vector("m1", 0.5)),
        "a put replaces"
    );
}

pub async fn another_model_or_text_misses(c: Cache) {
    c.put(&key("m1", "text", None), &vector("m1", 1.0), HOUR)
        .await
        .unwrap();
    assert_eq!(c.get(&key("m2", "text", None)).await.unwrap(), None);
    assert_eq!(c.get(&key("m1", "other text", None)).await.unwrap(), None);
}

pub async fn entries_expire_after_their_ttl(c: Cache) {
    let k = key("m1", "short-lived", None);
    c.put(&k, &vector("m1", 1.0), Duration::from_millis(50))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.get(&k).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "the entry never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn invalidating_a_workflow_drops_only_its_entries(c: Cache) {
    let (w1, w2) = (
        WorkflowId::from_uuid(uuid::Uuid::now_v7()),
        WorkflowId::from_uuid(uuid::Uuid::now_v7()),
    );
    c.put(
        &key("m1", "workflow one", Some(w1)),
        &vector("m1", 1.0),
        HOUR,
    )
    .await
    .unwrap();
    c.put(
        &key("m1", "workflow two", Some(w2)),
        &vector("m1", 2.0),
        HOUR,
    )
    .await
    .unwrap();
    c.put(&key("m1", "a query", None), &vector("m1", 3.0), HOUR)
        .await
        .unwrap();
    assert_eq!(c.invalidate_workflow(w1).await.unwrap(), 1);
    assert_eq!(c.get(&key("m1", "workflow one", None)).await.unwrap(), None);
    assert!(
        c.get(&key("m1", "workflow two", None))
            .await
            .unwrap()
            .is_some()
    );
    assert!(c.get(&key("m1", "a query", None)).await.unwrap().is_some());
    assert_eq!(c.invalidate_workflow(w1).await.unwrap(), 0);
}

pub async fn invalidating_everything_empties_the_cache(c: Cache) {
    let w = WorkflowId::from_uuid(uuid::Uuid::now_v7());
    c.put(&key("m1", "one", Some(w)), &vector("m1", 1.0), HOUR)
        .await
        .unwrap();
    c.put(&key("m2", "two", None), &vector("m2", 2.0), HOUR)
        .await
        .unwrap();
    assert_eq!(c.invalidate_all().await.unwrap(), 2);
    assert_eq!(c.get(&key("m1", "one", None)).await.unwrap(), None);
    assert_eq!(c.get(&key("m2", "two", None)).await.unwrap(), None);
}
