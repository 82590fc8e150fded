//! Remediation history of one target, causally linked to its current spec: the original's
//! tier 1 / tier 2 algorithm as a pure function over the audit events that concern it.
//!
//! A remediation is the `remediation.workflow_created` event the orchestrator writes before
//! executing; it belongs to the history when it targeted this resource (and cluster) and
//! either started from the current spec (its pre-hash) or produced it (an effectiveness event
//! of the same correlation carries it as post-hash).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::effectiveness::{Effectiveness, HealthChecks};
use super::window::{HistoryWindow, WindowError};
use crate::audit::AssessmentStatus;
use crate::audit::{AuditEvent, EventCategory};

/// The orchestrator's event that opens a remediation's history entry.
pub const WORKFLOW_CREATED: &str = "remediation.workflow_created";
/// The orchestrator's event that ends a remediation, success or failure.
pub const LIFECYCLE_COMPLETED: &str = "orchestrator.lifecycle.completed";
/// Most entries of one tier, the oldest kept (the original's bound).
pub const MAX_TIER_ENTRIES: usize = 10_000;

/// The query string as given; an empty value counts as absent, as in the original.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryParams {
    pub target_kind: Option<String>,
    pub target_name: Option<String>,
    pub target_namespace: Option<String>,
    pub current_spec_hash: Option<String>,
    pub tier1_window: Option<String>,
    pub tier2_window: Option<String>,
    pub cluster_id: Option<String>,
}

/// The first parameter problem, checked in the original's order: kind, name, hash, tier 1,
/// tier 2, then the windows' relation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryParamError {
    #[error("{0} query parameter is required")]
    Missing(&'static str),
    #[error("{0} must be a valid duration string (e.g. '24h', '7d')")]
    NotADuration(&'static str),
    #[error("{0} must be a positive duration")]
    NotPositive(&'static str),
    #[error("tier2Window must be greater than tier1Window")]
    Tier2NotGreater,
    #[error("{0} must not contain the NUL character")]
    Unstorable(&'static str),
}

/// A validated history request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRequest {
    target_resource: String,
    current_spec_hash: String,
    tier1: HistoryWindow,
    tier2: HistoryWindow,
    cluster_id: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

impl HistoryRequest {
    /// # Errors
    /// The first [`HistoryParamError`] in the original's order.
    pub fn parse(params: &HistoryParams) -> Result<Self, HistoryParamError> {
        let required = |value: &Option<String>, name: &'static str| {
            let value = given(value).ok_or(HistoryParamError::Missing(name))?;
            // PostgreSQL's text cannot hold NUL; refused here so every adapter agrees.
            if value.contains('\0') {
                return Err(HistoryParamError::Unstorable(name));
            }
            Ok(value.to_owned())
        };
        let kind = required(&params.target_kind, "targetKind")?;
        let name = required(&params.target_name, "targetName")?;
        let current_spec_hash = required(&params.current_spec_hash, "currentSpecHash")?;
        let window = |value: &Option<String>, name: &'static str, default| match given(value) {
            None => Ok(default),
            Some(text) => HistoryWindow::parse(text).map_err(|e| match e {
                WindowError::Syntax => HistoryParamError::NotADuration(name),
                WindowError::NotPositive => HistoryParamError::NotPositive(name),
            }),
        };
        let tier1 = window(
            &params.tier1_window,
            "tier1Window",
            HistoryWindow::DEFAULT_TIER1,
        )?;
        let tier2 = window(
            &params.tier2_window,
            "tier2Window",
            HistoryWindow::DEFAULT_TIER2,
        )?;
        if tier2 <= tier1 {
            return Err(HistoryParamError::Tier2NotGreater);
        }
        let optional = |value: &Option<String>, name: &'static str| match given(value) {
            Some(v) if v.contains('\0') => Err(HistoryParamError::Unstorable(name)),
            v => Ok(v.map(str::to_owned)),
        };
        let namespace = optional(&params.target_namespace, "targetNamespace")?;
        let cluster_id = optional(&params.cluster_id, "clusterId")?;
        Ok(Self {
            // Always three segments; a cluster-scoped target has an empty first one.
            target_resource: format!("{}/{kind}/{name}", namespace.unwrap_or_default()),
            current_spec_hash,
            tier1,
            tier2,
            cluster_id,
        })
    }

    /// `{namespace}/{kind}/{name}`, as producers write `target_resource`.
    pub fn target_resource(&self) -> &str {
        &self.target_resource
    }

    pub fn current_spec_hash(&self) -> &str {
        &self.current_spec_hash
    }

    pub fn tier1(&self) -> HistoryWindow {
        self.tier1
    }

    pub fn tier2(&self) -> HistoryWindow {
        self.tier2
    }

    pub fn cluster_id(&self) -> Option<&str> {
        self.cluster_id.as_deref()
    }

    /// Whether `event` opens a remediation of this target (and cluster, when one is asked).
    /// Whether a workflow choice started from the current spec (names it as its
    /// pre-remediation hash): a remediation the history shows, with its whole trail.
    pub fn started_from_current(&self, workflow: &AuditEvent) -> bool {
        text(workflow.event_data.as_map(), "pre_remediation_spec_hash")
            == Some(self.current_spec_hash.as_str())
    }

    pub fn targets(&self, event: &AuditEvent) -> bool {
        event.event_type.as_str() == WORKFLOW_CREATED
            && text(event.event_data.as_map(), "target_resource") == Some(&self.target_resource)
            && self.cluster_id.as_deref().is_none_or(|wanted| {
                event.cluster_name.as_ref().map(|c| c.as_str()) == Some(wanted)
            })
    }
}

/// Whether `event` is an effectiveness event naming `spec_hash` as the spec its remediation
/// produced: a remediation the history shows, with its whole trail.
pub fn produces_spec(event: &AuditEvent, spec_hash: &str) -> bool {
    event.event_category == EventCategory::Effectiveness
        && text(event.event_data.as_map(), "post_remediation_spec_hash") == Some(spec_hash)
}

/// How the current spec relates to a remediation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashMatch {
    /// The target is back at the spec the remediation started from: a regression.
    PreRemediation,
    /// The target is at the spec the remediation produced.
    PostRemediation,
    None,
}

impl HashMatch {
    pub const fn as_str(&self) -> &'static str {
        match self {
            HashMatch::PreRemediation => "preRemediation",
            HashMatch::PostRemediation => "postRemediation",
            HashMatch::None => "none",
        }
    }
}

/// One past remediation.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The correlation id (the remediation request's name).
    pub remediation_uid: String,
    /// When the lifecycle completed; the workflow's creation while it has not.
    pub completed_at: DateTime<Utc>,
    pub signal_fingerprint: Option<String>,
    pub signal_type: Option<String>,
    pub action_type: Option<String>,
    /// The lifecycle completion's outcome (`Success`, `Failed`).
    pub outcome: Option<String>,
    pub pre_remediation_spec_hash: Option<String>,
    pub post_remediation_spec_hash: Option<String>,
    pub effectiveness_score: Option<f64>,
    /// The assessment's completion reason; absent while not completed.
    pub assessment_reason: Option<String>,
    pub signal_resolved: Option<bool>,
    pub hash_match: HashMatch,
    pub health_checks: Option<HealthChecks>,
    pub metric_deltas: Option<Vec<(String, f64)>>,
}

/// One tier: its window and its entries, oldest completion first.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryTier {
    pub window: HistoryWindow,
    pub entries: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RemediationHistory {
    pub target_resource: String,
    pub current_spec_hash: String,
    pub regression_detected: bool,
    /// Remediations opened in `[now − tier1, now)`.
    pub tier1: HistoryTier,
    /// Remediations opened in `[now − tier2, now − tier1)`.
    pub tier2: HistoryTier,
}

fn text<'a>(data: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str)
}

fn owned(data: &Map<String, Value>, key: &str) -> Option<String> {
    text(data, key).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The history at `now` from `events`: the target's `workflow_created` events and every event
/// of their correlations, in any order and with duplicates (deduplicated by id here).
pub fn remediation_history(
    request: &HistoryRequest,
    now: DateTime<Utc>,
    events: &[AuditEvent],
) -> RemediationHistory {
    let mut seen = HashSet::new();
    let mut ordered: Vec<&AuditEvent> = events.iter().filter(|e| seen.insert(e.event_id)).collect();
    ordered.sort_by_key(|e| e.sort_key());
    let mut by_correlation: HashMap<&str, Vec<&AuditEvent>> = HashMap::new();
    for event in &ordered {
        by_correlation
            .entry(event.correlation_id.as_str())
            .or_default()
            .push(event);
    }
    let current = request.current_spec_hash.as_str();
    // Correlations whose effectiveness events name the current spec as the result; not
    // bounded in time, as an assessment may land in a later tier than its workflow.
    let produced_current: HashSet<&str> = ordered
        .iter()
        .filter(|e| produces_spec(e, current))
        .map(|e| e.correlation_id.as_str())
        .collect();
    let linked: Vec<&AuditEvent> = ordered
        .iter()
        .copied()
        .filter(|e| request.targets(e))
        .filter(|e| {
            request.started_from_current(e) || produced_current.contains(e.correlation_id.as_str())
        })
        .collect();
    let tier1_start = now - request.tier1.as_duration();
    let tier2_start = now - request.tier2.as_duration();
    let tier = |from: DateTime<Utc>, to: DateTime<Utc>, window| {
        let mut entries: Vec<HistoryEntry> = linked
            .iter()
            .filter(|e| (from..to).contains(e.event_timestamp.as_datetime()))
            .take(MAX_TIER_ENTRIES)
            .map(|e| entry(current, e, &by_correlation))
            .collect();
        // Ties broken by id, so the order never flaps between requests.
        entries.sort_by(|a, b| {
            (a.completed_at, &a.remediation_uid).cmp(&(b.completed_at, &b.remediation_uid))
        });
        HistoryTier { window, entries }
    };
    let tier1 = tier(tier1_start, now, request.tier1);
    let tier2 = tier(tier2_start, tier1_start, request.tier2);
    let regressed = |t: &HistoryTier| {
        t.entries
            .iter()
            .any(|e| e.hash_match == HashMatch::PreRemediation)
    };
    RemediationHistory {
        target_resource: request.target_resource.clone(),
        current_spec_hash: request.current_spec_hash.clone(),
        regression_detected: regressed(&tier1) || regressed(&tier2),
        tier1,
        tier2,
    }
}

fn entry(
    current: &str,
    workflow: &AuditEvent,
    by_correlation: &HashMap<&str, Vec<&AuditEvent>>,
) -> HistoryEntry {
    let data = workflow.event_data.as_map();
    let trail = by_correlation
        .get(workflow.correlation_id.as_str())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let assessment = Effectiveness::fold(trail.iter().copied());
    let completion = trail
        .iter()
        .rev()
        .find(|e| e.event_type.as_str() == LIFECYCLE_COMPLETED);
    let pre = owned(data, "pre_remediation_spec_hash");
    let post = assessment
        .assessment
        .hash_comparison
        .post_remediation_spec_hash
        .clone();
    let hash_match = if pre.as_deref() == Some(current) {
        HashMatch::PreRemediation
    } else if post.as_deref() == Some(current) || post.is_none() {
        // Without a post-hash the row can only have been linked through a post-hash
        // effectiveness event (the original's fix F2).
        HashMatch::PostRemediation
    } else {
        HashMatch::None
    };
    let reason = match assessment.assessment.status.clone() {
        AssessmentStatus::Completed(reason) => Some(reason),
        AssessmentStatus::NoData | AssessmentStatus::InProgress => None,
    };
    HistoryEntry {
        remediation_uid: workflow.correlation_id.as_str().to_owned(),
        completed_at: *completion
            .map_or(&workflow.event_timestamp, |c| &c.event_timestamp)
            .as_datetime(),
        signal_fingerprint: owned(data, "signal_fingerprint"),
        signal_type: owned(data, "signal_type"),
        action_type: owned(data, "action_type"),
        outcome: completion
            .and_then(completion_outcome)
            .or_else(|| owned(data, "outcome")),
        pre_remediation_spec_hash: pre,
        post_remediation_spec_hash: post,
        effectiveness_score: assessment.assessment.score,
        assessment_reason: reason,
        signal_resolved: assessment.signal_resolved,
        hash_match,
        health_checks: assessment.health_checks,
        metric_deltas: assessment.metric_deltas,
    }
}

/// `event_data.outcome` of the completion (`Success`/`Failed`), else its `event_outcome` in
/// the same words.
fn completion_outcome(event: &&AuditEvent) -> Option<String> {
    owned(event.event_data.as_map(), "outcome").or_else(|| match event.event_outcome.as_str() {
        "success" => Some("Success".to_owned()),
        "failure" => Some("Failed".to_owned()),
        _ => None,
    })
}
