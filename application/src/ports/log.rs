//! The transparency log's storage: sequencing committed events into leaves, the hash tiles,
//! and the signed checkpoints.

use std::collections::BTreeSet;
use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use datastorage_domain::audit::{CorrelationId, EventId};
use datastorage_domain::log::Hash;
use datastorage_domain::log::tiles::{TileId, TileSet};

use crate::cause::Cause;

/// Why a log call failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("the log store is unavailable")]
    Unavailable(#[source] Cause),
    /// Neither transient nor the data's: a fault of ours or of the deployment.
    #[error("the log's store refused the statement")]
    Fault(#[source] Cause),
    /// Stored log data contradicts itself (a tile that does not decode, an edge tile missing).
    #[error("the log's stored data is inconsistent")]
    Corrupt(#[source] Cause),
}

/// One leaf of the log: which event it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub log_index: u64,
    pub event_id: EventId,
    pub correlation_id: CorrelationId,
    /// The event's partition date, which says whether retention pruned it.
    pub event_date: NaiveDate,
}

/// What one sequencing step did.
#[derive(Debug, Clone, PartialEq)]
pub enum SequenceOutcome {
    /// Another sequencer (another replica) holds the log; nothing was done.
    Busy,
    /// This sequencer holds the log: `appended` leaves were added, the log now has `size`.
    Appended {
        appended: u64,
        size: u64,
        root: Hash,
        /// Commit-to-sequence delay of each appended event, in seconds.
        lags: Vec<f64>,
    },
}

/// A signed checkpoint as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub tree_size: u64,
    pub root: Hash,
    pub signed_at: DateTime<Utc>,
    /// The C2SP signed note, as served.
    pub note: String,
}

/// Backlog of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogBacklog {
    pub size: u64,
    /// Committed events not yet sequenced (a store may count from its queue's bounds: then
    /// at most this many, and exactly 0 when none).
    pub unsequenced: u64,
    /// Age of the oldest of those.
    pub oldest_unsequenced_seconds: Option<f64>,
}

/// The log over every stored audit event.
///
/// Every event the paired repository commits becomes, within one [`AuditLogStore::sequence`]
/// step after its commit, exactly one leaf; indexes are contiguous from 0 and never reused.
/// A sequencing step is all or nothing, and only one sequencer acts at a time however many
/// processes share the store.
#[async_trait]
pub trait AuditLogStore: Send + Sync + 'static {
    /// Sequences up to `max` committed, unsequenced events (oldest commit first).
    ///
    /// # Errors
    /// [`LogError::Unavailable`]; [`LogError::Corrupt`] when the stored edge tiles are wrong.
    async fn sequence(&self, max: usize) -> Result<SequenceOutcome, LogError>;

    /// Leaves in the log now.
    ///
    /// # Errors
    /// [`LogError::Unavailable`].
    async fn size(&self) -> Result<u64, LogError>;

    /// The tiles asked for, each as stored now (a partial tile may have grown past the size a
    /// caller works at; [`TileSet`] reads only what it needs). Absent tiles are left out.
    ///
    /// # Errors
    /// [`LogError::Unavailable`]; [`LogError::Corrupt`].
    async fn tiles(&self, ids: &BTreeSet<TileId>) -> Result<TileSet, LogError>;

    /// Log indexes of those of `ids` that are sequenced.
    ///
    /// # Errors
    /// [`LogError::Unavailable`].
    async fn indexes(&self, ids: &[EventId]) -> Result<HashMap<EventId, u64>, LogError>;

    /// Every leaf logged for a correlation, by index.
    ///
    /// # Errors
    /// [`LogError::Unavailable`].
    async fn correlation_entries(
        &self,
        correlation_id: &CorrelationId,
    ) -> Result<Vec<LogEntry>, LogError>;

    /// Keeps a signed checkpoint (every one is kept).
    ///
    /// # Errors
    /// [`LogError::Unavailable`].
    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<(), LogError>;

    /// The checkpoint of the largest tree, the latest signed among equals.
    ///
    /// # Errors
    /// [`LogError::Unavailable`].
    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, LogError>;

    /// The months whose events retention has dropped (their leaves stay in the log).
    ///
    /// # Errors
    /// [`LogError::Unavailable`].
    async fn pruned_months(&self) -> Result<Vec<NaiveDate>, LogError>;

    /// Size and backlog.
    ///
    /// # Errors
    /// [`LogError::Unavailable`].
    async fn backlog(&self) -> Result<LogBacklog, LogError>;
}
