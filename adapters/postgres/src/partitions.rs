//! Monthly partitions of `audit_events`: created ahead at start and by a periodic upkeep, on
//! demand when a write hits a month that has none, and dropped past the retention horizon.

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

/// Drops every monthly partition that ends on or before `cutoff` (whole months only: a
/// partition holding any day on or after `cutoff` is kept). Returns the dropped tables.
///
/// # Errors
/// When PostgreSQL refuses or cannot be reached.
pub async fn drop_audit_partitions_before(
    pool: &PgPool,
    cutoff: NaiveDate,
) -> Result<Vec<String>, sqlx::Error> {
    let partitions: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'audit_events'::regclass ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    let mut dropped = Vec::new();
    for name in partitions {
        let Some(month) = name
            .strip_prefix("audit_events_")
            .and_then(|ym| NaiveDate::parse_from_str(&format!("{ym}_01"), "%Y_%m_%d").ok())
        else {
            continue;
        };
        let Some(end) = month.checked_add_months(Months::new(1)) else {
            continue;
        };
        if end <= cutoff {
            // The name came from the catalog and matched audit_events_YYYY_MM: safe to splice.
            sqlx::query(&format!("DROP TABLE IF EXISTS {name}"))
                .execute(pool)
                .await?;
            dropped.push(name);
        }
    }
    Ok(dropped)
}

/// The first day of the month `months` before the current one: the retention cutoff.
pub fn retention_cutoff(today: NaiveDate, months: u32) -> NaiveDate {
    let this_month = month_start(today);
    this_month
        .checked_sub_months(Months::new(months))
        .unwrap_or(this_month)
}

/// Keeps monthly audit partitions created ahead and, when configured, drops those past the
/// retention horizon.
pub struct PartitionUpkeep {
    pool: PgPool,
    retention_months: Option<u32>,
    interval: Duration,
}

impl PartitionUpkeep {
    /// Every `interval`; `retention_months` `None` keeps every partition.
    pub fn new(pool: PgPool, retention_months: Option<u32>, interval: Duration) -> Self {
        Self {
            pool,
            retention_months,
            interval,
        }
    }

    async fn pass(&self) {
        if let Err(e) = ensure_audit_partitions_around(&self.pool, 1, 3).await {
            tracing::warn!(error = %e, "partition upkeep: could not create partitions ahead");
        }
        if let Some(months) = self.retention_months {
            let cutoff = retention_cutoff(Utc::now().date_naive(), months);
            match drop_audit_partitions_before(&self.pool, cutoff).await {
                Ok(dropped) if !dropped.is_empty() => {
                    tracing::info!(?dropped, %cutoff, "retention: dropped audit partitions");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention: could not drop partitions"),
            }
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
