//! The accept loop: HTTP/1.1 connections served by hyper, one task each, with the limits a
//! client meets before any route runs.
//!
//! - At most `max_connections` are open; past that the loop stops accepting until one
//!   closes, so the surplus waits in the kernel's backlog instead of costing a task each.
//! - A request head (or, on a kept-alive connection, the next one) must arrive within
//!   `header_read_timeout`, else hyper closes the connection.
//! - Shutdown stops accepting, closes idle connections and lets each busy one finish the
//!   request it is serving (the caller bounds how long that may take).
//!
//! axum's own `serve` configures neither limit, hence this loop.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::serve::Listener;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::HttpSettings;

const OPEN_CONNECTIONS: &str = "datastorage_http_connections";

/// Serves `router` on `listener` until `shutdown` completes, then until every connection has
/// closed.
pub async fn serve(
    mut listener: TcpListener,
    router: Router,
    settings: HttpSettings,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let connections = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        // The semaphore is never closed, so a slot always comes.
        let Ok(slot) = slot else { break };
        // axum's `Listener` logs and retries failed accepts (pausing when out of descriptors).
        let (stream, _) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = connections.watch(http.serve_connection(TokioIo::new(stream), service));
        metrics::gauge!(OPEN_CONNECTIONS).increment(1.0);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // A client gone mid-request or too slow with its head: its business, not ours.
                tracing::debug!(error = %e, "connection ended with an error");
            }
            metrics::gauge!(OPEN_CONNECTIONS).decrement(1.0);
            drop(slot);
        });
    }
    drop(listener);
    connections.shutdown().await;
}
