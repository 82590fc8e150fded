//! Request tracing, against the real binary: its log lines (JSON and text) as a log shipper
//! reads them from stdout, the `traceparent` it answers with, and the OTLP/HTTP JSON spans
//! it sends to a collector (a small HTTP server in the test).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use datastorage_tests::support::*;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const EVENTS: &str = "/api/v1/audit/events";
/// The specification's example trace.
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
/// Bounds every wait on the service (a hang fails the test instead of stalling it).
const PATIENCE: Duration = Duration::from_secs(60);

/// The binary, running with only the environment given, its stdout read line by line.
struct Service {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    base_url: String,
    client: reqwest::Client,
}

impl Service {
    async fn start(env: &[(&str, String)]) -> Self {
        let mut child = Command::new(datastorage_binary())
            .env_clear()
            .env("DS_HTTP__ADDR", "127.0.0.1:0")
            .env("DS_EMBEDDER__KIND", "none")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let mut service = Self {
            child,
            lines,
            base_url: String::new(),
            client: reqwest::Client::new(),
        };
        let listening = service.lines_until(|l| l.contains("listening")).await;
        let line = listening.last().unwrap();
        let addr = match serde_json::from_str::<Value>(line) {
            Ok(v) => v["fields"]["addr"].as_str().unwrap().to_owned(),
            Err(_) => line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("addr="))
                .unwrap()
                .to_owned(),
        };
        service.base_url = format!("http://{addr}");
        service
    }

    /// Every line up to and including the first that `last` accepts.
    async fn lines_until(&mut self, last: impl Fn(&str) -> bool) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = tokio::time::timeout(PATIENCE, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("no such line yet; saw: {seen:#?}"))
                .unwrap_or_else(|| panic!("the service exited; its lines: {seen:#?}"));
            let done = last(&line);
            seen.push(line);
            if done {
                return seen;
            }
        }
    }

    /// A GET whose own log line marks a point in the log.
    async fn mark(&mut self, marker: &str) -> Vec<String> {
        let response = self
            .client
            .get(format!("{}/health/live", self.base_url))
            .header("x-request-id", marker)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        self.lines_until(|l| l.contains(marker)).await
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Moves the audit table out of the service's sight: its writes fail in PostgreSQL (a 5xx
/// with a cause chain) while its connections stay healthy, so that the pool logs nothing of
/// its own in the window.
async fn hide_the_audit_table(database_url: &str) {
    let db = sqlx::PgPool::connect(database_url).await.unwrap();
    sqlx::query("ALTER TABLE audit_events RENAME TO audit_events_hidden")
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
}

/// Runs a service on PostgreSQL with the given log format, breaks its storage, and sends
/// one write with the specification's `traceparent`, between two marker requests.
/// Returns every log line written between the markers (the write's lines: nothing else in
/// the service is at work then) and the write's response `traceparent`.
async fn lines_of_a_failing_write(format: &str) -> (Vec<String>, String) {
    let database_url = fresh_database_url().await;
    let mut service = Service::start(&[
        ("DATABASE_URL", database_url.clone()),
        ("DS_LOG__FORMAT", format.to_owned()),
        // Background work that would read the database is off; the one partition upkeep
        // pass at start is left out of the window below by its target.
        ("DS_AUDIT_LOG__ENABLED", "false".into()),
        ("DS_AUDIT__RETENTION", "false".into()),
        ("DS_RETRY__ATTEMPTS", "1".into()),
        ("DS_DATABASE__ACQUIRE_TIMEOUT_SECS", "2".into()),
    ])
    .await;
    hide_the_audit_table(&database_url).await;
    let id = uuid::Uuid::now_v7();
    service.mark(&format!("before-{id}")).await;
    let response = service
        .client
        .post(format!("{}{EVENTS}", service.base_url))
        .header("traceparent", format!("00-{TRACE}-{PARENT}-01"))
        .header("x-request-id", format!("write-{id}"))
        .json(&event_body("tracing"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_server_error(), "{}", response.status());
    let traceparent = response.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut window = service.mark(&format!("after-{id}")).await;
    window.pop();
    window.retain(|l| !l.contains("datastorage_postgres::partitions"));
    assert!(
        window.iter().any(|l| l.contains(&format!("write-{id}"))),
        "the write's own lines are in the window: {window:#?}"
    );
    (window, traceparent)
}

/// The span id of `00-<trace>-<span>-<flags>`.
fn span_id_of(traceparent: &str) -> &str {
    traceparent.split('-').nth(2).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_json_log_line_of_a_failing_request_carries_its_trace_and_span_ids() {
    let (window, traceparent) = lines_of_a_failing_write("json").await;
    assert!(
        traceparent.starts_with(&format!("00-{TRACE}-")),
        "{traceparent}"
    );
    let span_id = span_id_of(&traceparent);
    assert_ne!(span_id, PARENT, "the request has a span of its own");
    let lines: Vec<Value> = window
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for line in &lines {
        let span = &line["span"];
        assert_eq!(span["name"], "request", "{line}");
        assert_eq!(span["trace_id"], TRACE, "{line}");
        assert_eq!(span["span_id"], span_id, "{line}");
        assert_eq!(span["parent_span_id"], PARENT, "{line}");
        assert!(span["request_id"].as_str().unwrap().starts_with("write-"));
    }
    let failed = lines
        .iter()
        .find(|l| l["fields"]["message"] == "request failed")
        .unwrap_or_else(|| panic!("the 5xx is logged: {window:#?}"));
    assert_eq!(failed["level"], "ERROR");
    assert!(
        failed["fields"]["status"].as_u64().unwrap() >= 500,
        "{failed}"
    );
    assert!(
        !failed["fields"]["cause"].as_str().unwrap().is_empty(),
        "with its cause chain: {failed}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "request" && l["fields"]["route"] == EVENTS),
        "and the request line: {window:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_text_log_line_of_a_failing_request_carries_its_trace_and_span_ids() {
    let (window, traceparent) = lines_of_a_failing_write("pretty").await;
    let span_id = span_id_of(&traceparent);
    for line in &window {
        assert!(line.contains(&format!("trace_id={TRACE}")), "{line}");
        assert!(line.contains(&format!("span_id={span_id}")), "{line}");
        assert!(
            !line.contains('\u{1b}'),
            "no colour codes in a pipe: {line}"
        );
    }
    assert!(
        window
            .iter()
            .any(|l| l.contains("ERROR") && l.contains("request failed") && l.contains("cause=")),
        "the 5xx with its cause: {window:#?}"
    );
}

/// Parses `00-<32 hex>-<16 hex>-<2 hex>` as a valid version-00 value: (trace, span, flags).
fn valid_traceparent(response: &reqwest::Response) -> (String, String, String) {
    let value = response.headers()["traceparent"].to_str().unwrap();
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    };
    assert!(
        parts.len() == 4
            && parts[0] == "00"
            && hex(parts[1], 32)
            && hex(parts[2], 16)
            && hex(parts[3], 2),
        "{value}"
    );
    assert_ne!(parts[1], "0".repeat(32));
    assert_ne!(parts[2], "0".repeat(16));
    (parts[1].into(), parts[2].into(), parts[3].into())
}

#[tokio::test]
async fn a_request_without_or_with_an_invalid_traceparent_gets_a_new_valid_trace() {
    let app = spawn_app(Storage::Memory).await;
    let send = |traceparent: Option<String>| {
        let mut request = app.client.get(app.url("/health/live"));
        if let Some(t) = traceparent {
            request = request.header("traceparent", t);
        }
        async move { request.send().await.unwrap() }
    };
    let (first, _, flags) = valid_traceparent(&send(None).await);
    assert_eq!(flags, "01", "a trace started here is recorded");
    let (second, _, _) = valid_traceparent(&send(None).await);
    assert_ne!(
        first, second,
        "each request without one starts its own trace"
    );

    let upper = format!("00-{}-{PARENT}-01", TRACE.to_uppercase());
    let zero = format!("00-{}-{PARENT}-01", "0".repeat(32));
    let ff = format!("ff-{TRACE}-{PARENT}-01");
    let trailing = format!("00-{TRACE}-{PARENT}-01-extra");
    for invalid in [upper, zero, ff, trailing] {
        let (trace, _, _) = valid_traceparent(&send(Some(invalid.clone())).await);
        assert_ne!(trace, TRACE, "{invalid} is replaced");
    }

    let response = send(Some(format!("00-{TRACE}-{PARENT}-00"))).await;
    let (trace, span, flags) = valid_traceparent(&response);
    assert_eq!(trace, TRACE, "a valid trace is continued");
    assert_ne!(span, PARENT, "under a span of this request");
    assert_eq!(flags, "00", "the caller's recording decision is kept");
    let future = format!("cc-{TRACE}-{PARENT}-01-what-the-future-will-be-like");
    let (trace, _, _) = valid_traceparent(&send(Some(future)).await);
    assert_eq!(trace, TRACE, "a future version's fields are used");
}

#[tokio::test]
async fn the_request_id_stays_as_sent_and_unrouted_requests_are_traced_too() {
    let app = spawn_app(Storage::Memory).await;
    let response = app
        .client
        .get(app.url("/no/such/path"))
        .header("x-request-id", "my-id-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-request-id"], "my-id-1");
    valid_traceparent(&response);
}

/// An OTLP/HTTP collector: each POST's path, headers and JSON body, in a bounded channel.
async fn collector() -> (String, mpsc::Receiver<(String, HeaderMap, Value)>) {
    let (sender, received) = mpsc::channel(64);
    async fn take(
        State(sender): State<mpsc::Sender<(String, HeaderMap, Value)>>,
        uri: axum::http::Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> &'static str {
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let _ = sender.send((uri.path().to_owned(), headers, body)).await;
        "{}"
    }
    let app = axum::Router::new()
        .fallback(axum::routing::post(take))
        .with_state(sender);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

/// Waits for the export holding the span of trace `trace`; returns the export and the span.
async fn exported_span(
    received: &mut mpsc::Receiver<(String, HeaderMap, Value)>,
    trace: &str,
) -> ((String, HeaderMap, Value), Value) {
    loop {
        let export = tokio::time::timeout(PATIENCE, received.recv())
            .await
            .expect("an export arrives")
            .unwrap();
        let spans = export.2["resourceSpans"][0]["scopeSpans"][0]["spans"].clone();
        if let Some(span) = spans
            .as_array()
            .and_then(|s| s.iter().find(|s| s["traceId"] == trace).cloned())
        {
            return (export, span);
        }
    }
}

fn attribute<'a>(span: &'a Value, key: &str) -> &'a Value {
    span["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .map_or(&Value::Null, |a| &a["value"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_span_is_exported_to_the_otlp_endpoint_with_the_callers_trace() {
    let (endpoint, mut received) = collector().await;
    let service = Service::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_SERVICE_NAME", "ds-under-test".into()),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s%20cret".into()),
    ])
    .await;
    let response = service
        .client
        .post(format!("{}{EVENTS}", service.base_url))
        .header("traceparent", format!("00-{TRACE}-{PARENT}-01"))
        .header("x-request-id", "otlp-1")
        .json(&event_body("otlp"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let (_, span_id, _) = valid_traceparent(&response);

    let ((path, headers, body), span) = exported_span(&mut received, TRACE).await;
    assert_eq!(path, "/v1/traces");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-api-key"], "s cret");
    assert_eq!(
        body["resourceSpans"][0]["resource"]["attributes"][0],
        json!({"key": "service.name", "value": {"stringValue": "ds-under-test"}})
    );
    assert_eq!(span["spanId"], span_id.as_str());
    assert_eq!(span["parentSpanId"], PARENT);
    assert_eq!(span["name"], "POST /api/v1/audit/events");
    assert_eq!(span["kind"], 2);
    assert_eq!(
        attribute(&span, "http.request.method"),
        &json!({"stringValue": "POST"})
    );
    assert_eq!(
        attribute(&span, "http.route"),
        &json!({"stringValue": EVENTS})
    );
    assert_eq!(
        attribute(&span, "http.response.status_code"),
        &json!({"intValue": "201"})
    );
    assert_eq!(
        attribute(&span, "http.request.header.x-request-id"),
        &json!({"arrayValue": {"values": [{"stringValue": "otlp-1"}]}})
    );
    let start: u128 = span["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
    let end: u128 = span["endTimeUnixNano"].as_str().unwrap().parse().unwrap();
    assert!(start > 0 && start <= end, "{span}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_still_queued_at_shutdown_are_exported_before_the_process_exits() {
    let (endpoint, mut received) = collector().await;
    let mut service = Service::start(&[
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{endpoint}/custom/path"),
        ),
        // No export would happen for an hour but for the one at shutdown.
        ("OTEL_BSP_SCHEDULE_DELAY", "3600000".into()),
        ("DS_SHUTDOWN__READINESS_DELAY_MS", "0".into()),
    ])
    .await;
    let trace = uuid::Uuid::now_v7().simple().to_string();
    let response = service
        .client
        .get(format!("{}/health/live", service.base_url))
        .header("traceparent", format!("00-{trace}-{PARENT}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    service.terminate();
    let ((path, _, _), span) = exported_span(&mut received, &trace).await;
    assert_eq!(path, "/custom/path");
    assert_eq!(span["name"], "GET /health/live");
    service.lines_until(|l| l.contains("stopped")).await;
}
