//! Export of request spans to an OpenTelemetry collector over OTLP/HTTP with JSON bodies.
//!
//! Hand-written instead of the OpenTelemetry SDK, whose exporters bring gRPC and protobuf
//! code generation for what is one span per request. The HTTP adapter opens and fills the
//! `request` span; [`layer::SpanLayer`] (a `tracing` layer) hands each closed one to a
//! bounded queue; [`export::Exporter`] batches and POSTs them in the background.

mod export;
mod layer;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::{mpsc, oneshot};

use crate::StartupError;
use crate::settings::OtelSettings;

pub(crate) use layer::{SpanLayer, is_request_span};

/// Stops the exporter: what is queued is sent before [`ExportHandle::shutdown`] returns.
pub struct ExportHandle {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl ExportHandle {
    /// Sends the spans still queued, waiting at most `budget`.
    pub async fn shutdown(self, budget: Duration) {
        let _ = self.stop.send(());
        if tokio::time::timeout(budget, self.task).await.is_err() {
            tracing::warn!("shutdown timeout: queued spans were not exported");
        }
    }
}

/// The layer and the running exporter, or `None` when no endpoint is configured. Spawns
/// the exporter on the current Tokio runtime.
///
/// # Errors
/// When a setting is invalid (the error names its variable).
pub(crate) fn start(
    settings: &OtelSettings,
) -> Result<Option<(SpanLayer, ExportHandle)>, StartupError> {
    let Some(url) = traces_url(settings) else {
        return Ok(None);
    };
    for (key, protocol) in [
        (
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            &settings.traces_protocol,
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", &settings.protocol),
    ] {
        if let Some(p) = protocol.as_deref().filter(|p| *p != "http/json") {
            return Err(StartupError::Setting {
                key,
                reason: format!("{p:?} is not supported; only http/json is"),
            });
        }
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(StartupError::Setting {
            key: if settings.traces_endpoint.is_some() {
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
            } else {
                "OTEL_EXPORTER_OTLP_ENDPOINT"
            },
            reason: format!("{url:?} is not an http(s) URL"),
        });
    }
    let headers = match &settings.headers {
        Some(text) => parse_headers(text.expose()).map_err(|reason| StartupError::Setting {
            key: "OTEL_EXPORTER_OTLP_HEADERS",
            reason,
        })?,
        None => HeaderMap::new(),
    };
    let client = crate::tls::http_client(Duration::from_millis(settings.timeout_ms), None)
        .map_err(|e| StartupError::Setting {
            key: "OTEL_EXPORTER_OTLP_ENDPOINT",
            reason: format!("cannot build the HTTP client: {e}"),
        })?;
    let (queue, receiver) = mpsc::channel(settings.max_queue_size as usize);
    let (stop, stopped) = oneshot::channel();
    let exporter = export::Exporter {
        client,
        url,
        headers,
        service_name: settings.service_name.clone(),
        max_batch: settings.max_export_batch_size as usize,
        every: Duration::from_millis(settings.schedule_delay_ms),
    };
    let task = tokio::spawn(exporter.run(receiver, stopped));
    let layer = SpanLayer {
        queue,
        dropped: Arc::new(AtomicU64::new(0)),
    };
    Ok(Some((layer, ExportHandle { stop, task })))
}

/// The traces URL by the OTLP exporter rules: the signal's own variable as is, else the base
/// endpoint with `v1/traces` appended.
fn traces_url(settings: &OtelSettings) -> Option<String> {
    let non_empty = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    if let Some(url) = non_empty(&settings.traces_endpoint) {
        return Some(url);
    }
    let base = non_empty(&settings.endpoint)?;
    Some(if base.ends_with('/') {
        format!("{base}v1/traces")
    } else {
        format!("{base}/v1/traces")
    })
}

/// `key1=value1,key2=value2`, values percent-decoded (the W3C Baggage format the OTLP
/// exporter variables use).
fn parse_headers(text: &str) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("{:?} is not key=value", pair.trim()));
        };
        let name = HeaderName::from_bytes(key.trim().as_bytes())
            .map_err(|_| format!("{:?} is not a header name", key.trim()))?;
        let decoded = percent_decode(value.trim())
            .ok_or_else(|| format!("the value of {name} is not valid percent-encoding"))?;
        let value = HeaderValue::from_str(&decoded)
            .map_err(|_| format!("the value of {name} is not a valid header value"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(endpoint: Option<&str>, traces: Option<&str>) -> OtelSettings {
        let mut s = crate::Settings::defaults().otel;
        s.endpoint = endpoint.map(str::to_owned);
        s.traces_endpoint = traces.map(str::to_owned);
        s
    }

    #[test]
    fn the_base_endpoint_gets_the_traces_path_and_the_traces_endpoint_is_taken_as_is() {
        let url = |e, t| traces_url(&settings(e, t));
        assert_eq!(url(None, None), None);
        assert_eq!(url(Some(""), None), None);
        assert_eq!(
            url(Some("http://c:4318"), None).as_deref(),
            Some("http://c:4318/v1/traces")
        );
        assert_eq!(
            url(Some("http://c:4318/otlp/"), None).as_deref(),
            Some("http://c:4318/otlp/v1/traces")
        );
        assert_eq!(
            url(Some("http://c:4318"), Some("http://t:9/custom")).as_deref(),
            Some("http://t:9/custom")
        );
    }

    #[test]
    fn headers_are_comma_separated_pairs_with_percent_encoded_values() {
        let h = parse_headers("api-key=secret, authorization=Bearer%20abc%3D,").unwrap();
        assert_eq!(h["api-key"], "secret");
        assert_eq!(h["authorization"], "Bearer abc=");
        assert!(parse_headers("no-equals-sign").is_err());
        assert!(parse_headers("bad header=x").is_err());
        assert!(parse_headers("k=%zz").is_err());
    }

    #[tokio::test]
    async fn an_unsupported_protocol_or_url_stops_the_start_naming_its_variable() {
        let mut s = settings(Some("http://c:4318"), None);
        s.protocol = Some("grpc".into());
        let Err(StartupError::Setting { key, .. }) = start(&s) else {
            panic!("grpc refused")
        };
        assert_eq!(key, "OTEL_EXPORTER_OTLP_PROTOCOL");
        let s = settings(Some("c:4318"), None);
        let Err(StartupError::Setting { key, .. }) = start(&s) else {
            panic!("a URL without a scheme refused")
        };
        assert_eq!(key, "OTEL_EXPORTER_OTLP_ENDPOINT");
        let mut s = settings(Some("http://c:4318"), None);
        s.protocol = Some("http/json".into());
        assert!(start(&s).unwrap().is_some());
        assert!(start(&settings(None, None)).unwrap().is_none());
    }
}
