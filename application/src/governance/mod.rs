//! Governance of the trail (DESIGN.md §11): legal holds and retention. Every action is
//! itself an audit event, so it is in the log like any other.

mod legal_hold;
mod retention;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datastorage_domain::audit::AuditEventDraft;
use serde_json::Value;

use crate::AuditService;
use crate::clock::Clock;
use crate::error::AuditError;
use crate::ports::{LegalHoldStore, RetentionStore};

pub use legal_hold::{HoldPlaced, HoldReleased};
pub use retention::{RETENTION_TRAIL, RetentionReport, RetentionWorker};

/// Who acts when the service runs without authentication.
pub const ANONYMOUS: &str = "anonymous";

/// Entry point of the governance use-cases.
#[derive(Clone)]
pub struct GovernanceService {
    holds: Arc<dyn LegalHoldStore>,
    retention: Arc<dyn RetentionStore>,
    audit: AuditService,
    clock: Arc<dyn Clock>,
    /// A month is considered for retention only once it ended this long ago, so the late
    /// events the write path still accepts for it have arrived.
    settle: chrono::Duration,
}

impl GovernanceService {
    pub fn new(
        holds: Arc<dyn LegalHoldStore>,
        retention: Arc<dyn RetentionStore>,
        audit: AuditService,
        clock: Arc<dyn Clock>,
        settle: chrono::Duration,
    ) -> Self {
        Self {
            holds,
            retention,
            audit,
            clock,
            settle,
        }
    }

    /// Records a governance action as an audit event in `correlation_id`'s trail.
    async fn record(
        &self,
        event_type: &str,
        action: &str,
        actor: &str,
        correlation_id: &str,
        at: DateTime<Utc>,
        data: Value,
    ) -> Result<(), AuditError> {
        let draft = AuditEventDraft {
            version: "1.0".into(),
            event_type: event_type.into(),
            event_timestamp: at.to_rfc3339(),
            event_category: "orchestration".into(),
            event_action: action.into(),
            event_outcome: "success".into(),
            actor_type: Some("service".into()),
            actor_id: Some(actor.into()),
            resource_type: Some("AuditTrail".into()),
            correlation_id: correlation_id.into(),
            event_data: data.into(),
            ..AuditEventDraft::default()
        };
        self.audit.record(draft).await.map(|_| ())
    }
}
