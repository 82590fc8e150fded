//! The dead-letter queue on a Redis Cluster under failure, and the move from key layout v1:
//! a master killed under the enqueue load (its replica promoted) loses no event that got a
//! 202 and duplicates none; entries left in the v1 streams (pending ones included) are all
//! replayed, once, by a service that starts on them. Events are counted in PostgreSQL.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datastorage_application::ports::DeadLetterQueue;
use datastorage_tests::cluster::{RedisCluster, shared_redis_cluster};
use datastorage_tests::processes::PgCluster;
use datastorage_tests::support::*;
use redis::aio::ConnectionLike;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

const EVENTS: &str = "/api/v1/audit/events";

/// How long a cluster's failover and a queue's drain may take.
const PATIENCE: Duration = Duration::from_secs(120);

async fn drained(app: &TestApp) -> bool {
    let q: Value = app.get("/api/v1/dlq").await.json().await.unwrap();
    q["depth"] == 0 && q["pending"] == 0
}

/// Rows in `audit_events`, distinct event ids among them, and how many of `ids` are there.
async fn count(pool: &PgPool, ids: &[uuid::Uuid]) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT count(*), count(DISTINCT event_id), count(*) FILTER (WHERE event_id = ANY($1))
         FROM audit_events",
    )
    .bind(ids)
    .fetch_one(pool)
    .await
    .unwrap()
}

fn stream_of(prefix: &str) -> String {
    format!("{prefix}:v2:{{{prefix}:dlq}}:audit")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_master_killed_under_enqueue_load_loses_no_acknowledged_event_and_duplicates_none() {
    const CLIENTS: usize = 16;
    let pg = Arc::new(PgCluster::start_new());
    let cluster = tokio::task::spawn_blocking(RedisCluster::start_new)
        .await
        .unwrap();
    let prefix = unique_prefix();
    let stream = stream_of(&prefix);
    let url = cluster.url();
    let app = Arc::new(
        spawn_app_with(Storage::Memory, |s| {
            s.database.url = Some(pg.url().into());
            s.database.acquire_timeout_secs = 1;
            with_redis_queue(s, url);
            s.redis.cluster = true;
            s.redis.key_prefix = prefix.clone();
        })
        .await,
    );
    // Every write from here on goes to the queue.
    let stopper = pg.clone();
    tokio::task::spawn_blocking(move || stopper.stop())
        .await
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (app, stop, accepted) = (app.clone(), stop.clone(), accepted.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let id = uuid::Uuid::now_v7();
                    let mut body = event_body(&format!("failover-{c}"));
                    body["event_id"] = json!(id.to_string());
                    let status = app.post_json(EVENTS, &body).await.status();
                    if status == StatusCode::ACCEPTED {
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                    answers.push((id, status));
                }
                answers
            })
        })
        .collect();
    let accepted_reach = |n: usize| {
        let accepted = accepted.clone();
        async move {
            eventually(
                &format!("{n} writes are acknowledged"),
                PATIENCE,
                || async { accepted.load(Ordering::Relaxed) >= n },
            )
            .await
        }
    };

    // Kill the stream's master mid-load; wait for its replica to take over; bring the dead
    // node back (it rejoins as the new master's replica, so `WAIT 1` can be met again).
    accepted_reach(1000).await;
    let cluster = Arc::new(Mutex::new(cluster));
    let c = cluster.clone();
    let key = stream.clone();
    let killed = tokio::task::spawn_blocking(move || {
        let mut cluster = c.lock().unwrap();
        let master = cluster.master_of(&key);
        let node = cluster.kill(master);
        cluster.wait_for_failover(master, &key);
        cluster.start_node(node);
        cluster.wait_until_whole();
        master
    })
    .await
    .unwrap();
    let after = accepted.load(Ordering::Relaxed);
    accepted_reach(after + 1000).await;
    stop.store(true, Ordering::Relaxed);
    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await.unwrap());
    }

    let unexpected: Vec<_> = answers
        .iter()
        .filter(|(_, s)| ![StatusCode::ACCEPTED, StatusCode::SERVICE_UNAVAILABLE].contains(s))
        .collect();
    assert!(
        unexpected.is_empty(),
        "answers other than 202/503: {unexpected:?}"
    );
    let acknowledged: Vec<uuid::Uuid> = answers
        .iter()
        .filter(|(_, s)| *s == StatusCode::ACCEPTED)
        .map(|(id, _)| *id)
        .collect();
    let refused = answers.len() - acknowledged.len();

    let starter = pg.clone();
    tokio::task::spawn_blocking(move || starter.start())
        .await
        .unwrap();
    eventually("the replay worker drains the queue", PATIENCE, || {
        drained(&app)
    })
    .await;
    let pool = PgPool::connect(&pg.url()).await.unwrap();
    let sent: Vec<uuid::Uuid> = answers.iter().map(|(id, _)| *id).collect();
    let (rows, distinct, of_sent) = count(&pool, &sent).await;
    let (_, _, of_acknowledged) = count(&pool, &acknowledged).await;
    // Every 202 is stored; nothing twice; nothing that was not sent. A 503'd event may be
    // stored too (its entries were added but `WAIT` did not see a replica have them).
    assert_eq!(of_acknowledged, acknowledged.len() as i64, "a 202 was lost");
    assert_eq!(rows, distinct, "an event was stored twice");
    assert_eq!(rows, of_sent);
    println!(
        "master on port {killed} killed: {} events answered 202 (all stored once), {refused} \
         answered 503 during the failover; {rows} stored",
        acknowledged.len()
    );
}

/// Entries as release v1 laid them out: `<prefix>:v1:dlq:audit` (some of them pending in the
/// v1 consumer group, claimed by an instance that never acknowledged) and one in
/// `<prefix>:v1:dlq:audit:dead`. The entries' fields are the v1 encoding, unchanged in v2:
/// they are made by a v2 queue under a scratch prefix and copied as they are.
async fn write_v1_layout<C: ConnectionLike + Send>(
    conn: &mut C,
    queue_on: datastorage_redis::RedisEndpoint,
    prefix: &str,
) -> Vec<uuid::Uuid> {
    let scratch = unique_prefix();
    let maker = datastorage_redis::RedisStreamDeadLetterQueue::connect(
        datastorage_redis::RedisQueueSettings::new(queue_on, scratch.clone(), "maker".into(), 1000),
    )
    .await
    .unwrap();
    let f = EventFactory::default();
    let mut ids = Vec::new();
    for i in 0..30 {
        // Singles and batches of three.
        let events: Vec<_> = (0..1 + 2 * (i % 2))
            .map(|j| f.event(&format!("v1-{i}"), -(j as i64)))
            .collect();
        ids.extend(events.iter().map(|e| *e.event.event_id.as_uuid()));
        maker.enqueue(&events).await.unwrap();
    }
    let made: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(stream_of(&scratch))
        .arg("-")
        .arg("+")
        .query_async(conn)
        .await
        .unwrap();
    let old = format!("{prefix}:v1:dlq:audit");
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&old)
        .arg(format!("{prefix}:v1:replay"))
        .arg("0")
        .arg("MKSTREAM")
        .query_async(conn)
        .await
        .unwrap();
    for (i, entry) in made.ids.iter().enumerate() {
        let target = if i == 0 {
            format!("{old}:dead")
        } else {
            old.clone()
        };
        let mut add = redis::cmd("XADD");
        add.arg(&target).arg("*");
        for (name, value) in &entry.map {
            let value: Vec<u8> = redis::from_redis_value_ref(value).unwrap();
            add.arg(name).arg(value);
        }
        if i == 0 {
            add.arg("reason").arg("refused for good");
        }
        let _: String = add.query_async(conn).await.unwrap();
    }
    // An old instance claimed ten and died before acknowledging them.
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(format!("{prefix}:v1:replay"))
        .arg("old-instance")
        .arg("COUNT")
        .arg(10)
        .arg("STREAMS")
        .arg(&old)
        .arg(">")
        .query_async(conn)
        .await
        .unwrap();
    // The first entry (one event) went to the dead stream: it is not replayed.
    ids.remove(0);
    ids
}

/// Starts a service on `prefix` and waits until it has replayed the moved entries.
async fn a_service_starting_on_the_v1_layout_replays_every_entry_once<C: ConnectionLike + Send>(
    conn: &mut C,
    endpoint: datastorage_redis::RedisEndpoint,
) {
    let prefix = unique_prefix();
    let expected = write_v1_layout(conn, endpoint.clone(), &prefix).await;
    let app = spawn_app_with(Storage::Postgres, |s| {
        with_redis_queue(s, endpoint.url.clone());
        s.redis.cluster = endpoint.cluster;
        s.redis.key_prefix = prefix.clone();
    })
    .await;
    eventually("the moved entries are replayed", PATIENCE, || drained(&app)).await;
    let pool = PgPool::connect(app.database_url.as_deref().unwrap())
        .await
        .unwrap();
    let (rows, distinct, found) = count(&pool, &expected).await;
    assert_eq!(
        (rows, distinct, found),
        (
            expected.len() as i64,
            expected.len() as i64,
            expected.len() as i64
        )
    );
    let q: Value = app.get("/api/v1/dlq").await.json().await.unwrap();
    assert_eq!(q["dead_lettered"], 1, "the v1 dead entry is kept in v2");
    for key in [
        format!("{prefix}:v1:dlq:audit"),
        format!("{prefix}:v1:dlq:audit:dead"),
    ] {
        let left: u64 = redis::cmd("XLEN")
            .arg(&key)
            .query_async(conn)
            .await
            .unwrap();
        assert_eq!(left, 0, "{key} is emptied");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_layout_entries_on_a_single_redis_are_moved_and_replayed_exactly_once() {
    let client = redis::Client::open(test_redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let endpoint = datastorage_redis::RedisEndpoint {
        url: test_redis_url(),
        ..Default::default()
    };
    a_service_starting_on_the_v1_layout_replays_every_entry_once(&mut conn, endpoint).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_layout_entries_on_a_redis_cluster_are_moved_and_replayed_exactly_once() {
    let seeds: Vec<String> = shared_redis_cluster()
        .ports()
        .iter()
        .map(|p| format!("redis://127.0.0.1:{p}/"))
        .collect();
    let client = redis::cluster::ClusterClient::new(seeds).unwrap();
    let mut conn = client.get_async_connection().await.unwrap();
    a_service_starting_on_the_v1_layout_replays_every_entry_once(
        &mut conn,
        redis_cluster_endpoint(),
    )
    .await;
}
