//! `loadgen`: drives one of the service's endpoints with N concurrent keep-alive clients for a
//! bounded time and request count, records every latency in an HDR histogram, and prints one
//! JSON line of results. Refuses any target that is not on the loopback interface.
//!
//! Closed loop by default (each client sends its next request when the last one is answered);
//! with `--rate` it is open loop: requests are due on a fixed schedule and each latency is
//! counted from when its request was due, so a stall is not hidden by the requests it held
//! back (no coordinated omission).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::json;

mod connection;
mod payloads;
mod proofs;
use connection::{Connection, Request};
use payloads::*;
use proofs::*;

/// What each request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// POST /api/v1/audit/events (expects 201, or --expect).
    Event,
    /// POST /api/v1/audit/events/batch with --batch-size events (expects 201).
    Batch,
    /// POST /api/v1/workflows with a new name each time (expects 201).
    Register,
    /// POST /api/v1/workflows/search, label-only (expects 200).
    Search,
    /// GET /api/v1/audit/events?correlation_id=... for a random one of --correlations ids
    /// named `<--correlation-prefix><n>` (expects 200).
    Correlation,
    /// GET /api/v1/audit/events?limit=--page-limit&include_total=false, following
    /// next_cursor for --pages pages, then from the top again (expects 200).
    Page,
    /// GET /api/v1/audit/log/proof/inclusion?event_id=... for a random id of --ids-file, at
    /// the latest checkpoint's size (expects 200, and an answer for that event, of tree size
    /// --tree-size when it is given).
    Inclusion,
    /// GET /api/v1/audit/log/proof/consistency?first=<random in 1..=--tree-size>&second=
    /// --tree-size (expects 200, and an answer for those two sizes).
    Consistency,
    /// GET a random line of --ids-file, each a path with its query (expects 200): any read,
    /// e.g. the remediation reads over many targets and correlations.
    Paths,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum QueryMode {
    None,
    Same,
    Unique,
}

#[derive(Debug, Parser)]
// A later flag wins over an earlier one, so scripts can pass defaults first.
#[command(args_override_self = true)]
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
    /// Requests per second across all clients (open loop); 0: closed loop, as fast as answered.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Seconds to run (after warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of warm-up, not recorded.
    #[arg(long, default_value_t = 2)]
    warmup_seconds: u64,
    /// Hard cap on requests per client.
    #[arg(long, default_value_t = 1_000_000)]
    max_requests_per_client: u64,
    /// Smallest event_data of an event, in bytes (each event draws a size between min and max).
    #[arg(long, default_value_t = 512)]
    payload_min: usize,
    /// Largest event_data of an event, in bytes.
    #[arg(long, default_value_t = 4096)]
    payload_max: usize,
    /// Events per request of the batch scenario.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Correlation scenario: ids are `<prefix><n>` for n in 0..correlations.
    #[arg(long, default_value = "fill-")]
    correlation_prefix: String,
    #[arg(long, default_value_t = 100_000)]
    correlations: u64,
    /// Page scenario: events per page, and pages followed before starting over.
    #[arg(long, default_value_t = 100)]
    page_limit: u32,
    #[arg(long, default_value_t = 20)]
    pages: u32,
    /// Inclusion scenario: a file of event ids, one a line, the proofs are asked for; paths
    /// scenario: a file of paths, one a line.
    #[arg(long)]
    ids_file: Option<std::path::PathBuf>,
    /// Proof scenarios: the tree size every answer must be for (the consistency proofs' second
    /// size, asked for); 0 for the inclusion scenario: any size.
    #[arg(long, default_value_t = 0)]
    tree_size: u64,
    /// The ids read from --ids-file.
    #[arg(skip)]
    ids: Vec<String>,
    /// Label printed with the results.
    #[arg(long, default_value = "single-event POST")]
    label: String,
    /// The status that counts as success (default: 201 for writes, 200 for reads).
    #[arg(long)]
    expect: Option<u16>,
}

/// Builds each client's requests and reads what the page scenario needs from answers.
struct Requests<'a> {
    args: &'a Args,
    client: usize,
    rng: Rng,
    /// Page scenario: the cursor of the next page, and pages read since the top.
    cursor: Option<String>,
    page: u32,
    /// Proof scenarios: the id (its place in --ids-file) or the first size last asked about,
    /// which the answer must be for.
    asked: u64,
}

const INCIDENT: &str = "payments-api pods are OOMKilled again right after the v2.14 deploy; memory climbs until the limit";

impl<'a> Requests<'a> {
    fn new(args: &'a Args, client: usize) -> Self {
        Self {
            args,
            client,
            rng: Rng::new(client as u64 + 1),
            cursor: None,
            page: 0,
            asked: 0,
        }
    }

    fn data_bytes(&mut self) -> usize {
        self.rng
            .between(self.args.payload_min, self.args.payload_max)
    }

    fn next(&mut self, n: u64) -> Request {
        let (a, c) = (self.args, self.client);
        let post = |path: &str, body: Vec<u8>| Request {
            get: false,
            path: path.to_owned(),
            body,
        };
        let get = |path: String| Request {
            get: true,
            path,
            body: Vec::new(),
        };
        match a.scenario {
            Scenario::Event => {
                let mut body = Vec::with_capacity(4096 + 512);
                write_event(&mut body, c, n, self.data_bytes(), &now_rfc3339());
                post("/api/v1/audit/events", body)
            }
            Scenario::Batch => {
                let timestamp = now_rfc3339();
                let mut body = Vec::with_capacity(a.batch_size * 2800);
                body.push(b'[');
                for i in 0..a.batch_size as u64 {
                    if i > 0 {
                        body.push(b',');
                    }
                    let data_bytes = self.data_bytes();
                    write_event(
                        &mut body,
                        c,
                        n * a.batch_size as u64 + i,
                        data_bytes,
                        &timestamp,
                    );
                }
                body.push(b']');
                post("/api/v1/audit/events/batch", body)
            }
            Scenario::Register => post(
                "/api/v1/workflows",
                workflow(a.name_offset + n * a.clients as u64 + c as u64),
            ),
            Scenario::Search => {
                let query = match a.query {
                    QueryMode::None => None,
                    QueryMode::Same => Some(INCIDENT.to_owned()),
                    QueryMode::Unique => Some(format!("{INCIDENT} (client {c}, request {n})")),
                };
                post("/api/v1/workflows/search", search_body(query))
            }
            Scenario::Correlation => {
                let id = self.rng.next() % a.correlations.max(1);
                get(format!(
                    "/api/v1/audit/events?correlation_id={}{id}",
                    a.correlation_prefix
                ))
            }
            Scenario::Page => {
                let mut path = format!(
                    "/api/v1/audit/events?limit={}&include_total=false",
                    a.page_limit
                );
                if let Some(cursor) = &self.cursor {
                    path.push_str("&cursor=");
                    path.push_str(cursor);
                }
                get(path)
            }
            Scenario::Inclusion => {
                self.asked = self.rng.next() % a.ids.len().max(1) as u64;
                let id = a.ids.get(self.asked as usize).map_or("", String::as_str);
                get(format!("/api/v1/audit/log/proof/inclusion?event_id={id}"))
            }
            Scenario::Paths => {
                let line = self.rng.next() % a.ids.len().max(1) as u64;
                get(a.ids.get(line as usize).cloned().unwrap_or_default())
            }
            Scenario::Consistency => {
                self.asked = 1 + self.rng.next() % a.tree_size.max(1);
                get(format!(
                    "/api/v1/audit/log/proof/consistency?first={}&second={}",
                    self.asked, a.tree_size
                ))
            }
        }
    }

    /// Reads an answer with the expected status: whether it is the one asked for (the proof
    /// scenarios check what the proof is of); the page scenario remembers where the next page
    /// starts.
    fn answered(&mut self, body: &[u8]) -> bool {
        match self.args.scenario {
            Scenario::Page => {}
            Scenario::Inclusion => {
                let id = self.args.ids.get(self.asked as usize).map(String::as_str);
                return proves_inclusion(body, id, self.args.tree_size);
            }
            Scenario::Consistency => {
                return proves_consistency(body, self.asked, self.args.tree_size);
            }
            _ => return true,
        }
        self.page += 1;
        let next = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["pagination"]["next_cursor"].as_str().map(str::to_owned));
        self.cursor = next.filter(|_| self.page < self.args.pages);
        if self.cursor.is_none() {
            self.page = 0;
        }
        true
    }
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
    let mut http = Connection::new(&args.url);
    let expect = args.expect.unwrap_or(match args.scenario {
        Scenario::Event | Scenario::Batch | Scenario::Register => 201,
        _ => 200,
    });
    // Open loop: this client's share of the rate, its first request offset so that clients
    // do not all fire at once.
    let interval =
        (args.rate > 0.0).then(|| Duration::from_secs_f64(args.clients as f64 / args.rate));
    let first_due = Instant::now()
        + interval.map_or(Duration::ZERO, |i| {
            i.mul_f64(client as f64 / args.clients as f64)
        });
    let mut requests = Requests::new(args, client);
    let mut histogram = latency_histogram();
    let (mut ok, mut failed, mut warm) = (0, 0, 0);
    for n in 0..args.max_requests_per_client {
        let request = requests.next(n);
        // When the latency clock starts. Open loop: at the due time if this client is late
        // because its previous request took too long (the wait counts, or a stall would hide
        // the requests it held back); at the actual send if it was idle, since the timer
        // waking it a little late is the load generator's delay, not the service's.
        let due = match interval {
            Some(i) => {
                let due = first_due + i.mul_f64(n as f64);
                if Instant::now() < due {
                    tokio::time::sleep_until(due.into()).await;
                    Instant::now()
                } else {
                    due
                }
            }
            None => Instant::now(),
        };
        if due >= stop_at {
            break;
        }
        let answer = match http.send(request).await {
            Some((status, body)) if status == expect => Some(body),
            _ => None,
        };
        let micros = due.elapsed().as_micros() as u64;
        let accepted = answer.is_some_and(|body| requests.answered(&body));
        match (due < warm_until, accepted) {
            (true, true) => warm += 1,
            (true, false) => {}
            (false, true) => {
                ok += 1;
                let _ = histogram.record(micros.max(1));
            }
            (false, false) => failed += 1,
        }
    }
    ClientResult {
        histogram,
        ok,
        failed,
        warm,
    }
}

/// The proof scenarios' inputs: the ids of --ids-file, a tree size for consistency proofs.
fn read_proof_inputs(args: &mut Args) -> Result<(), String> {
    match args.scenario {
        Scenario::Inclusion | Scenario::Paths => {
            let path = args
                .ids_file
                .as_ref()
                .ok_or("the inclusion and paths scenarios need --ids-file")?;
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            args.ids = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            if args.ids.is_empty() {
                return Err(format!("{} holds no ids", path.display()));
            }
        }
        Scenario::Consistency if args.tree_size == 0 => {
            return Err("the consistency scenario needs --tree-size".to_owned());
        }
        _ => {}
    }
    Ok(())
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
    let mut args = Args::parse();
    if let Err(e) = read_proof_inputs(&mut args) {
        eprintln!("{e}");
        std::process::exit(2);
    }
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
    let per_request = if args.scenario == Scenario::Batch {
        args.batch_size as f64
    } else {
        1.0
    };
    let ms = |q: f64| total.value_at_quantile(q) as f64 / 1000.0;
    let writes = matches!(args.scenario, Scenario::Event | Scenario::Batch);
    println!(
        "{}",
        json!({
            "figure": args.label,
            "clients": args.clients,
            "rate_per_s": (args.rate > 0.0).then_some(args.rate),
            "payload_bytes": writes.then(|| format!("{}-{}", args.payload_min, args.payload_max)),
            "batch_size": (args.scenario == Scenario::Batch).then_some(args.batch_size),
            "tree_size": matches!(args.scenario, Scenario::Inclusion | Scenario::Consistency)
                .then_some(args.tree_size),
            "seconds": measured,
            "ok": ok,
            "warmup_ok": warm,
            "failed": failed,
            "requests_per_s": ok as f64 / measured,
            "throughput_per_s": ok as f64 * per_request / measured,
            "p50_ms": ms(0.50),
            "p95_ms": ms(0.95),
            "p99_ms": ms(0.99),
            "max_ms": total.max() as f64 / 1000.0,
        })
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_event_is_valid_json_with_event_data_of_the_asked_size() {
        for data_bytes in [512, 2000, 4096, 9000] {
            let mut out = Vec::new();
            write_event(&mut out, 3, 42, data_bytes, &now_rfc3339());
            let event: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(event["resource_id"], "fp-3-42");
            assert_eq!(event["correlation_id"], "bench-3-4");
            assert_eq!(event["event_data"]["request"], 42);
            let data_len = serde_json::to_vec(&event["event_data"]).unwrap().len();
            assert!(
                data_len.abs_diff(data_bytes) <= 8,
                "{data_len} for {data_bytes}"
            );
        }
    }

    #[test]
    fn a_proof_answer_counts_only_when_it_is_for_what_was_asked() {
        let id = "0190b3c4-0000-7000-8000-000000000001";
        let inclusion = |event: &str, size: u64, path: &str| {
            format!(
                r#"{{"event_id":"{event}","log_index":7,"tree_size":{size},"leaf_hash":"AA==","audit_path":{path}}}"#
            )
            .into_bytes()
        };
        assert!(proves_inclusion(
            &inclusion(id, 10, r#"["AA=="]"#),
            Some(id),
            10
        ));
        assert!(proves_inclusion(
            &inclusion(id, 10, r#"["AA=="]"#),
            Some(id),
            0
        ));
        assert!(!proves_inclusion(
            &inclusion(id, 9, r#"["AA=="]"#),
            Some(id),
            10
        ));
        assert!(!proves_inclusion(
            &inclusion("other", 10, r#"["AA=="]"#),
            Some(id),
            10
        ));
        assert!(!proves_inclusion(&inclusion(id, 10, "[]"), Some(id), 10));
        assert!(!proves_inclusion(b"not json", Some(id), 10));
        let consistency = |first: u64, path: &str| {
            format!(r#"{{"first":{first},"second":10,"consistency_path":{path}}}"#).into_bytes()
        };
        assert!(proves_consistency(&consistency(3, r#"["AA=="]"#), 3, 10));
        assert!(!proves_consistency(&consistency(4, r#"["AA=="]"#), 3, 10));
        assert!(!proves_consistency(&consistency(3, "[]"), 3, 10));
        assert!(proves_consistency(&consistency(10, "[]"), 10, 10));
    }
}
