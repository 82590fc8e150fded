//! `embed-latency`: query-embedding latency of the local model behind the in-memory cache,
//! on a cache miss and on a hit; prints one JSON line per case.
//!
//!     cargo run --release -p datastorage-bench --bin embed-latency

use std::sync::Arc;
use std::time::{Duration, Instant};

use datastorage_application::embedding::CachedEmbedder;
use datastorage_application::ports::Embedder;
use hdrhistogram::Histogram;
use serde_json::json;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let dir = std::env::var("DS_MODEL_DIR").unwrap_or_else(|_| ".models/all-minilm-l6-v2".into());
    let model = match datastorage_embedder::LocalModelEmbedder::load(std::path::Path::new(&dir)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let cached = CachedEmbedder::new(
        Arc::new(model),
        Arc::new(datastorage_memory::MemoryEmbeddingCache::new(10_000)),
        Duration::from_secs(3600),
    );
    let texts: Vec<String> = (0..300)
        .map(|i| format!("checkout-{i} pods OOMKilled after the deploy of release 2.{i}; memory climbs until the limit"))
        .collect();
    for (case, label) in [
        ("miss", "query embedding, cache miss"),
        ("hit", "query embedding, cache hit"),
    ] {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
            .unwrap_or_else(|_| std::process::exit(2));
        let started = Instant::now();
        for t in &texts {
            let t0 = Instant::now();
            if cached.embed(std::slice::from_ref(t)).await.is_err() {
                return std::process::ExitCode::FAILURE;
            }
            let _ = h.record((t0.elapsed().as_micros() as u64).max(1));
        }
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "{}",
            json!({"figure": label, "case": case, "calls": texts.len(),
                   "throughput_per_s": texts.len() as f64 / started.elapsed().as_secs_f64(),
                   "p50_ms": ms(0.5), "p95_ms": ms(0.95), "p99_ms": ms(0.99)})
        );
    }
    std::process::ExitCode::SUCCESS
}
