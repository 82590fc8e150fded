//! `retrieval-eval`: prints nDCG@5, recall@5, MRR and top-1 of label-only, lexical-only,
//! semantic-only and hybrid workflow search over `eval/retrieval/`, with the local
//! all-MiniLM-L6-v2 model, and the cross-validation of the fusion weights.
//!
//!     scripts/fetch-model.sh && scripts/bench-retrieval.sh
//!
//! Usage: `retrieval-eval [DATASET] [--lexical-weight W] [--label-weight W] [--markdown FILE]`;
//! the weights default to the service's defaults; `--markdown` also writes the tables to
//! FILE (which `bench/report.py --section` puts into docs/benchmarks.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use datastorage_domain::workflow::FusionWeights;

fn option(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model_dir =
        std::env::var("DS_MODEL_DIR").unwrap_or_else(|_| ".models/all-minilm-l6-v2".into());
    let dataset = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .map_or_else(|| PathBuf::from("eval/retrieval"), PathBuf::from);
    let weight = |name: &str, default: f64| -> Result<f64, String> {
        option(&args, name).map_or(Ok(default), |v| {
            v.parse().map_err(|e| format!("{name} {v}: {e}"))
        })
    };
    let weights = weight("--lexical-weight", FusionWeights::DEFAULT.lexical).and_then(|l| {
        FusionWeights::new(l, weight("--label-weight", FusionWeights::DEFAULT.labels)?)
    });
    let weights = match weights {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let embedder =
        match datastorage_embedder::LocalModelEmbedder::load(std::path::Path::new(&model_dir)) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
    match datastorage_bench::retrieval::evaluate(&dataset, Arc::new(embedder), weights).await {
        Ok(report) => {
            let markdown = report.markdown();
            println!("{markdown}");
            if let Some(file) = option(&args, "--markdown")
                && let Err(e) = std::fs::write(&file, format!("{markdown}\n"))
            {
                eprintln!("{file}: {e}");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("evaluation failed: {e}");
            ExitCode::FAILURE
        }
    }
}
