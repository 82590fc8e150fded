//! Monthly partitions of `audit_events`: created ahead at start and by a periodic upkeep, and
//! on demand when a write hits a month that has none. Retention drops them (`governance`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{Datelike, Months, NaiveDate, Utc};
use sqlx::PgPool;

fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// Ensures a partition exists for the month of every given day.
pub(crate) async fn ensure_audit_partitions(
    pool: &PgPool,
    days: impl IntoIterator<Item = NaiveDate>,
) -> Result<(), sqlx::Error> {
    let months: BTreeSet<NaiveDate> = days.into_iter().map(month_start).collect();
    for month in months {
        sqlx::query!("SELECT audit_events_ensure_partition($1)", month)
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Creates the partitions from `behind` months ago to `ahead` months from now.
///
/// # Errors
/// When PostgreSQL refuses or cannot be reached.
pub async fn ensure_audit_partitions_around(
    pool: &PgPool,
    behind: u32,
    ahead: u32,
) -> Result<(), sqlx::Error> {
    let this_month = month_start(Utc::now().date_naive());
    let first = this_month
        .checked_sub_months(Months::new(behind))
        .unwrap_or(this_month);
    let days = (0..=behind + ahead).filter_map(|i| first.checked_add_months(Months::new(i)));
    ensure_audit_partitions(pool, days).await
}

/// Keeps monthly audit partitions created ahead. (Retention, which drops months, is the
/// application's `RetentionWorker`: it must weigh holds and record what it drops.)
pub struct PartitionUpkeep {
    pool: PgPool,
    interval: Duration,
}

impl PartitionUpkeep {
    /// Every `interval`.
    pub fn new(pool: PgPool, interval: Duration) -> Self {
        Self { pool, interval }
    }

    async fn pass(&self) {
        if let Err(e) = ensure_audit_partitions_around(&self.pool, 1, 3).await {
            tracing::warn!(error = %e, "partition upkeep: could not create partitions ahead");
        }
    }

    /// Passes until `stop` is set (checked between passes).
    pub async fn run(self, stop: Arc<AtomicBool>) {
        while !stop.load(Ordering::SeqCst) {
            self.pass().await;
            tokio::time::sleep(self.interval).await;
        }
    }
}
