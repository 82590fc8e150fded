//! The transparency log in memory, over a [`MemoryAuditEventRepository`]'s events.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use async_trait::async_trait;
use chrono::NaiveDate;
use datastorage_application::ports::{
    AuditLogStore, Cause, LogBacklog, LogEntry, LogError, SequenceOutcome, StoredCheckpoint,
};
use datastorage_domain::audit::{CorrelationId, EventId};
use datastorage_domain::log::tiles::{TileId, TileSet};

use crate::MemoryAuditEventRepository;
use crate::audit::SortKey;

#[derive(Default)]
struct Log {
    tiles: TileSet,
    entries: Vec<LogEntry>,
    by_event: HashMap<EventId, u64>,
    checkpoints: Vec<StoredCheckpoint>,
    pruned: Vec<NaiveDate>,
}

/// The log of a memory repository; clones share it.
#[derive(Clone)]
pub struct MemoryAuditLog {
    events: MemoryAuditEventRepository,
    log: Arc<Mutex<Log>>,
}

impl MemoryAuditLog {
    pub(crate) fn new(events: MemoryAuditEventRepository) -> Self {
        Self {
            events,
            log: Arc::default(),
        }
    }

    /// Records a pruned month and returns the log indexes of its events, as ranges.
    pub(crate) fn record_pruned(&self, month: NaiveDate, end: NaiveDate) -> Vec<(u64, u64)> {
        let mut log = self.log();
        log.pruned.push(month);
        let indexes = log
            .entries
            .iter()
            .filter(|e| e.event_date >= month && e.event_date < end)
            .map(|e| e.log_index);
        datastorage_domain::log::index_ranges(indexes)
    }

    // Every mutation checks before it changes anything, so a poisoned lock is safe to reuse.
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl AuditLogStore for MemoryAuditLog {
    async fn sequence(&self, max: usize) -> Result<SequenceOutcome, LogError> {
        // Lock order: events, then log (the only place holding both).
        let mut events = self.events.write();
        let mut log = self.log();
        let take = max.min(events.unsequenced.len());
        let batch: Vec<(SortKey, Instant)> =
            events.unsequenced.iter().take(take).copied().collect();
        let now = Instant::now();
        let mut leaves = Vec::with_capacity(take);
        let mut entries = Vec::with_capacity(take);
        let size = log.entries.len() as u64;
        for (key, _) in &batch {
            // An event removed before it was sequenced has nothing left to log.
            if let Some(event) = events.event(key) {
                leaves.push(event.leaf_hash());
                entries.push(LogEntry {
                    log_index: size + entries.len() as u64,
                    event_id: event.event_id,
                    correlation_id: event.correlation_id.clone(),
                    event_date: event.event_date(),
                });
            }
        }
        log.tiles
            .append(size, &leaves)
            .map_err(|e| LogError::Corrupt(Cause::new(e)))?;
        for entry in entries {
            // An id used in several correlations answers its first leaf, as PostgreSQL does.
            log.by_event
                .entry(entry.event_id)
                .or_insert(entry.log_index);
            log.entries.push(entry);
        }
        events.unsequenced.drain(..take);
        let size = log.entries.len() as u64;
        let root = log
            .tiles
            .root(size)
            .map_err(|e| LogError::Corrupt(Cause::new(e)))?;
        Ok(SequenceOutcome::Appended {
            appended: leaves.len() as u64,
            size,
            root,
            lags: batch
                .iter()
                .map(|(_, at)| now.duration_since(*at).as_secs_f64())
                .collect(),
        })
    }

    async fn size(&self) -> Result<u64, LogError> {
        Ok(self.log().entries.len() as u64)
    }

    async fn tiles(&self, ids: &BTreeSet<TileId>) -> Result<TileSet, LogError> {
        let log = self.log();
        let mut out = TileSet::new();
        for id in ids {
            if let Some(hashes) = log.tiles.get(id) {
                out.insert(*id, hashes.to_vec());
            }
        }
        Ok(out)
    }

    async fn indexes(&self, ids: &[EventId]) -> Result<HashMap<EventId, u64>, LogError> {
        let log = self.log();
        Ok(ids
            .iter()
            .filter_map(|id| log.by_event.get(id).map(|i| (*id, *i)))
            .collect())
    }

    async fn correlation_entries(
        &self,
        correlation_id: &CorrelationId,
    ) -> Result<Vec<LogEntry>, LogError> {
        Ok(self
            .log()
            .entries
            .iter()
            .filter(|e| &e.correlation_id == correlation_id)
            .cloned()
            .collect())
    }

    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<(), LogError> {
        self.log().checkpoints.push(checkpoint.clone());
        Ok(())
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, LogError> {
        Ok(self
            .log()
            .checkpoints
            .iter()
            .max_by_key(|c| (c.tree_size, c.signed_at))
            .cloned())
    }

    async fn pruned_months(&self) -> Result<Vec<NaiveDate>, LogError> {
        Ok(self.log().pruned.clone())
    }

    async fn backlog(&self) -> Result<LogBacklog, LogError> {
        let events = self.events.read();
        let size = self.log().entries.len() as u64;
        Ok(LogBacklog {
            size,
            unsequenced: events.unsequenced.len() as u64,
            oldest_unsequenced_seconds: events
                .unsequenced
                .front()
                .map(|(_, at)| at.elapsed().as_secs_f64()),
        })
    }
}
