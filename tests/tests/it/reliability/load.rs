//! The load every case runs under: 16 clients writing single events and batches of 20, each
//! event with an `event_id` the client chose, as a producer that retries safely does.
//!
//! A client re-sends the same body (same ids, same content) while an answer leaves the outcome
//! open: no answer at all, or a 503 that does not say nothing was written (`outcome-unknown`,
//! `request-timeout`, `saturated`). It moves on after an acknowledgement (200/201/202) or a
//! 503 `service-unavailable`, which promises that nothing was written and is therefore never
//! re-sent: the count at the end checks that promise. A client asked to stop finishes settling
//! the write it has in hand.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use datastorage_tests::support::event_body;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::watch;
use uuid::Uuid;

pub const CLIENTS: usize = 16;
pub const BATCH: usize = 20;
const EVENTS: &str = "/api/v1/audit/events";
const BATCHES: &str = "/api/v1/audit/events/batch";
/// A client's own limit on one exchange: far above any answer the service should give, so
/// only a service that hangs reaches it (and the case fails on the slowest answer).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// A client's pause before re-sending (its Retry-After, shortened to keep the suite quick).
const RESEND_PAUSE: Duration = Duration::from_millis(100);
/// Re-sends of one write before the client gives up on it (a minute of pauses).
const MAX_ATTEMPTS: u32 = 600;

/// What the clients send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Every client alternates a single event and a batch of [`BATCH`].
    Mixed,
    /// Single events only.
    Single,
    /// Batches of [`BATCH`] only.
    Batch,
}

impl Shape {
    pub fn describe(self) -> &'static str {
        match self {
            Shape::Mixed => "16 clients, single events and batches of 20 alternately",
            Shape::Single => "16 clients, single events",
            Shape::Batch => "16 clients, batches of 20",
        }
    }
}

/// One HTTP exchange.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `None`: no answer (connection refused or dropped, or the client's own timeout).
    pub status: Option<StatusCode>,
    /// The problem type's slug of an error answer.
    pub problem: Option<String>,
    pub latency: Duration,
    pub answered_at: Instant,
    /// Whether it re-sent a write an earlier exchange left open.
    pub resend: bool,
    /// A batch (else a single event).
    pub batch: bool,
    /// Whether the answer had a `Retry-After`.
    pub retry_after: bool,
    /// For a problem with `event_ids`: whether they are exactly the request's events.
    pub names_its_events: Option<bool>,
}

impl Exchange {
    /// `201`, `503 outcome-unknown`, `no answer`: how the tables name an answer.
    pub fn label(&self) -> String {
        match (&self.status, &self.problem) {
            (None, _) => "no answer".into(),
            (Some(s), Some(p)) => format!("{} {p}", s.as_u16()),
            (Some(s), None) => s.as_u16().to_string(),
        }
    }
}

/// How a write ended once settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Acknowledged(StatusCode),
    /// 503 `service-unavailable`: the service says nothing was written.
    Refused,
    /// Any other answer, or never settled: always a failure of the case.
    Failed(String),
}

/// One write (a single event or a batch) and how it ended.
#[derive(Debug, Clone)]
pub struct Write {
    pub ids: Vec<Uuid>,
    pub verdict: Verdict,
}

/// Everything the clients saw, shared while they run.
#[derive(Debug, Default)]
pub struct Record {
    pub exchanges: Vec<Exchange>,
    pub writes: Vec<Write>,
}

impl Record {
    pub fn acknowledged(&self) -> HashSet<Uuid> {
        self.ids(|v| matches!(v, Verdict::Acknowledged(_)))
    }

    pub fn refused(&self) -> HashSet<Uuid> {
        self.ids(|v| *v == Verdict::Refused)
    }

    fn ids(&self, which: impl Fn(&Verdict) -> bool) -> HashSet<Uuid> {
        self.writes
            .iter()
            .filter(|w| which(&w.verdict))
            .flat_map(|w| w.ids.iter().copied())
            .collect()
    }

    pub fn failures(&self) -> Vec<&Write> {
        self.writes
            .iter()
            .filter(|w| matches!(w.verdict, Verdict::Failed(_)))
            .collect()
    }
}

/// Clients writing until told to stop.
pub struct Load {
    record: Arc<Mutex<Record>>,
    answered: watch::Receiver<usize>,
    stop: watch::Sender<bool>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Starts [`CLIENTS`] clients against the service at `base_url`; `tag` makes their
    /// correlation ids (`<tag>-<client>`).
    pub fn start(base_url: &str, tag: &str, shape: Shape) -> Self {
        let record = Arc::new(Mutex::new(Record::default()));
        let (answered_tx, answered) = watch::channel(0usize);
        let answered_tx = Arc::new(answered_tx);
        let (stop, _) = watch::channel(false);
        let http = reqwest::Client::builder()
            .timeout(CLIENT_TIMEOUT)
            .build()
            .expect("an HTTP client");
        let clients = (0..CLIENTS)
            .map(|c| {
                let client = Client {
                    http: http.clone(),
                    base_url: base_url.to_owned(),
                    correlation: format!("{tag}-{c}"),
                    record: record.clone(),
                    answered: answered_tx.clone(),
                };
                let stop = stop.subscribe();
                // Half the clients start with a batch, so both kinds are in flight at once.
                let first_batch = c % 2 == 1;
                tokio::spawn(client.run(shape, first_batch, stop))
            })
            .collect();
        Self {
            record,
            answered,
            stop,
            clients,
        }
    }

    /// Exchanges answered so far (a progress counter to wait on).
    pub fn answered(&self) -> usize {
        *self.answered.borrow()
    }

    /// Returns once `n` exchanges have been answered in all (fails after `patience`).
    pub async fn until_answered(&mut self, n: usize, patience: Duration) {
        tokio::time::timeout(patience, self.answered.wait_for(|a| *a >= n))
            .await
            .unwrap_or_else(|_| panic!("the clients did not reach {n} answers in {patience:?}"))
            .expect("the clients are alive");
    }

    /// Returns once `n` more exchanges have been answered.
    pub async fn until_more(&mut self, n: usize, patience: Duration) {
        let target = self.answered() + n;
        self.until_answered(target, patience).await;
    }

    /// The events acknowledged so far.
    pub fn acknowledged(&self) -> HashSet<Uuid> {
        self.record.lock().expect("record").acknowledged()
    }

    /// The exchanges answered in `[from, to]`.
    pub fn exchanges_answered_between(&self, from: Instant, to: Instant) -> Vec<Exchange> {
        let record = self.record.lock().expect("record");
        record
            .exchanges
            .iter()
            .filter(|e| e.answered_at >= from && e.answered_at <= to)
            .cloned()
            .collect()
    }

    /// Stops the clients once each has settled the write in hand; everything they saw.
    pub async fn finish(self) -> Record {
        self.stop.send_replace(true);
        for client in self.clients {
            client.await.expect("a client panicked");
        }
        Arc::try_unwrap(self.record)
            .expect("the clients are done")
            .into_inner()
            .expect("record")
    }
}

struct Client {
    http: reqwest::Client,
    base_url: String,
    correlation: String,
    record: Arc<Mutex<Record>>,
    answered: Arc<watch::Sender<usize>>,
}

/// What one answer settles.
enum Settles {
    Yes(Verdict),
    /// The outcome is open: send the same body again.
    No,
}

impl Client {
    async fn run(self, shape: Shape, first_batch: bool, stop: watch::Receiver<bool>) {
        let mut batch = first_batch;
        while !*stop.borrow() {
            batch = match shape {
                Shape::Mixed => !batch,
                Shape::Single => false,
                Shape::Batch => true,
            };
            let size = if batch { BATCH } else { 1 };
            let ids: Vec<Uuid> = (0..size).map(|_| Uuid::now_v7()).collect();
            let events: Vec<Value> = ids
                .iter()
                .map(|id| {
                    let mut body = event_body(&self.correlation);
                    body["event_id"] = json!(id.to_string());
                    body
                })
                .collect();
            let (path, body) = if batch {
                (BATCHES, Value::Array(events))
            } else {
                (EVENTS, events.into_iter().next().expect("one event"))
            };
            let verdict = self.settle(path, &body, &ids).await;
            self.record
                .lock()
                .expect("record")
                .writes
                .push(Write { ids, verdict });
        }
    }

    /// Sends `body` until an answer settles it.
    async fn settle(&self, path: &str, body: &Value, ids: &[Uuid]) -> Verdict {
        // The answers so far, for the message of a write that fails.
        let mut history = Vec::new();
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(RESEND_PAUSE).await;
            }
            let exchange = self.send(path, body, ids, attempt > 0).await;
            let settles = settles(&exchange);
            history.push(exchange.label());
            self.record.lock().expect("record").exchanges.push(exchange);
            self.answered.send_modify(|n| *n += 1);
            match settles {
                Settles::Yes(Verdict::Failed(_)) => {
                    return Verdict::Failed(format!(
                        "{} (event {} of {path})",
                        history.join(" → "),
                        ids[0]
                    ));
                }
                Settles::Yes(verdict) => return verdict,
                Settles::No => {}
            }
        }
        Verdict::Failed(format!("not settled in {MAX_ATTEMPTS} attempts"))
    }

    async fn send(&self, path: &str, body: &Value, ids: &[Uuid], resend: bool) -> Exchange {
        let started = Instant::now();
        let answer = self
            .http
            .post(format!("{}{path}", self.base_url))
            .json(body)
            .send()
            .await;
        let mut exchange = Exchange {
            status: None,
            problem: None,
            latency: Duration::ZERO,
            answered_at: started,
            resend,
            batch: path == BATCHES,
            retry_after: false,
            names_its_events: None,
        };
        if let Ok(response) = answer {
            let status = response.status();
            exchange.status = Some(status);
            exchange.retry_after = response.headers().contains_key("retry-after");
            let text = response.text().await.unwrap_or_default();
            if !status.is_success() {
                let problem: Value = serde_json::from_str(&text).unwrap_or_default();
                exchange.problem = problem["type"].as_str().map(slug);
                exchange.names_its_events = problem["event_ids"].as_array().map(|named| {
                    let named: HashSet<&str> = named.iter().filter_map(Value::as_str).collect();
                    let sent: Vec<String> = ids.iter().map(Uuid::to_string).collect();
                    named.len() == sent.len() && sent.iter().all(|id| named.contains(id.as_str()))
                });
            }
        }
        exchange.latency = started.elapsed();
        exchange.answered_at = Instant::now();
        exchange
    }
}

/// `https://kubernaut.io/problems/outcome-unknown` → `outcome-unknown`.
fn slug(problem_type: &str) -> String {
    problem_type
        .rsplit('/')
        .next()
        .unwrap_or(problem_type)
        .to_owned()
}

fn settles(exchange: &Exchange) -> Settles {
    match (exchange.status, exchange.problem.as_deref()) {
        (None, _) => Settles::No,
        (Some(s), _)
            if [StatusCode::OK, StatusCode::CREATED, StatusCode::ACCEPTED].contains(&s) =>
        {
            Settles::Yes(Verdict::Acknowledged(s))
        }
        (Some(StatusCode::SERVICE_UNAVAILABLE), Some("service-unavailable")) => {
            Settles::Yes(Verdict::Refused)
        }
        (
            Some(StatusCode::SERVICE_UNAVAILABLE),
            Some("outcome-unknown" | "request-timeout" | "saturated"),
        ) => Settles::No,
        (Some(_), _) => Settles::Yes(Verdict::Failed(String::new())),
    }
}
