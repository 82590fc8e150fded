//! Use-case: the remediation history of one target, read from the audit trail (issue 25).
//!
//! Reads the target's `remediation.workflow_created` events of the whole look-back through
//! the ordinary query (the `event_type` and `target_resource` filters), then every event of
//! their correlations (one round trip), and leaves the tiers, hash matching and scores to the domain.

use std::collections::BTreeSet;

use datastorage_domain::audit::{
    AuditFilter, AuditQuery, CorrelationId, DetailMatch, EventType, PageLimit, PagePosition,
};
use datastorage_domain::remediation::{
    HistoryRequest, MAX_TIER_ENTRIES, RemediationHistory, WORKFLOW_CREATED, remediation_history,
};

use super::AuditService;
use crate::error::AuditError;

/// Most `workflow_created` events read for one request: both tiers full. Beyond it the
/// newest are kept.
const MAX_WORKFLOWS: usize = 2 * MAX_TIER_ENTRIES;

impl AuditService {
    /// The history at the service clock's `now`. Unlike the original, a failure of any read
    /// (tier 2's included) is an error, never a silently shorter history.
    pub async fn remediation_history(
        &self,
        request: &HistoryRequest,
    ) -> Result<RemediationHistory, AuditError> {
        let now = self.clock.now();
        let filter = AuditFilter {
            event_type: Some(EventType::parse(WORKFLOW_CREATED)?),
            detail: Some(DetailMatch::parse(
                "target_resource".into(),
                request.target_resource().into(),
            )?),
            since: Some(now - request.tier2().as_duration()),
            until: Some(now),
            ..AuditFilter::default()
        };
        let mut events = Vec::new();
        let mut position = PagePosition::Offset(0);
        loop {
            let page = self
                .repository
                .query(&AuditQuery {
                    filter: filter.clone(),
                    limit: PageLimit::parse(i64::from(datastorage_domain::audit::MAX_PAGE_LIMIT))?,
                    position,
                    include_total: false,
                })
                .await?;
            events.extend(page.events);
            match page.next_cursor {
                Some(cursor) if page.has_more && events.len() < MAX_WORKFLOWS => {
                    position = PagePosition::After(cursor);
                }
                _ => break,
            }
        }
        events.truncate(MAX_WORKFLOWS);
        let correlations: Vec<CorrelationId> = events
            .iter()
            .filter(|e| request.targets(e))
            .map(|e| e.correlation_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // Every remediation's trail in one round trip: a target with fifty remediations is
        // one query, not fifty.
        let trails = self
            .repository
            .correlations(&correlations, self.settings.max_trail)
            .await?;
        events.extend(trails);
        Ok(remediation_history(request, now, &events))
    }
}
