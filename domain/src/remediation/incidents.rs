//! The seeds' incidents as a read model over remediations (issue 25 step 3): one row per
//! correlation that chose a workflow, folded from the correlation's lifecycle events. Pure:
//! the caller hands in each correlation's events.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::history::{LIFECYCLE_COMPLETED, WORKFLOW_CREATED};
use crate::audit::{AuditEvent, CorrelationId, EventOutcome, assess};
use crate::workflow::Severity;

/// The gateway's event for a received signal: alert name and raw severity.
pub const SIGNAL_RECEIVED: &str = "gateway.signal.received";
/// Signal processing's event: the normalised severity (critical, high, medium, low).
pub const SIGNAL_PROCESSED: &str = "signalprocessing.signal.processed";
const EXECUTION_STARTED: &str = "workflowexecution.execution.started";
const EXECUTION_COMPLETED: &str = "workflowexecution.workflow.completed";
const EXECUTION_FAILED: &str = "workflowexecution.workflow.failed";

/// Where a remediation's execution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionStatus {
    /// A workflow was chosen; no execution event yet.
    Pending,
    Running,
    Completed,
    Failed,
}

impl ExecutionStatus {
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }
}

/// One remediation as the seeds' incidents listed it, plus its target and score.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// The correlation id (the RemediationRequest name).
    pub id: CorrelationId,
    /// `signal_name` of the gateway's signal event.
    pub alert_name: Option<String>,
    /// Signal processing's normalised severity, else the gateway's raw one.
    pub alert_severity: Option<String>,
    /// `action_type` of the last `remediation.workflow_created`.
    pub action_type: Option<String>,
    /// When the last `remediation.workflow_created` was recorded.
    pub action_timestamp: DateTime<Utc>,
    pub execution_status: ExecutionStatus,
    pub target_kind: Option<String>,
    pub target_name: Option<String>,
    /// The target's namespace; the signal's when the workflow names no target; `None` for a
    /// cluster-scoped target.
    pub target_namespace: Option<String>,
    /// The effectiveness endpoint's score of the same correlation.
    pub effectiveness_score: Option<f64>,
}

fn text(data: &Map<String, Value>, key: &str) -> Option<String> {
    data.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// What a `remediation.workflow_created` event says of the choice, by the incident rules: its
/// action type and target, each a non-empty string or absent. Stores that keep the last
/// choice of each remediation record these (the PostgreSQL `remediations` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowChoice {
    pub action_type: Option<String>,
    pub target_resource: Option<String>,
}

impl WorkflowChoice {
    /// `None` unless `event` is a `remediation.workflow_created`.
    pub fn of(event: &AuditEvent) -> Option<Self> {
        (event.event_type.as_str() == WORKFLOW_CREATED).then(|| {
            let data = event.event_data.as_map();
            Self {
                action_type: text(data, "action_type"),
                target_resource: text(data, "target_resource"),
            }
        })
    }
}

/// The incident of one correlation from its events, oldest first; `None` when no workflow
/// was chosen for it (nothing was remediated, so the seeds had no row either).
pub fn incident(id: &CorrelationId, events: &[AuditEvent]) -> Option<Incident> {
    let (mut alert_name, mut raw_severity, mut severity) = (None, None, None);
    let mut workflow: Option<&AuditEvent> = None;
    let mut signal_namespace = None;
    let mut execution = ExecutionStatus::Pending;
    let mut lifecycle: Option<ExecutionStatus> = None;
    for event in events.iter().filter(|e| &e.correlation_id == id) {
        let data = event.event_data.as_map();
        match event.event_type.as_str() {
            SIGNAL_RECEIVED => {
                alert_name = alert_name.or_else(|| text(data, "signal_name"));
                raw_severity = raw_severity.or_else(|| text(data, "severity"));
                signal_namespace = signal_namespace.or_else(|| text(data, "namespace"));
            }
            SIGNAL_PROCESSED => severity = text(data, "severity").or(severity),
            // A retried remediation chooses again; the last choice is what ran.
            WORKFLOW_CREATED => workflow = Some(event),
            EXECUTION_STARTED => execution = ExecutionStatus::Running,
            EXECUTION_COMPLETED => execution = ExecutionStatus::Completed,
            EXECUTION_FAILED => execution = ExecutionStatus::Failed,
            // The lifecycle's end is the final word: failures reuse this type.
            LIFECYCLE_COMPLETED => {
                let failed = text(data, "outcome").is_some_and(|o| o == "Failed")
                    || event.event_outcome == EventOutcome::Failure;
                lifecycle = Some(if failed {
                    ExecutionStatus::Failed
                } else {
                    ExecutionStatus::Completed
                });
            }
            _ => {}
        }
    }
    let workflow = workflow?;
    let choice = WorkflowChoice::of(workflow)?;
    // `{namespace}/{kind}/{name}`, the namespace empty for a cluster-scoped target.
    let target = choice.target_resource.and_then(|t| {
        let mut parts = t.splitn(3, '/').map(str::to_owned);
        Some((parts.next()?, parts.next()?, parts.next()?))
    });
    let (target_namespace, target_kind, target_name) = match target {
        Some((ns, kind, name)) => (Some(ns).filter(|n| !n.is_empty()), Some(kind), Some(name)),
        None => (signal_namespace, None, None),
    };
    Some(Incident {
        id: id.clone(),
        alert_name,
        alert_severity: severity.or(raw_severity),
        action_type: choice.action_type,
        action_timestamp: *workflow.event_timestamp.as_datetime(),
        execution_status: lifecycle.unwrap_or(execution),
        target_kind,
        target_name,
        target_namespace,
        effectiveness_score: assess(events.iter().filter(|e| &e.correlation_id == id))
            .and_then(|e| e.score),
    })
}

/// The seeds' filters; all given must hold. Text filters are exact, severity
/// case-insensitive, times inclusive bounds on `action_timestamp`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentFilter {
    pub alert_name: Option<String>,
    pub severity: Option<Severity>,
    pub action_type: Option<String>,
    pub namespace: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl IncidentFilter {
    pub fn matches(&self, i: &Incident) -> bool {
        fn eq(want: &Option<String>, have: &Option<String>) -> bool {
            want.is_none() || want == have
        }
        eq(&self.alert_name, &i.alert_name)
            && eq(&self.action_type, &i.action_type)
            && eq(&self.namespace, &i.target_namespace)
            && self.severity.is_none_or(|s| {
                i.alert_severity
                    .as_deref()
                    .is_some_and(|have| have.eq_ignore_ascii_case(s.as_str()))
            })
            && self.since.is_none_or(|s| i.action_timestamp >= s)
            && self.until.is_none_or(|u| i.action_timestamp <= u)
    }
}

/// Newest first (`action_timestamp DESC, id DESC`), the order pages are cut from.
pub fn sort_incidents(incidents: &mut [Incident]) {
    incidents.sort_by(|a, b| (b.action_timestamp, &b.id).cmp(&(a.action_timestamp, &a.id)));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::remediation::history_tests::{at, event};

    fn id(s: &str) -> CorrelationId {
        CorrelationId::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn lifecycle(c: &str, executed: Option<&str>, completed: Option<&str>) -> Vec<AuditEvent> {
        let mut events = vec![
            event(
                c,
                at(22, 10, 0, 0),
                SIGNAL_RECEIVED,
                json!({"signal_name": "HighCPULoad", "severity": "warning", "namespace": "prod"}),
            ),
            event(
                c,
                at(22, 10, 0, 5),
                SIGNAL_PROCESSED,
                json!({"severity": "high"}),
            ),
            event(
                c,
                at(22, 10, 1, 0),
                WORKFLOW_CREATED,
                json!({"target_resource": "prod/Deployment/api", "action_type": "ScaleReplicas"}),
            ),
        ];
        if let Some(t) = executed {
            events.push(event(c, at(22, 10, 2, 0), t, json!({})));
        }
        if let Some(outcome) = completed {
            events.push(event(
                c,
                at(22, 10, 3, 0),
                LIFECYCLE_COMPLETED,
                json!({"outcome": outcome}),
            ));
        }
        events
    }

    #[test]
    fn a_remediation_becomes_one_row_with_the_normalised_severity_and_its_target() {
        let events = lifecycle("rr-1", Some(EXECUTION_COMPLETED), Some("Success"));
        let i = incident(&id("rr-1"), &events).unwrap_or_else(|| panic!("no incident"));
        assert_eq!(i.alert_name.as_deref(), Some("HighCPULoad"));
        assert_eq!(i.alert_severity.as_deref(), Some("high"));
        assert_eq!(i.action_type.as_deref(), Some("ScaleReplicas"));
        assert_eq!(i.action_timestamp, at(22, 10, 1, 0));
        assert_eq!(i.execution_status, ExecutionStatus::Completed);
        assert_eq!(
            (
                i.target_namespace.as_deref(),
                i.target_kind.as_deref(),
                i.target_name.as_deref()
            ),
            (Some("prod"), Some("Deployment"), Some("api"))
        );
        assert_eq!(i.effectiveness_score, None);
    }

    #[test]
    fn status_follows_execution_until_the_lifecycle_completion_overrides_it() {
        let status = |executed, completed| {
            incident(&id("rr-2"), &lifecycle("rr-2", executed, completed))
                .map(|i| i.execution_status)
        };
        assert_eq!(status(None, None), Some(ExecutionStatus::Pending));
        assert_eq!(
            status(Some(EXECUTION_STARTED), None),
            Some(ExecutionStatus::Running)
        );
        assert_eq!(
            status(Some(EXECUTION_FAILED), None),
            Some(ExecutionStatus::Failed)
        );
        assert_eq!(
            status(Some(EXECUTION_COMPLETED), Some("Failed")),
            Some(ExecutionStatus::Failed)
        );
    }

    #[test]
    fn no_chosen_workflow_is_no_incident() {
        let events = vec![event("rr-3", at(22, 10, 0, 0), SIGNAL_RECEIVED, json!({}))];
        assert_eq!(incident(&id("rr-3"), &events), None);
    }

    #[test]
    fn filters_combine_and_severity_ignores_case() {
        let events = lifecycle("rr-4", None, None);
        let i = incident(&id("rr-4"), &events).unwrap_or_else(|| panic!("no incident"));
        let filter = IncidentFilter {
            alert_name: Some("HighCPULoad".into()),
            severity: Some(Severity::High),
            namespace: Some("prod".into()),
            since: Some(at(22, 10, 1, 0)),
            until: Some(at(22, 10, 1, 0)),
            ..IncidentFilter::default()
        };
        assert!(filter.matches(&i));
        let other = |f: IncidentFilter| f.matches(&i);
        assert!(!other(IncidentFilter {
            severity: Some(Severity::Critical),
            ..filter.clone()
        }));
        assert!(!other(IncidentFilter {
            namespace: Some("staging".into()),
            ..filter.clone()
        }));
        assert!(!other(IncidentFilter {
            since: Some(at(22, 10, 1, 1)),
            ..filter.clone()
        }));
        assert!(!other(IncidentFilter {
            action_type: Some("Restart".into()),
            ..filter
        }));
    }
}
