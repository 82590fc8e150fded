//! Redis outbound adapters: the Redis Streams dead-letter queue and the embedding cache.
//!
//! Owns the stream layout and the wire encoding of queued events. Must not know HTTP or SQL.
//!
//! # Streams
//! - `<prefix>:v2:{<prefix>:dlq}:audit`: one entry per write that storage could not take (a single
//!   event or a whole batch, added by one `XADD`, so a batch is queued atomically). Fields:
//!   `events` (JSON), `enqueued_at`, and once a replay of it has failed `attempts`,
//!   `not_before`, `last_error` (absent means 0, none, none). Concurrent
//!   enqueues are grouped: one script call checks the capacity and adds a group's entries.
//! - consumer group `<prefix>:v2:replay` on it: every service instance is one consumer. An
//!   entry stays in the consumer's pending list from `XREADGROUP` until `XACK`, which the
//!   replay worker sends only after the events are committed; `XDEL` follows in the same
//!   `MULTI`. A crashed instance's pending entries are taken over with `XAUTOCLAIM` once idle.
//! - `<prefix>:v2:{<prefix>:dlq}:audit:dead`: entries that can never be stored, with the
//!   reason. Both streams share the hash tag `{<prefix>:dlq}`, so on a Redis Cluster they are
//!   in one slot. Layout v1 (no tag) is moved to v2 at start (`queue::migrate`).
//!
//! The stream is never trimmed: at capacity, enqueue answers "full" (the service then says
//! 503) instead of dropping un-replayed entries. Durability comes from the server's
//! `appendfsync always`, which [`RedisStreamDeadLetterQueue::durability`] reports (on a
//! cluster, of the master that owns the stream), and with replicas from `WAIT`: an enqueue is
//! acknowledged only once the configured number of replicas has it.

mod cache;
mod cluster;
mod codec;
mod connection;
mod queue;
mod resp;

pub use cache::RedisEmbeddingCache;
pub use connection::{EndpointError, RedisEndpoint, RedisTls};
pub use queue::{RedisQueueSettings, RedisStreamDeadLetterQueue};
