//! Use-case: the remediation history of one target, read from the audit trail (issue 25).
//!
//! Reads the target's `remediation.workflow_created` events of the whole look-back
//! (`AuditEventRepository::workflow_choices`, the newest `MAX_WORKFLOWS`), then every event of
//! the linked remediations' correlations (one round trip), and leaves the tiers, hash matching and scores to the domain.

use std::collections::BTreeSet;

use datastorage_domain::audit::{AuditEvent, CorrelationId};
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
        let targeted: Vec<&AuditEvent> = events.iter().filter(|e| request.targets(e)).collect();
        let ids: Vec<CorrelationId> = targeted
            .iter()
            .map(|e| e.correlation_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // Only the remediations the history shows need their trails: those that started from
        // the current spec or produced it (the domain's rules); a target with fifty
        // remediations, one of them linked, reads one trail, not fifty.
        let producing: BTreeSet<CorrelationId> = self
            .repository
            .remediations_producing(&ids, request.current_spec_hash())
            .await?
            .into_iter()
            .collect();
        let linked: Vec<CorrelationId> = targeted
            .iter()
            .filter(|e| request.started_from_current(e) || producing.contains(&e.correlation_id))
            .map(|e| e.correlation_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let trails = self
            .repository
            .correlations(&linked, self.settings.max_trail)
            .await?;
        events.extend(trails);
        Ok(remediation_history(request, now, &events))
    }
}
