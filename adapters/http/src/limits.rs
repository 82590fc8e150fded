//! Request limits for the API routes: a timeout and a cap on requests in flight, both
//! answered with a 503 problem and `Retry-After` (probes and metrics are not limited, so an
//! overloaded instance still reports itself).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::problem::ApiError;

#[derive(Clone)]
pub struct Limits {
    pub timeout: Duration,
    pub in_flight: Arc<Semaphore>,
}

pub async fn enforce(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let Ok(_permit) = limits.in_flight.clone().try_acquire_owned() else {
        return ApiError::Specific {
            status: StatusCode::SERVICE_UNAVAILABLE,
            slug: "saturated",
            title: "Service Saturated",
            detail: "too many requests in flight; retry shortly".into(),
        }
        .into_response();
    };
    match tokio::time::timeout(limits.timeout, next.run(request)).await {
        Ok(response) => response,
        // A write cut off here may still commit: clients retry with their event_id.
        Err(_) => ApiError::Specific {
            status: StatusCode::SERVICE_UNAVAILABLE,
            slug: "request-timeout",
            title: "Request Timeout",
            detail: format!(
                "the request took longer than {} ms",
                limits.timeout.as_millis()
            ),
        }
        .into_response(),
    }
}
