//! The timeline's plain-language lines: what an event says happened, and the verdict in one
//! sentence. Written for an investigator (human or model) reading the trail cold.

use chrono::Duration;
use serde_json::{Map, Value};

use super::{Late, OutOfOrder, Overdue, Phase};
use crate::audit::AuditEvent;

/// `actor_type/actor_id`, or whichever of the two the event names.
pub(super) fn actor(event: &AuditEvent) -> Option<String> {
    let kind = event.actor_type.as_ref().map(|a| a.as_ref().to_owned());
    let id = event.actor_id.as_ref().map(|a| a.as_ref().to_owned());
    match (kind, id) {
        (Some(kind), Some(id)) => Some(format!("{kind}/{id}")),
        (kind, id) => kind.or(id),
    }
}

/// A field of `event_data` as text (strings as they are, numbers and booleans printed).
fn field(data: &Map<String, Value>, key: &str) -> Option<String> {
    match data.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What the event says happened, in one sentence: the lifecycle's known event types in
/// words (their key fields named), any other by its type, category and action.
pub(super) fn line(event: &AuditEvent) -> String {
    let data = event.event_data.as_map();
    let f = |key: &str| field(data, key).unwrap_or_else(|| "?".to_owned());
    let opt = |key: &str, prefix: &str| {
        field(data, key)
            .map(|v| format!("{prefix}{v}"))
            .unwrap_or_default()
    };
    let what = match event.event_type.as_str() {
        "gateway.signal.received" => format!(
            "Signal {} received{} for {}/{}{}",
            f("signal_name"),
            opt("severity", " with severity "),
            f("resource_kind"),
            f("resource_name"),
            opt("namespace", " in namespace "),
        ),
        "gateway.signal.deduplicated" => format!("Signal {} deduplicated", f("signal_name")),
        "orchestrator.lifecycle.started" => "Remediation lifecycle started".to_owned(),
        "orchestrator.lifecycle.transitioned" => format!(
            "Remediation moved from phase {} to {}",
            f("from_phase"),
            f("to_phase")
        ),
        "signalprocessing.signal.processed" => format!(
            "Signal processed{}{}{}",
            opt("severity", ": severity "),
            opt("environment", ", environment "),
            opt("priority", ", priority "),
        ),
        "aianalysis.analysis.completed" => format!(
            "AI analysis selected workflow {}{}{}",
            f("workflow_id"),
            opt("confidence", " with confidence "),
            if data.get("approval_required") == Some(&Value::Bool(true)) {
                ", approval required"
            } else {
                ""
            },
        ),
        "aianalysis.analysis.failed" => format!("AI analysis failed{}", opt("reason", ": ")),
        "orchestrator.approval.requested" => {
            format!("Approval requested for workflow {}", f("workflow_id"))
        }
        "webhook.remediationapprovalrequest.decided" => {
            format!("Approval decided: {}", f("decision"))
        }
        "orchestrator.approval.approved" => "Remediation approved".to_owned(),
        "orchestrator.approval.rejected" => "Remediation rejected or its approval expired".into(),
        "remediation.workflow_created" => format!(
            "Workflow {} chosen: {} on {}",
            f("workflow_id"),
            f("action_type"),
            f("target_resource")
        ),
        "workflowexecution.execution.started" => {
            format!("Execution of workflow {} started", f("workflow_id"))
        }
        "workflowexecution.workflow.completed" => {
            format!("Workflow {} completed", f("workflow_id"))
        }
        "workflowexecution.workflow.failed" => format!(
            "Workflow {} failed{}",
            f("workflow_id"),
            opt("failure_reason", ": ")
        ),
        "notification.message.sent" => format!(
            "Notification sent{}{}",
            opt("channel", " on "),
            opt("subject", ": ")
        ),
        "notification.message.failed" => "Notification failed".to_owned(),
        "notification.message.escalated" => "Notification escalated".to_owned(),
        "effectiveness.assessment.scheduled" => "Effectiveness assessment scheduled".to_owned(),
        "effectiveness.health.assessed"
        | "effectiveness.alert.assessed"
        | "effectiveness.metrics.assessed" => format!(
            "Effectiveness of {} assessed: score {}{}",
            f("component"),
            field(data, "score").unwrap_or_else(|| "none".to_owned()),
            opt("details", ", "),
        ),
        "effectiveness.hash.computed" => match data.get("hash_match") {
            Some(Value::Bool(true)) => "Target spec unchanged by the remediation".to_owned(),
            Some(Value::Bool(false)) => "Target spec changed by the remediation".to_owned(),
            _ => "Target spec hash computed".to_owned(),
        },
        "effectiveness.alert_decay.detected" => "Alert decay detected".to_owned(),
        "effectiveness.assessment.completed" => {
            format!("Effectiveness assessment completed: {}", f("reason"))
        }
        "orchestrator.lifecycle.completed" => format!(
            "Remediation completed: {}{}{}",
            field(data, "outcome").unwrap_or_else(|| event.event_outcome.as_str().to_owned()),
            opt("crd_outcome", ", "),
            opt("failure_reason", ", failure: "),
        ),
        other => format!(
            "{other} ({}/{})",
            event.event_category.as_str(),
            event.event_action.as_str()
        ),
    };
    let by = actor(event).map(|a| format!(" by {a}")).unwrap_or_default();
    format!("{what}{by}; outcome {}", event.event_outcome.as_str())
}

/// A span as people say it: `1h2m3s`, `90ms`, `0s`.
pub fn human_duration(d: Duration) -> String {
    let millis = d.num_milliseconds();
    let (sign, millis) = if millis < 0 {
        ("-", -millis)
    } else {
        ("", millis)
    };
    if millis < 1000 {
        return format!("{sign}{millis}ms");
    }
    let secs = millis / 1000;
    let (days, hours, minutes, seconds) =
        (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut out = sign.to_owned();
    for (value, unit) in [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")] {
        if value > 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    out
}

fn names(phases: &[Phase]) -> String {
    phases
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The verdict in one sentence.
pub(super) fn summary(
    missing: &[Phase],
    out_of_order: &[OutOfOrder],
    late: &[Late],
    awaiting: &[Phase],
    overdue: Option<&Overdue>,
) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "no event recorded for the expected phase(s) {} (a gap in the trail, not proof that nothing happened)",
            names(missing)
        ));
    }
    for o in out_of_order {
        parts.push(format!(
            "{} began before {}",
            o.phase,
            names(&o.should_follow)
        ));
    }
    for l in late {
        parts.push(format!(
            "{} began {} after {} (expected within {})",
            l.phase,
            human_duration(l.took),
            l.after,
            human_duration(l.limit)
        ));
    }
    if let Some(o) = overdue {
        parts.push(format!(
            "{} overdue: nothing recorded {} after {} (expected within {})",
            o.phase,
            human_duration(o.waited),
            o.after,
            human_duration(o.limit)
        ));
    }
    let still = if awaiting.is_empty() {
        String::new()
    } else {
        format!(" Still to come: {}.", names(awaiting))
    };
    if parts.is_empty() && awaiting.is_empty() {
        "Complete: every expected phase recorded, in order and on time.".to_owned()
    } else if parts.is_empty() {
        format!("In progress: nothing missing, out of order or late so far.{still}")
    } else {
        format!("Not complete: {}.{still}", parts.join("; "))
    }
}
