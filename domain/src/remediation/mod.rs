//! Reads over the remediation lifecycle recorded in the audit trail: which remediations a
//! target has had, how effective they were, and how one unfolded. Pure: the caller hands in the events.

mod effectiveness;
mod history;
#[cfg(test)]
mod history_tests;
mod incident_page;
mod incidents;
mod timeline;
mod window;

pub use effectiveness::{Effectiveness, HealthChecks};
pub use history::{
    HashMatch, HistoryEntry, HistoryParamError, HistoryParams, HistoryRequest, HistoryTier,
    LIFECYCLE_COMPLETED, MAX_TIER_ENTRIES, RemediationHistory, WORKFLOW_CREATED, produces_spec,
    remediation_history,
};
pub use incident_page::{
    IncidentCursor, IncidentKeys, IncidentPosition, IncidentQuery, incident_keys,
};
pub use incidents::{
    ExecutionStatus, Incident, IncidentFilter, SIGNAL_PROCESSED, SIGNAL_RECEIVED, WorkflowChoice,
    incident, sort_incidents,
};
pub use timeline::{
    Late, LateAfter, LateAfterError, OutOfOrder, Overdue, Phase, PhaseSummary, Timeline,
    TimelineStep, Verdict, build_timeline, human_duration,
};
pub use window::{HistoryWindow, WindowError};
