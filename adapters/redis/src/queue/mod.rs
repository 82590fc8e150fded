//! `RedisStreamDeadLetterQueue`: the `DeadLetterQueue` port on a Redis stream + consumer group
//! (the layout is in the crate docs). The enqueue has a module of its own (`enqueue`): it is
//! the path every request takes while PostgreSQL is down, on RESP connections of its own.
//! Claims, acknowledgements and stats share one redis-rs connection, with its stream reply
//! types.

mod capacity;
mod enqueue;
mod entries;
mod migrate;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datastorage_application::ports::*;
use datastorage_domain::audit::NewAuditEvent;
use datastorage_grouping::Grouped;
use redis::streams::{
    StreamAutoClaimReply, StreamId, StreamPendingReply, StreamRangeReply, StreamReadReply,
};

use crate::connection::{RedisConn, RedisEndpoint};
use capacity::CapacityWatch;
use enqueue::{ENQUEUE_GROUP, Enqueuer, Replication};

/// How to reach and lay out the queue.
#[derive(Debug, Clone)]
pub struct RedisQueueSettings {
    pub endpoint: RedisEndpoint,
    /// Key prefix; the layout version is appended (`<prefix>:v2:...`).
    pub key_prefix: String,
    /// This instance's consumer name in the group (unique per process).
    pub consumer: String,
    /// Most entries held; beyond it enqueue answers full instead of trimming.
    pub capacity: u64,
    /// How long another consumer's entry must sit unacknowledged before it is taken over.
    pub reclaim_idle: Duration,
    /// Replicas that must have an enqueue's entries (`WAIT`) before it is acknowledged; 0:
    /// acknowledged once the master has them (and has fsynced them, with `appendfsync always`).
    pub min_replicas: u32,
    /// How long an enqueue waits for those replicas before it is refused as not durable.
    pub replica_timeout: Duration,
}

impl RedisQueueSettings {
    /// Settings with the replicas an enqueue waits for at their default: one on a cluster
    /// (its masters fail over to replicas), none on a single server.
    pub fn new(
        endpoint: RedisEndpoint,
        key_prefix: String,
        consumer: String,
        capacity: u64,
    ) -> Self {
        Self {
            min_replicas: u32::from(endpoint.cluster),
            endpoint,
            key_prefix,
            consumer,
            capacity,
            reclaim_idle: Duration::from_secs(30),
            replica_timeout: Duration::from_secs(1),
        }
    }
}

struct Keys {
    stream: String,
    group: String,
    dead: String,
}

impl Keys {
    /// Layout v2: both streams under one hash tag (`{<prefix>:dlq}`), so that on a Redis
    /// Cluster they are in one slot and a `MULTI` or script across them is not CROSSSLOT.
    fn v2(prefix: &str) -> Self {
        let tagged = format!("{prefix}:v2:{{{prefix}:dlq}}:audit");
        Self {
            dead: format!("{tagged}:dead"),
            stream: tagged,
            group: format!("{prefix}:v2:replay"),
        }
    }
}

/// The dead-letter queue on Redis Streams. See the crate docs for the layout.
pub struct RedisStreamDeadLetterQueue {
    /// Claims, acknowledgements and stats (the enqueue has its own).
    conn: RedisConn,
    keys: Keys,
    consumer: String,
    reclaim_idle: Duration,
    /// The capacity, and its warnings.
    watch: Arc<CapacityWatch>,
    /// Concurrent enqueues, written a group per round trip.
    enqueues: Grouped<Enqueuer>,
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> QueueError {
    QueueError::Unavailable(Cause::new(e))
}

impl RedisStreamDeadLetterQueue {
    /// Connects, creates the stream and its consumer group if missing, and logs how durable
    /// an acknowledged enqueue is.
    ///
    /// # Errors
    /// When the URL or the TLS files are invalid, or Redis cannot be reached.
    pub async fn connect(settings: RedisQueueSettings) -> Result<Self, QueueError> {
        let conn = settings.endpoint.connection().await.map_err(unavailable)?;
        let enqueue_target = settings.endpoint.tls_connector().map_err(unavailable)?;
        let keys = Keys::v2(&settings.key_prefix);
        let watch = Arc::new(CapacityWatch::new(settings.capacity));
        let enqueues = Grouped::new(
            Enqueuer::new(
                enqueue_target,
                settings.endpoint.cluster,
                keys.stream.clone(),
                watch.clone(),
                Replication {
                    replicas: settings.min_replicas,
                    timeout: settings.replica_timeout,
                },
            ),
            ENQUEUE_GROUP,
        );
        let queue = Self {
            conn,
            keys,
            consumer: settings.consumer,
            reclaim_idle: settings.reclaim_idle,
            watch,
            enqueues,
        };
        let mut conn = queue.conn();
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
        migrate::from_v1(&mut conn, &settings.key_prefix, &queue.keys).await?;
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

    /// A handle on the shared connection (a clone, not a checkout).
    fn conn(&self) -> RedisConn {
        self.conn.clone()
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
        conn: &mut RedisConn,
        count: usize,
        from: &str,
    ) -> Result<Vec<StreamId>, QueueError> {
        // Nil when nothing is there to read.
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
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
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect())
    }
}

#[async_trait]
impl DeadLetterQueue for RedisStreamDeadLetterQueue {
    async fn enqueue(&self, events: &[NewAuditEvent]) -> Result<(), QueueError> {
        // Encoded here, on the caller's task; the depth check and the add are one atomic
        // script call per group, so concurrent enqueues cannot race past capacity.
        let fields = entries::encode(events, 0, Utc::now(), None, "")?;
        // The flusher ended without answering, perhaps mid-call.
        self.enqueues
            .write(fields)
            .await
            .map_err(|stopped| QueueError::OutcomeUnknown(Cause::new(stopped)))?
    }

    async fn claim(&self, max: usize) -> Result<Claimed, QueueError> {
        let mut conn = self.conn();
        // 1. Our own unacknowledged entries (a pass that found storage down left them).
        let mut raw = self.read_group(&mut conn, max, "0").await?;
        // 2. Entries a crashed consumer left idle long enough.
        if raw.len() < max {
            let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
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
            raw.extend(reply.claimed.into_iter().filter(|r| !seen.contains(&r.id)));
        }
        // 3. New entries.
        if raw.len() < max {
            let fresh = self.read_group(&mut conn, max - raw.len(), ">").await?;
            raw.extend(fresh);
        }

        let mut claimed = Claimed::default();
        let mut vanished = Vec::new();
        for entry in &raw {
            if entries::vanished(entry) {
                vanished.push(entry.id.as_str());
                continue;
            }
            match entries::decode(entry) {
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
        let mut conn = self.conn();
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
        let mut conn = self.conn();
        let mut pipe = redis::pipe();
        pipe.atomic();
        let add = pipe.cmd("XADD").arg(&self.keys.stream).arg("*");
        for (name, value) in entries::encode(
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
        let mut conn = self.conn();
        let original: StreamRangeReply = redis::cmd("XRANGE")
            .arg(&self.keys.stream)
            .arg(&id.0)
            .arg(&id.0)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        if let Some(entry) = original.ids.into_iter().next() {
            let add = pipe.cmd("XADD").arg(&self.keys.dead).arg("*");
            for (name, value) in &entry.map {
                add.arg(name.as_str())
                    .arg(entries::bytes(value).unwrap_or_default());
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
        let mut conn = self.conn();
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
        let (depth, dead, pending, oldest): (u64, u64, StreamPendingReply, StreamRangeReply) =
            pipe.query_async(&mut conn).await.map_err(unavailable)?;
        let oldest_age_seconds = oldest
            .ids
            .first()
            .and_then(|e| entries::id_millis(&e.id))
            .map(|ms| (Utc::now().timestamp_millis() - ms).max(0) as f64 / 1000.0);
        self.watch.observe(depth);
        Ok(QueueStats {
            depth,
            capacity: self.watch.capacity,
            oldest_age_seconds,
            pending: pending.count() as u64,
            dead_lettered: dead,
        })
    }

    async fn durability(&self) -> Result<QueueDurability, QueueError> {
        let mut conn = self.conn();
        // `CONFIG GET` answers name/value pairs; an error (a managed Redis that hides its
        // configuration) leaves the setting unknown.
        // On a cluster, the master that owns the stream answers: it is the one that fsyncs
        // the entries before the enqueue is acknowledged.
        let stream = self.keys.stream.clone();
        let mut setting = async |name: &str| -> Option<String> {
            let mut cmd = redis::cmd("CONFIG");
            cmd.arg("GET").arg(name);
            let reply = conn.on_master_of(cmd, &stream).await;
            reply
                .ok()
                .and_then(|v| redis::from_redis_value::<HashMap<String, String>>(v).ok())
                .and_then(|mut pairs| pairs.remove(name))
        };
        let appendonly = setting("appendonly").await;
        let appendfsync = setting("appendfsync").await;
        Ok(match (appendonly.as_deref(), appendfsync.as_deref()) {
            (Some("yes"), Some("always")) => QueueDurability::Always,
            (Some("yes"), Some(other)) => QueueDurability::Weaker(format!("appendfsync {other}")),
            (Some(other), _) => QueueDurability::Weaker(format!("appendonly {other}")),
            (None, _) => QueueDurability::Unknown,
        })
    }
}
