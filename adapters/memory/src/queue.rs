//! A dead-letter queue in process memory, with the consumer semantics of a Redis Streams
//! consumer group (claim, pending, reclaim after idle, acknowledge), so the same conformance
//! suite holds for both. Not durable: the embedded mode never needs it to be, and the
//! service never configures it in front of PostgreSQL.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datastorage_application::ports::*;
use datastorage_domain::audit::NewAuditEvent;

struct Entry {
    events: Vec<NewAuditEvent>,
    attempts: u32,
    enqueued_at: DateTime<Utc>,
    not_before: Option<DateTime<Utc>>,
    /// Consumer holding it, and since when.
    claimed: Option<(String, Instant)>,
}

#[derive(Default)]
struct State {
    next: u64,
    entries: BTreeMap<u64, Entry>,
    dead: Vec<(Vec<NewAuditEvent>, String)>,
}

/// One consumer's handle on a shared in-memory queue.
#[derive(Clone)]
pub struct MemoryDeadLetterQueue {
    state: Arc<Mutex<State>>,
    consumer: String,
    capacity: u64,
    reclaim_idle: Duration,
}

impl MemoryDeadLetterQueue {
    pub fn new(capacity: u64, reclaim_idle: Duration) -> Self {
        Self {
            state: Arc::default(),
            consumer: "consumer-1".into(),
            capacity,
            reclaim_idle,
        }
    }

    /// Another consumer of the same queue.
    pub fn consumer(&self, name: &str) -> Self {
        Self {
            consumer: name.into(),
            ..self.clone()
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(state: &mut State, entry: Entry) {
        state.next += 1;
        let seq = state.next;
        state.entries.insert(seq, entry);
    }
}

fn seq_of(id: &QueueEntryId) -> Option<u64> {
    id.0.parse().ok()
}

#[async_trait]
impl DeadLetterQueue for MemoryDeadLetterQueue {
    async fn enqueue(&self, events: &[NewAuditEvent]) -> Result<(), QueueError> {
        let mut state = self.lock();
        if state.entries.len() as u64 >= self.capacity {
            return Err(QueueError::Full {
                capacity: self.capacity,
            });
        }
        Self::push(
            &mut state,
            Entry {
                events: events.to_vec(),
                attempts: 0,
                enqueued_at: Utc::now(),
                not_before: None,
                claimed: None,
            },
        );
        Ok(())
    }

    async fn claim(&self, max: usize) -> Result<Claimed, QueueError> {
        let mut state = self.lock();
        let now = Instant::now();
        let mine = |e: &Entry| e.claimed.as_ref().is_some_and(|(c, _)| *c == self.consumer);
        let stale = |e: &Entry| {
            e.claimed.as_ref().is_some_and(|(c, at)| {
                *c != self.consumer && now.duration_since(*at) >= self.reclaim_idle
            })
        };
        let mut picked: Vec<u64> = state
            .entries
            .iter()
            .filter(|(_, e)| mine(e))
            .map(|(s, _)| *s)
            .collect();
        picked.extend(
            state
                .entries
                .iter()
                .filter(|(_, e)| stale(e))
                .map(|(s, _)| *s),
        );
        picked.extend(
            state
                .entries
                .iter()
                .filter(|(_, e)| e.claimed.is_none())
                .map(|(s, _)| *s),
        );
        picked.truncate(max);
        let mut claimed = Claimed::default();
        for seq in picked {
            if let Some(e) = state.entries.get_mut(&seq) {
                e.claimed = Some((self.consumer.clone(), now));
                claimed.entries.push(QueuedEntry {
                    id: QueueEntryId(seq.to_string()),
                    events: e.events.clone(),
                    attempts: e.attempts,
                    enqueued_at: e.enqueued_at,
                    not_before: e.not_before,
                });
            }
        }
        Ok(claimed)
    }

    async fn ack(&self, ids: &[QueueEntryId]) -> Result<(), QueueError> {
        let mut state = self.lock();
        for seq in ids.iter().filter_map(seq_of) {
            state.entries.remove(&seq);
        }
        Ok(())
    }

    async fn requeue(
        &self,
        entry: &QueuedEntry,
        attempts: u32,
        not_before: DateTime<Utc>,
        _error: &str,
    ) -> Result<(), QueueError> {
        let mut state = self.lock();
        if let Some(old) = seq_of(&entry.id).and_then(|s| state.entries.remove(&s)) {
            Self::push(
                &mut state,
                Entry {
                    attempts,
                    not_before: Some(not_before),
                    claimed: None,
                    ..old
                },
            );
        }
        Ok(())
    }

    async fn dead_letter(&self, id: &QueueEntryId, reason: &str) -> Result<(), QueueError> {
        let mut state = self.lock();
        if let Some(old) = seq_of(id).and_then(|s| state.entries.remove(&s)) {
            state.dead.push((old.events, reason.to_owned()));
        }
        Ok(())
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let state = self.lock();
        Ok(QueueStats {
            depth: state.entries.len() as u64,
            capacity: self.capacity,
            oldest_age_seconds: state
                .entries
                .values()
                .map(|e| e.enqueued_at)
                .min()
                .map(|t| (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0),
            pending: state
                .entries
                .values()
                .filter(|e| e.claimed.is_some())
                .count() as u64,
            dead_lettered: state.dead.len() as u64,
        })
    }

    async fn durability(&self) -> Result<QueueDurability, QueueError> {
        Ok(QueueDurability::ProcessMemory)
    }
}
