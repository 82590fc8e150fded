//! The local model embedder reproduces the reference vectors of all-MiniLM-L6-v2.

use datastorage_application::ports::Embedder;
use datastorage_domain::embedding::{Embedding, EmbeddingModel};
use datastorage_tests::support::local_embedder;
use serde_json::Value;

#[tokio::test]
async fn the_local_model_reproduces_every_reference_vector() {
    let reference: Value =
        serde_json::from_str(include_str!("../../data/all-minilm-l6-v2-reference.json")).unwrap();
    let cases = reference["vectors"].as_array().unwrap();
    let texts: Vec<String> = cases
        .iter()
        .map(|c| c["text"].as_str().unwrap().to_owned())
        .collect();
    let embedder = local_embedder();
    // All in one batch (padding must not change a vector) and one by one.
    let batch = embedder.embed(&texts).await.unwrap();
    for (i, case) in cases.iter().enumerate() {
        let want: Vec<f32> = case["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let want = Embedding::new(embedder.model().clone(), want).unwrap();
        let alone = embedder
            .embed(std::slice::from_ref(&texts[i]))
            .await
            .unwrap()
            .remove(0);
        for (how, got) in [("batched", &batch[i]), ("alone", &alone)] {
            assert_eq!(got.dimension(), 384);
            let cosine = got.cosine(&want).unwrap();
            assert!(cosine >= 0.9999, "{how} {:?}: cosine {cosine}", texts[i]);
        }
        let norm: f32 = batch[i].values().iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "L2-normalised");
    }
    assert_eq!(
        embedder.model(),
        &EmbeddingModel::parse("sentence-transformers/all-MiniLM-L6-v2").unwrap()
    );
}

#[tokio::test]
async fn similar_incidents_are_closer_than_unrelated_ones() {
    let e = local_embedder();
    let texts: Vec<String> = [
        "container killed because it ran out of memory",
        "pod OOMKilled, memory limit too low",
        "TLS certificate for the ingress expires tomorrow",
    ]
    .map(String::from)
    .to_vec();
    let v = e.embed(&texts).await.unwrap();
    assert!(v[0].cosine(&v[1]).unwrap() > v[0].cosine(&v[2]).unwrap());
}

static RELEASES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn count_release() {
    RELEASES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// The keep-alive runs on tokio's clock, paused here: the test moves the clock past each
/// deadline instead of waiting for it (tokio does not move it while the model is loading or
/// running on a blocking thread), so every step happens at a known instant.
#[tokio::test(start_paused = true)]
async fn an_unused_model_is_unloaded_and_loaded_again_on_demand() {
    use datastorage_embedder::{KeepAlive, LocalModelEmbedder};
    use std::sync::atomic::Ordering::SeqCst;
    use std::time::Duration;
    let secs = Duration::from_secs;
    let keep_alive = KeepAlive {
        idle: secs(60),
        release_memory: count_release,
    };
    let embedder = LocalModelEmbedder::load_with_keep_alive(
        &datastorage_tests::support::model_dir(),
        Some(keep_alive),
    )
    .unwrap();
    assert!(
        !embedder.is_loaded(),
        "checked at start, not kept until used"
    );
    assert_eq!(RELEASES.load(SeqCst), 1, "its memory was handed back");

    let text = vec!["payments-api pods are OOMKilled after the deploy".to_owned()];
    let first = embedder.embed(&text).await.unwrap();
    assert!(embedder.is_loaded());
    assert_eq!(RELEASES.load(SeqCst), 2, "and again after the embedding");
    tokio::time::sleep(secs(40)).await;
    embedder.embed(&text).await.unwrap();
    tokio::time::sleep(secs(40)).await;
    assert!(
        embedder.is_loaded(),
        "80 s after the first use but 40 s after the last: still loaded"
    );
    assert_eq!(RELEASES.load(SeqCst), 3);
    tokio::time::sleep(secs(21)).await;
    assert!(!embedder.is_loaded(), "61 s unused: unloaded");
    assert_eq!(RELEASES.load(SeqCst), 4, "and again after the unload");

    let again = embedder.embed(&text).await.unwrap();
    assert!(embedder.is_loaded());
    assert_eq!(RELEASES.load(SeqCst), 5);
    assert_eq!(first, again, "the reloaded model answers the same");
}
