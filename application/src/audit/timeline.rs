//! Use-case: the remediation timeline of one correlation, built on each request from its
//! events (nothing is stored).

use datastorage_domain::audit::CorrelationId;
use datastorage_domain::remediation::{Timeline, build_timeline};

use super::AuditService;
use crate::error::AuditError;

/// A correlation's timeline, and whether its events were cut at the trail's maximum (then the
/// verdict speaks only of the events read).
#[derive(Debug, Clone, PartialEq)]
pub struct RemediationTimeline {
    pub correlation_id: CorrelationId,
    pub timeline: Timeline,
    pub truncated: bool,
}

impl AuditService {
    /// `None` when the correlation has no event at all (a 404: there is nothing to judge, and
    /// a verdict of "everything missing" would read as a remediation that never ran).
    ///
    /// # Errors
    /// [`AuditError::Invalid`] for a malformed correlation id; storage errors as they come.
    pub async fn remediation_timeline(
        &self,
        id: &str,
    ) -> Result<Option<RemediationTimeline>, AuditError> {
        let correlation_id = CorrelationId::parse(id)?;
        let max = self.settings.max_trail;
        let mut events = self
            .repository
            .correlation(&correlation_id, max.saturating_add(1))
            .await?;
        if events.is_empty() {
            return Ok(None);
        }
        let truncated = events.len() > max as usize;
        events.truncate(max as usize);
        Ok(Some(RemediationTimeline {
            correlation_id,
            timeline: build_timeline(events, &self.settings.timeline, self.clock.now()),
            truncated,
        }))
    }
}
