//! Use-case: the remediation history of one target, read from the audit trail (issue 25).
//!
//! Reads the target's `remediation.workflow_created` events of the whole look-back
//! (`AuditEventRepository::workflow_choices`, the newest `MAX_WORKFLOWS`), then every event of
//! their correlations (one round trip), and leaves the tiers, hash matching and scores to the domain.

use std::collections::BTreeSet;

use datastorage_domain::audit::CorrelationId;
use datastorage_domain::remediation::{
    HistoryRequest, MAX_TIER_ENTRIES, RemediationHistory, remediation_history,
};

use super::AuditService;
use crate::error::AuditError;

/// Most `workflow_created` events read for one request: both tiers full. Beyond it the
/// newest are kept.
const MAX_WORKFLOWS: u32 = 2 * MAX_TIER_ENTRIES as u32;

impl AuditService {
    /// The history at the service clock's `now`. Unlike the original, a failure of any read
    /// (tier 2's included) is an error, never a silently shorter history.
    pub async fn remediation_history(
        &self,
        request: &HistoryRequest,
    ) -> Result<RemediationHistory, AuditError> {
        let now = self.clock.now();
        let since = now - request.tier2().as_duration();
        let mut events = self
            .repository
            .workflow_choices(request.target_resource(), since, now, MAX_WORKFLOWS)
            .await?;
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
