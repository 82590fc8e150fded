//! Several replicas: two real `datastorage` processes on one PostgreSQL and one Redis take
//! the single-event and the batch load at once, some events sent to both (a client retrying
//! at another replica), with PostgreSQL up throughout and with it stopped for part of the
//! load. Then every acknowledged event is stored once, every queued entry was replayed once,
//! and the transparency log the two sequencers share is contiguous and signed with one key.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Months, NaiveDate};
use datastorage_application::ports::{AuditEventRepository, DeadLetterQueue, RetentionStore};
use datastorage_domain::log::checkpoint::open_checkpoint;
use datastorage_domain::log::note::{NoteSigner, NoteVerifier};
use datastorage_tests::processes::{PgCluster, free_port};
use datastorage_tests::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

const EVENTS: &str = "/api/v1/audit/events";
const BATCH: &str = "/api/v1/audit/events/batch";
/// Bounds every wait (a hang fails the test instead of stalling it).
const PATIENCE: Duration = Duration::from_secs(120);

/// Polls `check` until it answers something or [`PATIENCE`] passes (then fails with `what`).
async fn poll<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `check` until it holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    poll(what, || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await
}

/// What the replicas share: the database, the queue's keys and the log's signing key.
struct Shared {
    database_url: String,
    redis_url: String,
    key_prefix: String,
    key_file: PathBuf,
    dir: PathBuf,
}

impl Shared {
    fn new(database_url: String) -> Self {
        let dir = std::env::temp_dir().join(format!("ds-replicas-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join("log-signing-key");
        let signer = NoteSigner::new("replicas.test/log", [26; 32]).unwrap();
        std::fs::write(&key_file, signer.private_key_text()).unwrap();
        Self {
            database_url,
            redis_url: test_redis_url(),
            key_prefix: unique_prefix(),
            key_file,
            dir,
        }
    }
}

/// One service process; its log goes to `<dir>/<name>.log`.
struct Replica {
    name: String,
    child: Child,
    base_url: String,
    client: reqwest::Client,
    log: PathBuf,
}

impl Replica {
    /// Starts the binary; returns before it is ready (both replicas start, and migrate, at
    /// once).
    fn spawn(name: &str, shared: &Shared, extra: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = shared.dir.join(format!("{name}.log"));
        let child = Command::new(datastorage_binary())
            .env_clear()
            .env("DS_HTTP__ADDR", format!("127.0.0.1:{port}"))
            .env("DS_EMBEDDER__KIND", "none")
            .env("DATABASE_URL", &shared.database_url)
            .env("DS_DATABASE__MAX_CONNECTIONS", "8")
            .env("REDIS_URL", &shared.redis_url)
            .env("DS_REDIS__KEY_PREFIX", &shared.key_prefix)
            .env("DS_DLQ__CONSUMER", name)
            .env("DS_DLQ__IDLE_WAIT_MS", "20")
            .env("DS_BREAKER__OPEN_MS", "200")
            .env("DS_AUDIT_LOG__KEY_FILE", &shared.key_file)
            .envs(extra.iter().copied())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Self {
            name: name.to_owned(),
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            log,
        }
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "{} exited ({status}); see {}",
                    self.name,
                    self.log.display()
                );
            }
            let ready = self
                .client
                .get(format!("{}/health/ready", self.base_url))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready; see {}",
                self.name,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn post(&self, path: &str, body: &Value) -> StatusCode {
        self.client
            .post(format!("{}{path}", self.base_url))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} {path}: {e}; see {}", self.name, self.log.display()))
            .status()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .unwrap()
    }

    /// A counter from `/metrics` (0 before it is first counted).
    async fn counter(&self, name: &str) -> f64 {
        let text = self.get("/metrics").await.text().await.unwrap();
        text.lines()
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request of the load: the events it carried, which replica answered, and how.
struct Answer {
    replica: usize,
    ids: Vec<Uuid>,
    status: StatusCode,
}

/// Per replica: single-event clients × requests, batch clients × batches of `batch_size`.
#[derive(Clone, Copy)]
struct Load {
    single_clients: usize,
    singles: usize,
    batch_clients: usize,
    batches: usize,
    batch_size: usize,
}

impl Load {
    /// Requests sent, counting a request sent to both replicas twice.
    fn requests(&self) -> usize {
        let per_replica = self.single_clients * (self.singles + self.singles.div_ceil(10))
            + self.batch_clients * (self.batches + self.batches.div_ceil(5));
        2 * per_replica
    }
}

fn event(correlation: &str, id: Uuid) -> Value {
    let mut body = event_body(correlation);
    body["event_id"] = json!(id.to_string());
    body
}

/// Sends `body` to replica `to`, or to both at once when `both` (a retry at the other
/// replica racing the original).
async fn send(
    replicas: &[Arc<Replica>; 2],
    to: usize,
    both: bool,
    path: &str,
    body: &Value,
    ids: Vec<Uuid>,
    progress: &watch::Sender<usize>,
) -> Vec<Answer> {
    let answers = if both {
        let (a, b) = tokio::join!(replicas[0].post(path, body), replicas[1].post(path, body));
        vec![(0, a), (1, b)]
    } else {
        vec![(to, replicas[to].post(path, body).await)]
    };
    progress.send_modify(|n| *n += answers.len());
    answers
        .into_iter()
        .map(|(replica, status)| Answer {
            replica,
            ids: ids.clone(),
            status,
        })
        .collect()
}

/// Runs `load` at both replicas at once; every 10th single event and every 5th batch goes
/// to both. Reports each answered request on `progress`.
async fn drive(
    replicas: &[Arc<Replica>; 2],
    load: Load,
    progress: Arc<watch::Sender<usize>>,
) -> Vec<Answer> {
    let mut clients = Vec::new();
    for to in 0..2 {
        for c in 0..load.single_clients {
            let (replicas, progress) = (replicas.clone(), progress.clone());
            clients.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                for i in 0..load.singles {
                    let id = Uuid::now_v7();
                    let body = event(&format!("single-{to}-{c}"), id);
                    answers.extend(
                        send(
                            &replicas,
                            to,
                            i % 10 == 0,
                            EVENTS,
                            &body,
                            vec![id],
                            &progress,
                        )
                        .await,
                    );
                }
                answers
            }));
        }
        for c in 0..load.batch_clients {
            let (replicas, progress) = (replicas.clone(), progress.clone());
            clients.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                for i in 0..load.batches {
                    let ids: Vec<Uuid> = (0..load.batch_size).map(|_| Uuid::now_v7()).collect();
                    let correlation = format!("batch-{to}-{c}-{}", i % 4);
                    let body =
                        Value::Array(ids.iter().map(|id| event(&correlation, *id)).collect());
                    answers.extend(
                        send(&replicas, to, i % 5 == 0, BATCH, &body, ids, &progress).await,
                    );
                }
                answers
            }));
        }
    }
    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await.unwrap());
    }
    assert_eq!(answers.len(), load.requests());
    answers
}

/// Every event of `answers` stored exactly once and nothing else stored; once the
/// sequencers have caught up, the log holds each stored event exactly once at indexes
/// 0..n-1, and a checkpoint of it all, signed by either replica, verifies with the key the
/// other serves and is consistent with `early` (one signed while the load ran).
async fn assert_stored_once_and_logged(
    pool: &PgPool,
    replicas: &[Arc<Replica>; 2],
    answers: &[Answer],
    early: &str,
) {
    let sent: HashSet<Uuid> = answers.iter().flat_map(|a| a.ids.iter().copied()).collect();
    let sent: Vec<Uuid> = sent.into_iter().collect();
    let n = sent.len() as i64;
    let (rows, distinct, found): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT event_id), count(*) FILTER (WHERE event_id = ANY($1))
         FROM audit_events",
    )
    .bind(&sent)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!((rows, distinct, found), (n, n, n), "stored once each");

    eventually("the sequencers log every stored event", || async {
        let size: i64 = sqlx::query_scalar("SELECT size FROM audit_log_state")
            .fetch_one(pool)
            .await
            .unwrap();
        size >= n
    })
    .await;
    let (leaves, indexes, first, last, logged, pending): (i64, i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT count(*), count(DISTINCT log_index), min(log_index), max(log_index),
                    count(DISTINCT event_id), (SELECT count(*) FROM audit_log_pending)
             FROM audit_log_leaves",
        )
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        (leaves, indexes, first, last, logged, pending),
        (n, n, 0, n - 1, n, 0),
        "one leaf per event at indexes 0..n-1"
    );
    let unlogged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events e WHERE NOT EXISTS
             (SELECT 1 FROM audit_log_leaves l
              WHERE l.event_id = e.event_id AND l.event_date = e.event_date)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(unlogged, 0, "every stored event has its leaf");

    let vkey = replicas[1]
        .get("/api/v1/audit/log/vkey")
        .await
        .text()
        .await
        .unwrap();
    let verifier = NoteVerifier::from_vkey(vkey.trim()).unwrap();
    eventually("a checkpoint of the whole log is signed", || async {
        let latest = replicas[0]
            .get("/api/v1/audit/log/checkpoint")
            .await
            .text()
            .await
            .unwrap();
        open_checkpoint(&latest, &verifier, None).is_ok_and(|c| c.size == n as u64)
    })
    .await;
    let early_size = open_checkpoint(early, &verifier, None)
        .expect("the early checkpoint verifies with the other replica's key")
        .size;
    let early_file = replicas[0].log.with_extension("checkpoint");
    std::fs::write(&early_file, early).unwrap();
    let out = Command::new(datastorage_binary())
        .args(["log", "verify", "--vkey", vkey.trim(), "--url"])
        .arg(&replicas[1].base_url)
        .arg("--checkpoint")
        .arg(&early_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the checkpoint of size {early_size} is consistent with the log of {n}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts two replicas at once on `shared` and waits until both are ready.
async fn two_replicas(shared: &Shared, extra: &[(&str, &str)]) -> [Arc<Replica>; 2] {
    let mut a = Replica::spawn("replica-a", shared, extra);
    let mut b = Replica::spawn("replica-b", shared, extra);
    a.wait_ready().await;
    b.wait_ready().await;
    [Arc::new(a), Arc::new(b)]
}

/// A signed checkpoint from replica 0 once `at` requests are answered.
fn checkpoint_when(
    replicas: &[Arc<Replica>; 2],
    mut progress: watch::Receiver<usize>,
    at: usize,
) -> tokio::task::JoinHandle<String> {
    let replica = replicas[0].clone();
    tokio::spawn(async move {
        progress.wait_for(|n| *n >= at).await.unwrap();
        poll("a first checkpoint is signed", || async {
            let r = replica.get("/api/v1/audit/log/checkpoint").await;
            (r.status() == StatusCode::OK).then_some(r.text().await.unwrap())
        })
        .await
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_under_single_and_batch_load_store_each_event_once_in_one_contiguous_log() {
    let load = Load {
        single_clients: 4,
        singles: 200,
        batch_clients: 2,
        batches: 20,
        batch_size: 50,
    };
    let shared = Shared::new(fresh_database_url().await);
    let replicas = two_replicas(&shared, &[]).await;
    let (progress, watched) = watch::channel(0usize);
    let early = checkpoint_when(&replicas, watched, load.requests() / 2);

    let answers = drive(&replicas, load, Arc::new(progress)).await;
    let bad: Vec<_> = answers
        .iter()
        .filter(|a| a.status != StatusCode::CREATED && a.status != StatusCode::OK)
        .map(|a| (a.replica, a.ids.len(), a.status))
        .collect();
    assert!(bad.is_empty(), "answers other than 200/201: {bad:?}");

    let pool = PgPool::connect(&shared.database_url).await.unwrap();
    let early = early.await.unwrap();
    assert_stored_once_and_logged(&pool, &replicas, &answers, &early).await;
    let _ = std::fs::remove_dir_all(&shared.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_with_postgres_stopped_under_load_queue_and_replay_each_entry_once() {
    let load = Load {
        single_clients: 4,
        singles: 250,
        batch_clients: 2,
        batches: 25,
        batch_size: 40,
    };
    let pg = Arc::new(PgCluster::start_new());
    let shared = Shared::new(pg.url());
    // Replay one entry per transaction: the queue then drains over many passes, which
    // both replicas' workers share.
    let replicas = two_replicas(
        &shared,
        &[
            ("DS_DATABASE__ACQUIRE_TIMEOUT_SECS", "1"),
            ("DS_DLQ__REPLAY_BATCH", "1"),
        ],
    )
    .await;
    let total = load.requests();
    let (progress, mut watched) = watch::channel(0usize);
    let early = checkpoint_when(&replicas, watched.clone(), total / 10);
    let driving = {
        let replicas = replicas.clone();
        tokio::spawn(async move { drive(&replicas, load, Arc::new(progress)).await })
    };

    // Stop PostgreSQL a fifth of the way in; start it again two fifths later.
    watched.wait_for(|n| *n >= total / 5).await.unwrap();
    let stopper = pg.clone();
    tokio::task::spawn_blocking(move || stopper.stop())
        .await
        .unwrap();
    let stopped_at = *watched.borrow();
    watched
        .wait_for(|n| *n >= (stopped_at + 2 * total / 5).min(total))
        .await
        .unwrap();
    let starter = pg.clone();
    tokio::task::spawn_blocking(move || starter.start())
        .await
        .unwrap();
    let answers = driving.await.unwrap();

    let bad: Vec<_> = answers
        .iter()
        .filter(|a| {
            ![StatusCode::CREATED, StatusCode::OK, StatusCode::ACCEPTED].contains(&a.status)
        })
        .map(|a| (a.replica, a.ids.len(), a.status))
        .collect();
    assert!(bad.is_empty(), "answers other than 200/201/202: {bad:?}");
    let queued = |r: usize| {
        answers
            .iter()
            .filter(|a| a.replica == r && a.status == StatusCode::ACCEPTED)
            .count()
    };
    assert!(
        queued(0) > 0 && queued(1) > 0,
        "both replicas queued during the outage: {} and {}",
        queued(0),
        queued(1)
    );

    eventually("the replicas drain the shared queue", || async {
        let q: Value = replicas[0].get("/api/v1/dlq").await.json().await.unwrap();
        q["depth"] == 0 && q["pending"] == 0
    })
    .await;
    let q: Value = replicas[1].get("/api/v1/dlq").await.json().await.unwrap();
    assert_eq!(q["dead_lettered"], 0);
    // Each 202 is one queue entry, counted once by the worker that acknowledged its replay:
    // an entry replayed by two consumers would be counted twice. (Fewer is possible: an
    // acknowledgement that Redis applied but answered too late for the worker is replayed
    // again as already stored, or not at all, and goes uncounted.)
    let mut replayed = [0.0; 2];
    for (r, replica) in replicas.iter().enumerate() {
        replayed[r] = replica
            .counter("datastorage_dlq_replayed_entries_total")
            .await;
    }
    assert!(
        replayed[0] + replayed[1] <= (queued(0) + queued(1)) as f64,
        "no entry replayed twice: replicas replayed {replayed:?} of {} entries",
        queued(0) + queued(1)
    );
    assert!(
        replayed[0] > 0.0 && replayed[1] > 0.0,
        "both replicas replayed: {replayed:?}"
    );

    let pool = PgPool::connect(&pg.url()).await.unwrap();
    let early = early.await.unwrap();
    assert_stored_once_and_logged(&pool, &replicas, &answers, &early).await;
    println!(
        "{} requests: replicas queued {} and {}, replayed {} and {}",
        answers.len(),
        queued(0),
        queued(1),
        replayed[0],
        replayed[1]
    );
    drop(replicas);
    let _ = std::fs::remove_dir_all(&shared.dir);
}

/// A consumer of the replicas' queue, as a replica named `name` would be.
async fn queue_as(shared: &Shared, name: &str) -> datastorage_redis::RedisStreamDeadLetterQueue {
    datastorage_redis::RedisStreamDeadLetterQueue::connect(datastorage_redis::RedisQueueSettings {
        endpoint: datastorage_redis::RedisEndpoint {
            url: shared.redis_url.clone(),
            ..Default::default()
        },
        key_prefix: shared.key_prefix.clone(),
        consumer: name.to_owned(),
        capacity: 1000,
        reclaim_idle: Duration::from_secs(3600),
        min_replicas: 0,
        replica_timeout: Duration::from_secs(1),
    })
    .await
    .unwrap()
}

/// Enqueues `entries` entries of two events each and claims them as `consumer`, which then
/// dies without acknowledging them; answers their events' ids.
async fn claimed_and_left(shared: &Shared, consumer: &str, entries: usize) -> HashSet<Uuid> {
    let queue = queue_as(shared, consumer).await;
    let f = EventFactory::default();
    let mut ids = HashSet::new();
    for _ in 0..entries {
        let events = [f.event(consumer, -2), f.event(consumer, -1)];
        ids.extend(events.iter().map(|e| *e.event.event_id.as_uuid()));
        queue.enqueue(&events).await.unwrap();
    }
    assert_eq!(queue.claim(entries).await.unwrap().entries.len(), entries);
    ids
}

async fn stored_ids(pool: &PgPool) -> HashSet<Uuid> {
    sqlx::query_scalar("SELECT event_id FROM audit_events")
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// A replica's consumers are named by DS_DLQ__CONSUMER: restarted under its name, a replica
/// replays at once what it had claimed and not acknowledged when it died (no other replica
/// could take it over within the hour); what a replica that never comes back held is taken
/// over by another once it has sat idle for that one's DS_DLQ__RECLAIM_IDLE_MS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_replica_takes_back_its_entries_and_a_gone_ones_are_taken_over() {
    datastorage::tls::install_crypto_provider();
    let shared = Shared::new(fresh_database_url().await);
    let mine = claimed_and_left(&shared, "replica-a", 3).await;
    let gone = claimed_and_left(&shared, "replica-gone", 2).await;

    let mut restarted = Replica::spawn(
        "replica-a",
        &shared,
        &[("DS_DLQ__RECLAIM_IDLE_MS", "3600000")],
    );
    restarted.wait_ready().await;
    let pool = PgPool::connect(&shared.database_url).await.unwrap();
    eventually("the restarted replica replays its own entries", || async {
        let q: Value = restarted.get("/api/v1/dlq").await.json().await.unwrap();
        q["depth"] == 2 && q["pending"] == 2
    })
    .await;
    assert_eq!(
        stored_ids(&pool).await,
        mine,
        "its own entries, and only those"
    );

    let mut other = Replica::spawn("replica-b", &shared, &[("DS_DLQ__RECLAIM_IDLE_MS", "1")]);
    other.wait_ready().await;
    eventually(
        "another replica takes the gone one's entries over",
        || async {
            let q: Value = other.get("/api/v1/dlq").await.json().await.unwrap();
            q["depth"] == 0 && q["pending"] == 0
        },
    )
    .await;
    assert_eq!(stored_ids(&pool).await, &mine | &gone);
    let _ = std::fs::remove_dir_all(&shared.dir);
}

/// Two replicas' retention runs reach the same month at once: one drops it and records it,
/// the other finds it gone; neither fails. (Unserialised, the two deadlock: each holds the
/// month's table the other's detach needs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_pruning_one_month_at_once_drop_it_once() {
    let pool = fresh_pool().await;
    let events = datastorage_postgres::PgAuditEventRepository::new(pool.clone());
    let retention = datastorage_postgres::PgGovernance::new(pool.clone());
    let month = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let f = EventFactory::at(month.and_hms_opt(12, 0, 0).unwrap().and_utc());
    let expired: Vec<_> = (0..20)
        .map(|i| {
            let mut d = f.draft(&format!("prune-{i}"));
            d.retention_days = Some(1);
            f.build(d)
        })
        .collect();
    events.insert_batch(&expired).await.unwrap();
    let later = month
        .checked_add_months(Months::new(3))
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();

    // Both runs are held at their start until both are there, then let go together.
    let mut gate = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE audit_legal_holds IN ROW EXCLUSIVE MODE")
        .execute(&mut *gate)
        .await
        .unwrap();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let retention = retention.clone();
            tokio::spawn(async move { retention.prune(month, later).await })
        })
        .collect();
    eventually("both runs wait", || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        waiting == 2
    })
    .await;
    gate.rollback().await.unwrap();
    let mut outcomes = Vec::new();
    for run in runs {
        outcomes.push(run.await.unwrap().expect("neither run fails"));
    }
    let dropped: Vec<_> = outcomes.iter().flatten().collect();
    assert_eq!(dropped.len(), 1, "one run drops the month: {outcomes:?}");
    assert_eq!(dropped[0].events, 20);
    let recorded: i64 = sqlx::query_scalar("SELECT events FROM audit_log_pruned")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(recorded, 20, "the drop is recorded once");
}
