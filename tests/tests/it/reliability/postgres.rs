//! PostgreSQL misbehaving under load, through the proxy: hung, slow, its connections reset in
//! the middle of a COPY.

use std::time::{Duration, Instant};

use datastorage_tests::proxy::Mode;

use super::load::{Load, Shape};
use super::tally::{Figures, Row, drained, millis, quantile, watch_recovery};
use super::{DATABASE_DEADLINE, ENQUEUE_TIMEOUT, PATIENCE, Rig, Through, WRITE_DEADLINE};

/// Answers before a fault and after healing it, in each case.
const AROUND: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_slow_under_single_events_loses_and_doubles_nothing() {
    postgres_slow(
        Shape::Single,
        "postgres-slow-single",
        "postgres_slow_under_single_events",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_slow_under_batches_loses_and_doubles_nothing() {
    postgres_slow(
        Shape::Batch,
        "postgres-slow-batch",
        "postgres_slow_under_batches",
    )
    .await;
}

/// Every chunk to and from PostgreSQL 25 ms late (a round trip 50 ms) for 5 s: answers slow
/// down, none fails, every event is stored once.
async fn postgres_slow(shape: Shape, case: &str, test: &str) {
    const DELAY: Duration = Duration::from_millis(25);
    const HELD: Duration = Duration::from_secs(5);
    let rig = Rig::start(Through::Postgres, |_| {}).await;
    let mut load = Load::start(&rig.app.base_url, case, shape);
    load.until_answered(AROUND, PATIENCE).await;

    rig.postgres.set_mode(Mode::Delay(DELAY));
    let slowed = Instant::now();
    // The fault is the scenario: held for a fixed time.
    tokio::time::sleep(HELD).await;
    rig.postgres.set_mode(Mode::Forward);
    let healed = Instant::now();
    let recovery = watch_recovery(rig.pool.clone(), load.acknowledged());
    load.until_more(AROUND, PATIENCE).await;

    let mut while_slow: Vec<Duration> = load
        .exchanges_answered_between(slowed, healed)
        .into_iter()
        .map(|e| e.latency)
        .collect();
    while_slow.sort();
    let record = load.finish().await;
    drained(&rig.app.base_url).await;
    let figures = Figures::count(&record, &rig.pool, Some(recovery.await.unwrap())).await;
    Row {
        case,
        test,
        title: match shape {
            Shape::Batch => "PostgreSQL slow, batch load",
            _ => "PostgreSQL slow, single-event load",
        },
        fault: format!(
            "every chunk to and from PostgreSQL delayed {} ms, for {} s",
            DELAY.as_millis(),
            HELD.as_secs()
        ),
        shape,
        proves: "A slow database slows answers down and does nothing else: every write is \
                 acknowledged (201, or 202 once a write's database part runs out of time), \
                 none refused, every acknowledged event stored exactly once.",
        details: vec![
            ("answers while slow".into(), while_slow.len().to_string()),
            (
                "p99 while slow".into(),
                format!("{:.1} ms", millis(quantile(&while_slow, 0.99))),
            ),
        ],
    }
    .write(&figures);

    figures.assert_exactly_once();
    assert_eq!(figures.refused, 0, "the queue was up: no 503 is due");
    assert!(
        !while_slow.is_empty(),
        "answers came while PostgreSQL was slow"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_connections_reset_mid_copy_lose_and_double_nothing() {
    const RESETS: u64 = 20;
    let case = "postgres-reset-mid-copy";
    let rig = Rig::start(Through::Postgres, |_| {}).await;
    let mut load = Load::start(&rig.app.base_url, case, Shape::Batch);
    load.until_answered(AROUND, PATIENCE).await;

    // Each armed reset waits for a connection to send a COPY of events, lets half of the
    // next chunk (the COPY's data) through, and resets both sides.
    rig.postgres
        .reset_after(b"COPY audit_events", RESETS as usize);
    tokio::time::timeout(PATIENCE, rig.postgres.wait_for_resets(RESETS))
        .await
        .expect("the batches' COPYs are reset");
    rig.postgres.disarm();
    let recovery = watch_recovery(rig.pool.clone(), load.acknowledged());
    load.until_more(AROUND, PATIENCE).await;

    let record = load.finish().await;
    drained(&rig.app.base_url).await;
    let figures = Figures::count(&record, &rig.pool, Some(recovery.await.unwrap())).await;
    Row {
        case,
        test: "postgres_connections_reset_mid_copy",
        title: "PostgreSQL connections reset in the middle of a COPY",
        fault: format!(
            "{RESETS} connections reset (SO_LINGER 0) halfway through the data of a batch's COPY"
        ),
        shape: Shape::Batch,
        proves: "A connection that dies mid-write is an ambiguous failure the service settles \
                 itself: the batch is retried on another connection or queued (202), never \
                 refused while the queue is up (a 503 `outcome-unknown` only if the queue is \
                 also too slow to answer), and stored exactly once.",
        details: vec![("connections reset mid-COPY".into(), RESETS.to_string())],
    }
    .write(&figures);

    figures.assert_exactly_once();
    assert_eq!(figures.refused, 0, "the queue was up: no 503 is due");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_hung_every_request_is_answered_within_the_write_deadline_and_stored_once() {
    const HUNG: Duration = Duration::from_secs(25);
    let case = "postgres-hung";
    let rig = Rig::start(Through::Postgres, |_| {}).await;
    let mut load = Load::start(&rig.app.base_url, case, Shape::Mixed);
    load.until_answered(AROUND, PATIENCE).await;

    rig.postgres.set_mode(Mode::Hang);
    let hung = Instant::now();
    // The fault is the scenario: held for a fixed time.
    tokio::time::sleep(HUNG).await;
    let healed = Instant::now();
    rig.postgres.set_mode(Mode::Forward);
    let during = load.exchanges_answered_between(hung, healed);
    let recovery = watch_recovery(rig.pool.clone(), load.acknowledged());
    load.until_more(AROUND, PATIENCE).await;

    let record = load.finish().await;
    drained(&rig.app.base_url).await;
    let figures = Figures::count(&record, &rig.pool, Some(recovery.await.unwrap())).await;
    let limit = WRITE_DEADLINE + Duration::from_secs(1);
    let accepted_during = during
        .iter()
        .filter(|e| e.label() == "202" && !e.resend)
        .count();
    Row {
        case,
        test: "postgres_hung",
        title: "PostgreSQL hung for 25 s",
        fault: format!(
            "PostgreSQL's connections held open with nothing read or answered for {} s \
             (write deadline {} ms: {} ms for the database, {} ms for the queue)",
            HUNG.as_secs(),
            WRITE_DEADLINE.as_millis(),
            DATABASE_DEADLINE.as_millis(),
            ENQUEUE_TIMEOUT.as_millis()
        ),
        shape: Shape::Mixed,
        proves: "A database that hangs is an outage, not a stall: every request is answered \
                 within the write deadline plus a second, writes are acknowledged 202 from the \
                 queue during the hang, and once PostgreSQL resumes (and the statements it \
                 held run after all) every event is stored exactly once.",
        details: vec![
            (
                "answers during the hang".into(),
                format!("{}, of which 202: {accepted_during}", during.len()),
            ),
            (
                "every answer within".into(),
                format!("{} ms (the write deadline plus 1 s)", limit.as_millis()),
            ),
            (
                "slowest single-event answer, slowest batch answer".into(),
                format!(
                    "{:.0} ms, {:.0} ms",
                    millis(slowest(&record, false)),
                    millis(slowest(&record, true))
                ),
            ),
        ],
    }
    .write(&figures);

    figures.assert_exactly_once();
    assert_eq!(figures.refused, 0, "the queue was up: no 503 is due");
    assert!(
        accepted_during > 0,
        "writes are acknowledged 202 during the hang"
    );
    let late: Vec<_> = record
        .exchanges
        .iter()
        .filter(|e| e.status.is_none() || e.latency > limit)
        .collect();
    assert!(
        late.is_empty(),
        "{} answers missing or later than {limit:?}: {:?}",
        late.len(),
        late.iter().take(10).collect::<Vec<_>>()
    );
}

/// The slowest answer to a batch (or to a single event).
fn slowest(record: &super::load::Record, batch: bool) -> Duration {
    record
        .exchanges
        .iter()
        .filter(|e| e.batch == batch && e.status.is_some())
        .map(|e| e.latency)
        .max()
        .unwrap_or_default()
}
