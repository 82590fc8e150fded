//! Slow and greedy clients, on raw TCP: a half-sent head or body is cut off and its
//! connection closed, past the connection limit a new connection waits for a free one, and
//! shutdown still finishes the request in flight. The timeouts are short settings of the
//! service; what is asserted is what the client sees (a problem, the connection's end).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use datastorage_tests::support::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const EVENTS: &str = "/api/v1/audit/events";

/// How long a test waits for the server before failing instead of hanging (a guard, not
/// a measurement).
const GUARD: Duration = Duration::from_secs(30);

fn addr_of(app: &TestApp) -> SocketAddr {
    app.base_url
        .trim_start_matches("http://")
        .parse()
        .expect("address")
}

fn post_head(path: &str, content_length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {content_length}\r\n\r\n"
    )
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// One response as it came off the wire.
#[derive(Debug)]
struct Raw {
    status: u16,
    /// The head, lower-cased.
    head: String,
    body: String,
}

impl Raw {
    /// The first whole response in `bytes`, if they hold one (a body needs a Content-Length:
    /// the service sends every body it makes with one).
    fn parse(bytes: &[u8]) -> Option<Self> {
        let text = String::from_utf8_lossy(bytes);
        let (head, body) = text.split_once("\r\n\r\n")?;
        let head = head.to_ascii_lowercase();
        let status = head.split(' ').nth(1)?.parse().ok()?;
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(Some(0), |v| v.trim().parse().ok())?;
        (body.len() >= length).then(|| Raw {
            status,
            head,
            body: body[..length].to_owned(),
        })
    }

    fn problem(&self) -> Value {
        assert!(
            self.head.contains("content-type: application/problem+json"),
            "{self:?}"
        );
        serde_json::from_str(&self.body).expect("a problem document")
    }
}

/// Reads one response (the connection stays open).
async fn read_response(stream: &mut TcpStream) -> Raw {
    let mut bytes = Vec::new();
    loop {
        if let Some(response) = Raw::parse(&bytes) {
            return response;
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(GUARD, stream.read(&mut chunk))
            .await
            .expect("no response")
            .expect("read");
        assert!(
            n > 0,
            "the connection closed before a whole response: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        bytes.extend_from_slice(&chunk[..n]);
    }
}

/// Everything the server sends until it closes the connection.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    tokio::time::timeout(GUARD, stream.read_to_end(&mut bytes))
        .await
        .expect("the server never closed the connection")
        .expect("read");
    bytes
}

/// Sends the head of an event's request and its whole JSON, but announces 100 bytes more
/// than that: the server holds a complete event and a body that has not ended.
async fn send_all_but_the_end(app: &TestApp, correlation_id: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr_of(app)).await.expect("connect");
    let event = event_body(correlation_id).to_string();
    stream
        .write_all(post_head(EVENTS, event.len() + 100).as_bytes())
        .await
        .unwrap();
    stream.write_all(event.as_bytes()).await.unwrap();
    stream
}

fn assert_body_timeout(bytes: &[u8]) {
    let response = Raw::parse(bytes)
        .unwrap_or_else(|| panic!("no whole response: {:?}", String::from_utf8_lossy(bytes)));
    assert_eq!(response.status, 408, "{response:?}");
    assert!(response.head.contains("connection: close"), "{response:?}");
    let problem = response.problem();
    assert_eq!(
        problem["type"],
        "https://kubernaut.io/problems/body-timeout"
    );
    assert_eq!(problem["status"], 408);
    assert_eq!(problem["instance"], EVENTS);
}

async fn stored(app: &TestApp, correlation_id: &str) -> u64 {
    let page: Value = app
        .get(&format!("{EVENTS}?correlation_id={correlation_id}"))
        .await
        .json()
        .await
        .unwrap();
    page["pagination"]["total"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_short_is_a_408_problem_and_its_connection_is_closed() {
    let app = spawn_app_with(Storage::Memory, |s| s.http.body_read_timeout_ms = 300).await;
    let mut slow = send_all_but_the_end(&app, "slow-body").await;

    // Meanwhile a client that sends its request whole is served.
    assert_eq!(
        app.post_json(EVENTS, &event_body("whole-body"))
            .await
            .status(),
        201
    );

    // The 408, then the end of the connection (the read returns at EOF).
    assert_body_timeout(&read_until_closed(&mut slow).await);
    assert_eq!(
        stored(&app, "slow-body").await,
        0,
        "nothing of it is written"
    );
    assert_eq!(stored(&app, "whole-body").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_that_stops_short_has_its_connection_closed_unanswered() {
    let app = spawn_app_with(Storage::Memory, |s| s.http.header_read_timeout_ms = 300).await;
    let mut slow = TcpStream::connect(addr_of(&app)).await.unwrap();
    slow.write_all(format!("POST {EVENTS} HTTP/1.1\r\nHost: test\r\nContent-Ty").as_bytes())
        .await
        .unwrap();

    assert_eq!(app.get("/health/live").await.status(), 200);
    let sent = read_until_closed(&mut slow).await;
    assert!(
        sent.is_empty(),
        "a request never received is not answered: {:?}",
        String::from_utf8_lossy(&sent)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_idle_past_the_header_timeout_is_closed() {
    let app = spawn_app_with(Storage::Memory, |s| s.http.header_read_timeout_ms = 300).await;
    let mut idle = TcpStream::connect(addr_of(&app)).await.unwrap();
    idle.write_all(get("/health/live").as_bytes())
        .await
        .unwrap();
    let response = read_response(&mut idle).await;
    assert_eq!(response.status, 200);
    assert!(!response.head.contains("connection: close"), "{response:?}");

    assert!(read_until_closed(&mut idle).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_bodies_that_stop_short_are_all_cut_off_while_writes_keep_succeeding() {
    const SLOW: usize = 200;
    let app = spawn_app_with(Storage::Memory, |s| s.http.body_read_timeout_ms = 500).await;
    let mut slow = Vec::with_capacity(SLOW);
    for i in 0..SLOW {
        slow.push(send_all_but_the_end(&app, &format!("slow-{i}")).await);
    }
    let cut_off: Vec<_> = slow
        .into_iter()
        .map(|mut stream| tokio::spawn(async move { read_until_closed(&mut stream).await }))
        .collect();

    for i in 0..20 {
        let response = app
            .post_json(EVENTS, &event_body(&format!("whole-{i}")))
            .await;
        assert_eq!(response.status(), 201, "write {i} during the slow bodies");
    }

    for reader in cut_off {
        assert_body_timeout(&reader.await.unwrap());
    }
    for i in [0, SLOW / 2, SLOW - 1] {
        assert_eq!(stored(&app, &format!("slow-{i}")).await, 0);
    }
    assert_eq!(
        app.post_json(EVENTS, &event_body("after")).await.status(),
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_limit_a_new_connection_waits_until_one_closes() {
    let app = spawn_app_with(Storage::Memory, |s| {
        s.http.max_connections = 2;
        // Held connections sit idle between requests; they must not be closed meanwhile.
        s.http.header_read_timeout_ms = 600_000;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr_of(&app)).await.unwrap();
        stream
            .write_all(get("/health/live").as_bytes())
            .await
            .unwrap();
        assert_eq!(read_response(&mut stream).await.status, 200);
        held.push(stream);
    }

    // The kernel completes the handshake (the listen backlog); the service does not accept.
    let mut waiting = TcpStream::connect(addr_of(&app)).await.unwrap();
    waiting
        .write_all(get("/health/live").as_bytes())
        .await
        .unwrap();
    // Requests sent after it on the open connections are answered; it is not.
    for stream in &mut held {
        stream
            .write_all(get("/health/live").as_bytes())
            .await
            .unwrap();
        assert_eq!(read_response(stream).await.status, 200);
    }
    let mut probe = [0u8; 1];
    assert!(
        matches!(waiting.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the connection past the limit was served while the limit was reached"
    );

    // One closes: the waiting connection takes its slot and its request is answered.
    drop(held.remove(0));
    assert_eq!(read_response(&mut waiting).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_the_listener_but_finishes_the_request_in_flight() {
    let mut settings = datastorage::Settings::defaults();
    settings.http.addr = "127.0.0.1:0".parse().unwrap();
    settings.embedder.kind = datastorage::EmbedderKind::None;
    settings.database.url = None;
    settings.shutdown.readiness_delay_ms = 0;
    let app = datastorage::Application::build(settings).await.unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let mut client = TcpStream::connect(addr).await.unwrap();
    let event = event_body("in-flight").to_string();
    let head =
        post_head(EVENTS, event.len()).replace("\r\n\r\n", "\r\nExpect: 100-continue\r\n\r\n");
    client.write_all(head.as_bytes()).await.unwrap();
    // hyper answers 100 Continue when the handler starts reading the body: it is in flight.
    assert_eq!(read_response(&mut client).await.status, 100);

    stop.send(()).unwrap();
    let deadline = Instant::now() + GUARD;
    while TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "the listener never closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    client.write_all(event.as_bytes()).await.unwrap();
    let answered = read_until_closed(&mut client).await;
    let response = Raw::parse(&answered).expect("a whole response");
    assert_eq!(response.status, 201, "{response:?}");
    tokio::time::timeout(GUARD, running)
        .await
        .expect("the service never stopped")
        .unwrap()
        .unwrap();
}
