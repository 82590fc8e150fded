//! Monthly partitions of `audit_events`: created ahead at start and on demand when a write
//! hits a month that has none.

use std::collections::BTreeSet;

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
