//! Wire shapes of `GET /api/v1/remediation-history/context`, named and spelt as the
//! original's (camelCase, `remediationUID`), so its generated clients read them unchanged.

use std::collections::BTreeMap;

use chrono::SecondsFormat;
use datastorage_domain::remediation::{
    HashMatch, HealthChecks, HistoryEntry, HistoryParams, HistoryTier, RemediationHistory,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Query parameters. An empty value counts as absent.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct HistoryQueryParams {
    /// Kind of the remediation target, e.g. `Deployment`. Required.
    #[param(
        required = true,
        example = "Deployment",
        min_length = 1,
        pattern = r"^[^\u0000]+$"
    )]
    pub target_kind: Option<String>,
    /// Name of the remediation target. Required.
    #[param(
        required = true,
        example = "api",
        min_length = 1,
        pattern = r"^[^\u0000]+$"
    )]
    pub target_name: Option<String>,
    /// Namespace of the target; empty or absent for a cluster-scoped target (`/Node/node-1`).
    #[param(example = "prod", pattern = r"^[^\u0000]*$")]
    pub target_namespace: Option<String>,
    /// The target's current spec hash (`sha256:<64 hex>` by convention; compared for
    /// equality only). Required.
    #[param(
        required = true,
        example = "sha256:bb22",
        min_length = 1,
        pattern = r"^[^\u0000]+$"
    )]
    pub current_spec_hash: Option<String>,
    /// Tier 1 look-back: a Go duration (`24h`, `1h30m`) or, beyond the original, days
    /// (`7d`). Default `24h`.
    #[param(example = "24h")]
    pub tier1_window: Option<String>,
    /// Tier 2 look-back, measured from now and strictly longer than tier 1: a Go duration
    /// (`2160h`) or days (`90d`). Default `2160h` (90 days).
    #[param(example = "2160h")]
    pub tier2_window: Option<String>,
    /// Only remediations recorded with this `cluster_name`; empty or absent: every cluster.
    #[param(example = "c1", pattern = r"^[^\u0000]*$")]
    pub cluster_id: Option<String>,
}

impl From<HistoryQueryParams> for HistoryParams {
    fn from(p: HistoryQueryParams) -> Self {
        Self {
            target_kind: p.target_kind,
            target_name: p.target_name,
            target_namespace: p.target_namespace,
            current_spec_hash: p.current_spec_hash,
            tier1_window: p.tier1_window,
            tier2_window: p.tier2_window,
            cluster_id: p.cluster_id,
        }
    }
}

/// Past remediations of the target linked to its current spec.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemediationHistoryContext {
    /// `{namespace}/{kind}/{name}` built from the parameters.
    #[schema(example = "prod/Deployment/api")]
    pub target_resource: String,
    /// The `currentSpecHash` asked about.
    pub current_spec_hash: String,
    /// Some remediation of either tier started from the current spec (the target is back
    /// where a remediation found it).
    pub regression_detected: bool,
    pub tier1: RemediationHistoryTier1,
    pub tier2: RemediationHistoryTier2,
}

/// Remediations opened within `tier1Window` of now, in detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct RemediationHistoryTier1 {
    /// Oldest completion first; `[]` when none.
    pub chain: Vec<RemediationHistoryEntry>,
    /// The window in Go's canonical form, e.g. `24h0m0s`.
    #[schema(example = "24h0m0s")]
    pub window: String,
}

/// Remediations opened between `tier2Window` and `tier1Window` ago, summarised.
#[derive(Debug, Serialize, ToSchema)]
pub struct RemediationHistoryTier2 {
    /// Oldest completion first; `[]` when none.
    pub chain: Vec<RemediationHistorySummary>,
    /// The window in Go's canonical form, e.g. `2160h0m0s`.
    #[schema(example = "2160h0m0s")]
    pub window: String,
}

/// How the current spec relates to the remediation.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum HashMatchDto {
    PreRemediation,
    PostRemediation,
    None,
}

impl From<HashMatch> for HashMatchDto {
    fn from(m: HashMatch) -> Self {
        match m {
            HashMatch::PreRemediation => Self::PreRemediation,
            HashMatch::PostRemediation => Self::PostRemediation,
            HashMatch::None => Self::None,
        }
    }
}

/// A tier 1 remediation. Unset fields are omitted.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemediationHistoryEntry {
    /// The correlation id (the remediation request's name).
    #[serde(rename = "remediationUID")]
    pub remediation_uid: String,
    /// When the remediation's lifecycle completed (`orchestrator.lifecycle.completed`), RFC
    /// 3339 in whole seconds; while it has not, when its workflow was created. The original
    /// always gives the workflow's creation.
    pub completed_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal_fingerprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_type: Option<String>,
    /// The lifecycle completion's outcome (`Success`, `Failed`); the original passes on the
    /// workflow event's `outcome`, which producers do not write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effectiveness_score: Option<f64>,
    /// `alert_resolved` of the first alert assessment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal_resolved: Option<bool>,
    pub hash_match: HashMatchDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_remediation_spec_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_remediation_spec_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_checks: Option<RemediationHealthChecks>,
    /// The last metrics assessment's deltas, keys camelCased (`cpuBefore`,
    /// `latencyP95AfterMs`, `throughputBeforeRps`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_deltas: Option<BTreeMap<String, f64>>,
    /// Always `[]`.
    pub side_effects: Vec<String>,
    /// The assessment's completion reason (`Full`, `SpecDrift`, ...), once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment_reason: Option<String>,
}

/// A tier 2 remediation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemediationHistorySummary {
    #[serde(rename = "remediationUID")]
    pub remediation_uid: String,
    /// As in [`RemediationHistoryEntry`].
    pub completed_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effectiveness_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal_resolved: Option<bool>,
    pub hash_match: HashMatchDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment_reason: Option<String>,
}

/// The last health assessment's checks (replica counts are not included).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemediationHealthChecks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_running: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readiness_pass: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_delta: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash_loops: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_killed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_count: Option<i64>,
}

impl From<HealthChecks> for RemediationHealthChecks {
    fn from(h: HealthChecks) -> Self {
        Self {
            pod_running: h.pod_running,
            readiness_pass: h.readiness_pass,
            restart_delta: h.restart_delta,
            crash_loops: h.crash_loops,
            oom_killed: h.oom_killed,
            pending_count: h.pending_count,
        }
    }
}

/// `latency_p95_before_ms` → `latencyP95BeforeMs`.
fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

fn seconds(entry: &HistoryEntry) -> String {
    entry
        .completed_at
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl From<HistoryEntry> for RemediationHistoryEntry {
    fn from(e: HistoryEntry) -> Self {
        Self {
            completed_at: seconds(&e),
            remediation_uid: e.remediation_uid,
            signal_fingerprint: e.signal_fingerprint,
            signal_type: e.signal_type,
            action_type: e.action_type,
            outcome: e.outcome,
            effectiveness_score: e.effectiveness_score,
            signal_resolved: e.signal_resolved,
            hash_match: e.hash_match.into(),
            pre_remediation_spec_hash: e.pre_remediation_spec_hash,
            post_remediation_spec_hash: e.post_remediation_spec_hash,
            health_checks: e.health_checks.map(Into::into),
            metric_deltas: e
                .metric_deltas
                .map(|d| d.into_iter().map(|(k, v)| (camel(&k), v)).collect()),
            side_effects: Vec::new(),
            assessment_reason: e.assessment_reason,
        }
    }
}

impl From<HistoryEntry> for RemediationHistorySummary {
    fn from(e: HistoryEntry) -> Self {
        Self {
            completed_at: seconds(&e),
            remediation_uid: e.remediation_uid,
            signal_type: e.signal_type,
            action_type: e.action_type,
            outcome: e.outcome,
            effectiveness_score: e.effectiveness_score,
            signal_resolved: e.signal_resolved,
            hash_match: e.hash_match.into(),
            assessment_reason: e.assessment_reason,
        }
    }
}

fn chain<T: From<HistoryEntry>>(tier: HistoryTier) -> (Vec<T>, String) {
    let window = tier.window.to_string();
    (tier.entries.into_iter().map(T::from).collect(), window)
}

impl From<RemediationHistory> for RemediationHistoryContext {
    fn from(h: RemediationHistory) -> Self {
        let (chain1, window1) = chain(h.tier1);
        let (chain2, window2) = chain(h.tier2);
        Self {
            target_resource: h.target_resource,
            current_spec_hash: h.current_spec_hash,
            regression_detected: h.regression_detected,
            tier1: RemediationHistoryTier1 {
                chain: chain1,
                window: window1,
            },
            tier2: RemediationHistoryTier2 {
                chain: chain2,
                window: window2,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::camel;

    #[test]
    fn metric_keys_are_camel_cased_as_the_original_names_them() {
        assert_eq!(camel("cpu_before"), "cpuBefore");
        assert_eq!(camel("latency_p95_after_ms"), "latencyP95AfterMs");
        assert_eq!(camel("throughput_before_rps"), "throughputBeforeRps");
        assert_eq!(camel("pv_usage_ratio_after"), "pvUsageRatioAfter");
    }
}
