//! Redis hung while PostgreSQL is down: the service can store a write nowhere it can confirm.
//! The queue's connection is open but silent, so an enqueue sent into it may still happen
//! (the hung Redis runs it when it resumes): such a write must be answered 503
//! `outcome-unknown`, never `service-unavailable`, which promises nothing was written.

use std::time::{Duration, Instant};

use datastorage_tests::proxy::Mode;

use super::load::{Load, Shape};
use super::tally::{Figures, Row, drained, watch_recovery};
use super::{PATIENCE, Rig, Through};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_hung_while_postgres_is_down_no_answer_denies_a_write_that_is_then_stored() {
    const DOWN: Duration = Duration::from_secs(5);
    let case = "redis-hung-postgres-down";
    let rig = Rig::start(Through::PostgresAndRedis, |_| {}).await;
    let redis = rig.redis.as_ref().expect("Redis behind the proxy");
    let mut load = Load::start(&rig.app.base_url, case, Shape::Mixed);
    load.until_answered(200, PATIENCE).await;

    // Redis hangs first, so every write PostgreSQL fails from now on falls back into it.
    redis.set_mode(Mode::Hang);
    rig.postgres.set_mode(Mode::Refuse);
    rig.postgres.reset_all().await;
    let down = Instant::now();
    // The fault is the scenario: held for a fixed time.
    tokio::time::sleep(DOWN).await;
    let healed = Instant::now();
    rig.postgres.set_mode(Mode::Forward);
    redis.set_mode(Mode::Forward);
    let during = load.exchanges_answered_between(down, healed);
    let recovery = watch_recovery(rig.pool.clone(), load.acknowledged());
    load.until_more(200, PATIENCE).await;

    let record = load.finish().await;
    drained(&rig.app.base_url).await;
    let figures = Figures::count(&record, &rig.pool, Some(recovery.await.unwrap())).await;
    let unknown: Vec<_> = record
        .exchanges
        .iter()
        .filter(|e| e.label() == "503 outcome-unknown")
        .collect();
    let label_count = |label: &str| during.iter().filter(|e| e.label() == label).count();
    Row {
        case,
        test: "redis_hung_while_postgres_is_down",
        title: "Redis hung while PostgreSQL is down",
        fault: format!(
            "for {} s: PostgreSQL's connections reset and new ones refused; Redis's held open \
             with nothing read or answered (what was sent to it runs when it resumes)",
            DOWN.as_secs()
        ),
        shape: Shape::Mixed,
        proves: "The service never says \"nothing was written\" (503 `service-unavailable`) \
                 about a write that may yet happen: an enqueue into a silent Redis is answered \
                 503 `outcome-unknown` with `Retry-After` and the request's `event_ids`; the \
                 clients' re-sends and the replay of what Redis ran late store each event \
                 exactly once, and no refused event is stored.",
        details: vec![
            (
                "answers while down".into(),
                format!(
                    "{}: 503 outcome-unknown × {}, 503 service-unavailable × {}",
                    during.len(),
                    label_count("503 outcome-unknown"),
                    label_count("503 service-unavailable")
                ),
            ),
            (
                "outcome-unknown answers naming their events, with Retry-After".into(),
                format!(
                    "{} of {}",
                    unknown
                        .iter()
                        .filter(|e| e.retry_after && e.names_its_events == Some(true))
                        .count(),
                    unknown.len()
                ),
            ),
        ],
    }
    .write(&figures);

    // The heart of it, inside: no event a 503 `service-unavailable` refused is stored.
    figures.assert_exactly_once();
    assert!(
        !unknown.is_empty(),
        "writes that cannot be confirmed are answered outcome-unknown"
    );
    for e in &unknown {
        assert!(e.retry_after, "an outcome-unknown answer has Retry-After");
        assert_eq!(
            e.names_its_events,
            Some(true),
            "an outcome-unknown answer names exactly the request's events"
        );
    }
}
