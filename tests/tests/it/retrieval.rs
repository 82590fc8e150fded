//! Retrieval quality: over the evaluation set, hybrid scoring beats label-only on nDCG@5.

use std::path::PathBuf;
use std::sync::Arc;

use datastorage_tests::support::local_embedder;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_scoring_beats_label_only_on_ndcg_at_5() {
    let dataset = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../eval/retrieval");
    let report = datastorage_bench::retrieval::evaluate(&dataset, Arc::new(local_embedder()))
        .await
        .unwrap();
    println!("{}", report.table());
    assert!(report.workflows >= 40 && report.queries >= 60);
    assert!(
        report.hybrid.ndcg_at_5 > report.label_only.ndcg_at_5,
        "hybrid {:.3} vs label-only {:.3}",
        report.hybrid.ndcg_at_5,
        report.label_only.ndcg_at_5
    );
}
