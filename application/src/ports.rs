//! Ports: what the use-cases need from the outside world, named by role.
//!
//! Adapters implement these traits (memory, PostgreSQL, ...). Every implementation must pass
//! the shared conformance suite in `tests/`, which pins each behaviour documented here. An
//! adapter translates its driver's errors into [`RepositoryError`] inside itself, so nothing
//! above this line ever sees a SQLSTATE.

use async_trait::async_trait;
use datastorage_domain::audit::{
    AuditEvent, AuditPage, AuditQuery, CorrelationId, EventId, NewAuditEvent,
};

/// What happened to one event of an insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// A new row was written.
    Created,
    /// An event with this id and identical content was already stored; nothing was written.
    AlreadyExists,
}

/// Why a repository call failed.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// An event with this id is stored with different content.
    #[error("event {event_id} already exists with different content")]
    Conflict { event_id: EventId },
    /// The store refused the data for good (a constraint); retrying cannot help.
    #[error("the store rejected the data: {0}")]
    Rejected(String),
    /// The store could not be reached or did not answer in time; retrying may help. The write
    /// may or may not have happened (callers rely on idempotent re-sends).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// A stored row no longer satisfies the domain's rules.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Durable storage of audit events.
#[async_trait]
pub trait AuditEventRepository: Send + Sync + 'static {
    /// Stores one event durably before returning.
    ///
    /// # Errors
    /// - [`RepositoryError::Conflict`] when `event_id` is stored with a different content hash;
    ///   nothing is written.
    /// - [`RepositoryError::Unavailable`] when the store cannot be reached.
    /// - [`RepositoryError::Rejected`] when the store's constraints refuse the event.
    async fn insert(&self, event: &NewAuditEvent) -> Result<InsertOutcome, RepositoryError>;

    /// Stores every event or none (one transaction). Outcomes are in input order. Events of
    /// the batch that share an id must have identical content (the later is `AlreadyExists`).
    ///
    /// # Errors
    /// As [`AuditEventRepository::insert`]; on any error nothing of the batch is written.
    async fn insert_batch(
        &self,
        events: &[NewAuditEvent],
    ) -> Result<Vec<InsertOutcome>, RepositoryError>;

    /// The event with this id, if stored.
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`]; [`RepositoryError::Corrupt`] for an unreadable row.
    async fn get(&self, id: EventId) -> Result<Option<AuditEvent>, RepositoryError>;

    /// One page of events matching the query, newest first (`event_timestamp DESC,
    /// event_id DESC`), with `has_more` and `next_cursor` set from one over-fetched row.
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`]; [`RepositoryError::Corrupt`].
    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, RepositoryError>;

    /// Up to `limit` events of a correlation, oldest first (`event_timestamp, event_id`).
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`]; [`RepositoryError::Corrupt`].
    async fn correlation(
        &self,
        correlation_id: &CorrelationId,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, RepositoryError>;

    /// Whether the store answers right now.
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`] with the reason.
    async fn ping(&self) -> Result<(), RepositoryError>;
}
