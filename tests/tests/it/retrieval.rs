//! Retrieval quality: over the evaluation set, hybrid scoring with the default (cross-
//! validated) weights is at least as good as every single mode, and meets the figures of
//! issue 28.

use std::path::PathBuf;
use std::sync::Arc;

use datastorage_domain::workflow::FusionWeights;
use datastorage_tests::support::local_embedder;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_scoring_is_at_least_as_good_as_every_single_mode() {
    let dataset = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../eval/retrieval");
    let report = datastorage_bench::retrieval::evaluate(
        &dataset,
        Arc::new(local_embedder()),
        FusionWeights::DEFAULT,
    )
    .await
    .unwrap();
    println!("{}", report.markdown());
    assert!(report.workflows >= 40 && report.queries >= 60);
    let hybrid = report.hybrid;
    for (mode, single) in [
        ("label-only", report.label_only),
        ("lexical-only", report.lexical_only),
        ("semantic-only", report.semantic_only),
    ] {
        assert!(
            hybrid.ndcg_at_5 >= single.ndcg_at_5 && hybrid.top_1 >= single.top_1,
            "hybrid nDCG@5 {:.3}, top-1 {} vs {mode} {:.3}, {}",
            hybrid.ndcg_at_5,
            hybrid.top_1,
            single.ndcg_at_5,
            single.top_1
        );
    }
    assert!(
        hybrid.ndcg_at_5 >= 0.93,
        "hybrid nDCG@5 {:.3}",
        hybrid.ndcg_at_5
    );
    assert!(hybrid.top_1 >= 60, "hybrid top-1 {}/70", hybrid.top_1);
    // The defaults are what the cross-validation chooses, not a fit of all queries.
    assert_eq!(report.cross_validation.chosen, FusionWeights::DEFAULT);
}
