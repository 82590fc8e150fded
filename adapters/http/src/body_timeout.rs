//! The body read timeout: a request body must have fully arrived within the limit of its
//! first read, else the request gets a 408 `body-timeout` problem and its connection is
//! closed, so a client that sends half a body holds a socket and a task for that long only.
//!
//! The clock starts at the first read rather than when the head arrived: a batch may wait
//! for a decode slot with its body still in the socket (`audit::one_of_few_batches`), and
//! that wait is ours, not the client's.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::problem::ApiError;

/// The error a timed body yields when its time is up.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} ms", .limit.as_millis())]
pub struct BodyTimedOut {
    pub limit: Duration,
}

impl From<&BodyTimedOut> for ApiError {
    fn from(e: &BodyTimedOut) -> Self {
        ApiError::Specific {
            status: StatusCode::REQUEST_TIMEOUT,
            slug: "body-timeout",
            title: "Body Timeout",
            detail: e.to_string(),
        }
    }
}

/// Gives every request body `limit` from its first read, and closes the connection of a
/// request whose body ran out of time.
pub async fn enforce(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let expired = Arc::new(AtomicBool::new(false));
    let request = request.map(|inner| {
        Body::new(TimedBody {
            inner,
            limit,
            deadline: None,
            sleep: None,
            expired: expired.clone(),
        })
    });
    let mut response = next.run(request).await;
    if expired.load(Ordering::Relaxed) {
        // Whatever the reader made of the failed read (a bad request, say), the answer is the
        // timeout's: one place decides it for every extractor.
        response = ApiError::from(&BodyTimedOut { limit }).into_response();
        // The rest of the body may still be on its way: the connection cannot carry another
        // request, and closing it is what frees the socket.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

struct TimedBody {
    inner: Body,
    limit: Duration,
    /// Set by the first read.
    deadline: Option<Instant>,
    /// Made only when a read has to wait, so a body that is already here costs no timer.
    sleep: Option<Pin<Box<Sleep>>>,
    expired: Arc<AtomicBool>,
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let limit = this.limit;
        let deadline = *this.deadline.get_or_insert_with(|| Instant::now() + limit);
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        ready!(sleep.as_mut().poll(cx));
        this.expired.store(true, Ordering::Relaxed);
        Poll::Ready(Some(Err(Box::new(BodyTimedOut { limit }))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
