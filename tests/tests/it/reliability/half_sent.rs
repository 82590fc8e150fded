//! Thousands of half-sent requests (a request head with its Content-Length, part of the body,
//! then silence) beside clients writing normally: each is answered 408 `body-timeout` and
//! closed once the body timeout passes, and the normal clients are still served.

use std::time::{Duration, Instant};

use datastorage_tests::support::event_body;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::load::{Load, Shape};
use super::tally::{Figures, Row, drained, millis, quantile};
use super::{PATIENCE, Rig, Through};

const HALF_SENT: usize = 2_000;
const BODY_TIMEOUT: Duration = Duration::from_secs(2);

/// How one half-sent connection ended.
struct Ended {
    /// From its last byte sent to the service closing it.
    after: Duration,
    /// Everything the service wrote to it.
    answer: Vec<u8>,
}

/// Sends a request head announcing `body`'s length and the first half of `body`, then reads
/// until the service closes the connection.
async fn half_send(addr: std::net::SocketAddr, body: &[u8]) -> tokio::task::JoinHandle<Ended> {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connect to the service");
    let head = format!(
        "POST /api/v1/audit/events HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the head");
    stream
        .write_all(&body[..body.len() / 2])
        .await
        .expect("send half the body");
    let silent_from = Instant::now();
    tokio::spawn(async move {
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        // A reset after the answer also closes it.
        while let Ok(n) = stream.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
        }
        Ended {
            after: silent_from.elapsed(),
            answer,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn half_sent_requests_are_closed_after_the_body_timeout_while_others_are_served() {
    let case = "half-sent-requests";
    let rig = Rig::start(Through::Postgres, |s| {
        s.http.body_read_timeout_ms = BODY_TIMEOUT.as_millis() as u64;
    })
    .await;
    let addr: std::net::SocketAddr = rig
        .app
        .base_url
        .trim_start_matches("http://")
        .parse()
        .expect("the service's address");
    let mut load = Load::start(&rig.app.base_url, case, Shape::Mixed);
    load.until_answered(200, PATIENCE).await;

    let started = Instant::now();
    let body = serde_json::to_vec(&event_body("half-sent")).expect("a body");
    let mut readers = Vec::with_capacity(HALF_SENT);
    for _ in 0..HALF_SENT {
        readers.push(half_send(addr, &body).await);
    }
    let mut ended = Vec::with_capacity(HALF_SENT);
    for reader in readers {
        ended.push(
            tokio::time::timeout(PATIENCE, reader)
                .await
                .expect("a half-sent connection is closed")
                .expect("a reader panicked"),
        );
    }
    let all_closed = Instant::now();
    let mut normal_during: Vec<Duration> = load
        .exchanges_answered_between(started, all_closed)
        .into_iter()
        .map(|e| e.latency)
        .collect();
    normal_during.sort();
    load.until_more(200, PATIENCE).await;

    let record = load.finish().await;
    drained(&rig.app.base_url).await;
    let figures = Figures::count(&record, &rig.pool, None).await;
    let fastest = ended.iter().map(|e| e.after).min().unwrap_or_default();
    let slowest = ended.iter().map(|e| e.after).max().unwrap_or_default();
    Row {
        case,
        test: "half_sent_requests_are_closed",
        title: "Thousands of half-sent requests",
        fault: format!(
            "{HALF_SENT} connections each sending a request head (with Content-Length) and half \
             its body, then nothing; body timeout {} s",
            BODY_TIMEOUT.as_secs()
        ),
        shape: Shape::Mixed,
        proves: "A client that stops sending mid-body costs the service one connection for the \
                 body timeout, no longer: each half-sent request is answered 408 \
                 `body-timeout` and closed, and the clients writing meanwhile are served and \
                 lose nothing.",
        details: vec![
            (
                "half-sent connections closed, after their last byte".into(),
                format!(
                    "{} of {HALF_SENT}, {:.2}-{:.2} s",
                    ended.len(),
                    fastest.as_secs_f64(),
                    slowest.as_secs_f64()
                ),
            ),
            (
                "normal clients while the half-sent connections were open".into(),
                format!(
                    "{} answers, p99 {:.1} ms",
                    normal_during.len(),
                    millis(quantile(&normal_during, 0.99))
                ),
            ),
        ],
    }
    .write(&figures);

    figures.assert_exactly_once();
    assert_eq!(figures.refused, 0, "the stores were up: no 503 is due");
    for e in &ended {
        let answer = String::from_utf8_lossy(&e.answer);
        assert!(
            answer.starts_with("HTTP/1.1 408") && answer.contains("body-timeout"),
            "a half-sent request is answered 408 body-timeout, not: {answer}"
        );
    }
}
