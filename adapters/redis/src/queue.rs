//! `RedisStreamDeadLetterQueue`: the `DeadLetterQueue` port on a Redis stream + consumer group.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datastorage_application::grouping::{GroupSettings, GroupWrite, Grouped};
use datastorage_application::ports::*;
use datastorage_domain::audit::NewAuditEvent;
use deadpool_redis::{Config, Connection, Pool, Runtime};
use redis::{IntoConnectionInfo, Value};

use crate::codec;
use crate::resp::{self, Reply, RespConnection};

/// How to reach and lay out the queue.
#[derive(Debug, Clone)]
pub struct RedisQueueSettings {
    pub url: String,
    /// Key prefix; the layout version is appended (`<prefix>:v1:...`).
    pub key_prefix: String,
    /// This instance's consumer name in the group (unique per process).
    pub consumer: String,
    /// Most entries held; beyond it enqueue answers full instead of trimming.
    pub capacity: u64,
    /// How long another consumer's entry must sit unacknowledged before it is taken over.
    pub reclaim_idle: Duration,
    pub pool_size: usize,
}

struct Keys {
    stream: String,
    group: String,
    dead: String,
}

/// The dead-letter queue on Redis Streams. See the crate docs for the layout.
pub struct RedisStreamDeadLetterQueue {
    pool: Pool,
    keys: Keys,
    consumer: String,
    reclaim_idle: Duration,
    /// The capacity, and its warnings.
    watch: Arc<CapacityWatch>,
    /// Concurrent enqueues, written a group per round trip.
    enqueues: Grouped<Enqueuer>,
}

/// Logs once per rise when the depth crosses 80, 90 and 95 % of capacity.
struct CapacityWatch {
    capacity: u64,
    /// Highest level logged (0, 80, 90, 95).
    warned: AtomicU8,
}

impl CapacityWatch {
    fn observe(&self, depth: u64) {
        let ratio = depth as f64 / self.capacity.max(1) as f64;
        let level = [95u8, 90, 80]
            .into_iter()
            .find(|l| ratio * 100.0 >= f64::from(*l))
            .unwrap_or(0);
        let previous = self.warned.swap(level, Ordering::Relaxed);
        if level > previous {
            tracing::warn!(
                depth,
                capacity = self.capacity,
                level,
                "dead-letter queue is filling up"
            );
        }
    }
}

/// KEYS[1]: the stream; ARGV[1]: its capacity; ARGV[2]: how many arguments each entry has;
/// the rest: each entry's field/value pairs, one entry after another. Adds entries in order
/// while the stream is below capacity. Answers one 1 (added) or 0 (full) per entry, then the
/// depth after.
const ENQUEUE_UNLESS_FULL: &str = r"
local depth = redis.call('XLEN', KEYS[1])
local capacity = tonumber(ARGV[1])
local width = tonumber(ARGV[2])
local answers = {}
for first = 3, #ARGV, width do
  if depth < capacity then
    redis.call('XADD', KEYS[1], '*', unpack(ARGV, first, first + width - 1))
    depth = depth + 1
    answers[#answers + 1] = 1
  else
    answers[#answers + 1] = 0
  end
end
answers[#answers + 1] = depth
return answers
";

/// Enqueues grouped into one script call: `appendfsync always` costs Redis an fsync per event
/// loop turn and the service a round trip per call, so a group shares both. A group holds at
/// most this many entries and this many bytes (a batch entry can be megabytes). One group is
/// written at a time, on a connection of the enqueuer's own ([`RespConnection`]: the enqueue is
/// the one call every request pays while PostgreSQL is down), and a group smaller than the one
/// before waits up to a millisecond for as many: callers answered together come back
/// together; without the wait the first few back would go alone and split the rest into
/// small groups.
const ENQUEUE_GROUP: GroupSettings = GroupSettings {
    max_items: 128,
    max_in_flight: 1,
    gather: Some(Duration::from_millis(1)),
};
const ENQUEUE_GROUP_MAX_BYTES: usize = 1 << 20;

/// One entry's field/value pairs, encoded by the caller.
type EntryFields = Vec<(&'static str, String)>;

struct Enqueuer {
    server: redis::ConnectionInfo,
    /// Connections between calls; a call takes one (or opens one) and puts it back after a
    /// clean reply. At most `max_in_flight` are ever open.
    idle: std::sync::Mutex<Vec<RespConnection>>,
    /// The SHA-1 of [`ENQUEUE_UNLESS_FULL`], sent as `EVALSHA` once Redis has the script.
    script_hash: String,
    stream: String,
    /// The capacity, and its warnings.
    watch: Arc<CapacityWatch>,
}

impl GroupWrite for Enqueuer {
    type Item = EntryFields;
    type Answer = Result<(), QueueError>;
    /// The group's size in bytes.
    type Membership = usize;

    fn admit(bytes: &mut usize, entry: &EntryFields) -> bool {
        let size: usize = entry.iter().map(|(n, v)| n.len() + v.len()).sum();
        if *bytes > 0 && *bytes + size > ENQUEUE_GROUP_MAX_BYTES {
            return false;
        }
        *bytes += size;
        true
    }

    async fn write(&self, group: Vec<EntryFields>) -> Vec<Self::Answer> {
        metrics::histogram!("datastorage_dlq_enqueue_group_entries").record(group.len() as f64);
        let entries = group.len();
        let started = std::time::Instant::now();
        let added = self.add(&group).await;
        metrics::histogram!("datastorage_dlq_enqueue_seconds")
            .record(started.elapsed().as_secs_f64());
        match added {
            Ok(added) if added.len() == entries => added
                .into_iter()
                .map(|ok| {
                    if ok {
                        Ok(())
                    } else {
                        Err(QueueError::Full {
                            capacity: self.watch.capacity,
                        })
                    }
                })
                .collect(),
            Ok(added) => {
                let why = format!("enqueue answered {} of {entries} entries", added.len());
                (0..entries)
                    .map(|_| Err(QueueError::Unavailable(why.clone())))
                    .collect()
            }
            Err(e) => (0..entries).map(|_| Err(e.clone())).collect(),
        }
    }
}

impl Enqueuer {
    /// Adds the entries in one atomic script call; whether each was added (an entry is
    /// refused only when the queue is full).
    async fn add(&self, group: &[EntryFields]) -> Result<Vec<bool>, QueueError> {
        let width = group.first().map_or(0, |fields| fields.len() * 2);
        let (capacity, width_text) = (self.watch.capacity.to_string(), width.to_string());
        // KEYS[1], then ARGV as the script reads it.
        let mut args: Vec<&[u8]> = Vec::with_capacity(3 + group.len() * width);
        args.extend([
            self.stream.as_bytes(),
            capacity.as_bytes(),
            width_text.as_bytes(),
        ]);
        for fields in group {
            debug_assert_eq!(fields.len() * 2, width);
            for (name, value) in fields {
                args.extend([name.as_bytes(), value.as_bytes()]);
            }
        }
        // The script by hash, or whole when Redis does not have it (after a restart or
        // `SCRIPT FLUSH`; `EVAL` caches it again).
        let mut reply = self
            .exchange(&eval(b"EVALSHA", self.script_hash.as_bytes(), &args))
            .await
            .map_err(unavailable)?;
        if matches!(&reply, Reply::Error(e) if e.starts_with("NOSCRIPT")) {
            reply = self
                .exchange(&eval(b"EVAL", ENQUEUE_UNLESS_FULL.as_bytes(), &args))
                .await
                .map_err(unavailable)?;
        }
        let mut answers = match reply {
            Reply::Error(e) => return Err(QueueError::Unavailable(e)),
            other => other
                .integers()
                .ok_or_else(|| QueueError::Unavailable(format!("enqueue answered {other:?}")))?,
        };
        let depth = answers.pop().unwrap_or(0);
        self.watch.observe(u64::try_from(depth).unwrap_or(0));
        Ok(answers.into_iter().map(|a| a == 1).collect())
    }

    /// Sends `command` and reads its reply on an idle connection, or a new one. An idle
    /// connection that fails may have gone stale (a Redis restart, an idle timeout): the
    /// command goes once more on a new one. Were its entries added before it broke, they are
    /// queued twice, and replay stores each event once. Only a connection that answered in
    /// full goes back: its stream is in step.
    async fn exchange(&self, command: &[u8]) -> io::Result<Reply> {
        let (answer, conn) = match self.idle_connection() {
            Some(mut conn) => match call(&mut conn, command).await {
                Err(e) if e.kind() != io::ErrorKind::TimedOut => {
                    tracing::debug!(error = %e, "idle Redis connection failed; reconnecting");
                    let mut conn = self.connect().await?;
                    (call(&mut conn, command).await?, conn)
                }
                answered => (answered?, conn),
            },
            None => {
                let mut conn = self.connect().await?;
                (call(&mut conn, command).await?, conn)
            }
        };
        self.release(conn);
        Ok(answer)
    }

    fn idle_connection(&self) -> Option<RespConnection> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    fn release(&self, conn: RespConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < ENQUEUE_GROUP.max_in_flight {
            idle.push(conn);
        }
    }

    async fn connect(&self) -> io::Result<RespConnection> {
        tokio::time::timeout(resp::CONNECT_TIMEOUT, RespConnection::connect(&self.server))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connecting to Redis"))?
    }
}

/// `<verb> <script> 1 <args...>` (`EVALSHA` and a hash, or `EVAL` and the script), packed:
/// `args` starts with the one key.
fn eval(verb: &[u8], script: &[u8], args: &[&[u8]]) -> Vec<u8> {
    let mut command = Vec::with_capacity(64 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    let mut all: Vec<&[u8]> = Vec::with_capacity(3 + args.len());
    all.extend([verb, script, b"1"]);
    all.extend_from_slice(args);
    resp::pack(&mut command, &all);
    command
}

/// Sends `command` and reads its reply, within [`resp::RESPONSE_TIMEOUT`].
async fn call(conn: &mut RespConnection, command: &[u8]) -> io::Result<Reply> {
    tokio::time::timeout(resp::RESPONSE_TIMEOUT, conn.call(command))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "waiting for Redis's reply"))?
}

fn unavailable(e: impl std::fmt::Display) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

impl RedisStreamDeadLetterQueue {
    /// Connects, creates the stream and its consumer group if missing, and logs how durable
    /// an acknowledged enqueue is.
    ///
    /// # Errors
    /// When the URL is invalid or Redis cannot be reached.
    pub async fn connect(settings: RedisQueueSettings) -> Result<Self, QueueError> {
        let mut config = Config::from_url(settings.url.clone());
        config.pool = Some(deadpool_redis::PoolConfig::new(settings.pool_size.max(2)));
        let pool = config
            .create_pool(Some(Runtime::Tokio1))
            .map_err(unavailable)?;
        let prefix = format!("{}:v1", settings.key_prefix);
        let keys = Keys {
            stream: format!("{prefix}:dlq:audit"),
            group: format!("{prefix}:replay"),
            dead: format!("{prefix}:dlq:audit:dead"),
        };
        let watch = Arc::new(CapacityWatch {
            capacity: settings.capacity,
            warned: AtomicU8::new(0),
        });
        let enqueues = Grouped::new(
            Enqueuer {
                server: settings
                    .url
                    .as_str()
                    .into_connection_info()
                    .map_err(unavailable)?,
                idle: std::sync::Mutex::new(Vec::new()),
                script_hash: redis::Script::new(ENQUEUE_UNLESS_FULL)
                    .get_hash()
                    .to_owned(),
                stream: keys.stream.clone(),
                watch: watch.clone(),
            },
            ENQUEUE_GROUP,
        );
        let queue = Self {
            pool,
            keys,
            consumer: settings.consumer,
            reclaim_idle: settings.reclaim_idle,
            watch,
            enqueues,
        };
        let mut conn = queue.conn().await?;
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&queue.keys.stream)
            .arg(&queue.keys.group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        if let Err(e) = created
            && e.code() != Some("BUSYGROUP")
        {
            return Err(unavailable(e));
        }
        match queue.durability().await? {
            QueueDurability::Always => {
                tracing::info!(stream = %queue.keys.stream, "dead-letter queue ready (appendfsync always)")
            }
            other => tracing::warn!(
                stream = %queue.keys.stream,
                durability = %other.label(),
                "dead-letter queue is not fsynced on every write: an acknowledged event can be lost if Redis crashes"
            ),
        }
        Ok(queue)
    }

    async fn conn(&self) -> Result<Connection, QueueError> {
        self.pool.get().await.map_err(unavailable)
    }

    /// Entry fields for `events`. Fields at their default (no attempts, no backoff, no error)
    /// are left out: a fresh entry is `events` and `enqueued_at` only, which is less for the
    /// enqueue script to copy on the path every request takes while PostgreSQL is down.
    fn fields(
        events: &[NewAuditEvent],
        attempts: u32,
        enqueued_at: DateTime<Utc>,
        not_before: Option<DateTime<Utc>>,
        last_error: &str,
    ) -> Result<Vec<(&'static str, String)>, QueueError> {
        let mut fields = vec![
            (
                "events",
                codec::encode(events).map_err(QueueError::Unavailable)?,
            ),
            ("enqueued_at", enqueued_at.to_rfc3339()),
        ];
        if attempts > 0 {
            fields.push(("attempts", attempts.to_string()));
        }
        if let Some(t) = not_before {
            fields.push(("not_before", t.to_rfc3339()));
        }
        if !last_error.is_empty() {
            fields.push(("last_error", last_error.to_owned()));
        }
        Ok(fields)
    }

    /// Acknowledges and deletes `ids` as part of `pipe`.
    fn ack_into(&self, pipe: &mut redis::Pipeline, ids: &[&str]) {
        pipe.cmd("XACK")
            .arg(&self.keys.stream)
            .arg(&self.keys.group)
            .arg(ids)
            .ignore();
        pipe.cmd("XDEL").arg(&self.keys.stream).arg(ids).ignore();
    }

    async fn read_group(
        &self,
        conn: &mut Connection,
        count: usize,
        from: &str,
    ) -> Result<Vec<RawEntry>, QueueError> {
        let reply: Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(&self.keys.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(&self.keys.stream)
            .arg(from)
            .query_async(conn)
            .await
            .map_err(unavailable)?;
        // [[stream, [entry, ...]]] or nil
        Ok(array(&reply)
            .first()
            .map(|s| array(s).get(1).map(parse_entries).unwrap_or_default())
            .unwrap_or_default())
    }
}

/// A stream entry as read: id and fields (`None` when it was deleted meanwhile).
struct RawEntry {
    id: String,
    fields: Option<HashMap<String, Vec<u8>>>,
}

fn array(v: &Value) -> &[Value] {
    match v {
        Value::Array(items) | Value::Set(items) => items,
        _ => &[],
    }
}

fn bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        Value::Int(i) => Some(i.to_string().into_bytes()),
        _ => None,
    }
}

fn string(v: &Value) -> Option<String> {
    bytes(v).and_then(|b| String::from_utf8(b).ok())
}

fn parse_entries(v: &Value) -> Vec<RawEntry> {
    array(v)
        .iter()
        .filter_map(|entry| {
            let parts = array(entry);
            let id = string(parts.first()?)?;
            let fields = parts.get(1).and_then(|f| {
                let flat = array(f);
                if flat.is_empty() && !matches!(f, Value::Array(_)) {
                    return None;
                }
                Some(
                    flat.chunks(2)
                        .filter_map(|kv| Some((string(kv.first()?)?, bytes(kv.get(1)?)?)))
                        .collect(),
                )
            });
            Some(RawEntry { id, fields })
        })
        .collect()
}

fn field<'a>(fields: &'a HashMap<String, Vec<u8>>, name: &str) -> &'a str {
    fields
        .get(name)
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or("")
}

fn decode_entry(raw: &RawEntry) -> Result<QueuedEntry, String> {
    let fields = raw.fields.as_ref().ok_or("entry was deleted")?;
    let events = codec::decode(fields.get("events").ok_or("no events field")?)?;
    let when = |name: &str| {
        DateTime::parse_from_rfc3339(field(fields, name))
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    Ok(QueuedEntry {
        id: QueueEntryId(raw.id.clone()),
        events,
        attempts: field(fields, "attempts").parse().unwrap_or(0),
        enqueued_at: when("enqueued_at").unwrap_or_else(Utc::now),
        not_before: when("not_before"),
    })
}

/// Milliseconds part of a stream id (`<ms>-<seq>`).
fn id_millis(id: &str) -> Option<i64> {
    id.split('-').next()?.parse().ok()
}

#[async_trait]
impl DeadLetterQueue for RedisStreamDeadLetterQueue {
    async fn enqueue(&self, events: &[NewAuditEvent]) -> Result<(), QueueError> {
        // Encoded here, on the caller's task; the depth check and the add are one atomic
        // script call per group, so concurrent enqueues cannot race past capacity.
        let fields = Self::fields(events, 0, Utc::now(), None, "")?;
        self.enqueues.write(fields).await.map_err(unavailable)?
    }

    async fn claim(&self, max: usize) -> Result<Claimed, QueueError> {
        let mut conn = self.conn().await?;
        // 1. Our own unacknowledged entries (a pass that found storage down left them).
        let mut raw = self.read_group(&mut conn, max, "0").await?;
        // 2. Entries a crashed consumer left idle long enough.
        if raw.len() < max {
            let reply: Value = redis::cmd("XAUTOCLAIM")
                .arg(&self.keys.stream)
                .arg(&self.keys.group)
                .arg(&self.consumer)
                .arg(self.reclaim_idle.as_millis() as u64)
                .arg("0-0")
                .arg("COUNT")
                .arg(max - raw.len())
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let seen: HashSet<String> = raw.iter().map(|r| r.id.clone()).collect();
            raw.extend(
                array(&reply)
                    .get(1)
                    .map(parse_entries)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|r| !seen.contains(&r.id)),
            );
        }
        // 3. New entries.
        if raw.len() < max {
            let fresh = self.read_group(&mut conn, max - raw.len(), ">").await?;
            raw.extend(fresh);
        }

        let mut claimed = Claimed::default();
        let mut vanished = Vec::new();
        for entry in &raw {
            if entry.fields.is_none() {
                vanished.push(entry.id.as_str());
                continue;
            }
            match decode_entry(entry) {
                Ok(e) => claimed.entries.push(e),
                Err(reason) => claimed.undecodable.push(UndecodableEntry {
                    id: QueueEntryId(entry.id.clone()),
                    reason,
                }),
            }
        }
        if !vanished.is_empty() {
            let mut pipe = redis::pipe();
            pipe.atomic();
            self.ack_into(&mut pipe, &vanished);
            let _: () = pipe.query_async(&mut conn).await.map_err(unavailable)?;
        }
        Ok(claimed)
    }

    async fn ack(&self, ids: &[QueueEntryId]) -> Result<(), QueueError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn().await?;
        let ids: Vec<&str> = ids.iter().map(|i| i.0.as_str()).collect();
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.ack_into(&mut pipe, &ids);
        let _: () = pipe.query_async(&mut conn).await.map_err(unavailable)?;
        Ok(())
    }

    async fn requeue(
        &self,
        entry: &QueuedEntry,
        attempts: u32,
        not_before: DateTime<Utc>,
        error: &str,
    ) -> Result<(), QueueError> {
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        let add = pipe.cmd("XADD").arg(&self.keys.stream).arg("*");
        for (name, value) in Self::fields(
            &entry.events,
            attempts,
            entry.enqueued_at,
            Some(not_before),
            error,
        )? {
            add.arg(name).arg(value);
        }
        add.ignore();
        self.ack_into(&mut pipe, &[entry.id.0.as_str()]);
        let _: () = pipe.query_async(&mut conn).await.map_err(unavailable)?;
        Ok(())
    }

    async fn dead_letter(&self, id: &QueueEntryId, reason: &str) -> Result<(), QueueError> {
        let mut conn = self.conn().await?;
        let reply: Value = redis::cmd("XRANGE")
            .arg(&self.keys.stream)
            .arg(&id.0)
            .arg(&id.0)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let original = parse_entries(&reply)
            .into_iter()
            .next()
            .and_then(|e| e.fields);
        let mut pipe = redis::pipe();
        pipe.atomic();
        if let Some(fields) = original {
            let add = pipe.cmd("XADD").arg(&self.keys.dead).arg("*");
            for (name, value) in &fields {
                add.arg(name.as_str()).arg(value.as_slice());
            }
            add.arg("reason")
                .arg(reason)
                .arg("original_id")
                .arg(&id.0)
                .arg("dead_at")
                .arg(Utc::now().to_rfc3339())
                .ignore();
        }
        self.ack_into(&mut pipe, &[id.0.as_str()]);
        let _: () = pipe.query_async(&mut conn).await.map_err(unavailable)?;
        Ok(())
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN").arg(&self.keys.stream);
        pipe.cmd("XLEN").arg(&self.keys.dead);
        pipe.cmd("XPENDING")
            .arg(&self.keys.stream)
            .arg(&self.keys.group);
        pipe.cmd("XRANGE")
            .arg(&self.keys.stream)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1);
        let (depth, dead, pending, oldest): (u64, u64, Value, Value) =
            pipe.query_async(&mut conn).await.map_err(unavailable)?;
        let pending = array(&pending)
            .first()
            .and_then(string)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let oldest_age_seconds = parse_entries(&oldest)
            .first()
            .and_then(|e| id_millis(&e.id))
            .map(|ms| (Utc::now().timestamp_millis() - ms).max(0) as f64 / 1000.0);
        self.watch.observe(depth);
        Ok(QueueStats {
            depth,
            capacity: self.watch.capacity,
            oldest_age_seconds,
            pending,
            dead_lettered: dead,
        })
    }

    async fn durability(&self) -> Result<QueueDurability, QueueError> {
        let mut conn = self.conn().await?;
        let read = |reply: redis::RedisResult<Value>| -> Option<String> {
            reply.ok().and_then(|v| match &v {
                Value::Map(pairs) => pairs.first().and_then(|(_, v)| string(v)),
                other => array(other).get(1).and_then(string),
            })
        };
        let appendonly = read(
            redis::cmd("CONFIG")
                .arg("GET")
                .arg("appendonly")
                .query_async(&mut conn)
                .await,
        );
        let appendfsync = read(
            redis::cmd("CONFIG")
                .arg("GET")
                .arg("appendfsync")
                .query_async(&mut conn)
                .await,
        );
        Ok(match (appendonly.as_deref(), appendfsync.as_deref()) {
            (Some("yes"), Some("always")) => QueueDurability::Always,
            (Some("yes"), Some(other)) => QueueDurability::Weaker(format!("appendfsync {other}")),
            (Some(other), _) => QueueDurability::Weaker(format!("appendonly {other}")),
            (None, _) => QueueDurability::Unknown,
        })
    }
}
