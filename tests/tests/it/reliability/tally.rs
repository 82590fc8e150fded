//! The count at the end of a case, and its row of docs/reliability.md.
//!
//! Acknowledged: events whose write got 200/201/202 (after any re-sends). Stored: rows in
//! PostgreSQL once the fault is healed and the dead-letter queue is drained. Lost: acknowledged
//! but not stored. Duplicated: rows beyond one per (correlation, event id). Refused but stored:
//! events a 503 `service-unavailable` said were not written, found stored. Time to recover:
//! from healing until every event acknowledged by then is stored.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::PATIENCE;
use super::load::{Record, Shape};

/// What a case measured.
#[derive(Debug)]
pub struct Figures {
    /// HTTP exchanges, re-sends included.
    pub requests: usize,
    pub resends: usize,
    /// Exchanges by answer (`201`, `503 outcome-unknown`, `no answer`, ...).
    pub answers: BTreeMap<String, usize>,
    pub acknowledged: usize,
    pub refused: usize,
    pub stored: i64,
    pub lost: usize,
    pub duplicated: i64,
    pub refused_but_stored: usize,
    /// Stored events no write settled as acknowledged or refused.
    pub unexplained: usize,
    pub failures: Vec<String>,
    pub p50: Duration,
    pub p99: Duration,
    pub slowest: Duration,
    pub recovery: Option<Duration>,
}

impl Figures {
    /// Counts the rows of the case's own database against what the clients were told.
    pub async fn count(record: &Record, pool: &PgPool, recovery: Option<Duration>) -> Self {
        let acknowledged = record.acknowledged();
        let refused = record.refused();
        let (rows, distinct): (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(DISTINCT (correlation_id, event_id)) FROM audit_events",
        )
        .fetch_one(pool)
        .await
        .expect("count the rows");
        let stored: HashSet<Uuid> = sqlx::query_scalar("SELECT event_id FROM audit_events")
            .fetch_all(pool)
            .await
            .expect("the stored ids")
            .into_iter()
            .collect();
        let mut latencies: Vec<Duration> = record
            .exchanges
            .iter()
            .filter(|e| e.status.is_some())
            .map(|e| e.latency)
            .collect();
        latencies.sort();
        let mut answers = BTreeMap::new();
        for e in &record.exchanges {
            *answers.entry(e.label()).or_default() += 1;
        }
        Self {
            requests: record.exchanges.len(),
            resends: record.exchanges.iter().filter(|e| e.resend).count(),
            answers,
            acknowledged: acknowledged.len(),
            refused: refused.len(),
            stored: rows,
            lost: acknowledged.difference(&stored).count(),
            duplicated: rows - distinct,
            refused_but_stored: refused.intersection(&stored).count(),
            unexplained: stored
                .iter()
                .filter(|id| !acknowledged.contains(id) && !refused.contains(id))
                .count(),
            failures: record
                .failures()
                .iter()
                .map(|w| format!("{:?}", w.verdict))
                .collect(),
            p50: quantile(&latencies, 0.50),
            p99: quantile(&latencies, 0.99),
            slowest: latencies.last().copied().unwrap_or_default(),
            recovery,
        }
    }

    /// The durability contract under the fault: every write settled, every acknowledged event
    /// stored once, nothing stored that the service said it had not written.
    pub fn assert_exactly_once(&self) {
        assert!(
            self.failures.is_empty(),
            "unsettled or failed writes: {self:#?}"
        );
        assert!(self.acknowledged > 0, "nothing was acknowledged: {self:#?}");
        assert_eq!(self.lost, 0, "acknowledged events lost: {self:#?}");
        assert_eq!(self.duplicated, 0, "events stored twice: {self:#?}");
        assert_eq!(
            self.refused_but_stored, 0,
            "a 503 said nothing was written, yet the event is stored: {self:#?}"
        );
        assert_eq!(
            self.unexplained, 0,
            "stored events nobody settled: {self:#?}"
        );
        assert_eq!(self.stored, self.acknowledged as i64, "{self:#?}");
    }

    /// Exchanges answered with `label` (`202`, `503 outcome-unknown`, ...).
    pub fn answered(&self, label: &str) -> usize {
        self.answers.get(label).copied().unwrap_or(0)
    }
}

/// The `q` quantile of sorted durations (nearest rank).
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Milliseconds to a tenth.
pub fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// Waits from healing until every event in `ids` is stored; the time it took.
pub fn watch_recovery(pool: PgPool, ids: HashSet<Uuid>) -> tokio::task::JoinHandle<Duration> {
    let healed = Instant::now();
    let ids: Vec<Uuid> = ids.into_iter().collect();
    tokio::spawn(async move {
        loop {
            let found: i64 = sqlx::query_scalar(
                "SELECT count(DISTINCT event_id) FROM audit_events WHERE event_id = ANY($1)",
            )
            .bind(&ids)
            .fetch_one(&pool)
            .await
            .expect("count the recovered events");
            if found == ids.len() as i64 {
                return healed.elapsed();
            }
            assert!(
                healed.elapsed() < PATIENCE,
                "{found} of {} acknowledged events stored {PATIENCE:?} after healing",
                ids.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

/// Returns once the service's dead-letter queue is empty, nothing pending.
pub async fn drained(base_url: &str) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let queue: Value = client
            .get(format!("{base_url}/api/v1/dlq"))
            .send()
            .await
            .expect("GET /api/v1/dlq")
            .json()
            .await
            .expect("the queue's figures");
        if queue["depth"] == 0 && queue["pending"] == 0 {
            assert_eq!(queue["dead_lettered"], 0, "entries dead-lettered: {queue}");
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the queue is not drained: {queue}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One case's row of docs/reliability.md.
pub struct Row<'a> {
    /// The file name and anchor (`postgres-hung`).
    pub case: &'a str,
    /// The test that runs it (`reliability::postgres::...`), for the command.
    pub test: &'a str,
    pub title: &'a str,
    /// What the fault was, as held.
    pub fault: String,
    pub shape: Shape,
    /// What the case proves, in a sentence or two.
    pub proves: &'a str,
    /// Figures particular to the case, as (what, value).
    pub details: Vec<(String, String)>,
}

impl Row<'_> {
    /// Prints the row, and writes it to `$DS_RELIABILITY_DIR/<case>.json` when set
    /// (scripts/reliability.sh renders docs/reliability.md from those files).
    pub fn write(&self, figures: &Figures) {
        let row = json!({
            "case": self.case,
            "title": self.title,
            "fault": self.fault,
            "load": self.shape.describe(),
            "proves": self.proves,
            "command": format!("scripts/reliability.sh {}", self.test),
            "requests": figures.requests,
            "resends": figures.resends,
            "answers": figures.answers,
            "acknowledged": figures.acknowledged,
            "refused": figures.refused,
            "stored": figures.stored,
            "lost": figures.lost,
            "duplicated": figures.duplicated,
            "refused_but_stored": figures.refused_but_stored,
            "p50_ms": millis(figures.p50),
            "p99_ms": millis(figures.p99),
            "slowest_ms": millis(figures.slowest),
            "recovery_ms": figures.recovery.map(millis),
            "details": self.details.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&row).expect("a row");
        println!("{text}");
        if let Ok(dir) = std::env::var("DS_RELIABILITY_DIR") {
            std::fs::create_dir_all(&dir).expect("the results directory");
            let path = std::path::Path::new(&dir).join(format!("{}.json", self.case));
            std::fs::write(&path, text + "\n")
                .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        }
    }
}
