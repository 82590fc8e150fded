//! Ports: what the use-cases need from the outside world, named by role.
//!
//! Adapters implement these traits (memory, PostgreSQL, ...). Every implementation must pass
//! the shared conformance suite in `tests/`, which pins each behaviour documented here. An
//! adapter translates its driver's errors into [`RepositoryError`] inside itself, so nothing
//! above this line ever sees a SQLSTATE.

use async_trait::async_trait;

pub use crate::cause::Cause;
use chrono::{DateTime, Utc};
use datastorage_domain::audit::{
    AuditEvent, AuditPage, AuditQuery, CorrelationId, EventId, NewAuditEvent,
};
use datastorage_domain::remediation::{IncidentKeys, IncidentQuery};

/// What happened to one event of an insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// A new row was written.
    Created,
    /// An event with this id and identical content was already stored; nothing was written.
    AlreadyExists,
}

/// Why a repository call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RepositoryError {
    /// An event with this id is stored with different content.
    #[error("event {event_id} already exists with different content")]
    Conflict { event_id: EventId },
    /// The store refused the data for good (a constraint); retrying cannot help.
    #[error("the store rejected the data")]
    Rejected(#[source] Cause),
    /// The store could not be reached, or answered with a transient error; retrying may
    /// help. Nothing was written: the call never reached the store, or the store said it
    /// failed (an aborted transaction commits nothing).
    #[error("the store is unavailable")]
    Unavailable(#[source] Cause),
    /// The call reached the store and no answer came (a timeout, a connection lost after
    /// sending): a write may or may not have happened; an idempotent re-send settles it.
    /// Retrying may help.
    #[error("the store did not answer")]
    OutcomeUnknown(#[source] Cause),
    /// The store refused the statement for a reason that is neither transient nor the data's
    /// (a missing grant, a statement the engine cannot plan): a fault of ours or of the
    /// deployment. Never retried, never queued.
    #[error("the store refused the statement")]
    Fault(#[source] Cause),
    /// A stored row no longer satisfies the domain's rules.
    #[error("stored data is corrupt")]
    Corrupt(#[source] Cause),
}

impl RepositoryError {
    /// Whether trying again later may succeed (the store was down or did not answer).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            RepositoryError::Unavailable(_) | RepositoryError::OutcomeUnknown(_)
        )
    }
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

    /// Up to `limit_each` events of each of `correlation_ids`, each correlation's oldest
    /// first (the order of [`AuditEventRepository::correlation`]), correlations in any order:
    /// one round trip for a page of remediations.
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`]; [`RepositoryError::Corrupt`].
    async fn correlations(
        &self,
        correlation_ids: &[CorrelationId],
        limit_each: u32,
    ) -> Result<Vec<AuditEvent>, RepositoryError>;

    /// Up to `limit` `remediation.workflow_created` events whose `target_resource` is the JSON
    /// string `target_resource`, recorded in `[since, until]`, newest first
    /// (`event_timestamp DESC, event_id DESC`): a target's remediation history.
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`]; [`RepositoryError::Corrupt`].
    async fn workflow_choices(
        &self,
        target_resource: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, RepositoryError>;

    /// Those of `correlation_ids` with an event that names `spec_hash` as the spec their
    /// remediation produced, by [`datastorage_domain::remediation::produces_spec`].
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`]; [`RepositoryError::Corrupt`].
    async fn remediations_producing(
        &self,
        correlation_ids: &[CorrelationId],
        spec_hash: &str,
    ) -> Result<Vec<CorrelationId>, RepositoryError>;

    /// The remediations (correlations with a `remediation.workflow_created` event) matching
    /// `query`: the page's ids, the exact count of every match, by the rules of
    /// [`datastorage_domain::remediation::incident_keys`].
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`]; [`RepositoryError::Corrupt`].
    async fn incidents(&self, query: &IncidentQuery) -> Result<IncidentKeys, RepositoryError>;

    /// Whether the store answers right now.
    ///
    /// # Errors
    /// [`RepositoryError::Unavailable`] with the reason.
    async fn ping(&self) -> Result<(), RepositoryError>;
}

/// Id of a dead-letter queue entry (opaque; a Redis stream id in the Redis adapter).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueEntryId(pub String);

/// One queued write: the events of one request (a single event or a whole batch).
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedEntry {
    pub id: QueueEntryId,
    pub events: Vec<NewAuditEvent>,
    /// Replay attempts that failed for this entry alone.
    pub attempts: u32,
    pub enqueued_at: chrono::DateTime<chrono::Utc>,
    /// Not to be retried before this instant (per-entry backoff).
    pub not_before: Option<chrono::DateTime<chrono::Utc>>,
}

/// A queue entry that could not be decoded; it can only be dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndecodableEntry {
    pub id: QueueEntryId,
    pub reason: String,
}

/// What `claim` hands out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claimed {
    pub entries: Vec<QueuedEntry>,
    pub undecodable: Vec<UndecodableEntry>,
}

/// How durable an acknowledged enqueue is, as the queue's server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueDurability {
    /// Every write is fsynced before it is acknowledged (Redis `appendfsync always`).
    Always,
    /// Something weaker; the text says what (e.g. `appendonly no`, `appendfsync everysec`).
    Weaker(String),
    /// In process memory only: lost with the process.
    ProcessMemory,
    /// The server does not say (CONFIG disabled).
    Unknown,
}

impl QueueDurability {
    pub fn label(&self) -> String {
        match self {
            QueueDurability::Always => "always".into(),
            QueueDurability::Weaker(what) => format!("weaker ({what})"),
            QueueDurability::ProcessMemory => "process-memory".into(),
            QueueDurability::Unknown => "unknown".into(),
        }
    }
}

/// Depth and health of the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueStats {
    /// Entries waiting or being replayed.
    pub depth: u64,
    /// Most entries the queue holds before refusing more.
    pub capacity: u64,
    /// Age of the oldest waiting entry.
    pub oldest_age_seconds: Option<f64>,
    /// Entries claimed by a consumer and not yet acknowledged.
    pub pending: u64,
    /// Entries moved to the dead-letter stream.
    pub dead_lettered: u64,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum QueueError {
    /// The queue holds `capacity` entries; it refuses rather than dropping old ones.
    #[error("the dead-letter queue is full ({capacity} entries)")]
    Full { capacity: u64 },
    /// The queue could not be reached or refused the call; nothing was added.
    #[error("the dead-letter queue is unavailable")]
    Unavailable(#[source] Cause),
    /// The call reached the queue and no (sufficient) answer came: the entry may have been
    /// added, and then it will be replayed.
    #[error("the dead-letter queue did not answer")]
    OutcomeUnknown(#[source] Cause),
}

/// A durable queue of writes that storage could not take, replayed later.
///
/// Entries are claimed by a consumer and stay pending until acknowledged, so a consumer that
/// dies after writing but before acknowledging leaves them to be claimed again (and written
/// again idempotently).
#[async_trait]
pub trait DeadLetterQueue: Send + Sync + 'static {
    /// Appends one entry holding all `events`, atomically and durably.
    ///
    /// # Errors
    /// [`QueueError::Full`] at capacity (nothing is trimmed); [`QueueError::Unavailable`].
    async fn enqueue(&self, events: &[NewAuditEvent]) -> Result<(), QueueError>;

    /// Up to `max` entries for this consumer: first its own unacknowledged ones (left by a
    /// pass that found storage down), then other consumers' entries pending longer than the
    /// reclaim idle time (a crashed consumer's), then new ones.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`].
    async fn claim(&self, max: usize) -> Result<Claimed, QueueError>;

    /// Removes entries whose events are stored.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`].
    async fn ack(&self, ids: &[QueueEntryId]) -> Result<(), QueueError>;

    /// Atomically replaces a claimed entry with a new entry at the tail holding the same
    /// events, `attempts`, `not_before` and the last error (per-entry backoff). Keeps the
    /// consumer's pending list free of entries that are not due.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`].
    async fn requeue(
        &self,
        entry: &QueuedEntry,
        attempts: u32,
        not_before: chrono::DateTime<chrono::Utc>,
        error: &str,
    ) -> Result<(), QueueError>;

    /// Moves a claimed entry to the dead-letter stream with `reason`, atomically.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`].
    async fn dead_letter(&self, id: &QueueEntryId, reason: &str) -> Result<(), QueueError>;

    /// Depth, age, pending and dead-lettered counts.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`].
    async fn stats(&self) -> Result<QueueStats, QueueError>;

    /// How durable an acknowledged enqueue is.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`].
    async fn durability(&self) -> Result<QueueDurability, QueueError>;
}

pub use catalog_port::*;

mod catalog_port {
    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use datastorage_domain::embedding::{Embedding, EmbeddingModel};
    use datastorage_domain::workflow::*;

    /// A workflow that passed the hard filters, with its similarity to the query text.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Candidate {
        pub workflow: WorkflowSummary,
        pub similarity: Option<f64>,
    }

    /// What registering a version did.
    #[derive(Debug, Clone, PartialEq)]
    pub enum RegisterOutcome {
        Created(Workflow),
        /// The same (name, version) was already registered with identical content.
        AlreadyExists(Workflow),
    }

    /// A status change to apply.
    #[derive(Debug, Clone, PartialEq)]
    pub struct StatusChange {
        pub id: WorkflowId,
        pub to: LifecycleStatus,
        pub by: Option<String>,
        pub reason: Option<String>,
        pub at: DateTime<Utc>,
    }

    /// Filters of a catalog listing; all that are set must hold.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct WorkflowListQuery {
        pub name: Option<WorkflowName>,
        pub status: Option<LifecycleStatus>,
        pub component: Option<String>,
        pub environment: Option<String>,
        pub priority: Option<String>,
        pub latest_only: bool,
        pub limit: u32,
        pub offset: u64,
    }

    /// A page of the catalog, ordered by name, then newest version first.
    #[derive(Debug, Clone, PartialEq)]
    pub struct WorkflowPage {
        pub workflows: Vec<Workflow>,
        pub total: u64,
    }

    use crate::cause::Cause;

    #[derive(Debug, thiserror::Error)]
    pub enum CatalogError {
        #[error("workflow {0} not found")]
        NotFound(WorkflowId),
        /// The (name, version) exists with other content: versions are immutable.
        #[error(
            "{name} {version} is already registered with different content; versions are immutable, register a new version"
        )]
        VersionExists { name: String, version: String },
        #[error("version {given} of {name} is not greater than its latest version {latest}")]
        VersionNotIncremented {
            name: String,
            given: String,
            latest: String,
        },
        #[error(transparent)]
        Transition(#[from] TransitionError),
        #[error("the catalog is unavailable")]
        Unavailable(#[source] Cause),
        /// Neither transient nor the data's: a fault of ours or of the deployment.
        #[error("the catalog's store refused the statement")]
        Fault(#[source] Cause),
        #[error("stored workflow is corrupt")]
        Corrupt(#[source] Cause),
    }

    /// Durable storage of workflow versions.
    #[async_trait]
    pub trait WorkflowCatalog: Send + Sync + 'static {
        /// Stores a new version atomically: it becomes the name's latest version (the previous
        /// latest loses the flag in the same transaction).
        ///
        /// # Errors
        /// [`CatalogError::VersionExists`] for an existing (name, version) with another
        /// registration hash; [`CatalogError::VersionNotIncremented`] when the version is not
        /// greater than the latest; [`CatalogError::Unavailable`].
        async fn register(&self, new: &NewWorkflow) -> Result<RegisterOutcome, CatalogError>;

        /// # Errors
        /// [`CatalogError::Unavailable`], [`CatalogError::Corrupt`].
        async fn get(&self, id: WorkflowId) -> Result<Option<Workflow>, CatalogError>;

        /// Every version of a name, in any order.
        ///
        /// # Errors
        /// [`CatalogError::Unavailable`], [`CatalogError::Corrupt`].
        async fn versions(&self, name: &WorkflowName) -> Result<Vec<Workflow>, CatalogError>;

        /// Applies a lifecycle transition atomically; returns the workflow after it and whether
        /// anything changed (staying in the same status changes nothing).
        ///
        /// # Errors
        /// [`CatalogError::NotFound`]; [`CatalogError::Transition`] for an illegal change.
        async fn set_status(&self, change: &StatusChange)
        -> Result<(Workflow, bool), CatalogError>;

        /// # Errors
        /// [`CatalogError::Unavailable`], [`CatalogError::Corrupt`].
        async fn list(&self, query: &WorkflowListQuery) -> Result<WorkflowPage, CatalogError>;

        /// The latest versions whose status is one of `statuses` and whose mandatory labels
        /// pass the hard filters of `filters` ([`passes_hard_filters`]); in any order. With a
        /// `query` embedding, each candidate's cosine similarity to it (exact, over the whole
        /// filtered set; `None` for a workflow without an embedding of the query's model).
        /// A candidate's `embedding` field may be left empty.
        ///
        /// # Errors
        /// [`CatalogError::Unavailable`], [`CatalogError::Corrupt`].
        async fn candidates(
            &self,
            filters: &SearchFilters,
            statuses: &[LifecycleStatus],
            query: Option<&Embedding>,
        ) -> Result<Vec<Candidate>, CatalogError>;

        /// Up to `limit` workflows without an embedding of `model` (for re-embedding).
        ///
        /// # Errors
        /// [`CatalogError::Unavailable`], [`CatalogError::Corrupt`].
        async fn missing_embeddings(
            &self,
            model: &EmbeddingModel,
            limit: u32,
        ) -> Result<Vec<Workflow>, CatalogError>;

        /// Stores a workflow's (re-computed) embedding.
        ///
        /// # Errors
        /// [`CatalogError::NotFound`], [`CatalogError::Unavailable`].
        async fn set_embedding(
            &self,
            id: WorkflowId,
            embedding: &Embedding,
        ) -> Result<(), CatalogError>;
    }
}

pub use embedding_ports::*;

mod embedding_ports {
    use std::time::Duration;

    use async_trait::async_trait;
    use datastorage_domain::embedding::{Embedding, EmbeddingModel};
    use datastorage_domain::workflow::WorkflowId;

    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum EmbedError {
        /// The embedder cannot answer now (down, timed out, overloaded).
        #[error("the embedder {embedder} is unavailable: {reason}")]
        Unavailable { embedder: String, reason: String },
        /// The embedder answered something unusable (wrong dimension, malformed).
        #[error("the embedder {embedder} answered badly: {reason}")]
        BadAnswer { embedder: String, reason: String },
    }

    /// What a text is embedded as: instruction-tuned models (E5, BGE) want a search query
    /// and the documents it is matched with marked differently.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum EmbedRole {
        /// A search's free text.
        Query,
        /// A workflow's text, stored with the workflow.
        Document,
    }

    /// Turns texts into embeddings of one model.
    #[async_trait]
    pub trait Embedder: Send + Sync + 'static {
        fn model(&self) -> &EmbeddingModel;

        /// One embedding per text, in order.
        ///
        /// # Errors
        /// [`EmbedError::Unavailable`] when it cannot answer; [`EmbedError::BadAnswer`] for
        /// a reply that is not one valid vector per text of the model's dimension.
        async fn embed(&self, texts: &[String]) -> Result<Vec<Embedding>, EmbedError>;

        /// As [`Embedder::embed`], the texts being `role`; an embedder that marks roles (its
        /// model id then names the marks, so changing them re-embeds) overrides this.
        ///
        /// # Errors
        /// As [`Embedder::embed`].
        async fn embed_as(
            &self,
            role: EmbedRole,
            texts: &[String],
        ) -> Result<Vec<Embedding>, EmbedError> {
            let _ = role;
            self.embed(texts).await
        }
    }

    /// What a cached embedding is for: a query text, or a workflow's text (which its
    /// registration, disable and enable invalidate).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct CacheKey {
        pub model: EmbeddingModel,
        /// SHA-256 of the text, hex.
        pub text_sha256: String,
        pub workflow: Option<WorkflowId>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    #[error("the embedding cache is unavailable: {0}")]
    pub struct CacheError(pub String);

    /// Embeddings kept for a while so the same text is not embedded twice.
    #[async_trait]
    pub trait EmbeddingCache: Send + Sync + 'static {
        /// # Errors
        /// [`CacheError`] when the cache cannot be reached.
        async fn get(&self, key: &CacheKey) -> Result<Option<Embedding>, CacheError>;

        /// Stores for `ttl` (the cache may evict earlier).
        ///
        /// # Errors
        /// [`CacheError`].
        async fn put(
            &self,
            key: &CacheKey,
            embedding: &Embedding,
            ttl: Duration,
        ) -> Result<(), CacheError>;

        /// Drops every entry tagged with this workflow.
        ///
        /// # Errors
        /// [`CacheError`].
        async fn invalidate_workflow(&self, id: WorkflowId) -> Result<u64, CacheError>;

        /// Drops every entry.
        ///
        /// # Errors
        /// [`CacheError`].
        async fn invalidate_all(&self) -> Result<u64, CacheError>;
    }
}

mod log;
pub use log::*;

mod governance;
pub use governance::*;
