//! Inbound HTTP adapter: axum routes, wire DTOs, RFC 7807 problems and the OpenAPI document.
//!
//! Owns the wire: paths, status codes, JSON shapes (utoipa `ToSchema` DTOs, never domain
//! types) and how every error looks to a client ([`problem`]). Calls the application's
//! use-cases; knows no storage technology.

pub mod audit;
pub mod auth;
pub mod body_timeout;
pub mod dlq;
pub mod effectiveness;
mod extract;
pub mod health;
pub mod incidents;
pub mod limits;
pub mod metrics;
mod openapi;
pub mod problem;
pub mod ratelimit;
pub mod remediation_history;
pub mod serve;
pub mod trace;
pub mod trace_context;
pub mod workflows;

pub use openapi::{ApiDoc, openapi_json};

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use datastorage_application::AuditService;
use datastorage_application::catalog::CatalogService;
use datastorage_application::governance::GovernanceService;
use datastorage_application::log::AuditLogService;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// What every handler can reach. Cloned for every request (axum's `State`), so it is one
/// shared pointer rather than a dozen: the clones showed in the write path's profile.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The services and settings behind [`AppState`].
pub struct Services {
    pub audit: AuditService,
    pub log: AuditLogService,
    pub governance: GovernanceService,
    pub catalog: CatalogService,
    /// Renders the Prometheus text of `/metrics`.
    pub metrics: metrics::MetricsRenderer,
    /// Accepted bearer tokens; `None` runs without authentication.
    pub auth: auth::Auth,
    /// Per-identity rate limits; `None` limits nobody.
    pub rate_limiter: ratelimit::Limiter,
    /// Set when shutdown begins, so readiness turns 503 before the listener closes.
    pub shutting_down: Arc<AtomicBool>,
}

/// Limits of the HTTP layer.
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings {
    /// Largest request body accepted, in bytes; larger bodies get 413.
    pub body_limit_bytes: usize,
    /// Longest an API request may take before a 503 `request-timeout`.
    pub request_timeout: std::time::Duration,
    /// Most API requests in flight; beyond it 503 `saturated` (0 refuses all API traffic).
    pub max_in_flight: usize,
    /// Longest a request head may take to arrive (also how long a kept-alive connection may
    /// wait for its next request); then the connection is closed.
    pub header_read_timeout: std::time::Duration,
    /// Longest a request body may take to arrive from its first read; then a 408
    /// `body-timeout` and the connection is closed.
    pub body_read_timeout: std::time::Duration,
    /// Most open connections; beyond it new ones wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit_bytes: 16 * 1024 * 1024,
            request_timeout: std::time::Duration::from_secs(30),
            max_in_flight: 1024,
            header_read_timeout: std::time::Duration::from_secs(10),
            body_read_timeout: std::time::Duration::from_secs(10),
            max_connections: 4096,
        }
    }
}

/// Every route, then Swagger UI and the document, then the layers (outermost last).
pub fn router(state: AppState, settings: HttpSettings) -> Router {
    let document = openapi_json();
    let limits = limits::Limits {
        timeout: settings.request_timeout,
        in_flight: Arc::new(tokio::sync::Semaphore::new(settings.max_in_flight)),
    };
    let api = Router::new().nest(
        "/api/v1",
        audit::router()
            .merge(dlq::router())
            .merge(effectiveness::router())
            .merge(incidents::router())
            .merge(workflows::router())
            .merge(remediation_history::router())
            .route_layer(axum::middleware::from_fn_with_state(
                limits,
                limits::enforce,
            ))
            // After authentication (it limits the caller the token names), before the
            // in-flight cap (a limited caller takes no slot).
            .route_layer(axum::middleware::from_fn_with_state(
                state.rate_limiter.clone(),
                ratelimit::enforce,
            ))
            .route_layer(axum::middleware::from_fn_with_state(
                state.auth.clone(),
                auth::authorise,
            )),
    );
    Router::new()
        .merge(api)
        .merge(health::router())
        .route("/metrics", get(metrics::metrics))
        // Every route above is measured by its template (after matching, hence route_layer).
        .route_layer(axum::middleware::from_fn(metrics::track))
        .route(
            "/api-docs/openapi.json",
            get(move || async move {
                ([(header::CONTENT_TYPE, "application/json")], document).into_response()
            }),
        )
        .merge(SwaggerUi::new("/swagger-ui").config(Config::from("/api-docs/openapi.json")))
        .with_state(state)
        .layer(DefaultBodyLimit::max(settings.body_limit_bytes))
        // Inside the problem layer, which writes its 408 out.
        .layer(axum::middleware::from_fn_with_state(
            settings.body_read_timeout,
            body_timeout::enforce,
        ))
        .layer(axum::middleware::from_fn(problem::problem_details))
        // Outermost, so that the problem layer's 5xx lines are inside the request's span.
        .layer(axum::middleware::from_fn(trace::trace_request))
}
