//! The audit use-cases, one per file, sharing one [`AuditService`] handle.

mod correlation_trail;
mod durable_write;
mod effectiveness;
mod get_event;
mod incidents;
mod query_events;
mod queue_status;
mod record_batch;
mod record_event;
mod remediation_history;
mod replay;
mod timeline;

use crate::cause::chain;
use std::sync::Arc;
use std::time::Duration;

use datastorage_domain::audit::{EventId, EventRules, EventTimestamp};
use datastorage_domain::remediation::LateAfter;
use datastorage_domain::retry::RetryPolicy;

use crate::circuit::{BreakerSettings, CircuitBreaker};
use crate::clock::Clock;
use crate::ports::{AuditEventRepository, DeadLetterQueue};

pub use correlation_trail::CorrelationTrail;
pub use durable_write::WriteOutcome;
pub use effectiveness::{EffectivenessReport, MAX_EFFECTIVENESS_EVENTS};
pub use incidents::{IncidentPage, IncidentQueryInput};
pub use query_events::{AuditQueryInput, AuditQueryResult};
pub use queue_status::QueueStatus;
pub use replay::{ReplayReport, ReplaySettings, ReplayWorker};
pub use timeline::RemediationTimeline;

/// Limits of the audit use-cases that operators may tune.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AuditSettings {
    pub rules: EventRules,
    /// Most events a batch may hold.
    pub max_batch: usize,
    /// Most events a correlation trail returns.
    pub max_trail: u32,
    /// Retries of a transient storage failure inside one request.
    pub retry: RetryPolicy,
    /// Longest a write's storage part takes (attempts, waits and retries) before it falls
    /// back to the queue; an attempt still unanswered then counts as a failure whose outcome
    /// is unknown.
    pub retry_deadline: Duration,
    /// Longest the fallback's enqueue takes before its outcome counts as unknown.
    pub enqueue_timeout: Duration,
    pub breaker: BreakerSettings,
    /// How long each lifecycle phase may take to begin before the timeline calls it late.
    pub timeline: LateAfter,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            rules: EventRules::default(),
            max_batch: 1000,
            max_trail: 10_000,
            retry: RetryPolicy::default(),
            retry_deadline: Duration::from_secs(2),
            enqueue_timeout: Duration::from_secs(2),
            breaker: BreakerSettings::default(),
            timeline: LateAfter::default(),
        }
    }
}

/// Entry point of every audit use-case.
#[derive(Clone)]
pub struct AuditService {
    repository: Arc<dyn AuditEventRepository>,
    /// Where writes go when storage is down; `None`: they fail with 503 instead.
    queue: Option<Arc<dyn DeadLetterQueue>>,
    clock: Arc<dyn Clock>,
    settings: AuditSettings,
    breaker: Arc<CircuitBreaker>,
}

impl AuditService {
    pub fn new(
        repository: Arc<dyn AuditEventRepository>,
        queue: Option<Arc<dyn DeadLetterQueue>>,
        clock: Arc<dyn Clock>,
        settings: AuditSettings,
    ) -> Self {
        Self {
            repository,
            queue,
            clock,
            breaker: Arc::new(CircuitBreaker::new(settings.breaker)),
            settings,
        }
    }

    /// Whether the audit store answers right now.
    pub async fn storage_ready(&self) -> Result<(), String> {
        // A store that hangs is not ready, and the probe must say so in time.
        match tokio::time::timeout(self.settings.retry_deadline, self.repository.ping()).await {
            Ok(answer) => answer.map_err(|e| chain(&e)),
            Err(_) => Err(format!(
                "no answer within {} ms",
                self.settings.retry_deadline.as_millis()
            )),
        }
    }

    /// The repository behind the use-cases (for governance's counts).
    pub(crate) fn repository(&self) -> &Arc<dyn AuditEventRepository> {
        &self.repository
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
    pub outcome: WriteOutcome,
}

/// The answer to a recorded batch, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecorded {
    pub events: Vec<Recorded>,
}

impl BatchRecorded {
    /// The batch's overall outcome: queued if it was queued, created if anything was new.
    pub fn outcome(&self) -> WriteOutcome {
        let any = |o| self.events.iter().any(|r| r.outcome == o);
        if any(WriteOutcome::Queued) {
            WriteOutcome::Queued
        } else if any(WriteOutcome::Created) {
            WriteOutcome::Created
        } else {
            WriteOutcome::AlreadyExists
        }
    }
}
