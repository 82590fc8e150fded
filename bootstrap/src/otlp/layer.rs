//! The `tracing` layer that turns each finished request span into a [`FinishedSpan`] for the
//! exporter. It sees only the HTTP adapter's `request` spans (its filter says so) and reads
//! the fields that adapter records; the adapter knows nothing of OTLP.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// A request span, ready to encode.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FinishedSpan {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub request_id: Option<String>,
    pub method: String,
    pub route: Option<String>,
    pub status: Option<u64>,
    pub start: SystemTime,
    pub end: SystemTime,
}

/// Whether `metadata` is the HTTP adapter's request span.
pub(crate) fn is_request_span(metadata: &Metadata<'_>) -> bool {
    metadata.is_span()
        && metadata.target() == datastorage_http::trace::SPAN_TARGET
        && metadata.name() == datastorage_http::trace::SPAN_NAME
}

/// Queues each closed, sampled request span; drops it (counted) when the queue is full
/// rather than ever slowing a request down.
pub(crate) struct SpanLayer {
    pub queue: mpsc::Sender<FinishedSpan>,
    pub dropped: Arc<AtomicU64>,
}

/// What the layer keeps in the span's extensions while it is open.
struct Recording {
    fields: Fields,
    start: SystemTime,
    /// The last time the request's future left the span: its end, even when a task it
    /// spawned keeps the span itself open a while longer.
    last_exit: Option<SystemTime>,
}

#[derive(Debug, Default)]
struct Fields {
    trace_id: Option<String>,
    span_id: Option<String>,
    parent_span_id: Option<String>,
    request_id: Option<String>,
    method: Option<String>,
    route: Option<String>,
    status: Option<u64>,
    not_sampled: bool,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let slot = match field.name() {
            "trace_id" => &mut self.trace_id,
            "span_id" => &mut self.span_id,
            "parent_span_id" => &mut self.parent_span_id,
            "request_id" => &mut self.request_id,
            "http.request.method" => &mut self.method,
            "http.route" => &mut self.route,
            _ => return,
        };
        *slot = Some(value.to_owned());
    }

    /// `%value` fields arrive here, formatted by their `Display`.
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "http.response.status_code" {
            self.status = Some(value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if let Ok(value) = u64::try_from(value) {
            self.record_u64(field, value);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "sampled" {
            self.not_sampled = !value;
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for SpanLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(Recording {
            fields,
            start: SystemTime::now(),
            last_exit: None,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(recording) = span.extensions_mut().get_mut::<Recording>() {
            values.record(&mut recording.fields);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(recording) = span.extensions_mut().get_mut::<Recording>() {
            recording.last_exit = Some(SystemTime::now());
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(recording) = span.extensions_mut().remove::<Recording>() else {
            return;
        };
        let Some(finished) = recording.finish() else {
            return;
        };
        if self.queue.try_send(finished).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("datastorage_otlp_spans_dropped_total").increment(1);
        }
    }
}

impl Recording {
    /// `None` for a span the caller asked not to record (its `sampled` flag unset) or one
    /// that lacks its ids.
    fn finish(self) -> Option<FinishedSpan> {
        let f = self.fields;
        if f.not_sampled {
            return None;
        }
        Some(FinishedSpan {
            trace_id: f.trace_id?,
            span_id: f.span_id?,
            parent_span_id: f.parent_span_id,
            request_id: f.request_id,
            method: f.method.unwrap_or_else(|| "_OTHER".to_owned()),
            route: f.route,
            status: f.status,
            start: self.start,
            end: self.last_exit.unwrap_or_else(SystemTime::now),
        })
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::{Layer, filter};

    use super::*;

    fn capture(queue: usize, body: impl FnOnce()) -> (Vec<FinishedSpan>, u64) {
        let (tx, mut rx) = mpsc::channel(queue);
        let dropped = Arc::new(AtomicU64::new(0));
        let layer = SpanLayer {
            queue: tx,
            dropped: dropped.clone(),
        }
        .with_filter(filter::filter_fn(is_request_span));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, body);
        let mut spans = Vec::new();
        while let Ok(s) = rx.try_recv() {
            spans.push(s);
        }
        (spans, dropped.load(Ordering::Relaxed))
    }

    fn request_span(parent: Option<&str>, sampled: Option<bool>) -> tracing::Span {
        let span = tracing::info_span!(
            target: datastorage_http::trace::SPAN_TARGET,
            "request",
            request_id = "r-1",
            trace_id = %"4bf92f3577b34da6a3ce929d0e0e4736",
            span_id = %"00f067aa0ba902b7",
            parent_span_id = tracing::field::Empty,
            sampled = tracing::field::Empty,
            "http.request.method" = %"POST",
            "http.route" = tracing::field::Empty,
            "http.response.status_code" = tracing::field::Empty,
        );
        if let Some(p) = parent {
            span.record("parent_span_id", p);
        }
        if let Some(s) = sampled {
            span.record("sampled", s);
        }
        span
    }

    #[test]
    fn a_closed_request_span_carries_every_recorded_field() {
        let (spans, dropped) = capture(4, || {
            let span = request_span(Some("b7ad6b7169203331"), None);
            span.in_scope(|| {
                tracing::Span::current().record("http.route", "/api/v1/audit/events");
            });
            span.record("http.response.status_code", 503u16);
        });
        assert_eq!(dropped, 0);
        let [s] = spans.as_slice() else {
            panic!("one span: {spans:?}")
        };
        assert_eq!(s.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(s.span_id, "00f067aa0ba902b7");
        assert_eq!(s.parent_span_id.as_deref(), Some("b7ad6b7169203331"));
        assert_eq!(s.request_id.as_deref(), Some("r-1"));
        assert_eq!(s.method, "POST");
        assert_eq!(s.route.as_deref(), Some("/api/v1/audit/events"));
        assert_eq!(s.status, Some(503));
        assert!(s.start <= s.end);
    }

    #[test]
    fn a_span_the_caller_did_not_sample_is_not_exported() {
        let (spans, _) = capture(4, || {
            drop(request_span(Some("b7ad6b7169203331"), Some(false)))
        });
        assert_eq!(spans, vec![]);
    }

    #[test]
    fn other_spans_are_not_exported() {
        let (spans, _) = capture(4, || {
            drop(tracing::info_span!(
                "request",
                trace_id = "x",
                span_id = "y"
            ));
            drop(tracing::info_span!(target: datastorage_http::trace::SPAN_TARGET, "other"));
        });
        assert_eq!(spans, vec![]);
    }

    #[test]
    fn spans_beyond_a_full_queue_are_dropped_and_counted() {
        let (spans, dropped) = capture(2, || {
            for _ in 0..5 {
                drop(request_span(None, None));
            }
        });
        assert_eq!(spans.len(), 2);
        assert_eq!(dropped, 3);
    }
}
