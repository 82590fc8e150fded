//! One span per request, the outermost layer: every log line emitted while the request is
//! handled (the 5xx cause chain of [`crate::problem`] included) carries its ids.
//!
//! The span is named `request` (target [`SPAN_TARGET`]) and records, for the log and for
//! whatever exports traces (the composition root's concern, not this adapter's):
//! `request_id`, `trace_id`, `span_id`, `parent_span_id` (only when the caller sent a valid
//! `traceparent`), `sampled` (only when the caller said `false`), `http.request.method`,
//! `http.route` (once routed) and `http.response.status_code` (at the end).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use tracing::field::Empty;

use crate::trace_context::{SAMPLED, SpanId, TraceId, TraceParent, format_traceparent};

/// The target of the request span, for a subscriber that picks it out.
pub const SPAN_TARGET: &str = module_path!();
/// The name of the request span.
pub const SPAN_NAME: &str = "request";

pub(crate) const REQUEST_ID: &str = "x-request-id";
const TRACEPARENT: &str = "traceparent";

/// Opens the request's span and runs the request inside it. The request id is the caller's
/// `x-request-id` (up to 128 characters) or a new UUIDv7; the trace is the caller's valid
/// `traceparent`'s or a new one; the span id is always new. Both go back in the response.
pub async fn trace_request(mut request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        request.headers_mut().insert(REQUEST_ID, value);
    }
    let incoming = incoming_traceparent(request.headers());
    let trace_id = incoming.map_or_else(new_trace_id, |p| p.trace_id);
    let span_id = new_span_id();
    // A trace that starts here is recorded; a caller's decision is kept as it was sent.
    let flags = incoming.map_or(SAMPLED, |p| p.flags);
    let span = tracing::info_span!(
        target: SPAN_TARGET,
        "request",
        request_id = %request_id,
        trace_id = %trace_id,
        span_id = %span_id,
        parent_span_id = Empty,
        sampled = Empty,
        "http.request.method" = %request.method(),
        "http.route" = Empty,
        "http.response.status_code" = Empty,
    );
    if let Some(parent) = incoming {
        span.record("parent_span_id", tracing::field::display(parent.parent_id));
        if !parent.sampled() {
            span.record("sampled", false);
        }
    }
    let mut response = next.run(request).instrument(span.clone()).await;
    span.record("http.response.status_code", response.status().as_u16());
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format_traceparent(trace_id, span_id, flags)) {
        headers.insert(TRACEPARENT, value);
    }
    response
}

/// Records the matched route template on the current request span (called once routed).
pub(crate) fn record_route(route: &str) {
    tracing::Span::current().record("http.route", route);
}

/// The caller's trace, when it sent exactly one valid `traceparent` (two are ambiguous, and
/// the specification's test suite expects a new trace for them).
fn incoming_traceparent(headers: &HeaderMap) -> Option<TraceParent> {
    let mut values = headers.get_all(TRACEPARENT).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    // Surrounding optional whitespace belongs to HTTP, not to the value.
    TraceParent::parse(value.to_str().ok()?.trim_matches([' ', '\t']))
}

fn new_trace_id() -> TraceId {
    loop {
        let mut bytes = [0u8; 16];
        fill_random(&mut bytes);
        if let Some(id) = TraceId::new(u128::from_be_bytes(bytes)) {
            return id;
        }
    }
}

fn new_span_id() -> SpanId {
    loop {
        let mut bytes = [0u8; 8];
        fill_random(&mut bytes);
        if let Some(id) = SpanId::new(u64::from_be_bytes(bytes)) {
            return id;
        }
    }
}

/// Random bytes from the OS; should it ever fail, a UUIDv7's time and random bits still give
/// ids that do not repeat, which is all a trace id needs.
fn fill_random(bytes: &mut [u8]) {
    if getrandom::fill(bytes).is_err() {
        let fallback = uuid::Uuid::now_v7().as_u128().to_le_bytes();
        for (b, f) in bytes.iter_mut().zip(fallback) {
            *b = f;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(TRACEPARENT, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn one_valid_traceparent_is_taken_with_its_surrounding_whitespace_ignored() {
        assert!(incoming_traceparent(&headers(&[SPEC])).is_some());
        assert!(incoming_traceparent(&headers(&[&format!(" {SPEC}\t")])).is_some());
    }

    #[test]
    fn two_traceparents_or_none_start_a_new_trace() {
        assert_eq!(incoming_traceparent(&headers(&[SPEC, SPEC])), None);
        assert_eq!(incoming_traceparent(&headers(&[])), None);
    }

    #[test]
    fn new_ids_differ_from_each_other() {
        assert_ne!(new_trace_id(), new_trace_id());
        assert_ne!(new_span_id(), new_span_id());
    }
}
