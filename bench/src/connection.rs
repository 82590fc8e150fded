//! The load generator's HTTP: one keep-alive HTTP/1.1 connection per client, on hyper's
//! connection API, with no pool between the client and the socket.

use std::pin::Pin;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{SendRequest, handshake};
use hyper::{Method, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The next request of a client: method, path and query, body.
pub(crate) struct Request {
    pub(crate) get: bool,
    pub(crate) path: String,
    pub(crate) body: Vec<u8>,
}

/// One keep-alive HTTP/1.1 connection, driven on the client's own task. The load generator
/// shares two cores with what it measures, and a pooled client costs it a large share of
/// what the service itself spends per request.
pub(crate) struct Connection {
    /// `host:port` of the service.
    authority: String,
    open: Option<Open>,
}

/// A connection's request half, and its I/O half (a future polled beside each request).
type Open = (SendRequest<Full<Bytes>>, Pin<Box<HttpConnection>>);
type HttpConnection = hyper::client::conn::http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

impl Connection {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            authority: url
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned(),
            open: None,
        }
    }

    /// Sends one request; its status and body, or `None` if the connection failed (the next
    /// request opens a new one).
    pub(crate) async fn send(&mut self, request: Request) -> Option<(u16, Bytes)> {
        if self.open.is_none() {
            let stream = TcpStream::connect(&self.authority).await.ok()?;
            stream.set_nodelay(true).ok()?;
            let (sender, conn) = handshake(TokioIo::new(stream)).await.ok()?;
            self.open = Some((sender, Box::pin(conn)));
        }
        let answer = self.exchange(request).await;
        if answer.is_none() {
            self.open = None;
        }
        answer
    }

    async fn exchange(&mut self, request: Request) -> Option<(u16, Bytes)> {
        let (sender, conn) = self.open.as_mut()?;
        let builder = hyper::Request::builder()
            .method(if request.get {
                Method::GET
            } else {
                Method::POST
            })
            .uri(request.path)
            .header(header::HOST, &self.authority);
        let builder = if request.get {
            builder
        } else {
            builder.header(header::CONTENT_TYPE, "application/json")
        };
        let http_request = builder.body(Full::new(Bytes::from(request.body))).ok()?;
        // The connection is polled beside each step: it does the socket I/O.
        let response = tokio::select! {
            biased;
            r = sender.send_request(http_request) => r.ok()?,
            _ = conn.as_mut() => return None,
        };
        let status = response.status().as_u16();
        let body = tokio::select! {
            biased;
            b = response.into_body().collect() => b.ok()?.to_bytes(),
            _ = conn.as_mut() => return None,
        };
        Some((status, body))
    }
}
