//! Thousands of half-sent requests (a request head with its Content-Length, part of the body,
//! then silence) beside clients writing normally: each is answered and closed, 408
//! `body-timeout` once the body timeout passes (or 503 `saturated` at once when no slot in
//! flight is left), and the normal clients lose nothing; how they fared is reported.

use std::sync::Arc;
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
    answer: String,
    /// Ended by a reset rather than an orderly close.
    reset: bool,
}

/// Sends a request head announcing `body`'s length and the first half of `body`, then reads
/// until the service closes the connection.
async fn half_send(addr: std::net::SocketAddr, body: Arc<Vec<u8>>) -> Ended {
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
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let reset = loop {
        match stream.read(&mut buffer).await {
            Ok(0) => break false,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            Err(_) => break true,
        }
    };
    Ended {
        after: silent_from.elapsed(),
        answer: String::from_utf8_lossy(&answer).into_owned(),
        reset,
    }
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
    let body = Arc::new(serde_json::to_vec(&event_body("half-sent")).expect("a body"));
    // All at once, as a flood of slow clients would come.
    let readers: Vec<_> = (0..HALF_SENT)
        .map(|_| tokio::spawn(half_send(addr, body.clone())))
        .collect();
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
    let normal_during = load.exchanges_answered_between(started, all_closed);
    load.until_more(200, PATIENCE).await;

    let record = load.finish().await;
    drained(&rig.app.base_url).await;
    let figures = Figures::count(&record, &rig.pool, None).await;
    let timed_out: Vec<Duration> = ended
        .iter()
        .filter(|e| is_answer(&e.answer, "408", "body-timeout"))
        .map(|e| e.after)
        .collect();
    let saturated = ended
        .iter()
        .filter(|e| is_answer(&e.answer, "503", "saturated"))
        .count();
    // Closing a socket with unread bytes (the half body a refused request never read) sends
    // a reset, which can overtake the answer: closed, but unanswered.
    let reset_unanswered = ended
        .iter()
        .filter(|e| e.reset && e.answer.is_empty())
        .count();
    let normal_saturated = normal_during
        .iter()
        .filter(|e| e.label() == "503 saturated")
        .count();
    let mut normal_latencies: Vec<Duration> = normal_during.iter().map(|e| e.latency).collect();
    normal_latencies.sort();
    Row {
        case,
        test: "half_sent_requests_are_closed",
        title: "Thousands of half-sent requests",
        fault: format!(
            "{HALF_SENT} connections at once, each sending a request head (with \
             Content-Length) and half its body, then nothing; body timeout {} s, the default \
             1,024 requests in flight",
            BODY_TIMEOUT.as_secs()
        ),
        shape: Shape::Mixed,
        proves: "A client that stops sending mid-body costs the service a connection for the \
                 body timeout, no longer: each half-sent request is answered 408 \
                 `body-timeout` and closed (or, past the cap on requests in flight, 503 \
                 `saturated` and closed at once), and the clients writing meanwhile lose \
                 nothing. A half-sent request holds an in-flight slot while its body is \
                 awaited, so a flood of them past the cap refuses normal writes too (503 \
                 `saturated`, re-sent): the figures below say how many.",
        details: vec![
            (
                "half-sent answered 408 body-timeout, closed after their last byte".into(),
                format!(
                    "{} of {HALF_SENT}, after {:.2}-{:.2} s",
                    timed_out.len(),
                    timed_out
                        .iter()
                        .min()
                        .unwrap_or(&Duration::ZERO)
                        .as_secs_f64(),
                    timed_out
                        .iter()
                        .max()
                        .unwrap_or(&Duration::ZERO)
                        .as_secs_f64()
                ),
            ),
            (
                "half-sent answered 503 saturated (no slot in flight), closed at once".into(),
                format!("{saturated} of {HALF_SENT}"),
            ),
            (
                "half-sent reset before any answer arrived (a refused request's unread \
                 body makes the close a reset)"
                    .into(),
                format!("{reset_unanswered} of {HALF_SENT}"),
            ),
            (
                "normal clients while the half-sent connections were open".into(),
                format!(
                    "{} answers, of which 503 saturated: {normal_saturated}; p99 {:.1} ms",
                    normal_during.len(),
                    millis(quantile(&normal_latencies, 0.99))
                ),
            ),
        ],
    }
    .write(&figures);

    figures.assert_exactly_once();
    assert_eq!(figures.refused, 0, "the stores were up: no 503 is due");
    assert_eq!(
        ended.len(),
        HALF_SENT,
        "every half-sent connection is closed"
    );
    for e in ended.iter().filter(|e| !(e.reset && e.answer.is_empty())) {
        assert!(
            is_answer(&e.answer, "408", "body-timeout") || is_answer(&e.answer, "503", "saturated"),
            "a half-sent request is answered 408 body-timeout (or 503 saturated), not: {}",
            e.answer
        );
    }
    assert!(
        !timed_out.is_empty(),
        "half-sent requests wait for the body timeout"
    );
}

/// Whether a raw HTTP answer has this status and problem type.
fn is_answer(answer: &str, status: &str, problem: &str) -> bool {
    answer.starts_with(&format!("HTTP/1.1 {status} "))
        && answer.contains(&format!("/problems/{problem}\""))
}
