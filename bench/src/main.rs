//! `loadgen`: drives the service's audit write API with N concurrent keep-alive clients for a
//! bounded time and request count, records every latency in an HDR histogram, and prints one
//! JSON line of results. Refuses any target that is not on the loopback interface.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::json;

/// What each request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// POST /api/v1/audit/events (expects 201, or --expect).
    Event,
    /// POST /api/v1/workflows with a new name each time (expects 201).
    Register,
    /// POST /api/v1/workflows/search, label-only (expects 200).
    Search,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum QueryMode {
    None,
    Same,
    Unique,
}

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, value_enum, default_value_t = Scenario::Event)]
    scenario: Scenario,
    /// Offset added to register names, so successive runs register new workflows.
    #[arg(long, default_value_t = 0)]
    name_offset: u64,
    /// Search scenario: no free text (label-only), the same text every time (embedding cache
    /// hits), or a new text every time (cache misses).
    #[arg(long, value_enum, default_value_t = QueryMode::None)]
    query: QueryMode,
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
    /// The status that counts as success (default: 201, or 200 for search).
    #[arg(long)]
    expect: Option<u16>,
}

const SIGNALS: [&str; 20] = [
    "OOMKilled",
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "NodeNotReady",
    "DiskPressure",
    "MemoryPressure",
    "PIDPressure",
    "CertificateExpiring",
    "HPAMaxedOut",
    "PodPending",
    "Evicted",
    "ContainerCreating",
    "NetworkUnavailable",
    "HighLatency",
    "HighErrorRate",
    "VolumeFull",
    "DeploymentStuck",
    "JobFailed",
    "DNSFailure",
    "ThrottledCPU",
];
const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// A workflow spread over 20 signal types x 4 severities, a tenth with wildcards, and a mix
/// of detected and custom labels, so a search's hard filters keep about 1/80 of the catalog.
fn workflow(i: u64) -> Vec<u8> {
    let pick = |n: u64, of: u64| n % of;
    let mesh = ["istio", "linkerd", "*"][pick(i, 3) as usize];
    let team = ["payments", "search", "*"][pick(i, 3) as usize];
    let body = json!({
        "workflow_name": format!("bench-wf-{i}"),
        "version": "1.0.0",
        "name": format!("Remediation {i}"),
        "description": "Benchmark workflow: raises limits and restarts the workload",
        "content": format!("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: bench-{i}\n"),
        "labels": {
            "signal_type": SIGNALS[pick(i, 20) as usize],
            "severity": SEVERITIES[pick(i / 20, 4) as usize],
            "component": if pick(i, 10) == 0 { "*" } else { "pod" },
            "environment": if pick(i, 7) == 0 { "*" } else { "production" },
            "priority": if pick(i, 3) == 0 { "*" } else { "P0" },
        },
        "detected_labels": {"gitOpsManaged": pick(i, 2) == 0, "pdbProtected": pick(i, 3) == 0,
                            "serviceMesh": mesh},
        "custom_labels": {"team": [team]},
        "execution_engine": "argo-workflows",
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

fn search_body(query: Option<String>) -> Vec<u8> {
    let mut body = json!({
        "filters": {"signal_type": "OOMKilled", "severity": "critical", "component": "pod",
                    "environment": "production", "priority": "P0",
                    "detected_labels": {"gitOpsManaged": true, "pdbProtected": true, "serviceMesh": "istio"},
                    "custom_labels": {"team": ["payments"]}},
        "top_k": 10,
    });
    if let Some(q) = query {
        body["query"] = json!(q);
    }
    serde_json::to_vec(&body).unwrap_or_default()
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
    let endpoint = match args.scenario {
        Scenario::Event => format!("{}/api/v1/audit/events", args.url),
        Scenario::Register => format!("{}/api/v1/workflows", args.url),
        Scenario::Search => format!("{}/api/v1/workflows/search", args.url),
    };
    let expect = args.expect.unwrap_or(match args.scenario {
        Scenario::Search => 200,
        _ => 201,
    });
    let incident = "payments-api pods are OOMKilled again right after the v2.14 deploy; memory climbs until the limit";
    let search = search_body((args.query == QueryMode::Same).then(|| incident.to_owned()));
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
            .body(match args.scenario {
                Scenario::Event => event(client, n, &filler),
                Scenario::Register => {
                    workflow(args.name_offset + n * args.clients as u64 + client as u64)
                }
                Scenario::Search if args.query == QueryMode::Unique => {
                    search_body(Some(format!("{incident} (client {client}, request {n})")))
                }
                Scenario::Search => search.clone(),
            })
            .send()
            .await;
        let micros = started.elapsed().as_micros() as u64;
        if started < warm_until {
            if matches!(&response, Ok(r) if r.status().as_u16() == expect) {
                warm += 1;
            }
            continue;
        }
        match response {
            Ok(r) if r.status().as_u16() == expect => {
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
