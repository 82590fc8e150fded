//! `loadgen`: drives the service's audit write API with N concurrent keep-alive clients for a
//! bounded time and request count, records every latency in an HDR histogram, and prints one
//! JSON line of results. Refuses any target that is not on the loopback interface.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::json;

#[derive(Debug, Parser)]
struct Args {
    /// Service base URL (loopback only), e.g. http://127.0.0.1:8080
    #[arg(long)]
    url: String,
    /// Concurrent clients, each with its own keep-alive connection.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds to run (after warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of warm-up, not recorded.
    #[arg(long, default_value_t = 2)]
    warmup_seconds: u64,
    /// Hard cap on requests per client.
    #[arg(long, default_value_t = 1_000_000)]
    max_requests_per_client: u64,
    /// Approximate size of event_data in bytes.
    #[arg(long, default_value_t = 1024)]
    payload_bytes: usize,
    /// Label printed with the results.
    #[arg(long, default_value = "single-event POST")]
    label: String,
    /// The status that counts as success (201 committed, 202 queued).
    #[arg(long, default_value_t = 201)]
    expect: u16,
}

fn event(client: usize, n: u64, filler: &str) -> Vec<u8> {
    let body = json!({
        "version": "1.0",
        "event_type": "gateway.signal.received",
        "event_timestamp": chrono::Utc::now().to_rfc3339(),
        "event_category": "gateway",
        "event_action": "received",
        "event_outcome": "success",
        "actor_type": "service",
        "actor_id": "gateway-service",
        "resource_type": "Signal",
        "resource_id": format!("fp-{client}-{n}"),
        "correlation_id": format!("bench-{client}-{}", n / 10),
        "severity": "critical",
        "namespace": "payments",
        "event_data": {"signal": "HighCPU", "labels": {"team": "payments", "tier": "1"}, "note": filler},
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

struct ClientResult {
    histogram: Histogram<u64>,
    ok: u64,
    failed: u64,
    /// Successful requests during warm-up (sent, not timed).
    warm: u64,
}

async fn run_client(
    args: &Args,
    client: usize,
    warm_until: Instant,
    stop_at: Instant,
) -> ClientResult {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap_or_default();
    let endpoint = format!("{}/api/v1/audit/events", args.url);
    let filler = "x".repeat(args.payload_bytes.saturating_sub(120));
    let mut histogram = latency_histogram();
    let (mut ok, mut failed, mut warm) = (0, 0, 0);
    for n in 0..args.max_requests_per_client {
        let now = Instant::now();
        if now >= stop_at {
            break;
        }
        let started = Instant::now();
        let response = http
            .post(&endpoint)
            .header("content-type", "application/json")
            .body(event(client, n, &filler))
            .send()
            .await;
        let micros = started.elapsed().as_micros() as u64;
        if started < warm_until {
            if matches!(&response, Ok(r) if r.status().as_u16() == args.expect) {
                warm += 1;
            }
            continue;
        }
        match response {
            Ok(r) if r.status().as_u16() == args.expect => {
                ok += 1;
                let _ = histogram.record(micros.max(1));
            }
            _ => failed += 1,
        }
    }
    ClientResult {
        histogram,
        ok,
        failed,
        warm,
    }
}

/// Microseconds from 1 µs to 60 s at 3 significant digits.
fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|e| {
        eprintln!("cannot create a histogram: {e}");
        std::process::exit(2)
    })
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let host = args
        .url
        .trim_start_matches("http://")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        eprintln!("loadgen only targets loopback addresses (got {host:?})");
        std::process::exit(2);
    }
    let args: &'static Args = Box::leak(Box::new(args));
    let start = Instant::now();
    let warm_until = start + Duration::from_secs(args.warmup_seconds);
    let stop_at = warm_until + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.clients)
        .map(|c| tokio::spawn(run_client(args, c, warm_until, stop_at)))
        .collect();
    let mut total = latency_histogram();
    let (mut ok, mut failed, mut warm) = (0u64, 0u64, 0u64);
    for t in tasks {
        if let Ok(r) = t.await {
            let _ = total.add(&r.histogram);
            ok += r.ok;
            failed += r.failed;
            warm += r.warm;
        }
    }
    // A run capped by request count may end before `stop_at`.
    let measured = Instant::now()
        .min(stop_at)
        .saturating_duration_since(warm_until)
        .as_secs_f64();
    let ms = |q: f64| total.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{}",
        json!({
            "figure": args.label,
            "clients": args.clients,
            "payload_bytes": args.payload_bytes,
            "seconds": measured,
            "ok": ok,
            "warmup_ok": warm,
            "failed": failed,
            "throughput_per_s": ok as f64 / measured,
            "p50_ms": ms(0.50),
            "p95_ms": ms(0.95),
            "p99_ms": ms(0.99),
            "max_ms": total.max() as f64 / 1000.0,
        })
    );
}
