//! The enqueue: concurrent enqueues grouped into one script call that checks the capacity and
//! adds each entry, on connections of the enqueuer's own (see `resp`).

use std::io;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use datastorage_application::ports::{Cause, QueueError};
use datastorage_grouping::{GroupSettings, GroupWrite};

use super::capacity::CapacityWatch;
use super::unavailable;
use crate::resp::{self, Reply, RespConnection};

/// KEYS[1]: the stream; ARGV[1]: its capacity; ARGV[2]: how many arguments each entry has;
/// the rest: each entry's field/value pairs, one entry after another. Adds entries in order
/// while the stream is below capacity. Answers one 1 (added) or 0 (full) per entry, then the
/// depth after.
pub(super) const ENQUEUE_UNLESS_FULL: &str = r"
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
pub(super) const ENQUEUE_GROUP: GroupSettings = GroupSettings {
    max_items: 128,
    max_in_flight: 1,
    gather: Some(Duration::from_millis(1)),
};
const ENQUEUE_GROUP_MAX_BYTES: usize = 1 << 20;

/// One entry's field/value pairs, encoded by the caller.
pub(super) type EntryFields = Vec<(&'static str, String)>;

pub(super) struct Enqueuer {
    server: redis::ConnectionInfo,
    /// For a `rediss://` server: the same trust redis-rs's connections have.
    tls: Option<tokio_rustls::TlsConnector>,
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
                    .map(|_| Err(QueueError::Unavailable(Cause::msg(why.clone()))))
                    .collect()
            }
            Err(e) => (0..entries).map(|_| Err(e.clone())).collect(),
        }
    }
}

impl Enqueuer {
    pub(super) fn new(
        (server, tls): (redis::ConnectionInfo, Option<tokio_rustls::TlsConnector>),
        stream: String,
        watch: Arc<CapacityWatch>,
    ) -> Self {
        Self {
            server,
            tls,
            idle: std::sync::Mutex::new(Vec::new()),
            script_hash: redis::Script::new(ENQUEUE_UNLESS_FULL)
                .get_hash()
                .to_owned(),
            stream,
            watch,
        }
    }

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
            Reply::Error(e) => return Err(QueueError::Unavailable(Cause::msg(e))),
            other => other.integers().ok_or_else(|| {
                QueueError::Unavailable(Cause::msg(format!("enqueue answered {other:?}")))
            })?,
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
        tokio::time::timeout(
            resp::CONNECT_TIMEOUT,
            RespConnection::connect(&self.server, self.tls.as_ref()),
        )
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
