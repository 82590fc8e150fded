//! Use-case: the parent/child trail of one correlation.

use datastorage_domain::audit::{CorrelationId, TrailNode, build_trail};

use super::AuditService;
use crate::error::AuditError;

/// A correlation's events as a tree, and whether it was cut at the configured maximum.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationTrail {
    pub correlation_id: CorrelationId,
    pub nodes: Vec<TrailNode>,
    pub truncated: bool,
}

impl AuditService {
    /// An unknown correlation is an empty trail, not an error: events may still arrive.
    pub async fn correlation_trail(&self, id: &str) -> Result<CorrelationTrail, AuditError> {
        let correlation_id = CorrelationId::parse(id)?;
        let max = self.settings.max_trail;
        let mut events = self
            .repository
            .correlation(&correlation_id, max.saturating_add(1))
            .await?;
        let truncated = events.len() > max as usize;
        events.truncate(max as usize);
        Ok(CorrelationTrail {
            correlation_id,
            nodes: build_trail(events),
            truncated,
        })
    }
}
