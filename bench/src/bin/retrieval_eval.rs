//! `retrieval-eval`: prints nDCG@5, recall@5 and MRR of label-only, semantic-only and hybrid
//! workflow search over `eval/retrieval/`, with the local all-MiniLM-L6-v2 model.
//!
//!     scripts/fetch-model.sh && cargo run --release -p datastorage-bench --bin retrieval-eval

use std::path::PathBuf;
use std::sync::Arc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let model_dir =
        std::env::var("DS_MODEL_DIR").unwrap_or_else(|_| ".models/all-minilm-l6-v2".into());
    let dataset = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("eval/retrieval"), PathBuf::from);
    let embedder =
        match datastorage_embedder::LocalModelEmbedder::load(std::path::Path::new(&model_dir)) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("{e}");
                return std::process::ExitCode::FAILURE;
            }
        };
    match datastorage_bench::retrieval::evaluate(&dataset, Arc::new(embedder)).await {
        Ok(report) => {
            println!("{}", report.table());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("evaluation failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
