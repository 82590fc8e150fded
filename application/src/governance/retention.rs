//! Use-case: retention. A month of events is dropped only when every event in it is past its
//! own `retention_days` and none belongs to a held correlation; each drop is an audit event
//! naming the month, the count and the log indexes it removed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use serde_json::json;

use super::{ANONYMOUS, GovernanceService};
use crate::cause::chain;
use crate::error::AuditError;
use crate::ports::PrunedMonth;

/// The correlation every retention drop is recorded in.
pub const RETENTION_TRAIL: &str = "datastorage-retention";

/// What one retention run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub pruned: Vec<PrunedMonth>,
    /// Months kept because an event in them is held.
    pub kept_held: Vec<NaiveDate>,
    /// Months kept because an event in them is within its retention.
    pub kept_unexpired: Vec<NaiveDate>,
}

impl GovernanceService {
    /// Drops every month that qualifies now.
    ///
    /// # Errors
    /// A store failed; months dropped before it stay dropped and recorded.
    pub async fn run_retention(&self) -> Result<RetentionReport, AuditError> {
        let now = self.clock.now();
        let mut report = RetentionReport::default();
        // A month is weighed once its end is `settle` in the past: month starts before the
        // month holding `now - settle` are exactly those.
        let settled = (now - self.settle).date_naive();
        let before = settled.with_day(1).unwrap_or(settled);
        for month in self.retention.months(now, before).await? {
            if month.held > 0 {
                report.kept_held.push(month.month);
                continue;
            }
            if month.expired < month.events {
                report.kept_unexpired.push(month.month);
                continue;
            }
            let Some(pruned) = self.retention.prune(month.month, now).await? else {
                continue;
            };
            self.record(
                "datastorage.audit.retention.pruned",
                "retention_pruned",
                ANONYMOUS,
                RETENTION_TRAIL,
                now,
                json!({
                    "month": pruned.month.format("%Y-%m").to_string(),
                    "events": pruned.events,
                    "log_ranges": pruned.log_ranges,
                }),
            )
            .await?;
            tracing::info!(month = %pruned.month, events = pruned.events, "retention: month dropped");
            report.pruned.push(pruned);
        }
        Ok(report)
    }
}

/// Runs retention periodically.
pub struct RetentionWorker {
    governance: GovernanceService,
    every: Duration,
}

impl RetentionWorker {
    pub fn new(governance: &GovernanceService, every: Duration) -> Self {
        Self {
            governance: governance.clone(),
            every,
        }
    }

    /// Runs until `stop` is set (checked between runs).
    pub async fn run(self, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            if let Err(e) = self.governance.run_retention().await {
                tracing::warn!(error = %chain(&e), "retention run failed");
            }
            self.governance.clock.sleep(self.every).await;
        }
    }
}
