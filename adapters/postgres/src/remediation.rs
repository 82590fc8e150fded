//! The remediation reads' SQL (issue 25 step 5): a page of remediations' trails in one round
//! trip, and the incidents' page and exact total decided in the database by the rules of
//! `datastorage_domain::remediation::incident` (the conformance suite holds the two to the
//! same answers), over the `remediations` table the writes keep.

use chrono::{DateTime, Utc};
use datastorage_application::ports::{Cause, RepositoryError};
use datastorage_domain::audit::{AuditEvent, CorrelationId};
use datastorage_domain::remediation::{
    IncidentKeys, IncidentPosition, IncidentQuery, SIGNAL_PROCESSED, SIGNAL_RECEIVED,
    WORKFLOW_CREATED, WorkflowChoice,
};
use sqlx::postgres::PgConnection;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use crate::audit::{AuditEventRow, COLUMNS};
use crate::error::to_repository_error;

/// Records the workflow choices among `events` (just written) in `remediations`, in the
/// write's transaction, so the table is never behind the events: one statement, only when
/// the write holds a choice. A choice recorded late (a replay, a slow producer) never
/// replaces a later one; rows are taken in id order, so two writes never deadlock on them.
pub(crate) async fn record_choices<'a>(
    conn: &mut PgConnection,
    events: impl Iterator<Item = &'a AuditEvent>,
) -> Result<(), sqlx::Error> {
    let (mut ids, mut at, mut event_ids, mut actions, mut targets) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for event in events {
        if let Some(choice) = WorkflowChoice::of(event) {
            ids.push(event.correlation_id.as_str());
            at.push(*event.event_timestamp.as_datetime());
            event_ids.push(*event.event_id.as_uuid());
            actions.push(choice.action_type);
            targets.push(choice.target_resource);
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO remediations AS r
             (correlation_id, action_at, action_event_id, action_type, target_resource)
         SELECT DISTINCT ON (c) c, t, i, a, tr
         FROM UNNEST($1::text[], $2::timestamptz[], $3::uuid[], $4::text[], $5::text[])
             AS x(c, t, i, a, tr)
         ORDER BY c, t DESC, i DESC
         ON CONFLICT (correlation_id) DO UPDATE SET
             action_at = EXCLUDED.action_at, action_event_id = EXCLUDED.action_event_id,
             action_type = EXCLUDED.action_type, target_resource = EXCLUDED.target_resource
         WHERE (EXCLUDED.action_at, EXCLUDED.action_event_id)
             > (r.action_at, r.action_event_id)",
    )
    .bind(&ids)
    .bind(&at)
    .bind(&event_ids)
    .bind(&actions)
    .bind(&targets)
    .execute(conn)
    .await?;
    Ok(())
}

/// A target's workflow choices in a time range, newest first: one range of the partial
/// index on `(event_data ->> 'target_resource', event_timestamp, event_id)` of the choices
/// (migration 20261207000200). Through the general query's `event_data @>` the planner, with
/// the pool's generic plans, walked every choice of the range in time order.
pub(crate) async fn workflow_choices(
    pool: &PgPool,
    target_resource: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<AuditEvent>, RepositoryError> {
    let rows: Vec<AuditEventRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM audit_events \
         WHERE event_type = '{WORKFLOW_CREATED}' AND event_data ->> 'target_resource' = $1 \
           AND jsonb_typeof(event_data -> 'target_resource') = 'string' \
           AND event_timestamp >= $2 AND event_timestamp <= $3 \
           AND event_date >= $4 AND event_date <= $5 \
         ORDER BY event_timestamp DESC, event_id DESC LIMIT $6"
    ))
    .bind(target_resource)
    .bind(since)
    .bind(until)
    .bind(since.date_naive())
    .bind(until.date_naive())
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(to_repository_error)?;
    rows.into_iter().map(AuditEvent::try_from).collect()
}

/// Those of `ids` with an effectiveness event naming `spec_hash` as the produced spec (the
/// domain's `produces_spec`): a probe of each correlation's few events.
pub(crate) async fn remediations_producing(
    pool: &PgPool,
    ids: &[CorrelationId],
    spec_hash: &str,
) -> Result<Vec<CorrelationId>, RepositoryError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = ids.iter().map(CorrelationId::as_str).collect();
    let found: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT correlation_id FROM audit_events
         WHERE correlation_id = ANY($1) AND event_category = 'effectiveness'
           AND event_data ->> 'post_remediation_spec_hash' = $2
           AND jsonb_typeof(event_data -> 'post_remediation_spec_hash') = 'string'",
    )
    .bind(&ids)
    .bind(spec_hash)
    .fetch_all(pool)
    .await
    .map_err(to_repository_error)?;
    found
        .into_iter()
        .map(|id| {
            CorrelationId::parse(id)
                .map_err(|e| RepositoryError::Corrupt(Cause::msg(format!("correlation id: {e}"))))
        })
        .collect()
}

/// Up to `limit_each` events of each correlation, each oldest first: one index range per id.
pub(crate) async fn correlations(
    pool: &PgPool,
    ids: &[CorrelationId],
    limit_each: u32,
) -> Result<Vec<AuditEvent>, RepositoryError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = ids.iter().map(CorrelationId::as_str).collect();
    // `= ANY` with a window partitioned by the correlation, not a LATERAL join over the ids:
    // both are index ranges on PostgreSQL, and only this one Citus pushes down to the shards.
    // The dates of the correlations' events, from their id rows (every stored event has one:
    // the writer, the migration that made the table and the benchmark fill write them), bound
    // `event_date`, so only the months holding them are searched (run-time partition
    // pruning); without it each id is an index probe in every month kept.
    let rows: Vec<AuditEventRow> = sqlx::query_as(&format!(
        "WITH span AS MATERIALIZED ( \
           SELECT min(event_date) AS first, max(event_date) AS last \
           FROM audit_event_ids WHERE correlation_id = ANY($1)) \
         SELECT {COLUMNS} FROM ( \
           SELECT *, row_number() OVER ( \
             PARTITION BY correlation_id ORDER BY event_timestamp, event_id) AS nth \
           FROM audit_events WHERE correlation_id = ANY($1) \
             AND event_date >= (SELECT first FROM span) \
             AND event_date <= (SELECT last FROM span)) AS e \
         WHERE nth <= $2 ORDER BY correlation_id, event_timestamp, event_id"
    ))
    .bind(&ids)
    .bind(i64::from(limit_each))
    .fetch_all(pool)
    .await
    .map_err(to_repository_error)?;
    rows.into_iter().map(AuditEvent::try_from).collect()
}

/// The first (`asc`) or last value of `key` among the remediation's events of `event_type`
/// that carry it, in trail order (`audit_text` is the domain's `text`: a non-empty string).
/// An ordered aggregate, not `ORDER BY ... LIMIT 1`: with a LIMIT the planner may walk the
/// time index of every partition looking for the correlation instead of reading the
/// correlation's few events by its index.
fn in_trail(event_type: &str, key: &str, asc: bool) -> String {
    let order = if asc { "" } else { " DESC" };
    format!(
        "(SELECT (array_agg(audit_text(s.event_data, '{key}') \
                  ORDER BY s.event_timestamp{order}, s.event_id{order}))[1] \
           FROM audit_events s \
           WHERE s.correlation_id = r.correlation_id AND s.event_type = '{event_type}' \
             AND audit_text(s.event_data, '{key}') IS NOT NULL)"
    )
}

/// ` AND ...` for every filter given, over `remediations r` (migration 20261207000200: one
/// row per remediation, its last choice's time, action type and target).
fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, query: &IncidentQuery) {
    let f = &query.filter;
    if let Some(since) = f.since {
        qb.push(" AND r.action_at >= ").push_bind(since);
    }
    if let Some(until) = f.until {
        qb.push(" AND r.action_at <= ").push_bind(until);
    }
    if let Some(action_type) = &f.action_type {
        qb.push(" AND r.action_type = ")
            .push_bind(action_type.clone());
    }
    if let Some(namespace) = &f.namespace {
        // `{namespace}/{kind}/{name}`; without a whole target, the signal's namespace.
        qb.push(format!(
            " AND (CASE WHEN r.target_resource LIKE '%/%/%' \
                 THEN NULLIF(split_part(r.target_resource, '/', 1), '') ELSE {} END) = ",
            in_trail(SIGNAL_RECEIVED, "namespace", true)
        ))
        .push_bind(namespace.clone());
    }
    if let Some(alert_name) = &f.alert_name {
        qb.push(format!(
            " AND {} = ",
            in_trail(SIGNAL_RECEIVED, "signal_name", true)
        ))
        .push_bind(alert_name.clone());
    }
    if let Some(severity) = f.severity {
        // Processing's last normalised severity, else the gateway's first raw one; ASCII case
        // folded (lower() under the C collation), as the domain's eq_ignore_ascii_case.
        qb.push(format!(
            " AND lower(COALESCE({}, {}) COLLATE \"C\") = ",
            in_trail(SIGNAL_PROCESSED, "severity", false),
            in_trail(SIGNAL_RECEIVED, "severity", true)
        ))
        .push_bind(severity.as_str());
    }
}

pub(crate) async fn incidents(
    pool: &PgPool,
    query: &IncidentQuery,
) -> Result<IncidentKeys, RepositoryError> {
    // The total and the page beside it, each its own index scan (the count reads the
    // index only; the page reads it backwards and stops after the page): one row with a
    // NULL id when the page is empty.
    let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new(
        "SELECT t.total, p.correlation_id FROM \
         (SELECT count(*) AS total FROM remediations r WHERE true",
    );
    push_filter(&mut qb, query);
    qb.push(
        ") AS t LEFT JOIN LATERAL (SELECT r.correlation_id, r.action_at \
         FROM remediations r WHERE true",
    );
    push_filter(&mut qb, query);
    let offset = match &query.position {
        IncidentPosition::Offset(n) => i64::try_from(*n).unwrap_or(i64::MAX),
        IncidentPosition::After(cursor) => {
            qb.push(" AND (r.action_at, r.correlation_id COLLATE \"C\") < (")
                .push_bind(cursor.action_timestamp)
                .push(", ")
                .push_bind(cursor.id.as_str().to_owned())
                .push(")");
            0
        }
    };
    // One more than the page tells whether rows follow it.
    // Ids bytewise, as the domain sorts them (the index's order).
    qb.push(" ORDER BY r.action_at DESC, r.correlation_id COLLATE \"C\" DESC LIMIT ")
        .push_bind(i64::from(query.limit.get()) + 1)
        .push(" OFFSET ")
        .push_bind(offset)
        .push(") AS p ON true ORDER BY p.action_at DESC, p.correlation_id COLLATE \"C\" DESC");
    let rows = qb
        .build()
        .fetch_all(pool)
        .await
        .map_err(to_repository_error)?;
    let mut total = 0;
    let mut ids = Vec::with_capacity(rows.len());
    for row in &rows {
        total = row
            .try_get::<i64, _>("total")
            .map_err(to_repository_error)?;
        let id: Option<String> = row.try_get("correlation_id").map_err(to_repository_error)?;
        if let Some(id) = id {
            ids.push(
                CorrelationId::parse(id).map_err(|e| {
                    RepositoryError::Corrupt(Cause::msg(format!("incident id: {e}")))
                })?,
            );
        }
    }
    let limit = query.limit.get() as usize;
    let has_more = ids.len() > limit;
    ids.truncate(limit);
    Ok(IncidentKeys {
        ids,
        total: u64::try_from(total).unwrap_or(0),
        has_more,
    })
}
