//! Governance storage: legal holds, and retention that drops whole months of events.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use datastorage_domain::audit::CorrelationId;

use super::RepositoryError;

/// An active legal hold: the correlation's events, present and future, are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub correlation_id: CorrelationId,
    pub reason: String,
    /// The authenticated identity that placed it.
    pub placed_by: String,
    pub placed_at: DateTime<Utc>,
}

/// A hold as released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasedHold {
    pub hold: LegalHold,
    pub released_by: String,
    pub released_at: DateTime<Utc>,
    pub release_reason: String,
}

/// What placing a hold did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceOutcome {
    Placed,
    /// The correlation is already held (by this hold); nothing changed.
    AlreadyHeld(LegalHold),
}

/// Legal holds, kept with their history.
#[async_trait]
pub trait LegalHoldStore: Send + Sync + 'static {
    /// Places a hold unless the correlation is already held.
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`].
    async fn place(&self, hold: &LegalHold) -> Result<PlaceOutcome, RepositoryError>;

    /// Releases the correlation's active hold; `None` when it has none.
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`].
    async fn release(
        &self,
        correlation_id: &CorrelationId,
        released_by: &str,
        release_reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ReleasedHold>, RepositoryError>;

    /// Every active hold, oldest first.
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`].
    async fn active(&self) -> Result<Vec<LegalHold>, RepositoryError>;
}

/// One stored month of events, as retention sees it at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthRetention {
    /// The month's first day.
    pub month: NaiveDate,
    pub events: u64,
    /// Events whose `event_timestamp + retention_days` has passed.
    pub expired: u64,
    /// Events of a correlation under an active hold.
    pub held: u64,
}

/// A month dropped by retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunedMonth {
    pub month: NaiveDate,
    pub events: u64,
    /// The log indexes of its events, as inclusive ranges in order.
    pub log_ranges: Vec<(u64, u64)>,
}

/// Drops months of events whose every event is past its retention and none is held. The
/// log (leaves, tiles, checkpoints) is never touched: it outlives the rows, and records
/// which months were pruned.
#[async_trait]
pub trait RetentionStore: Send + Sync + 'static {
    /// Every stored month that begins before `before` (a month's first day), oldest first:
    /// retention weighs only months long ended, and need not read the recent ones.
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`].
    async fn months(
        &self,
        now: DateTime<Utc>,
        before: NaiveDate,
    ) -> Result<Vec<MonthRetention>, RepositoryError>;

    /// Drops `month` if, checked again atomically with the drop and with new holds kept out
    /// meanwhile, every one of its events is expired at `now` and none is held. `None`: it
    /// no longer qualifies (or holds nothing), and nothing was dropped.
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`].
    async fn prune(
        &self,
        month: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Option<PrunedMonth>, RepositoryError>;
}
