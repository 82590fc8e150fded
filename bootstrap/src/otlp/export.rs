//! Batches finished spans and POSTs them as OTLP/HTTP JSON (`ExportTraceServiceRequest`).
//!
//! The JSON follows OTLP's protobuf-JSON mapping: lowerCamelCase keys, trace and span ids
//! as lowercase hex (not base64), 64-bit integers as decimal strings, enums as integers.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::layer::FinishedSpan;

/// Where and how the batches go.
pub(crate) struct Exporter {
    pub client: reqwest::Client,
    pub url: String,
    pub headers: reqwest::header::HeaderMap,
    pub service_name: String,
    pub max_batch: usize,
    pub every: Duration,
}

/// `SPAN_KIND_SERVER`: the span of a request this service received.
const KIND_SERVER: u8 = 2;
/// `STATUS_CODE_ERROR`; a server span's status is left unset unless the response is a 5xx.
const STATUS_ERROR: u8 = 2;

impl Exporter {
    /// Sends a batch when it is full, and whatever is gathered every period; on `stop`, takes
    /// what is queued, sends it, and returns.
    pub(crate) async fn run(
        self,
        mut queue: mpsc::Receiver<FinishedSpan>,
        mut stop: oneshot::Receiver<()>,
    ) {
        let mut batch = Vec::with_capacity(self.max_batch);
        let mut ticks = tokio::time::interval(self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                span = queue.recv() => match span {
                    Some(span) => {
                        batch.push(span);
                        if batch.len() >= self.max_batch {
                            self.send(std::mem::take(&mut batch)).await;
                        }
                    }
                    None => break,
                },
                _ = ticks.tick() => {
                    if !batch.is_empty() {
                        self.send(std::mem::take(&mut batch)).await;
                    }
                }
                _ = &mut stop => {
                    while let Ok(span) = queue.try_recv() {
                        batch.push(span);
                        if batch.len() >= self.max_batch {
                            self.send(std::mem::take(&mut batch)).await;
                        }
                    }
                    break;
                }
            }
        }
        if !batch.is_empty() {
            self.send(batch).await;
        }
    }

    /// One POST; a failure is logged and counted, and the batch is let go (telemetry must
    /// not pile up in the service while the collector is away).
    async fn send(&self, batch: Vec<FinishedSpan>) {
        let count = batch.len() as u64;
        let body = encode(&self.service_name, &batch);
        let sent = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        match sent {
            Ok(_) => metrics::counter!("datastorage_otlp_spans_exported_total").increment(count),
            Err(e) => {
                metrics::counter!("datastorage_otlp_export_failures_total").increment(1);
                tracing::warn!(error = %e, spans = count, url = %self.url, "OTLP export failed; spans dropped");
            }
        }
    }
}

/// The request body for `batch`: one resource (this service), one scope, the spans.
pub(crate) fn encode(service_name: &str, batch: &[FinishedSpan]) -> Value {
    json!({
        "resourceSpans": [{
            "resource": { "attributes": [string_attribute("service.name", service_name)] },
            "scopeSpans": [{
                "scope": { "name": "datastorage", "version": env!("CARGO_PKG_VERSION") },
                "spans": batch.iter().map(encode_span).collect::<Vec<_>>(),
            }],
        }],
    })
}

fn encode_span(s: &FinishedSpan) -> Value {
    // The HTTP semantic conventions name a server span `{method} {route}`, or `{method}` alone
    // when no route matched.
    let name = match &s.route {
        Some(route) => format!("{} {route}", s.method),
        None => s.method.clone(),
    };
    let mut attributes = vec![string_attribute("http.request.method", &s.method)];
    if let Some(route) = &s.route {
        attributes.push(string_attribute("http.route", route));
    }
    if let Some(status) = s.status {
        attributes.push(json!({
            "key": "http.response.status_code",
            "value": { "intValue": status.to_string() },
        }));
    }
    if let Some(id) = &s.request_id {
        attributes.push(json!({
            "key": "http.request.header.x-request-id",
            "value": { "arrayValue": { "values": [{ "stringValue": id }] } },
        }));
    }
    let mut span = json!({
        "traceId": s.trace_id,
        "spanId": s.span_id,
        "name": name,
        "kind": KIND_SERVER,
        "startTimeUnixNano": unix_nanos(s.start),
        "endTimeUnixNano": unix_nanos(s.end),
        "attributes": attributes,
        "status": if s.status.is_some_and(|c| c >= 500) {
            json!({ "code": STATUS_ERROR })
        } else {
            json!({})
        },
    });
    if let Some(parent) = &s.parent_span_id {
        span["parentSpanId"] = json!(parent);
    }
    span
}

fn string_attribute(key: &str, value: &str) -> Value {
    json!({ "key": key, "value": { "stringValue": value } })
}

/// A `fixed64` of OTLP: a decimal string in JSON.
fn unix_nanos(t: SystemTime) -> String {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(status: Option<u64>, route: Option<&str>, parent: Option<&str>) -> FinishedSpan {
        FinishedSpan {
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: "00f067aa0ba902b7".into(),
            parent_span_id: parent.map(str::to_owned),
            request_id: Some("r-1".into()),
            method: "POST".into(),
            route: route.map(str::to_owned),
            status,
            start: SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_001),
            end: SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_500_000_002),
        }
    }

    #[test]
    fn a_failed_request_encodes_as_an_errored_server_span() {
        let body = encode(
            "svc",
            &[span(
                Some(503),
                Some("/api/v1/audit/events"),
                Some("b7ad6b7169203331"),
            )],
        );
        let rs = &body["resourceSpans"][0];
        assert_eq!(
            rs["resource"]["attributes"][0],
            json!({"key": "service.name", "value": {"stringValue": "svc"}})
        );
        assert_eq!(rs["scopeSpans"][0]["scope"]["name"], "datastorage");
        let s = &rs["scopeSpans"][0]["spans"][0];
        assert_eq!(s["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(s["spanId"], "00f067aa0ba902b7");
        assert_eq!(s["parentSpanId"], "b7ad6b7169203331");
        assert_eq!(s["name"], "POST /api/v1/audit/events");
        assert_eq!(s["kind"], 2);
        assert_eq!(s["startTimeUnixNano"], "1700000000000000001");
        assert_eq!(s["endTimeUnixNano"], "1700000000500000002");
        assert_eq!(s["status"], json!({"code": 2}));
        assert_eq!(
            s["attributes"],
            json!([
                {"key": "http.request.method", "value": {"stringValue": "POST"}},
                {"key": "http.route", "value": {"stringValue": "/api/v1/audit/events"}},
                {"key": "http.response.status_code", "value": {"intValue": "503"}},
                {"key": "http.request.header.x-request-id",
                 "value": {"arrayValue": {"values": [{"stringValue": "r-1"}]}}},
            ])
        );
    }

    #[test]
    fn a_root_span_has_no_parent_and_a_success_leaves_the_status_unset() {
        let body = encode("svc", &[span(Some(201), None, None)]);
        let s = &body["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert!(s.get("parentSpanId").is_none(), "{s}");
        assert_eq!(s["name"], "POST");
        assert_eq!(s["status"], json!({}));
    }
}
