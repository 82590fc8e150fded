//! The audit use-cases, one per file, sharing one [`AuditService`] handle.

mod correlation_trail;
mod get_event;
mod query_events;
mod record_batch;
mod record_event;

use std::sync::Arc;

use datastorage_domain::audit::{EventId, EventRules, EventTimestamp};

use crate::clock::Clock;
use crate::ports::{AuditEventRepository, InsertOutcome};

pub use correlation_trail::CorrelationTrail;
pub use query_events::{AuditQueryInput, AuditQueryResult};

/// Limits of the audit use-cases that operators may tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditSettings {
    pub rules: EventRules,
    /// Most events a batch may hold.
    pub max_batch: usize,
    /// Most events a correlation trail returns.
    pub max_trail: u32,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            rules: EventRules::default(),
            max_batch: 1000,
            max_trail: 10_000,
        }
    }
}

/// Entry point of every audit use-case.
#[derive(Clone)]
pub struct AuditService {
    repository: Arc<dyn AuditEventRepository>,
    clock: Arc<dyn Clock>,
    settings: AuditSettings,
}

impl AuditService {
    pub fn new(
        repository: Arc<dyn AuditEventRepository>,
        clock: Arc<dyn Clock>,
        settings: AuditSettings,
    ) -> Self {
        Self {
            repository,
            clock,
            settings,
        }
    }

    pub fn settings(&self) -> &AuditSettings {
        &self.settings
    }

    /// Whether the audit store answers right now.
    pub async fn storage_ready(&self) -> Result<(), String> {
        self.repository.ping().await.map_err(|e| e.to_string())
    }

    /// A new server-assigned id: UUIDv7, so ids sort by creation time.
    fn fresh_id(&self) -> EventId {
        EventId::from_uuid(uuid::Uuid::now_v7())
    }
}

/// The answer to a recorded event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub event_id: EventId,
    pub event_timestamp: EventTimestamp,
    pub outcome: InsertOutcome,
}

/// The answer to a recorded batch, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecorded {
    pub events: Vec<Recorded>,
}

impl BatchRecorded {
    /// True when at least one event of the batch was newly written.
    pub fn created_any(&self) -> bool {
        self.events
            .iter()
            .any(|r| r.outcome == InsertOutcome::Created)
    }
}
