//! The errors a caller of the audit use-cases can act on.

use datastorage_domain::ValidationErrors;
use datastorage_domain::audit::{CorrelationId, EventId};

use crate::cause::Cause;
use crate::ports::RepositoryError;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The input broke one or more rules; nothing was written.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// One event of a batch broke rules; nothing of the batch was written.
    #[error("event at index {index}: {errors}")]
    InvalidBatchItem {
        index: usize,
        errors: ValidationErrors,
    },
    /// The batch is empty or larger than allowed.
    #[error("a batch must hold between 1 and {max} events (got {got})")]
    BatchSize { max: usize, got: usize },
    /// The event id is already stored with different content.
    #[error("event {event_id} already exists with different content")]
    Conflict { event_id: EventId },
    #[error("audit event {0} not found")]
    NotFound(EventId),
    /// The event is not in the transparency log (yet, or at all).
    #[error("audit event {0} is not in the log: not stored, or not sequenced yet")]
    NotLogged(EventId),
    /// A legal hold names a correlation with no stored event.
    #[error("no audit event has correlation_id {0}")]
    UnknownCorrelation(CorrelationId),
    /// The correlation is held already; a second hold is refused, not merged.
    #[error(
        "correlation {correlation_id} is already under a legal hold placed by {placed_by} at {placed_at}"
    )]
    AlreadyHeld {
        correlation_id: CorrelationId,
        placed_by: String,
        placed_at: chrono::DateTime<chrono::Utc>,
    },
    /// No active legal hold on the correlation.
    #[error("correlation {0} is not under a legal hold")]
    NoHold(CorrelationId),
    /// No checkpoint of that tree size has been signed (yet).
    #[error(
        "the log has no signed tree of size {requested}: the latest checkpoint's size is {latest}"
    )]
    TreeNotSigned { requested: u64, latest: u64 },
    /// The event was logged after the tree asked about.
    #[error(
        "audit event {event_id} is at log_index {log_index}, outside the tree of size {tree_size}"
    )]
    NotInTree {
        event_id: EventId,
        log_index: u64,
        tree_size: u64,
    },
    /// The store refused the data for good.
    #[error("the store rejected the event")]
    Rejected(#[source] Cause),
    /// The store is unreachable and nothing was written; the client may retry.
    #[error("storage is unavailable")]
    Unavailable(#[source] Cause),
    /// Neither store answered in time, and the write may have happened: a retry with
    /// `event_ids` (the ids this write used) stores each event once.
    #[error("the outcome of the write is unknown")]
    OutcomeUnknown {
        event_ids: Vec<EventId>,
        #[source]
        cause: Cause,
    },
    /// Something that should not happen did; details are for the log only.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl From<RepositoryError> for AuditError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Conflict { event_id } => AuditError::Conflict { event_id },
            RepositoryError::Rejected(why) => AuditError::Rejected(why),
            // Outside a write (which handles it itself) nothing was written either way.
            RepositoryError::Unavailable(why) | RepositoryError::OutcomeUnknown(why) => {
                AuditError::Unavailable(why)
            }
            RepositoryError::Fault(why) | RepositoryError::Corrupt(why) => {
                AuditError::Internal(why)
            }
        }
    }
}

impl From<ValidationErrors> for AuditError {
    fn from(e: ValidationErrors) -> Self {
        AuditError::Invalid(e)
    }
}

/// The errors a caller of the catalog use-cases can act on.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    #[error("{0}")]
    NotFound(String),
    /// The (name, version) exists with other content.
    #[error("{0}")]
    VersionExists(String),
    #[error("{0}")]
    VersionNotIncremented(String),
    #[error("{0}")]
    InvalidTransition(String),
    /// A change named a field that defines the version (DD-WORKFLOW-012).
    #[error("{0}")]
    ImmutableField(String),
    #[error("the catalog is unavailable")]
    Unavailable(#[source] Cause),
    /// The embedder could not embed a text; the message names it.
    #[error("{0}")]
    EmbedderUnavailable(String),
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl From<crate::ports::EmbedError> for WorkflowError {
    fn from(e: crate::ports::EmbedError) -> Self {
        WorkflowError::EmbedderUnavailable(e.to_string())
    }
}

impl From<ValidationErrors> for WorkflowError {
    fn from(e: ValidationErrors) -> Self {
        WorkflowError::Invalid(e)
    }
}

impl From<crate::ports::CatalogError> for WorkflowError {
    fn from(e: crate::ports::CatalogError) -> Self {
        use crate::ports::CatalogError as C;
        match e {
            e @ C::NotFound(_) => WorkflowError::NotFound(e.to_string()),
            e @ C::VersionExists { .. } => WorkflowError::VersionExists(e.to_string()),
            e @ C::VersionNotIncremented { .. } => {
                WorkflowError::VersionNotIncremented(e.to_string())
            }
            e @ C::Transition(_) => WorkflowError::InvalidTransition(e.to_string()),
            C::Unavailable(why) => WorkflowError::Unavailable(why),
            C::Fault(why) | C::Corrupt(why) => WorkflowError::Internal(why),
        }
    }
}
