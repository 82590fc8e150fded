//! The effectiveness monitor's events folded into one assessment: the component scores, the
//! spec-hash comparison and the completion reason, with the original's weighted score.

use serde_json::{Map, Value};

use crate::audit::{AuditEvent, EventCategory};

/// Weights of the health, alert and metrics components; renormalised over the assessed ones.
pub const WEIGHTS: [f64; 3] = [0.40, 0.35, 0.25];

/// The completion reason that forces the score to zero, whatever the components say.
pub const SPEC_DRIFT: &str = "SpecDrift";

/// One assessed component (health, alert or metrics).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Component {
    /// Set by any event of the component with `assessed: true`; never unset.
    pub assessed: bool,
    /// The last numeric `score` seen.
    pub score: Option<f64>,
    /// The last string `details` seen.
    pub details: Option<String>,
}

/// The last `hash.computed` event with a pre- or post-hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashComparison {
    pub pre: Option<String>,
    pub post: Option<String>,
    pub hash_match: Option<bool>,
}

/// Health checks of the last `health.assessed` event (replica counts are not kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthChecks {
    pub pod_running: Option<bool>,
    pub readiness_pass: Option<bool>,
    pub restart_delta: Option<i64>,
    pub crash_loops: Option<bool>,
    pub oom_killed: Option<bool>,
    pub pending_count: Option<i64>,
}

/// `no_data`, `in_progress`, or the completion reason exactly as the monitor wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssessmentStatus {
    NoData,
    InProgress,
    Completed(String),
}

impl AssessmentStatus {
    pub fn as_str(&self) -> &str {
        match self {
            AssessmentStatus::NoData => "no_data",
            AssessmentStatus::InProgress => "in_progress",
            AssessmentStatus::Completed(reason) => reason,
        }
    }
}

/// Everything the effectiveness events of one remediation say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effectiveness {
    pub health: Component,
    pub alert: Component,
    pub metrics: Component,
    pub hash: HashComparison,
    /// The completion reason; `SpecDrift` once seen stays.
    pub reason: Option<String>,
    /// `alert_resolution.alert_resolved` of the first `alert.assessed` event.
    pub signal_resolved: Option<bool>,
    pub health_checks: Option<HealthChecks>,
    /// `metric_deltas` of the last `metrics.assessed` event, numbers only, keys as written.
    pub metric_deltas: Option<Vec<(String, f64)>>,
    seen_alert: bool,
}

fn text(data: &Map<String, Value>, key: &str) -> Option<String> {
    data.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn non_empty(data: &Map<String, Value>, key: &str) -> Option<String> {
    text(data, key).filter(|s| !s.is_empty())
}

impl Effectiveness {
    /// Folds effectiveness events given oldest first (`event_timestamp, event_id`); events of
    /// other categories and types (`assessment.scheduled`, `alert_decay.detected`) are ignored.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a AuditEvent>) -> Self {
        let mut out = Self::default();
        for event in events {
            if event.event_category != EventCategory::Effectiveness {
                continue;
            }
            out.apply(event.event_type.as_str(), event.event_data.as_map());
        }
        out
    }

    fn apply(&mut self, event_type: &str, data: &Map<String, Value>) {
        let component = match event_type {
            "effectiveness.health.assessed" => &mut self.health,
            "effectiveness.alert.assessed" => &mut self.alert,
            "effectiveness.metrics.assessed" => &mut self.metrics,
            "effectiveness.hash.computed" => {
                let pre = non_empty(data, "pre_remediation_spec_hash");
                let post = non_empty(data, "post_remediation_spec_hash");
                if pre.is_some() || post.is_some() {
                    self.hash = HashComparison {
                        pre,
                        post,
                        hash_match: data.get("hash_match").and_then(Value::as_bool),
                    };
                }
                return;
            }
            "effectiveness.assessment.completed" => {
                if self.reason.as_deref() != Some(SPEC_DRIFT)
                    && let Some(reason) = text(data, "reason")
                {
                    self.reason = Some(reason);
                }
                return;
            }
            _ => return,
        };
        if data.get("assessed").and_then(Value::as_bool) == Some(true) {
            component.assessed = true;
        }
        if let Some(score) = data.get("score").and_then(Value::as_f64) {
            component.score = Some(score);
        }
        if let Some(details) = text(data, "details") {
            component.details = Some(details);
        }
        match event_type {
            "effectiveness.alert.assessed" if !self.seen_alert => {
                self.seen_alert = true;
                self.signal_resolved = data
                    .get("alert_resolution")
                    .and_then(|r| r.get("alert_resolved"))
                    .and_then(Value::as_bool);
            }
            "effectiveness.health.assessed" => {
                if let Some(Value::Object(checks)) = data.get("health_checks") {
                    let flag = |k: &str| checks.get(k).and_then(Value::as_bool);
                    let count = |k: &str| checks.get(k).and_then(Value::as_i64);
                    self.health_checks = Some(HealthChecks {
                        pod_running: flag("pod_running"),
                        readiness_pass: flag("readiness_pass"),
                        restart_delta: count("restart_delta"),
                        crash_loops: flag("crash_loops"),
                        oom_killed: flag("oom_killed"),
                        pending_count: count("pending_count"),
                    });
                }
            }
            "effectiveness.metrics.assessed" => {
                if let Some(Value::Object(deltas)) = data.get("metric_deltas") {
                    self.metric_deltas = Some(
                        deltas
                            .iter()
                            .filter_map(|(k, v)| v.as_f64().map(|n| (k.clone(), n)))
                            .collect(),
                    );
                }
            }
            _ => {}
        }
    }

    /// `no_data` until a component is assessed, `in_progress` until a reason arrives.
    pub fn status(&self) -> AssessmentStatus {
        match &self.reason {
            Some(reason) => AssessmentStatus::Completed(reason.clone()),
            None if self.health.assessed || self.alert.assessed || self.metrics.assessed => {
                AssessmentStatus::InProgress
            }
            None => AssessmentStatus::NoData,
        }
    }

    /// Σ sᵢwᵢ / Σ wᵢ over the components assessed with a numeric score; zero after a spec
    /// drift (exactly `SpecDrift`, not the legacy `spec_drift`); `None` when none qualifies.
    pub fn score(&self) -> Option<f64> {
        if self.reason.as_deref() == Some(SPEC_DRIFT) {
            return Some(0.0);
        }
        let mut weighted = 0.0;
        let mut weights = 0.0;
        for (component, weight) in [&self.health, &self.alert, &self.metrics]
            .into_iter()
            .zip(WEIGHTS)
        {
            if let (true, Some(score)) = (component.assessed, component.score) {
                weighted += score * weight;
                weights += weight;
            }
        }
        (weights > 0.0).then(|| weighted / weights)
    }
}
