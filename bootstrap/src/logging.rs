//! The process's log subscriber: lines to stdout (text or JSON), each carrying the fields of
//! the request span it was emitted in, and the OTLP export of those spans when configured.

use std::io::IsTerminal;

use tracing_subscriber::filter::{self, EnvFilter, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

use crate::otlp::{ExportHandle, is_request_span};
use crate::{LogFormat, Settings, StartupError};

/// Installs the global subscriber (once per process; must run inside the Tokio runtime when
/// spans are exported). `DS_LOG` filters the lines, never the request span itself: a line
/// that passes the filter always carries its request's ids.
///
/// # Errors
/// When an OTLP setting is invalid.
pub fn init(settings: &Settings) -> Result<Option<ExportHandle>, StartupError> {
    let lines = || {
        EnvFilter::try_from_env("DS_LOG")
            .unwrap_or_else(|_| EnvFilter::new("info"))
            .or(filter::filter_fn(is_request_span))
    };
    let (export_layer, handle) = match crate::otlp::start(&settings.otel)? {
        Some((layer, handle)) => (
            Some(layer.with_filter(filter::filter_fn(is_request_span))),
            Some(handle),
        ),
        None => (None, None),
    };
    let registry = tracing_subscriber::registry().with(export_layer);
    let installed = match settings.log.format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(true)
                    .with_filter(lines()),
            )
            .try_init(),
        // Colours only for a person at a terminal, not for a log shipper reading a pipe.
        LogFormat::Pretty => registry
            .with(
                fmt::layer()
                    .with_ansi(std::io::stdout().is_terminal())
                    .with_filter(lines()),
            )
            .try_init(),
    };
    if installed.is_err() {
        eprintln!("a log subscriber was already installed; keeping it");
    }
    Ok(handle)
}
