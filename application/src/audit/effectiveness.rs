//! Use-case: the effectiveness score of one remediation, computed on each request from its
//! `effectiveness` events (nothing is stored).

use chrono::{DateTime, Utc};
use datastorage_domain::audit::{
    AuditEvent, AuditFilter, AuditQuery, CorrelationId, Effectiveness, EventCategory,
    MAX_PAGE_LIMIT, PageLimit, PagePosition, assess,
};

use super::AuditService;
use crate::error::AuditError;

/// Most effectiveness events read for one correlation (the original's cap; past it we keep the
/// newest, the original the oldest). An assessment writes about seven, so the cap only bounds
/// a misbehaving producer's cost.
pub const MAX_EFFECTIVENESS_EVENTS: usize = 10_000;

/// A correlation's effectiveness and when it was computed.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectivenessReport {
    pub correlation_id: CorrelationId,
    pub effectiveness: Effectiveness,
    pub computed_at: DateTime<Utc>,
}

impl AuditService {
    /// `None` when the correlation has no `effectiveness` event, whatever else it has.
    ///
    /// # Errors
    /// [`AuditError::Invalid`] for a malformed correlation id; storage errors as they come.
    pub async fn effectiveness(&self, id: &str) -> Result<Option<EffectivenessReport>, AuditError> {
        let correlation_id = CorrelationId::parse(id)?;
        let mut events = self.effectiveness_events(&correlation_id).await?;
        // The query reads newest first; the fold needs the order the events happened in.
        events.reverse();
        Ok(assess(&events).map(|effectiveness| EffectivenessReport {
            correlation_id,
            effectiveness,
            computed_at: self.clock.now(),
        }))
    }

    /// The correlation's effectiveness events, newest first, through the ordinary query port
    /// (its correlation index), in keyset pages without a count.
    async fn effectiveness_events(
        &self,
        correlation_id: &CorrelationId,
    ) -> Result<Vec<AuditEvent>, AuditError> {
        let filter = AuditFilter {
            correlation_id: Some(correlation_id.clone()),
            event_category: Some(EventCategory::Effectiveness),
            ..AuditFilter::default()
        };
        let limit = PageLimit::parse(i64::from(MAX_PAGE_LIMIT))?;
        let mut position = PagePosition::Offset(0);
        let mut events = Vec::new();
        loop {
            let query = AuditQuery {
                filter: filter.clone(),
                limit,
                position,
                include_total: false,
            };
            let page = self.repository.query(&query).await?;
            events.extend(page.events);
            match page.next_cursor {
                Some(cursor) if page.has_more && events.len() < MAX_EFFECTIVENESS_EVENTS => {
                    position = PagePosition::After(cursor);
                }
                _ => break,
            }
        }
        events.truncate(MAX_EFFECTIVENESS_EVENTS);
        Ok(events)
    }
}
