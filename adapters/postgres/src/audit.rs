//! `PgAuditEventRepository`: audit events in the partitioned `audit_events` table.
//!
//! Writes go through [`Writer`](crate::writer::Writer) (a batch is one binary `COPY`), single
//! events through the group commit; reads build events through the domain's constructors.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use datastorage_application::ports::{AuditEventRepository, Cause, InsertOutcome, RepositoryError};
use datastorage_domain::ValidationErrors;
use datastorage_domain::audit::*;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::to_repository_error;
use crate::group_commit::{GroupCommit, GroupCommitSettings};
use crate::writer::Writer;

/// Audit events stored in PostgreSQL.
#[derive(Clone)]
pub struct PgAuditEventRepository {
    pool: PgPool,
    writer: Writer,
    /// Single-event inserts go through here (see `group_commit`).
    group: Arc<GroupCommit>,
}

impl PgAuditEventRepository {
    /// A repository whose single-event inserts are group-committed with default settings.
    pub fn new(pool: PgPool) -> Self {
        Self::with_group_commit(pool, GroupCommitSettings::default())
    }

    pub fn with_group_commit(pool: PgPool, settings: GroupCommitSettings) -> Self {
        let writer = Writer {
            pool: pool.clone(),
            connection_wait: settings.connection_wait,
        };
        Self {
            pool,
            group: Arc::new(GroupCommit::new(writer.clone(), settings)),
            writer,
        }
    }
}

fn text<T: AsRef<str>>(v: &Option<T>) -> Option<&str> {
    v.as_ref().map(AsRef::as_ref)
}

/// A row of `audit_events` as read; becomes an [`AuditEvent`] only through the domain's
/// constructors, so a corrupt row is reported instead of served.
#[derive(sqlx::FromRow)]
pub(crate) struct AuditEventRow {
    event_id: Uuid,
    event_timestamp: DateTime<Utc>,
    version: String,
    event_type: String,
    event_category: String,
    event_action: String,
    event_outcome: String,
    actor_type: Option<String>,
    actor_id: Option<String>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    resource_name: Option<String>,
    correlation_id: String,
    parent_event_id: Option<Uuid>,
    parent_event_date: Option<NaiveDate>,
    trace_id: Option<String>,
    span_id: Option<String>,
    namespace: Option<String>,
    cluster_name: Option<String>,
    severity: Option<String>,
    duration_ms: Option<i64>,
    error_code: Option<String>,
    error_message: Option<String>,
    /// Read from jsonb's text straight into canonical text: no `serde_json::Value` is built
    /// for an event that is only going to be written out again.
    event_data: Json<EventDataText>,
    retention_days: i32,
    is_sensitive: bool,
}

impl TryFrom<AuditEventRow> for AuditEvent {
    type Error = RepositoryError;

    fn try_from(r: AuditEventRow) -> Result<Self, Self::Error> {
        let event_id = r.event_id;
        let parse = move || -> Result<AuditEvent, ValidationErrors> {
            Ok(AuditEvent {
                event_id: EventId::from_uuid(r.event_id),
                version: SchemaVersion::parse(r.version)?,
                event_type: EventType::parse(r.event_type)?,
                event_timestamp: EventTimestamp::new(r.event_timestamp),
                event_category: EventCategory::parse(&r.event_category)?,
                event_action: EventAction::parse(r.event_action)?,
                event_outcome: EventOutcome::parse(&r.event_outcome)?,
                actor_type: ActorType::parse_optional(r.actor_type)?,
                actor_id: ActorId::parse_optional(r.actor_id)?,
                resource_type: ResourceType::parse_optional(r.resource_type)?,
                resource_id: ResourceId::parse_optional(r.resource_id)?,
                resource_name: ResourceName::parse_optional(r.resource_name)?,
                correlation_id: CorrelationId::parse(r.correlation_id)?,
                parent_event_id: r.parent_event_id.map(EventId::from_uuid),
                parent_event_date: r.parent_event_date,
                trace_id: TraceId::parse_optional(r.trace_id)?,
                span_id: SpanId::parse_optional(r.span_id)?,
                namespace: Namespace::parse_optional(r.namespace)?,
                cluster_name: ClusterName::parse_optional(r.cluster_name)?,
                severity: Severity::parse_optional(r.severity)?,
                duration_ms: r.duration_ms.map(DurationMs::parse).transpose()?,
                error_code: ErrorCode::parse_optional(r.error_code)?,
                error_message: ErrorMessage::parse_optional(r.error_message)?,
                event_data: EventData::parse(r.event_data.0)?,
                retention_days: RetentionDays::parse(i64::from(r.retention_days))?,
                is_sensitive: r.is_sensitive,
            })
        };
        parse().map_err(|e| {
            RepositoryError::Corrupt(Cause::msg(format!("audit event {event_id}: {e}")))
        })
    }
}

fn into_events(rows: Vec<AuditEventRow>) -> Result<Vec<AuditEvent>, RepositoryError> {
    rows.into_iter().map(AuditEvent::try_from).collect()
}

pub(crate) const COLUMNS: &str = "event_id, event_timestamp, version, event_type, event_category, \
    event_action, event_outcome, actor_type, actor_id, resource_type, resource_id, \
    resource_name, correlation_id, parent_event_id, parent_event_date, trace_id, span_id, \
    namespace, cluster_name, severity, duration_ms, error_code, error_message, event_data, \
    retention_days, is_sensitive";

/// Appends ` AND ...` for every filter that is set.
fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, f: &AuditFilter) {
    fn eq<'a>(qb: &mut QueryBuilder<'a, Postgres>, column: &str, value: Option<&str>) {
        if let Some(v) = value {
            qb.push(format_args!(" AND {column} = "))
                .push_bind(v.to_owned());
        }
    }
    eq(qb, "correlation_id", text(&f.correlation_id));
    eq(qb, "event_type", text(&f.event_type));
    eq(qb, "event_category", f.event_category.map(|c| c.as_str()));
    eq(qb, "event_outcome", f.event_outcome.map(|o| o.as_str()));
    eq(qb, "severity", text(&f.severity));
    eq(qb, "resource_type", text(&f.resource_type));
    eq(qb, "resource_id", text(&f.resource_id));
    eq(qb, "actor_id", text(&f.actor_id));
    // event_date is event_timestamp's UTC date (a CHECK says so): bounding it as well lets
    // PostgreSQL leave out the monthly partitions outside the range.
    if let Some(since) = f.since {
        qb.push(" AND event_timestamp >= ").push_bind(since);
        qb.push(" AND event_date >= ").push_bind(since.date_naive());
    }
    if let Some(until) = f.until {
        qb.push(" AND event_timestamp <= ").push_bind(until);
        qb.push(" AND event_date <= ").push_bind(until.date_naive());
    }
    if let Some(detail) = &f.detail {
        // `@>` with jsonb_path_ops is served by the GIN index.
        qb.push(" AND (");
        for (i, candidate) in detail.candidates().into_iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            let mut probe = serde_json::Map::new();
            probe.insert(detail.key().to_owned(), candidate);
            qb.push("event_data @> ")
                .push_bind(serde_json::Value::Object(probe))
                .push("::jsonb");
        }
        qb.push(")");
    }
}

#[async_trait]
impl AuditEventRepository for PgAuditEventRepository {
    async fn insert(&self, event: &NewAuditEvent) -> Result<InsertOutcome, RepositoryError> {
        self.group.insert(event.clone()).await
    }

    async fn insert_batch(
        &self,
        events: &[NewAuditEvent],
    ) -> Result<Vec<InsertOutcome>, RepositoryError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        // Written to the end in a task of its own, as the group commit's writes are: a caller
        // that stops waiting (its deadline) must not drop a write halfway through the
        // protocol, which leaves the pooled connection out of step (a transaction still open,
        // a COPY half sent) for the next statement it carries.
        let (writer, events) = (self.writer.clone(), events.to_vec());
        tokio::spawn(async move { writer.write(&events).await })
            .await
            .map_err(|stopped| RepositoryError::OutcomeUnknown(Cause::new(stopped)))?
    }

    async fn get(&self, id: EventId) -> Result<Option<AuditEvent>, RepositoryError> {
        // An event_id is unique within its correlation; an id a client used in several
        // correlations answers the first stored. On Citus this asks every shard (the id says
        // nothing of the correlation), each through its event_id index.
        let row: Option<AuditEventRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM audit_events WHERE event_id = $1
             ORDER BY created_at, correlation_id LIMIT 1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(to_repository_error)?;
        row.map(AuditEvent::try_from).transpose()
    }

    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, RepositoryError> {
        let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit_events WHERE TRUE"));
        push_filter(&mut qb, &query.filter);
        if let PagePosition::After(cursor) = query.position {
            qb.push(" AND (event_timestamp, event_id) < (")
                .push_bind(*cursor.event_timestamp.as_datetime())
                .push(", ")
                .push_bind(*cursor.event_id.as_uuid())
                .push(") AND event_date <= ")
                .push_bind(cursor.event_timestamp.partition_date());
        }
        qb.push(" ORDER BY event_timestamp DESC, event_id DESC LIMIT ")
            .push_bind(i64::from(query.limit.get()) + 1);
        if let PagePosition::Offset(offset) = query.position {
            qb.push(" OFFSET ")
                .push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
        }
        let rows: Vec<AuditEventRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(to_repository_error)?;

        let total = if !query.include_total {
            None
        } else if let Some(total) = query.total_from_overfetch(rows.len()) {
            Some(total)
        } else {
            let mut count = QueryBuilder::new("SELECT count(*) FROM audit_events WHERE TRUE");
            push_filter(&mut count, &query.filter);
            let n: i64 = count
                .build_query_scalar()
                .fetch_one(&self.pool)
                .await
                .map_err(to_repository_error)?;
            Some(u64::try_from(n).unwrap_or(0))
        };
        Ok(AuditPage::from_overfetch(
            into_events(rows)?,
            query.limit,
            total,
        ))
    }

    async fn correlation(
        &self,
        correlation_id: &CorrelationId,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, RepositoryError> {
        let rows = sqlx::query_as!(
            AuditEventRow,
            r#"SELECT event_id, event_timestamp, version, event_type, event_category,
                event_action, event_outcome, actor_type, actor_id, resource_type, resource_id,
                resource_name, correlation_id, parent_event_id, parent_event_date, trace_id,
                span_id, namespace, cluster_name, severity, duration_ms, error_code,
                error_message, event_data AS "event_data: Json<EventDataText>", retention_days,
                is_sensitive
            FROM audit_events WHERE correlation_id = $1
            ORDER BY event_timestamp, event_id LIMIT $2"#,
            correlation_id.as_str(),
            i64::from(limit)
        )
        .fetch_all(&self.pool)
        .await
        .map_err(to_repository_error)?;
        into_events(rows)
    }

    async fn correlations(
        &self,
        correlation_ids: &[CorrelationId],
        limit_each: u32,
    ) -> Result<Vec<AuditEvent>, RepositoryError> {
        crate::remediation::correlations(&self.pool, correlation_ids, limit_each).await
    }

    async fn workflow_choices(
        &self,
        target_resource: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, RepositoryError> {
        crate::remediation::workflow_choices(&self.pool, target_resource, since, until, limit).await
    }

    async fn remediations_producing(
        &self,
        correlation_ids: &[CorrelationId],
        spec_hash: &str,
    ) -> Result<Vec<CorrelationId>, RepositoryError> {
        crate::remediation::remediations_producing(&self.pool, correlation_ids, spec_hash).await
    }

    async fn incidents(
        &self,
        query: &datastorage_domain::remediation::IncidentQuery,
    ) -> Result<datastorage_domain::remediation::IncidentKeys, RepositoryError> {
        crate::remediation::incidents(&self.pool, query).await
    }

    async fn ping(&self) -> Result<(), RepositoryError> {
        sqlx::query_scalar!("SELECT 1 AS \"one!\"")
            .fetch_one(&self.pool)
            .await
            .map_err(to_repository_error)?;
        Ok(())
    }
}
