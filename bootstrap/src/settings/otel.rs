//! Settings of the OTLP trace export, under the names every OpenTelemetry SDK reads.

use clap::Args;

use crate::secret::SecretText;

#[derive(Debug, Clone, Args)]
pub struct OtelSettings {
    /// Base URL of an OTLP/HTTP receiver (a collector); request spans are sent to
    /// `<it>/v1/traces`. Absent (and no traces endpoint): nothing is exported.
    #[arg(
        id = "otel_endpoint",
        value_name = "OTEL_EXPORTER_OTLP_ENDPOINT",
        long = "otel-exporter-otlp-endpoint",
        env = "OTEL_EXPORTER_OTLP_ENDPOINT"
    )]
    pub endpoint: Option<String>,

    /// Full URL spans are sent to, used as is; wins over OTEL_EXPORTER_OTLP_ENDPOINT.
    #[arg(
        id = "otel_traces_endpoint",
        value_name = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        long = "otel-exporter-otlp-traces-endpoint",
        env = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )]
    pub traces_endpoint: Option<String>,

    /// Extra request headers, `key=value` pairs separated by commas, values URL-encoded
    /// (`authorization=Bearer%20abc`). May hold credentials: never printed.
    #[arg(
        id = "otel_headers",
        value_name = "OTEL_EXPORTER_OTLP_HEADERS",
        long = "otel-exporter-otlp-headers",
        env = "OTEL_EXPORTER_OTLP_HEADERS",
        hide_env_values = true
    )]
    pub headers: Option<SecretText>,

    /// Must be `http/json` when set: the only OTLP encoding this service sends.
    #[arg(
        id = "otel_protocol",
        value_name = "OTEL_EXPORTER_OTLP_PROTOCOL",
        long = "otel-exporter-otlp-protocol",
        env = "OTEL_EXPORTER_OTLP_PROTOCOL"
    )]
    pub protocol: Option<String>,

    /// As OTEL_EXPORTER_OTLP_PROTOCOL, for traces only (wins over it).
    #[arg(
        id = "otel_traces_protocol",
        value_name = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        long = "otel-exporter-otlp-traces-protocol",
        env = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    )]
    pub traces_protocol: Option<String>,

    /// Milliseconds one export request may take.
    #[arg(
        id = "otel_timeout",
        value_name = "OTEL_EXPORTER_OTLP_TIMEOUT",
        long = "otel-exporter-otlp-timeout",
        env = "OTEL_EXPORTER_OTLP_TIMEOUT",
        default_value_t = 10_000
    )]
    pub timeout_ms: u64,

    /// `service.name` of the exported spans.
    #[arg(
        id = "otel_service_name",
        value_name = "OTEL_SERVICE_NAME",
        long = "otel-service-name",
        env = "OTEL_SERVICE_NAME",
        default_value = "datastorage"
    )]
    pub service_name: String,

    /// Milliseconds between exports of the spans gathered so far (the SDKs' default is 5000;
    /// ours is shorter so a trace shows up while someone is looking for it).
    #[arg(
        id = "otel_bsp_schedule_delay",
        value_name = "OTEL_BSP_SCHEDULE_DELAY",
        long = "otel-bsp-schedule-delay",
        env = "OTEL_BSP_SCHEDULE_DELAY",
        default_value_t = 1_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub schedule_delay_ms: u64,

    /// Finished spans waiting for export; beyond it spans are dropped (and counted).
    #[arg(
        id = "otel_bsp_max_queue_size",
        value_name = "OTEL_BSP_MAX_QUEUE_SIZE",
        long = "otel-bsp-max-queue-size",
        env = "OTEL_BSP_MAX_QUEUE_SIZE",
        default_value_t = 2048,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_queue_size: u32,

    /// Most spans per export request; a full batch is sent at once.
    #[arg(
        id = "otel_bsp_max_export_batch_size",
        value_name = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        long = "otel-bsp-max-export-batch-size",
        env = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        default_value_t = 512,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_export_batch_size: u32,
}
