//! The enqueue: concurrent enqueues grouped into one script call that checks the capacity and
//! adds each entry, on connections of the enqueuer's own (see `resp`).

use std::io;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use datastorage_application::ports::{Cause, QueueError};
use datastorage_grouping::{GroupSettings, GroupWrite};

use super::capacity::CapacityWatch;
use crate::cluster;
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

/// After its entries are added, how many replicas must have them before the enqueue is
/// acknowledged (`WAIT`), and how long to wait for them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Replication {
    pub(super) replicas: u32,
    pub(super) timeout: Duration,
}

pub(super) struct Enqueuer {
    /// Where the stream is: the server, or on a cluster the master of the stream's slot as
    /// last learned (`None`: ask the cluster).
    target: std::sync::Mutex<Option<redis::ConnectionInfo>>,
    /// On a cluster: the stream's slot and the nodes to ask where it is.
    cluster: Option<ClusterRoute>,
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
    replication: Replication,
    /// `WAIT <replicas> <timeout ms>`, packed, sent behind the script when replicas are asked for.
    wait: Option<Vec<u8>>,
}

/// How the enqueue finds its stream on a Redis Cluster.
struct ClusterRoute {
    slot: u16,
    /// The URL's seeds, then every node a `CLUSTER SLOTS` named.
    known: std::sync::Mutex<Vec<redis::ConnectionInfo>>,
    /// A seed: the scheme, TLS parameters and credentials of every node.
    like: redis::ConnectionInfo,
}

/// Redirects one enqueue follows before it gives up (a slot moving during a resharding sends
/// an `ASK` and then a `MOVED`).
const MAX_REDIRECTS: usize = 5;

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
                    .map(|_| Err(QueueError::OutcomeUnknown(Cause::msg(why.clone()))))
                    .collect()
            }
            Err(e) => (0..entries).map(|_| Err(e.clone())).collect(),
        }
    }
}

impl Enqueuer {
    pub(super) fn new(
        (nodes, tls): (
            Vec<redis::ConnectionInfo>,
            Option<tokio_rustls::TlsConnector>,
        ),
        cluster: bool,
        stream: String,
        watch: Arc<CapacityWatch>,
        replication: Replication,
    ) -> Self {
        let cluster = match (cluster, nodes.first()) {
            (true, Some(like)) => Some(ClusterRoute {
                slot: cluster::slot(stream.as_bytes()),
                like: like.clone(),
                known: std::sync::Mutex::new(nodes.clone()),
            }),
            _ => None,
        };
        let target = match cluster {
            Some(_) => None,
            None => nodes.into_iter().next(),
        };
        let wait = (replication.replicas > 0).then(|| {
            let (replicas, timeout) = (
                replication.replicas.to_string(),
                replication.timeout.as_millis().max(1).to_string(),
            );
            let mut command = Vec::new();
            resp::pack(
                &mut command,
                &[b"WAIT", replicas.as_bytes(), timeout.as_bytes()],
            );
            command
        });
        Self {
            target: std::sync::Mutex::new(target),
            cluster,
            tls,
            idle: std::sync::Mutex::new(Vec::new()),
            script_hash: redis::Script::new(ENQUEUE_UNLESS_FULL)
                .get_hash()
                .to_owned(),
            stream,
            watch,
            replication,
            wait,
        }
    }

    /// Adds the entries in one atomic script call; whether each was added (an entry is
    /// refused only when the queue is full). With replicas asked for, the call is
    /// acknowledged only once `WAIT` reports that many have it.
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
        // `SCRIPT FLUSH`; `EVAL` caches it again). On a cluster, a redirect is followed.
        let mut script: (&[u8], &[u8]) = (b"EVALSHA", self.script_hash.as_bytes());
        let mut ask = None;
        let mut redirects = 0;
        let (reply, replicas) = loop {
            let command = eval(script.0, script.1, &args);
            let (reply, replicas) = match ask.take() {
                None => self.exchange(&command).await,
                Some(node) => self.asking(&node, &command).await,
            }
            .map_err(ExchangeFailed::into_queue_error)?;
            match &reply {
                Reply::Error(e) if e.starts_with("NOSCRIPT") && script.0 == b"EVALSHA" => {
                    script = (b"EVAL", ENQUEUE_UNLESS_FULL.as_bytes());
                }
                Reply::Error(e) if self.cluster.is_some() && redirects < MAX_REDIRECTS => {
                    match cluster::Redirect::of(e) {
                        Some(cluster::Redirect::Moved(node)) => self.moved(&node),
                        Some(cluster::Redirect::Ask(node)) => ask = Some(node),
                        None => break (reply, replicas),
                    }
                    redirects += 1;
                }
                _ => break (reply, replicas),
            }
        };
        let mut answers = match reply {
            Reply::Error(e) => return Err(QueueError::Unavailable(Cause::msg(e))),
            other => other.integers().ok_or_else(|| {
                QueueError::Unavailable(Cause::msg(format!("enqueue answered {other:?}")))
            })?,
        };
        let depth = answers.pop().unwrap_or(0);
        self.watch.observe(u64::try_from(depth).unwrap_or(0));
        if let Some(replicas) = replicas {
            let reached = match replicas {
                Reply::Integer(n) => n,
                other => {
                    return Err(QueueError::Unavailable(Cause::msg(format!(
                        "WAIT answered {other:?}"
                    ))));
                }
            };
            if reached < i64::from(self.replication.replicas) {
                metrics::counter!("datastorage_dlq_enqueue_unreplicated_total").increment(1);
                // Added, but not known to survive a failover: not acknowledged, and not
                // "nothing written" either. Replay may still store the entries; a client's
                // retry with its event_ids stores each once.
                return Err(QueueError::OutcomeUnknown(Cause::msg(format!(
                    "WAIT: {reached} of {} replicas had the entries within {} ms",
                    self.replication.replicas,
                    self.replication.timeout.as_millis()
                ))));
            }
        }
        Ok(answers.into_iter().map(|a| a == 1).collect())
    }

    /// Sends `command` (and `WAIT` behind it when replicas are asked for) and reads the
    /// replies on an idle connection, or a new one. An idle connection that fails may have
    /// gone stale (a Redis restart, an idle timeout, a failover): the command goes once more
    /// on a new one. Were its entries added before it broke, they are queued twice, and
    /// replay stores each event once. Only a connection that answered in full goes back: its
    /// stream is in step.
    async fn exchange(&self, command: &[u8]) -> Result<(Reply, Option<Reply>), ExchangeFailed> {
        let (answer, conn) = match self.idle_connection() {
            Some(mut conn) => match self.call(&mut conn, command).await {
                Err(e) if e.kind() != io::ErrorKind::TimedOut => {
                    tracing::debug!(error = %e, "idle Redis connection failed; reconnecting");
                    // The first try was sent: whatever fails from here, it may have landed.
                    let mut conn = self.connect().await.map_err(ExchangeFailed::sent)?;
                    let answer = self.call(&mut conn, command).await;
                    (answer.map_err(ExchangeFailed::sent)?, conn)
                }
                answered => (answered.map_err(ExchangeFailed::sent)?, conn),
            },
            None => {
                let mut conn = self.connect().await.map_err(ExchangeFailed::unsent)?;
                let answer = self.call(&mut conn, command).await;
                (answer.map_err(ExchangeFailed::sent)?, conn)
            }
        };
        self.release(conn);
        Ok(answer)
    }

    /// Sends `command` and, when replicas are asked for, `WAIT` in the same write; reads
    /// their replies within [`resp::RESPONSE_TIMEOUT`] (and the `WAIT`'s own timeout).
    async fn call(
        &self,
        conn: &mut RespConnection,
        command: &[u8],
    ) -> io::Result<(Reply, Option<Reply>)> {
        let Some(wait) = &self.wait else {
            return Ok((call(conn, command).await?, None));
        };
        let mut both = Vec::with_capacity(command.len() + wait.len());
        both.extend_from_slice(command);
        both.extend_from_slice(wait);
        let limit = resp::RESPONSE_TIMEOUT + self.replication.timeout;
        let mut replies = tokio::time::timeout(limit, conn.call_many(&both, 2))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "waiting for Redis's reply"))??;
        let wait = replies.pop();
        let reply = replies
            .pop()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no reply"))?;
        Ok((reply, wait))
    }

    /// An `ASK` redirect: `ASKING` and the command, on a connection of its own to `node`
    /// (the slot is still the old master's for every other command).
    async fn asking(
        &self,
        node: &cluster::Node,
        command: &[u8],
    ) -> Result<(Reply, Option<Reply>), ExchangeFailed> {
        let Some(cluster) = &self.cluster else {
            return Err(ExchangeFailed::unsent(io::Error::other(
                "ASK from a single Redis",
            )));
        };
        let mut conn = self
            .open(&node.info(&cluster.like))
            .await
            .map_err(ExchangeFailed::unsent)?;
        let mut asking = Vec::new();
        resp::pack(&mut asking, &[b"ASKING"]);
        asking.extend_from_slice(command);
        let limit = resp::RESPONSE_TIMEOUT + self.replication.timeout;
        let count = if self.wait.is_some() { 3 } else { 2 };
        if let Some(wait) = &self.wait {
            asking.extend_from_slice(wait);
        }
        let mut replies = tokio::time::timeout(limit, conn.call_many(&asking, count))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "waiting for Redis's reply"))
            .and_then(|replies| replies)
            .map_err(ExchangeFailed::sent)?;
        let wait = if self.wait.is_some() {
            replies.pop()
        } else {
            None
        };
        let reply = replies.pop().ok_or_else(|| {
            ExchangeFailed::sent(io::Error::new(io::ErrorKind::InvalidData, "no reply"))
        })?;
        Ok((reply, wait))
    }

    /// A `MOVED` redirect: the stream's slot is `node`'s from now on.
    fn moved(&self, node: &cluster::Node) {
        let Some(cluster) = &self.cluster else { return };
        tracing::debug!(host = %node.host, port = node.port, "dead-letter stream moved");
        *self.target.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(node.info(&cluster.like));
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
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

    /// A connection to the stream's server. On a cluster, when its master is not known or
    /// cannot be reached (it failed and a replica is being promoted), the cluster is asked
    /// again where the slot is.
    async fn connect(&self) -> io::Result<RespConnection> {
        let target = self
            .target
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(target) = target {
            match self.open(&target).await {
                Ok(conn) => return Ok(conn),
                Err(e) if self.cluster.is_none() => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, "stream's master unreachable; asking the cluster")
                }
            }
        }
        let target = self.discover().await?;
        self.open(&target).await
    }

    /// Asks the known nodes, one after another, which master serves the stream's slot
    /// (`CLUSTER SLOTS`), and remembers it and every node named.
    async fn discover(&self) -> io::Result<redis::ConnectionInfo> {
        let Some(cluster) = &self.cluster else {
            return Err(io::Error::other("no Redis server to ask"));
        };
        let known = cluster
            .known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut command = Vec::new();
        resp::pack(&mut command, &[b"CLUSTER", b"SLOTS"]);
        let mut last = io::Error::other("no Redis Cluster node answered");
        for node in &known {
            let asked = match node.addr() {
                redis::ConnectionAddr::Tcp(host, _)
                | redis::ConnectionAddr::TcpTls { host, .. } => host.clone(),
                _ => continue,
            };
            let reply = match self.open(node).await {
                Ok(mut conn) => call(&mut conn, &command).await,
                Err(e) => Err(e),
            };
            let reply = match reply {
                Ok(reply) => reply,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            let (owner, nodes) = cluster::owner_of(&reply, cluster.slot, &asked);
            {
                let mut known = cluster.known.lock().unwrap_or_else(PoisonError::into_inner);
                for found in nodes {
                    let info = found.info(&cluster.like);
                    if !known.iter().any(|k| k.addr() == info.addr()) {
                        known.push(info);
                    }
                }
            }
            if let Some(owner) = owner {
                let info = owner.info(&cluster.like);
                *self.target.lock().unwrap_or_else(PoisonError::into_inner) = Some(info.clone());
                return Ok(info);
            }
            last = io::Error::other("the cluster serves no master for the stream's slot");
        }
        Err(last)
    }

    async fn open(&self, server: &redis::ConnectionInfo) -> io::Result<RespConnection> {
        tokio::time::timeout(
            resp::CONNECT_TIMEOUT,
            RespConnection::connect(server, self.tls.as_ref()),
        )
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connecting to Redis"))?
    }
}

/// An exchange that failed, and whether its command had been sent (then it may have run,
/// and the enqueue's outcome is unknown) or not (nothing was added).
struct ExchangeFailed {
    sent: bool,
    error: io::Error,
}

impl ExchangeFailed {
    fn sent(error: io::Error) -> Self {
        Self { sent: true, error }
    }

    fn unsent(error: io::Error) -> Self {
        Self { sent: false, error }
    }

    fn into_queue_error(self) -> QueueError {
        if self.sent {
            QueueError::OutcomeUnknown(Cause::new(self.error))
        } else {
            QueueError::Unavailable(Cause::new(self.error))
        }
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
