//! What the effectiveness monitor's events say about one remediation, for its history entry:
//! the assessment itself (components, spec-hash comparison, status and score) is
//! [`crate::audit::EffectivenessFold`]'s, the one place the original's formula lives; this
//! adds the details a history entry shows beyond it.

use serde_json::{Map, Value};

use crate::audit::{AuditEvent, EffectivenessFold, EventCategory, event_types};

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

/// Everything the effectiveness events of one remediation say.
#[derive(Debug, Clone, PartialEq)]
pub struct Effectiveness {
    /// Components, hash comparison, status and score, as `GET /effectiveness` answers them.
    pub assessment: crate::audit::Effectiveness,
    /// `alert_resolution.alert_resolved` of the first `alert.assessed` event.
    pub signal_resolved: Option<bool>,
    pub health_checks: Option<HealthChecks>,
    /// `metric_deltas` of the last `metrics.assessed` event, numbers only, keys as written.
    pub metric_deltas: Option<Vec<(String, f64)>>,
}

/// The history-only details, folded beside the assessment.
#[derive(Default)]
struct Details {
    signal_resolved: Option<bool>,
    seen_alert: bool,
    health_checks: Option<HealthChecks>,
    metric_deltas: Option<Vec<(String, f64)>>,
}

impl Details {
    fn apply(&mut self, event_type: &str, data: &Map<String, Value>) {
        match event_type {
            event_types::ALERT_ASSESSED if !self.seen_alert => {
                self.seen_alert = true;
                self.signal_resolved = data
                    .get("alert_resolution")
                    .and_then(|r| r.get("alert_resolved"))
                    .and_then(Value::as_bool);
            }
            event_types::HEALTH_ASSESSED => {
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
            event_types::METRICS_ASSESSED => {
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
}

impl Effectiveness {
    /// Folds effectiveness events given oldest first (`event_timestamp, event_id`); events of
    /// other categories and types (`assessment.scheduled`, `alert_decay.detected`) are ignored.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a AuditEvent>) -> Self {
        let mut assessment = EffectivenessFold::new();
        let mut details = Details::default();
        for event in events {
            if event.event_category != EventCategory::Effectiveness {
                continue;
            }
            let (event_type, data) = (event.event_type.as_str(), event.event_data.as_map());
            assessment.apply(event_type, data);
            details.apply(event_type, data);
        }
        Self {
            assessment: assessment.finish(),
            signal_resolved: details.signal_resolved,
            health_checks: details.health_checks,
            metric_deltas: details.metric_deltas,
        }
    }
}
