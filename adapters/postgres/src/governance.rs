//! `PgGovernance`: legal holds, and retention that drops whole monthly partitions.

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, Utc};
use datastorage_application::ports::{
    Cause, LegalHold, LegalHoldStore, MonthRetention, PlaceOutcome, PrunedMonth, ReleasedHold,
    RepositoryError, RetentionStore,
};
use datastorage_domain::audit::CorrelationId;
use datastorage_domain::log::index_ranges;
use sqlx::PgPool;

use crate::error::to_repository_error;

/// Holds and retention in PostgreSQL.
#[derive(Clone)]
pub struct PgGovernance {
    pool: PgPool,
}

impl PgGovernance {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn hold_of(
    correlation_id: String,
    reason: String,
    placed_by: String,
    placed_at: DateTime<Utc>,
) -> Result<LegalHold, RepositoryError> {
    Ok(LegalHold {
        correlation_id: CorrelationId::parse(correlation_id)
            .map_err(|e| RepositoryError::Corrupt(Cause::msg(format!("a legal hold: {e}"))))?,
        reason,
        placed_by,
        placed_at,
    })
}

/// Counts per month: events, expired at `$1`, held now. Rows of `audit_events` only.
const MONTHS: &str = "SELECT date_trunc('month', e.event_date)::date AS month, count(*),
        count(*) FILTER (WHERE e.event_timestamp + make_interval(days => e.retention_days) < $1),
        count(*) FILTER (WHERE h.correlation_id IS NOT NULL)
    FROM audit_events e
    LEFT JOIN audit_legal_holds h
        ON h.correlation_id = e.correlation_id AND h.released_at IS NULL";

#[async_trait]
impl LegalHoldStore for PgGovernance {
    async fn place(&self, hold: &LegalHold) -> Result<PlaceOutcome, RepositoryError> {
        let inserted = sqlx::query(
            "INSERT INTO audit_legal_holds (correlation_id, reason, placed_by, placed_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (correlation_id) WHERE released_at IS NULL DO NOTHING",
        )
        .bind(hold.correlation_id.as_str())
        .bind(&hold.reason)
        .bind(&hold.placed_by)
        .bind(hold.placed_at)
        .execute(&self.pool)
        .await
        .map_err(to_repository_error)?;
        if inserted.rows_affected() == 1 {
            return Ok(PlaceOutcome::Placed);
        }
        let (c, r, by, at): (String, String, String, DateTime<Utc>) = sqlx::query_as(
            "SELECT correlation_id, reason, placed_by, placed_at FROM audit_legal_holds
             WHERE correlation_id = $1 AND released_at IS NULL",
        )
        .bind(hold.correlation_id.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(to_repository_error)?;
        Ok(PlaceOutcome::AlreadyHeld(hold_of(c, r, by, at)?))
    }

    async fn release(
        &self,
        correlation_id: &CorrelationId,
        released_by: &str,
        release_reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ReleasedHold>, RepositoryError> {
        let row: Option<(String, String, String, DateTime<Utc>)> = sqlx::query_as(
            "UPDATE audit_legal_holds
             SET released_by = $2, release_reason = $3, released_at = $4
             WHERE correlation_id = $1 AND released_at IS NULL
             RETURNING correlation_id, reason, placed_by, placed_at",
        )
        .bind(correlation_id.as_str())
        .bind(released_by)
        .bind(release_reason)
        .bind(at)
        .fetch_optional(&self.pool)
        .await
        .map_err(to_repository_error)?;
        row.map(|(c, r, by, placed_at)| {
            Ok(ReleasedHold {
                hold: hold_of(c, r, by, placed_at)?,
                released_by: released_by.to_owned(),
                released_at: at,
                release_reason: release_reason.to_owned(),
            })
        })
        .transpose()
    }

    async fn active(&self) -> Result<Vec<LegalHold>, RepositoryError> {
        let rows: Vec<(String, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT correlation_id, reason, placed_by, placed_at FROM audit_legal_holds
             WHERE released_at IS NULL ORDER BY placed_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(to_repository_error)?;
        rows.into_iter()
            .map(|(c, r, by, at)| hold_of(c, r, by, at))
            .collect()
    }
}

#[async_trait]
impl RetentionStore for PgGovernance {
    async fn months(
        &self,
        now: DateTime<Utc>,
        before: NaiveDate,
    ) -> Result<Vec<MonthRetention>, RepositoryError> {
        // Bounding event_date leaves the recent partitions out of the scan.
        let rows: Vec<(NaiveDate, i64, i64, i64)> = sqlx::query_as(&format!(
            "{MONTHS} WHERE e.event_date < $2 GROUP BY 1 ORDER BY 1"
        ))
        .bind(now)
        .bind(before)
        .fetch_all(&self.pool)
        .await
        .map_err(to_repository_error)?;
        Ok(rows
            .into_iter()
            .map(|(month, events, expired, held)| MonthRetention {
                month,
                events: to_u64(events),
                expired: to_u64(expired),
                held: to_u64(held),
            })
            .collect())
    }

    async fn prune(
        &self,
        month: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Option<PrunedMonth>, RepositoryError> {
        let month = month.with_day(1).unwrap_or(month);
        let end = month.checked_add_months(Months::new(1)).unwrap_or(month);
        let partition = format!("audit_events_{}", month.format("%Y_%m"));
        let mut tx = self.pool.begin().await.map_err(to_repository_error)?;
        // Retention is a background job over a whole month: not bound by the requests'
        // statement timeout.
        sqlx::query("SET LOCAL statement_timeout = 0")
            .execute(&mut *tx)
            .await
            .map_err(to_repository_error)?;
        // One drop at a time across replicas: a second one waits here, then finds the
        // partition gone and does nothing (unserialised, the two deadlock or one fails on
        // the table the other dropped).
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('datastorage.retention'))")
            .execute(&mut *tx)
            .await
            .map_err(to_repository_error)?;
        // No hold can be placed until the month is gone; writers of other months go on.
        sqlx::query("LOCK TABLE audit_legal_holds IN SHARE MODE")
            .execute(&mut *tx)
            .await
            .map_err(to_repository_error)?;
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(&partition)
            .fetch_one(&mut *tx)
            .await
            .map_err(to_repository_error)?;
        if !exists {
            return Ok(None);
        }
        let (events, expired, held): (i64, i64, i64) = sqlx::query_as(&format!(
            "SELECT count(*),
                count(*) FILTER (WHERE e.event_timestamp + make_interval(days => e.retention_days) < $1),
                count(*) FILTER (WHERE h.correlation_id IS NOT NULL)
             FROM {partition} e
             LEFT JOIN audit_legal_holds h
                ON h.correlation_id = e.correlation_id AND h.released_at IS NULL"
        ))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(to_repository_error)?;
        if events == 0 || expired != events || held != 0 {
            return Ok(None);
        }
        let indexes: Vec<i64> = sqlx::query_scalar(
            "SELECT log_index FROM audit_log_leaves
             WHERE event_date >= $1 AND event_date < $2 ORDER BY log_index",
        )
        .bind(month)
        .bind(end)
        .fetch_all(&mut *tx)
        .await
        .map_err(to_repository_error)?;
        let log_ranges = index_ranges(indexes.iter().map(|i| to_u64(*i)));
        sqlx::query(
            "INSERT INTO audit_log_pruned (month, events, log_ranges, pruned_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (month) DO UPDATE SET events = audit_log_pruned.events + EXCLUDED.events,
                 log_ranges = audit_log_pruned.log_ranges || EXCLUDED.log_ranges,
                 pruned_at = EXCLUDED.pruned_at",
        )
        .bind(month)
        .bind(events)
        .bind(sqlx::types::Json(&log_ranges))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(to_repository_error)?;
        // The month's remediations go with their events; one that also chose in a month
        // still kept (held, or kept longer) falls back to its last choice there.
        sqlx::query(
            "WITH gone AS (DELETE FROM remediations
                 WHERE action_at >= $3 AND action_at < $4 RETURNING correlation_id)
             INSERT INTO remediations
                 (correlation_id, action_at, action_event_id, action_type, target_resource)
             SELECT DISTINCT ON (e.correlation_id) e.correlation_id, e.event_timestamp,
                 e.event_id, audit_text(e.event_data, 'action_type'),
                 audit_text(e.event_data, 'target_resource')
             FROM audit_events e JOIN gone g ON g.correlation_id = e.correlation_id
             WHERE e.event_type = 'remediation.workflow_created'
               AND NOT (e.event_date >= $1 AND e.event_date < $2)
             ORDER BY e.correlation_id, e.event_timestamp DESC, e.event_id DESC",
        )
        .bind(month)
        .bind(end)
        .bind(month.and_time(NaiveTime::MIN).and_utc())
        .bind(end.and_time(NaiveTime::MIN).and_utc())
        .execute(&mut *tx)
        .await
        .map_err(to_repository_error)?;
        // DETACH ... CONCURRENTLY cannot run inside a transaction; the record of what was
        // pruned and the drop must commit together, so the detach is the plain one (a brief
        // lock on audit_events, once a month). Only the table's owner may detach and drop: the
        // function runs as the owner, so a serving role without DDL rights can (migration
        // 20261206000100).
        sqlx::query("SELECT audit_events_drop_partition($1)")
            .bind(month)
            .execute(&mut *tx)
            .await
            .map_err(to_repository_error)?;
        tx.commit().await.map_err(to_repository_error)?;
        Ok(Some(PrunedMonth {
            month,
            events: to_u64(events),
            log_ranges,
        }))
    }
}
