//! `lexical-cost`: what lexical scoring in the domain costs a search, per query, over
//! hard-filtered candidate sets of the sizes a 10,000-workflow catalog gives (the evaluation
//! set's workflow texts, repeated with a numbered suffix). Measured to choose between it and
//! PostgreSQL full-text search (docs/architecture.md, "Lexical search").
//!
//!     cargo run --release -p datastorage-bench --bin lexical-cost

use std::time::Instant;

use datastorage_domain::workflow::score_documents;
use serde_json::Value;

fn main() -> std::process::ExitCode {
    let read = |name: &str| {
        std::fs::read_to_string(format!("eval/retrieval/{name}"))
            .map_err(|e| format!("{name}: {e}"))
            .and_then(|t| serde_json::from_str::<Vec<Value>>(&t).map_err(|e| e.to_string()))
    };
    let (workflows, queries) = match (read("workflows.json"), read("queries.json")) {
        (Ok(w), Ok(q)) => (w, q),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    println!("| candidates | queries | mean µs per query | max µs |");
    println!("|---|---|---|---|");
    for n in [100usize, 250, 1000, 10_000] {
        let docs: Vec<String> = (0..n)
            .map(|i| {
                let w = &workflows[i % workflows.len()];
                format!(
                    "{} {} {} variant {i}",
                    text(w, "name"),
                    text(w, "description"),
                    w["labels"]["signal_type"].as_str().unwrap_or_default()
                )
            })
            .collect();
        let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
        let mut total = 0u128;
        let mut max = 0u128;
        let mut checksum = 0.0;
        for q in &queries {
            let started = Instant::now();
            let scores = score_documents(&text(q, "text"), &refs);
            let took = started.elapsed().as_micros();
            checksum += scores.iter().map(|m| m.score).sum::<f64>();
            total += took;
            max = max.max(took);
        }
        println!(
            "| {n} | {} | {} | {max} |",
            queries.len(),
            total / queries.len() as u128
        );
        // Keeps the work from being optimised away.
        if checksum.is_nan() {
            eprintln!("nan");
        }
    }
    std::process::ExitCode::SUCCESS
}
