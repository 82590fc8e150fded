//! How effective one remediation was, folded from its effectiveness monitor's audit events
//! exactly as the original service computes it on each request (nothing is stored): three
//! weighted components, a spec-hash comparison, and the assessment's status.

use serde_json::{Map, Value};

use super::event::AuditEvent;
use super::fields::EventCategory;

/// Weight of the health component (pods ready, no restarts).
pub const HEALTH_WEIGHT: f64 = 0.40;
/// Weight of the alert component (the triggering alert resolved).
pub const ALERT_WEIGHT: f64 = 0.35;
/// Weight of the metrics component (relative improvement of the target's metrics).
pub const METRICS_WEIGHT: f64 = 0.25;

/// The completion reason that forces the score to 0: the target's spec changed under the
/// assessment, so nothing measured afterwards says anything about the remediation.
pub const SPEC_DRIFT: &str = "SpecDrift";

/// The event types the fold reads; every other effectiveness event is ignored.
pub mod event_types {
    pub const HEALTH_ASSESSED: &str = "effectiveness.health.assessed";
    pub const ALERT_ASSESSED: &str = "effectiveness.alert.assessed";
    pub const METRICS_ASSESSED: &str = "effectiveness.metrics.assessed";
    pub const HASH_COMPUTED: &str = "effectiveness.hash.computed";
    pub const ASSESSMENT_COMPLETED: &str = "effectiveness.assessment.completed";
}

/// One component as its events left it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComponentAssessment {
    /// Set by any event saying `assessed: true`; never cleared.
    pub assessed: bool,
    /// The last numeric score seen (shown even when not assessed).
    pub score: Option<f64>,
    /// The last `details` string seen.
    pub details: Option<String>,
}

impl ComponentAssessment {
    fn apply(&mut self, data: &Map<String, Value>) {
        if data.get("assessed") == Some(&Value::Bool(true)) {
            self.assessed = true;
        }
        if let Some(score) = data.get("score").and_then(Value::as_f64) {
            self.score = Some(score);
        }
        if let Some(details) = data.get("details").and_then(Value::as_str) {
            self.details = Some(details.to_owned());
        }
    }

    /// The score when the component takes part in the weighted mean.
    fn qualifying_score(&self) -> Option<f64> {
        self.score.filter(|_| self.assessed)
    }
}

/// The spec hashes before and after the remediation. Informational: it never changes the
/// score. Every field is absent until a hash event names a hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashComparison {
    pub pre_remediation_spec_hash: Option<String>,
    pub post_remediation_spec_hash: Option<String>,
    pub hash_match: Option<bool>,
}

/// Where the assessment stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssessmentStatus {
    /// No component assessed and no completion.
    NoData,
    /// Some component assessed, no completion yet.
    InProgress,
    /// The completion event's reason, exactly as written (`Full`, `Partial`, `SpecDrift`,
    /// ..., or a legacy spelling such as `spec_drift`).
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

/// The effectiveness of one remediation.
#[derive(Debug, Clone, PartialEq)]
pub struct Effectiveness {
    pub health: ComponentAssessment,
    pub alert: ComponentAssessment,
    pub metrics: ComponentAssessment,
    pub hash_comparison: HashComparison,
    pub status: AssessmentStatus,
    /// 0 on `SpecDrift`; otherwise the weighted mean of the assessed components with a
    /// score, the weights renormalised over them; `None` when none qualifies. Not rounded.
    pub score: Option<f64>,
}

/// Accumulates a correlation's effectiveness events, oldest first, into [`Effectiveness`].
/// Exposed step by step so that readers holding events of several remediations can fold each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EffectivenessFold {
    health: ComponentAssessment,
    alert: ComponentAssessment,
    metrics: ComponentAssessment,
    hash_comparison: HashComparison,
    reason: Option<String>,
}

impl EffectivenessFold {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one event in; the caller feeds them in `event_timestamp, event_id` order.
    pub fn apply(&mut self, event_type: &str, data: &Map<String, Value>) {
        match event_type {
            event_types::HEALTH_ASSESSED => self.health.apply(data),
            event_types::ALERT_ASSESSED => self.alert.apply(data),
            event_types::METRICS_ASSESSED => self.metrics.apply(data),
            event_types::HASH_COMPUTED => self.apply_hash(data),
            event_types::ASSESSMENT_COMPLETED => self.apply_completion(data),
            _ => {}
        }
    }

    fn apply_hash(&mut self, data: &Map<String, Value>) {
        let text = |key: &str| {
            data.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let pre = text("pre_remediation_spec_hash");
        let post = text("post_remediation_spec_hash");
        // A hash event naming neither hash says nothing; the last one naming one wins whole.
        if pre.is_some() || post.is_some() {
            self.hash_comparison = HashComparison {
                pre_remediation_spec_hash: pre,
                post_remediation_spec_hash: post,
                hash_match: data.get("hash_match").and_then(Value::as_bool),
            };
        }
    }

    fn apply_completion(&mut self, data: &Map<String, Value>) {
        let Some(reason) = data.get("reason").and_then(Value::as_str) else {
            return;
        };
        // SpecDrift is sticky: a later completion must not make a drifted assessment count.
        if reason.is_empty() || self.reason.as_deref() == Some(SPEC_DRIFT) {
            return;
        }
        self.reason = Some(reason.to_owned());
    }

    pub fn finish(self) -> Effectiveness {
        let score = if self.reason.as_deref() == Some(SPEC_DRIFT) {
            Some(0.0)
        } else {
            weighted_score(&self.health, &self.alert, &self.metrics)
        };
        let status = match self.reason {
            Some(reason) => AssessmentStatus::Completed(reason),
            None if self.health.assessed || self.alert.assessed || self.metrics.assessed => {
                AssessmentStatus::InProgress
            }
            None => AssessmentStatus::NoData,
        };
        Effectiveness {
            health: self.health,
            alert: self.alert,
            metrics: self.metrics,
            hash_comparison: self.hash_comparison,
            status,
            score,
        }
    }
}

/// Σ sᵢwᵢ / Σ wᵢ over the components that qualify, summed in the order health, alert,
/// metrics (the original's, so the floating-point result is the same to the last bit).
fn weighted_score(
    health: &ComponentAssessment,
    alert: &ComponentAssessment,
    metrics: &ComponentAssessment,
) -> Option<f64> {
    let mut weighted = 0.0;
    let mut weights = 0.0;
    for (component, weight) in [
        (health, HEALTH_WEIGHT),
        (alert, ALERT_WEIGHT),
        (metrics, METRICS_WEIGHT),
    ] {
        if let Some(score) = component.qualifying_score() {
            weighted += score * weight;
            weights += weight;
        }
    }
    (weights > 0.0).then(|| weighted / weights)
}

/// The effectiveness of a correlation from its events, oldest first. Only events of the
/// `effectiveness` category count; `None` when there is none (the original's 404), even if
/// other categories have events. One `assessment.scheduled` event alone is `no_data`.
pub fn assess<'a>(events: impl IntoIterator<Item = &'a AuditEvent>) -> Option<Effectiveness> {
    let mut fold = EffectivenessFold::new();
    let mut any = false;
    for event in events {
        if event.event_category == EventCategory::Effectiveness {
            any = true;
            fold.apply(event.event_type.as_str(), event.event_data.as_map());
        }
    }
    any.then(|| fold.finish())
}

#[cfg(test)]
#[path = "effectiveness_tests.rs"]
mod tests;
